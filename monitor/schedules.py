"""The django-q2 schedules the product keeps, registered idempotently by ``manage.py setup_schedules``.

Each entry of ``SCHEDULES`` is a function ``(org) -> iterable of (name, func, cron, kwargs)`` (per
organisation) or, in ``GLOBAL_SCHEDULES``, ``() -> iterable`` of the same tuples. A schedule is keyed by
its name: running the command again updates it in place and removes ours that are no longer wanted.
"""

from django_q.models import Schedule

from monitor.models import Organization

PREFIX = "monitor:"
SCHEDULES: list = []
GLOBAL_SCHEDULES: list = []


def wanted_schedules():
    for org in Organization.objects.all():
        for make in SCHEDULES:
            yield from make(org)
    for make in GLOBAL_SCHEDULES:
        yield from make()


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


SCHEDULES.append(audit_schedules)
