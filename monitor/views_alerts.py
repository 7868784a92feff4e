"""Alerts in the dashboard: the list (open and resolved), one alert with its evidence and deliveries,
the signed-in user's subscriptions, and an organisation's alert settings (editors)."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.core.validators import validate_email
from django.db.models import Count, Q
from django.shortcuts import redirect, render

from monitor.access import get_scoped_or_404, org_for_editor, scoped, visible_orgs
from monitor.alerts import outbound
from monitor.models import Alert, Notification, Organization, Subscription

PAGE_SIZE = 50


def alert_list(request):
    orgs = visible_orgs(request.user)
    alerts = (
        scoped(Alert.objects.all(), request.user).select_related("organization")
        .annotate(failed_deliveries=Count("notifications", filter=Q(notifications__status=Notification.FAILED)))
    )
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
            "can_edit": org.can_edit(request.user),
            "kinds": [(k, label, subscription is not None and k in subscription.kinds) for k, label in Alert.KINDS],
            "digest": subscription.weekly_digest if subscription else False,
        })
    return render(request, "monitor/alert_subscriptions.html", {"rows": rows})


class OrgAlertSettingsForm(forms.ModelForm):
    """What an editor may change about an organisation's alerts (the inventory sets the same fields)."""

    alert_emails = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One address per line: each receives every alert of this organisation.",
    )

    webhook_url = forms.URLField(required=False, assume_scheme="https",
                                 help_text=Organization._meta.get_field("webhook_url").help_text)

    class Meta:
        model = Organization
        fields = ["alert_emails", "dmarc_pass_threshold", "tls_failure_threshold", "no_report_days", "webhook_url"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["alert_emails"] = "\n".join(self.instance.alert_emails or [])

    def clean_alert_emails(self):
        addresses = [a.strip() for a in self.cleaned_data["alert_emails"].replace(",", "\n").splitlines() if a.strip()]
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError:
                raise ValidationError(f"{address!r} is not an e-mail address") from None
        return list(dict.fromkeys(addresses))

    def clean_webhook_url(self):
        url = self.cleaned_data["webhook_url"]
        if url and (why := outbound.problem(url)):
            raise ValidationError(why[:1].upper() + why[1:] + ".")
        return url

    def clean_dmarc_pass_threshold(self):
        return self._percent("dmarc_pass_threshold")

    def clean_tls_failure_threshold(self):
        return self._percent("tls_failure_threshold")

    def _percent(self, name):
        value = self.cleaned_data[name]
        if not 0 <= value <= 100:
            raise ValidationError("A percentage between 0 and 100.")
        return value


def org_settings(request, slug):
    org = org_for_editor(request.user, slug)
    form = OrgAlertSettingsForm(request.POST or None, instance=org)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Alert settings of {org.name} saved.")
        return redirect("alert_org_settings", slug=org.slug)
    return render(request, "monitor/alert_org_settings.html", {"org": org, "form": form})
