"""Demo history for `make run`: the alerts the demo's listings, DNS audits and reports would have raised,
at the times they would have been raised, without notifying anyone (no e-mail about the past).

Register it after the blocklist, DNS and report loaders: ``DEMO_LOADERS.append(load_alert_history)``.
"""

from monitor.alerts import core, evaluate, reports
from monitor.models import Alert, AuditRun


def load_alert_history(org) -> str:
    from monitor.models.blocklists import Listing

    if Alert.objects.filter(organization=org).exists():
        return f"Alert history of {org.slug}: already there"
    with core.quiet(), core.batch():
        for listing in Listing.objects.filter(organization=org).select_related("blocklist").order_by("first_seen"):
            evaluate.open_listing_alert(org, listing)
            if listing.cleared:
                key = evaluate.listing_key(listing.target, listing.blocklist.zone)
                evaluate.resolve_listing_alert(org, key, cleared=listing)
        for run in AuditRun.objects.filter(organization=org).order_by("started"):
            if run.kind == AuditRun.DNS:
                evaluate.dns_checks(run)
            else:
                evaluate.list_health(run)
        evaluate.audits(org)
        reports.evaluate_all(org)
    alerts = Alert.objects.filter(organization=org)
    still_open = alerts.filter(status=Alert.OPEN).count()
    return (f"Alert history of {org.slug}: {alerts.count()} alerts and changes, {still_open} open "
            "(recorded without e-mail)")
