"""Store one parsed report, once: its header, its rows in batches, its roll-ups, in one transaction.

    stored = store_report(parsed.report, org, incoming)   # Stored(status, report, records, messages)

``status`` is "imported", or "duplicate" when the organisation already holds the same report
(reporter, report id, policy domain, period): the database's unique constraint decides, so two
workers storing the same report at the same moment store it once. ``Rejected`` raised by the
parser part-way through the rows rolls everything back: nothing of the report is left.

Rows are prepared as they are read (``prepare``: column values, and roll-up figures after each
batch on SQLite, else once the rows are read; no database) and go in batch by batch, many rows per
statement (``bulk``); each part of the roll-ups is added with one upsert per table (``rollups``).
A report's rows are never all in memory.
"""

from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction

from dmarc_reports import rollups
from dmarc_reports.bulk import insert_rows
from dmarc_reports.prepare import BATCH, JSON_COLUMNS, ROW_COLUMNS, RowValues, prepare_report
from dmarc_reports.models import (AggregateReport, ReportRow, TlsFailureDetail, TlsPolicyResult, TlsReport)



@dataclass
class Stored:
    status: str  # "imported" or "duplicate"
    report: AggregateReport | TlsReport
    records: int
    messages: int


def clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[:length]


def store_report(report, org, incoming=None) -> Stored:
    """Store a parsed ``AggregateReport`` or ``TlsReport`` (from ``dmarc_reports.ingest``) for ``org``."""
    if report.kind == "tls":
        return store_tls(report, org, incoming)
    return store_aggregate(report, org, incoming)


# -- aggregate reports ------------------------------------------------------------------------------

def aggregate_header(report, org, incoming) -> AggregateReport:
    policy = report.policy
    return AggregateReport(
        organization=org, incoming=incoming,
        org_name=clip(report.org_name, 255), email=clip(report.email, 255),
        extra_contact_info=report.extra_contact_info, report_id=clip(report.report_id, 255),
        domain=clip(policy.domain, 253), date_begin=report.date_begin, date_end=report.date_end,
        p=clip(policy.p, 20), sp=clip(policy.sp, 20), np=clip(policy.np, 20), adkim=clip(policy.adkim, 20),
        aspf=clip(policy.aspf, 20), pct=policy.pct, fo=clip(policy.fo, 100), testing=clip(policy.testing, 20),
        discovery_method=clip(policy.discovery_method, 20), generator=clip(report.generator, 255),
        version=clip(report.version, 20), errors=report.errors,
    )


def store_aggregate(report, org, incoming=None) -> Stored:
    header = aggregate_header(report, org, incoming)
    saved = False
    try:
        with transaction.atomic():
            header.save(force_insert=True)  # the unique constraint refuses a second copy here
            saved = True
            insert, add_rollups = RowInserter(header.pk), rollups.ReportRollups(org.pk, header.domain)
            for part in prepared_parts(report):
                if isinstance(part, RowValues):
                    insert(part.values)
                else:
                    add_rollups.add(part)
            header.records, header.messages, header.warnings = report.records, report.messages, report.warnings
            header.save(update_fields=["records", "messages", "warnings"])
            add_rollups.finish()
    except IntegrityError:
        if saved:
            raise
        existing = AggregateReport.objects.get(
            organization=org, org_name=header.org_name, report_id=header.report_id, domain=header.domain,
            date_begin=header.date_begin, date_end=header.date_end,
        )
        return Stored("duplicate", existing, existing.records, existing.messages)
    return Stored("imported", header, header.records, header.messages)


def prepared_parts(report):
    """The report's rows as ``RowValues`` and ``RollupValues``: prepared by the process that read them
    (``read_ahead``), or here as they are read."""
    if getattr(report.rows, "prepared", False):
        return report.rows.batches()
    return prepare_report(report.rows.batches(BATCH), report.date_begin, report.date_end, rollups_per_batch())


def rollups_per_batch() -> bool:
    """Whether a report's roll-ups may be added batch by batch as its rows are read (``prepare``):
    where the database takes no row locks that two imports could take in crossing orders (SQLite
    writes one transaction at a time)."""
    return connection.vendor == "sqlite"


class RowInserter:
    """Inserts one report's prepared rows (``prepare``), many rows per statement (``bulk``)."""

    def __init__(self, report_pk: int):
        q = connection.ops.quote_name
        json = "%s::jsonb" if connection.vendor == "postgresql" else "%s"  # JSON comes as text
        placeholders = ", ".join(json if column in JSON_COLUMNS else "%s" for column in ROW_COLUMNS)
        self.head = (f"INSERT INTO {q(ReportRow._meta.db_table)} ({q('report_id')}, {', '.join(map(q, ROW_COLUMNS))}) "
                     "VALUES")
        self.row = f"({int(report_pk)}, {placeholders})"

    def __call__(self, values: list[tuple]) -> None:
        with connection.cursor() as cursor:
            insert_rows(cursor, self.head, self.row, values)


# -- TLS reports ------------------------------------------------------------------------------------

def store_tls(report, org, incoming=None) -> Stored:
    header = TlsReport(
        organization=org, incoming=incoming, organization_name=clip(report.organization_name, 255),
        contact_info=clip(report.contact_info, 255), report_id=clip(report.report_id, 255),
        date_begin=report.date_begin, date_end=report.date_end, warnings=report.warnings,
        policies_count=len(report.policies),
        successful_sessions=sum(p.successful_sessions for p in report.policies),
        failed_sessions=sum(p.failed_sessions for p in report.policies),
    )
    saved = False
    try:
        with transaction.atomic():
            header.save(force_insert=True)
            saved = True
            store_tls_policies(header, report.policies)
            rollups.add_tls(org.pk, report)
    except IntegrityError:
        if saved:
            raise
        existing = TlsReport.objects.get(
            organization=org, organization_name=header.organization_name, report_id=header.report_id,
            date_begin=header.date_begin, date_end=header.date_end,
        )
        return Stored("duplicate", existing, existing.policies_count, existing.sessions)
    return Stored("imported", header, header.policies_count, header.sessions)


def store_tls_policies(header: TlsReport, policies) -> None:
    stored = TlsPolicyResult.objects.bulk_create([
        TlsPolicyResult(
            report=header, policy_type=clip(policy.policy_type, 30), policy_strings=list(policy.policy_strings),
            policy_domain=clip(policy.policy_domain, 253), mx_hosts=list(policy.mx_hosts),
            successful_sessions=policy.successful_sessions, failed_sessions=policy.failed_sessions,
        )
        for policy in policies
    ], batch_size=1000)
    failures = [
        TlsFailureDetail(
            policy=row, result_type=clip(failure.result_type, 60), sending_mta_ip=clip(failure.sending_mta_ip, 45),
            receiving_mx_hostname=clip(failure.receiving_mx_hostname, 253),
            receiving_mx_helo=clip(failure.receiving_mx_helo, 253), receiving_ip=clip(failure.receiving_ip, 45),
            failed_session_count=failure.failed_session_count,
            additional_information=failure.additional_information, failure_reason_code=failure.failure_reason_code,
        )
        for row, policy in zip(stored, policies)
        for failure in policy.failures
    ]
    TlsFailureDetail.objects.bulk_create(failures, batch_size=1000)
