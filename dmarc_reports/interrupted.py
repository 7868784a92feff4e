"""Files whose import was interrupted: still "processing" long after they came in.

An import records its file first (``importing``) and says what became of it last. When the process
importing it stops in between (killed, out of memory, the machine restarted), the file would stay
"processing" for ever. ``close_interrupted`` (a schedule, hourly) says what happened instead: the
reports stored before the stop (each is its own transaction, so each is whole) and that the rest of
the file was not read. The file is "imported" when some of its reports were stored, else "rejected";
importing it again stores what is missing and finds the rest duplicate.
"""

from datetime import timedelta

from django.utils import timezone

from dmarc_reports.importing import ReportOutcome, finish
from dmarc_reports.models import IncomingFile

INTERRUPTED_AFTER = timedelta(hours=1)  # far longer than an import of the largest file the limits allow
STOPPED = ("The import of this file stopped before it finished (its process ended); the rest of the file was "
           "not read. Import it again: what was stored is found duplicate, the rest is stored.")


def close_interrupted(now=None) -> int:
    """Say what became of every file still "processing" ``INTERRUPTED_AFTER`` after it came in; how many."""
    cutoff = (now or timezone.now()) - INTERRUPTED_AFTER
    closed = 0
    stale = IncomingFile.objects.filter(status=IncomingFile.PROCESSING, received__lt=cutoff).select_related("organization")
    for incoming in stale.iterator():
        results = stored_outcomes(incoming) + [ReportOutcome("rejected", error=STOPPED, member=incoming.name)]
        finish(incoming, incoming.organization, results, unless_finished=True)
        closed += 1
    return closed


def stored_outcomes(incoming: IncomingFile) -> list[ReportOutcome]:
    """An "imported" outcome for each report of the file stored before the import stopped."""
    outcomes = [
        ReportOutcome("imported", kind="aggregate", org=report.organization, report_id=report.report_id,
                      domain=report.domain, records=report.records, messages=report.messages, report=report)
        for report in incoming.aggregate_reports.select_related("organization").order_by("pk")
    ]
    for report in incoming.tls_reports.select_related("organization").prefetch_related("policies").order_by("pk"):
        domains = [policy.policy_domain for policy in report.policies.all() if policy.policy_domain]
        outcomes.append(ReportOutcome("imported", kind="tls", org=report.organization, report_id=report.report_id,
                                      domain=domains[0] if domains else "", records=report.policies_count,
                                      messages=report.sessions, report=report))
    return outcomes
