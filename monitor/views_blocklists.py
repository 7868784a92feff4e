"""The blocklist page of one organisation (current listings, list health, recent runs) and the
"Run now" POST that queues an audit for the worker."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_q.tasks import async_task

from monitor.access import org_for_editor, org_for_viewer
from monitor.blocklists import status
from monitor.models import AuditRun

TASKS = {AuditRun.BLOCKLIST: "monitor.tasks.run_blocklist_audit", AuditRun.DNS: "monitor.tasks.run_dns_audit"}


def blocklists(request, slug):
    org = org_for_viewer(request.user, slug)
    health_run, health = status.last_health(org)
    listings = list(status.current_listings(org))
    for listing in listings:
        listing.meaning_list = listing.blocklist.meanings(listing.codes)
        listing.delist = listing.blocklist.delist_link(listing.target)
    runs = list(status.recent_runs(org))
    latest = runs[0] if runs else None
    changes = status.run_changes(latest) if latest and latest.status != AuditRun.RUNNING else None
    return render(request, "monitor/blocklists.html", {
        "org": org,
        "listings": listings,
        "cleared": status.recent_listings(org, limit=20),
        "health_run": health_run,
        "health": health,
        "runs": runs,
        "latest": latest,
        "changes": changes,
        "can_edit": org.can_edit(request.user),
    })


@require_POST
def run_audit(request, slug, kind):
    org = org_for_editor(request.user, slug)  # 404 for strangers, 403 for viewers
    if kind not in TASKS:
        raise Http404("No such audit")
    running = AuditRun.objects.filter(organization=org, kind=kind, status=AuditRun.RUNNING).exists()
    if running:
        messages.warning(request, f"A {kind} audit of {org.name} is already running.")
    else:
        async_task(TASKS[kind], org_id=org.id, trigger=AuditRun.MANUAL, task_name=f"{kind} audit of {org.slug} (run now)")
        messages.success(request, f"The {kind} audit of {org.name} is queued; results appear here when it finishes.")
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, {request.get_host()}, require_https=request.is_secure()):
        return redirect(back)
    return redirect("blocklists", slug=org.slug)
