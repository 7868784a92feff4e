"""DNS audit pages: the latest verdict of every check of every domain and address of an
organisation, and the history of one check with the changes of its records between runs."""

from django.db.models import Max
from django.http import Http404
from django.shortcuts import redirect, render

from monitor.access import org_for_viewer, visible_orgs
from monitor.models import AuditRun, DnsCheckResult, changes_in_run

HISTORY_LIMIT = 100
STATUS_ORDER = {DnsCheckResult.FAIL: 0, DnsCheckResult.ERROR: 1, DnsCheckResult.WARN: 2, DnsCheckResult.OK: 3}


def dns_index(request):
    orgs = list(visible_orgs(request.user))
    if len(orgs) == 1:
        return redirect("dns_audit", slug=orgs[0].slug)
    return render(request, "monitor/dns_index.html", {"orgs": orgs})


def latest_results(org) -> list[DnsCheckResult]:
    """The newest verdict of each (target, check) of the organisation, over all runs."""
    newest = (
        DnsCheckResult.objects.filter(organization=org)
        .values("target", "check_name")
        .annotate(newest=Max("id"))
        .values("newest")
    )
    return list(DnsCheckResult.objects.filter(id__in=newest).select_related("run"))


def dns_audit(request, slug):
    org = org_for_viewer(request.user, slug)
    results = latest_results(org)
    targets: dict[tuple, dict] = {}
    for result in sorted(results, key=lambda r: (r.target_kind, r.target, _check_order(r.check_name))):
        entry = targets.setdefault(
            (result.target_kind, result.target), {"target": result.target, "kind": result.target_kind, "results": []}
        )
        entry["results"].append(result)
    for entry in targets.values():
        entry["worst"] = min((r.status for r in entry["results"]), key=STATUS_ORDER.__getitem__)
    runs = list(AuditRun.objects.filter(organization=org, kind=AuditRun.DNS).order_by("-started")[:10])
    last_finished = next((run for run in runs if run.status != AuditRun.RUNNING), None)
    context = {
        "org": org,
        "domains": [e for e in targets.values() if e["kind"] == DnsCheckResult.DOMAIN],
        "addresses": [e for e in targets.values() if e["kind"] == DnsCheckResult.ADDRESS],
        "runs": runs,
        "last_run": last_finished,
        "changes": changes_in_run(last_finished) if last_finished else [],
        "nav_section": "dns",
    }
    return render(request, "monitor/dns_audit.html", context)


def dns_history(request, slug):
    org = org_for_viewer(request.user, slug)
    target, check = request.GET.get("target", ""), request.GET.get("check", "")
    results = list(
        DnsCheckResult.objects.filter(organization=org, target=target, check_name=check)
        .select_related("run")
        .order_by("-checked", "-id")[:HISTORY_LIMIT]
    )
    if not results:
        raise Http404("No such check")
    rows = []
    for index, result in enumerate(results):
        earlier = next((r for r in results[index + 1 :] if r.conclusive), None)
        rows.append({"result": result, "diff": record_diff(earlier.records, result.records) if earlier and result.conclusive else None})
    context = {"org": org, "target": target, "check": check, "rows": rows, "nav_section": "dns"}
    return render(request, "monitor/dns_history.html", context)


def record_diff(old: list[str], new: list[str]) -> list[tuple[str, str]] | None:
    """("-", record) for records gone, ("+", record) for new ones, (" ", record) for kept; None if equal."""
    if sorted(old) == sorted(new):
        return None
    kept = set(old) & set(new)
    lines = [("-", r) for r in old if r not in kept] + [("+", r) for r in new if r not in kept]
    return lines + [(" ", r) for r in new if r in kept]


def _check_order(check: str) -> tuple:
    order = ["spf", "dmarc", "mx", "mta_sts", "tls_rpt", "bimi", "dnssec", "fcrdns"]
    return (order.index(check) if check in order else len(order), check)
