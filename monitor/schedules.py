"""The django-q2 schedules the product keeps, registered idempotently by ``manage.py setup_schedules``.

Each function named in ``PER_ORGANISATION`` yields ``(name, func, cron, kwargs)`` for one organisation;
each one in ``GLOBAL`` yields the same tuples once. A schedule is keyed by its name: running the command
again updates it in place and removes ours that are no longer wanted.
"""

from django.utils.module_loading import import_string
from django_q.models import Schedule

from monitor.models import Organization

PREFIX = "monitor:"
PER_ORGANISATION = [
    "monitor.schedules.audit_schedules",  # weekly blocklist and DNS audits
    "dmarc_reports.mailbox_fetch.mailbox_schedules",  # rua mailbox polling
]
GLOBAL = [
    "monitor.alerts.schedules.alert_schedules",  # alert delivery, evaluation, weekly digest
    "monitor.schedules.maintenance_schedules",  # reverse DNS of recent report sources, interrupted imports
]


def wanted_schedules():
    per_org = [import_string(path) for path in PER_ORGANISATION]
    for org in Organization.objects.all():
        for make in per_org:
            yield from make(org)
    for path in GLOBAL:
        yield from import_string(path)()


def sync_schedules() -> tuple[int, int]:
    """Create or update every wanted schedule; delete stale ones. Returns (kept, deleted)."""
    names = set()
    for name, func, cron, kwargs in wanted_schedules():
        name = PREFIX + name
        names.add(name)
        Schedule.objects.update_or_create(
            name=name,
            defaults={"func": func, "schedule_type": Schedule.CRON, "cron": cron, "kwargs": kwargs or {}, "repeats": -1},
        )
    stale = Schedule.objects.filter(name__startswith=PREFIX).exclude(name__in=names)
    deleted, _ = stale.delete()
    return len(names), deleted


def audit_schedules(org):
    """The weekly audits of one organisation (cron strings on the Organization)."""
    yield f"audit-blocklist-{org.slug}", "monitor.tasks.run_blocklist_audit", org.blocklist_cron, {"org_id": org.id}
    yield f"audit-dns-{org.slug}", "monitor.tasks.run_dns_audit", org.dns_cron, {"org_id": org.id}



def maintenance_schedules():
    """Refresh the reverse DNS of sources seen in the last week (new ones are looked up at import); say
    what became of files whose import was interrupted (``dmarc_reports.interrupted``)."""
    yield "enrich-recent-sources", "dmarc_reports.enrichment.enrich_recent_sources", "30 2 * * *", {}
    yield "close-interrupted-imports", "dmarc_reports.interrupted.close_interrupted", "17 * * * *", {}
