"""What pages and alerts read about blocklists: the changes a run made, current listings, list health.

Every function takes an organisation or a run the caller is already allowed to see.
"""

from django.db.models import Case, IntegerField, Value, When

from monitor.models import AuditRun
from monitor.models.blocklists import Blocklist, BlocklistResult, Listing, ListHealth


def run_changes(run: AuditRun) -> dict[str, list]:
    """``newly_listed``, ``still_listed`` and ``cleared`` listings, and ``errors`` (results) of one run."""
    listings = Listing.objects.select_related("blocklist").order_by("target", "blocklist__zone")
    return {
        "newly_listed": list(listings.filter(first_run=run)),
        "still_listed": list(listings.filter(last_run=run).exclude(first_run=run)),
        "cleared": list(listings.filter(cleared_run=run)),
        "errors": list(
            BlocklistResult.objects.filter(run=run, status=BlocklistResult.ERROR)
            .select_related("blocklist")
            .order_by("target", "blocklist__zone")
        ),
    }


SEVERITY_ORDER = Case(
    *(When(blocklist__severity=s, then=Value(i)) for i, (s, _) in enumerate(Blocklist.SEVERITIES)),
    default=Value(9),
    output_field=IntegerField(),
)


def current_listings(org):
    """Open intervals, most severe lists first."""
    return (
        Listing.objects.filter(organization=org, cleared__isnull=True)
        .select_related("blocklist")
        .order_by(SEVERITY_ORDER, "target", "blocklist__zone")
    )


def recent_listings(org, limit=50):
    """Closed intervals, newest first: "when was this listed, and for how long"."""
    return (
        Listing.objects.filter(organization=org, cleared__isnull=False)
        .select_related("blocklist")
        .order_by("-cleared")[:limit]
    )


def recent_runs(org, limit=10):
    return AuditRun.objects.filter(organization=org, kind=AuditRun.BLOCKLIST).order_by("-started")[:limit]


def last_health(org):
    """The health of each list as the organisation's latest finished blocklist run saw it."""
    run = (
        AuditRun.objects.filter(organization=org, kind=AuditRun.BLOCKLIST)
        .exclude(status=AuditRun.RUNNING)
        .order_by("-started")
        .first()
    )
    if run is None:
        return run, []
    return run, list(ListHealth.objects.filter(run=run).select_related("blocklist").order_by("blocklist__name"))


def enabled_lists():
    return Blocklist.objects.filter(enabled=True)
