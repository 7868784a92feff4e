"""Functions the django-q2 worker runs (schedules name them by dotted path: monitor.tasks.<name>).

Each returns a one-line summary, which django-q keeps with the task; an audit that crashes has
already recorded itself as failed in AuditRun and the exception marks the task failed too.
"""

from monitor.models import AuditAlreadyRunning, AuditRun, Organization


def audit_function(kind):
    """The entry point of an audit kind, imported when needed (each lives in its own package):
    ``f(org, pools=None, trigger=..., emit=None) -> AuditRun``."""
    if kind == AuditRun.BLOCKLIST:
        from monitor.blocklists.audit import run_blocklist_audit

        return run_blocklist_audit
    from monitor.dns_audit import run_dns_audit

    return run_dns_audit


def _run(kind, org_id, trigger) -> str:
    org = Organization.objects.filter(pk=org_id).first()
    if org is None:
        return f"organisation {org_id} no longer exists: nothing to audit"
    try:
        run = audit_function(kind)(org, trigger=trigger)
    except AuditAlreadyRunning as exc:
        return f"skipped: {exc}"
    counts = ", ".join(f"{key} {value}" for key, value in run.counts.items() if isinstance(value, int))
    return f"{run.get_kind_display()} of {org.slug}: {run.status} ({counts})"


def run_blocklist_audit(org_id, trigger=AuditRun.SCHEDULE) -> str:
    return _run(AuditRun.BLOCKLIST, org_id, trigger)


def run_dns_audit(org_id, trigger=AuditRun.SCHEDULE) -> str:
    return _run(AuditRun.DNS, org_id, trigger)
