"""Pages of the report app: uploading report files (editors and admins of an organisation)."""

from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse

from dmarc_reports.importing import import_file
from dmarc_reports.models import IncomingFile
from monitor.access import org_for_editor, scoped
from monitor.alerts.evaluate import after_import
from monitor.models import Organization

RECENT = 20  # files listed under "Recently received files"
LISTED = 100  # reports listed at most per file there (a zip may hold a thousand)


def upload(request):
    """Upload report files (many at once, zips of many): each file is imported and its outcome shown."""
    orgs = list(Organization.editable_by(request.user))
    if not orgs:
        raise PermissionDenied("Uploading reports needs editor or admin rights in an organisation.")
    chosen = request.POST.get("org") or request.GET.get("org") or orgs[0].slug
    outcomes, problem = [], ""
    if request.method == "POST":
        org = org_for_editor(request.user, chosen)  # 404 for another's organisation, 403 for a viewer
        files = request.FILES.getlist("files")
        if not files:
            problem = "Choose one or more report files to upload."
        for upload in files:
            outcome = import_file(upload, name=upload.name, org=org, via="upload", user=request.user)
            outcomes.append({"name": upload.name, "status": outcome.status, "results": outcome.results,
                             "incoming": outcome.incoming})
        if any(outcome["status"] == "imported" for outcome in outcomes):
            after_import(org)
    recent = (scoped(IncomingFile.objects.all(), request.user).filter(organization__in=orgs)
              .select_related("organization").defer("raw")[:RECENT])  # (raw: the files themselves, not shown)
    return render(request, "dmarc_reports/upload.html", {
        "orgs": orgs, "chosen": chosen, "outcomes": outcomes, "problem": problem,
        "recent": [(incoming, *listed(report_links(incoming))) for incoming in recent],
        "nav_section": "upload",
    }, status=400 if problem else 200)


def listed(links: list) -> tuple[list, int]:
    """The first ``LISTED`` of a file's reports, and how many more there are."""
    return links[:LISTED], max(0, len(links) - LISTED)


def report_links(incoming: IncomingFile) -> list[dict]:
    """The reports a recorded file held (its refused members are in its status and reason), each with
    a link to its report where the dashboards have one."""
    links = []
    for entry in incoming.results:
        if not entry.get("report_id"):
            continue
        url = ""
        if entry.get("report") and entry.get("kind") == "aggregate":
            try:
                url = reverse("dash_report", args=[entry["report"]])
            except NoReverseMatch:
                url = ""
        links.append({**entry, "url": url})
    return links
