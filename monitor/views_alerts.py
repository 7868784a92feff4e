"""Alerts in the dashboard: the list (open and resolved), one alert with its evidence and deliveries,
and the signed-in user's subscriptions."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render

from monitor.access import get_scoped_or_404, scoped, visible_orgs
from monitor.models import Alert, Notification, Subscription

PAGE_SIZE = 50


def alert_list(request):
    orgs = visible_orgs(request.user)
    alerts = scoped(Alert.objects.all(), request.user).select_related("organization")
    org_slug = request.GET.get("org", "")
    if org_slug:
        alerts = alerts.filter(organization__slug=org_slug)
    kind = request.GET.get("kind", "")
    if kind in dict(Alert.KINDS):
        alerts = alerts.filter(kind=kind)
    open_alerts = alerts.filter(status=Alert.OPEN).exclude(kind__in=Alert.EVENT_KINDS).order_by("-opened")
    past = alerts.exclude(pk__in=open_alerts.values("pk")).order_by("-opened")
    page = Paginator(past, PAGE_SIZE).get_page(request.GET.get("page"))
    failed = scoped(Notification.objects.filter(status=Notification.FAILED), request.user, "alert__organization")
    return render(request, "monitor/alerts.html", {
        "orgs": orgs, "org_slug": org_slug, "kind": kind, "kinds": Alert.KINDS,
        "open_alerts": open_alerts, "page": page, "failed_count": failed.count(),
    })


def alert_detail(request, pk):
    alert = get_scoped_or_404(Alert.objects.select_related("organization"), request.user, pk=pk)
    return render(request, "monitor/alert.html", {
        "alert": alert, "notifications": alert.notifications.all(),
    })


def subscriptions(request):
    """For each organisation the user can see: which alert kinds they receive, and the weekly digest."""
    orgs = list(visible_orgs(request.user))
    existing = {s.organization_id: s for s in Subscription.objects.filter(user=request.user)}
    valid_kinds = dict(Alert.KINDS)
    if request.method == "POST":
        for org in orgs:
            prefix = f"org-{org.pk}-"
            kinds = [k for k in request.POST.getlist(prefix + "kinds") if k in valid_kinds]
            digest = request.POST.get(prefix + "digest") == "on"
            subscription = existing.get(org.pk)
            if subscription is None:
                if not kinds and not digest:
                    continue
                subscription = Subscription(user=request.user, organization=org)
            subscription.kinds = kinds
            subscription.weekly_digest = digest
            subscription.save()
        if not request.user.email:
            messages.warning(request, "Your account has no e-mail address: nothing can be sent to you yet.")
        messages.success(request, "Your alert subscriptions are saved.")
        return redirect("alert_subscriptions")
    rows = []
    for org in orgs:
        subscription = existing.get(org.pk)
        rows.append({
            "org": org,
            "kinds": [(k, label, subscription is not None and k in subscription.kinds) for k, label in Alert.KINDS],
            "digest": subscription.weekly_digest if subscription else False,
        })
    return render(request, "monitor/alert_subscriptions.html", {"rows": rows})
