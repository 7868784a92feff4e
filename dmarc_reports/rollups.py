"""Daily roll-ups, kept in step with every import.

A report's roll-up figures are worked out as its rows stream by (``prepare``: messages by source
and day, spread over the days the report covers) and added to the database part by part, as
``prepare`` hands them out, with one upsert per table (``INSERT ... ON CONFLICT DO UPDATE SET
n = n + excluded.n``): atomic increments, so two workers importing reports for the same day never
lose a count. No query per row, ever.
"""

from collections import defaultdict
from datetime import date, datetime

from django.db import connection

from dmarc_reports import service_rollups
from dmarc_reports.bulk import insert_rows
from dmarc_reports.models import DailyRollup, DomainDailyRollup, SourceHost, TlsDailyRollup, TlsFailureDailyRollup
from dmarc_reports.prepare import RollupValues, day_weights, spread


# -- aggregate reports ------------------------------------------------------------------------------

def add_report_rollups(org_id: int, domain: str, rollups: RollupValues) -> None:
    """Add a report's (or part of a report's) roll-up values (``prepare``) to the daily roll-ups per
    source and per domain."""
    upsert(DailyRollup, ("organization_id", "domain", "source_ip", "day", "service", *DailyRollup.COUNTERS),
           conflict=("organization_id", "domain", "day", "source_ip"), increment=DailyRollup.COUNTERS,
           values=[(org_id, domain, *values) for values in rollups.sources])
    upsert(DomainDailyRollup, ("organization_id", "domain", "day", *DomainDailyRollup.COUNTERS),
           conflict=("organization_id", "domain", "day"), increment=DomainDailyRollup.COUNTERS,
           values=[(org_id, domain, *values) for values in rollups.days])


def finish_report(org_id: int, domain: str, begin: datetime, end: datetime) -> None:
    """Once a report's roll-ups are added: name the services of its sources already looked up, and
    sum its days by service again (``service_rollups``)."""
    days = [day for day, _ in day_weights(begin, end)]
    name_services(org_id, domain, days[0], days[-1])
    service_rollups.rebuild((org_id, domain, day) for day in days)


def add_domain_rollups(tallies) -> None:
    """Add DailyRollup-shaped tallies, (organization id, domain, day, counters in the order of
    ``DailyRollup.COUNTERS``), to the per-domain roll-ups: summed per (organisation, domain, day)
    here, then one upsert that adds to the counters already there, as ``DailyRollup``'s does."""
    grouped: dict[tuple, list] = defaultdict(list)
    for org_id, domain, day, figures in tallies:
        grouped[(org_id, domain, day)].append(figures)
    values = [(org_id, domain, day.isoformat(), *(sum(column) for column in zip(*figures)))
              for (org_id, domain, day), figures in grouped.items()]
    upsert(DomainDailyRollup, ("organization_id", "domain", "day", *DomainDailyRollup.COUNTERS),
           conflict=("organization_id", "domain", "day"), increment=DomainDailyRollup.COUNTERS, values=values)


def name_services(org_id: int, domain: str, first: date, last: date) -> None:
    """Copy the known service of each source into roll-ups that do not have it yet (one query)."""
    rollup, host = _table(DailyRollup), _table(SourceHost)
    q = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {rollup} SET {q('service')} = (SELECT h.{q('service')} FROM {host} h "
            f"WHERE h.{q('ip')} = {rollup}.{q('source_ip')}) "
            f"WHERE {q('organization_id')} = %s AND {q('domain')} = %s AND {q('day')} BETWEEN %s AND %s "
            f"AND {q('service')} = '' AND EXISTS (SELECT 1 FROM {host} h WHERE h.{q('ip')} = {rollup}.{q('source_ip')} "
            f"AND h.{q('service')} <> '')",
            [org_id, domain, first.isoformat(), last.isoformat()],
        )


# -- TLS reports ------------------------------------------------------------------------------------

def add_tls(org_id: int, report) -> None:
    """Add a TLS report's policies to the TLS roll-ups (successful, failed, failures by result type)."""
    weights = day_weights(report.date_begin, report.date_end)
    sessions: dict[tuple[str, date], list[int]] = defaultdict(lambda: [0, 0])
    failures: dict[tuple[str, date, str], int] = defaultdict(int)
    for policy in report.policies:
        domain = policy.policy_domain[:253]
        for day, share in spread(policy.successful_sessions, weights):
            sessions[(domain, day)][0] += share
        for day, share in spread(policy.failed_sessions, weights):
            sessions[(domain, day)][1] += share
        by_type: dict[str, int] = defaultdict(int)
        for failure in policy.failures:
            by_type[failure.result_type[:60]] += failure.failed_session_count
        for result_type, total in by_type.items():
            for day, share in spread(total, weights):
                failures[(domain, day, result_type)] += share
    upsert(TlsDailyRollup, ("organization_id", "domain", "day", *TlsDailyRollup.COUNTERS),
           conflict=("organization_id", "domain", "day"), increment=TlsDailyRollup.COUNTERS,
           values=[(org_id, domain, day.isoformat(), *figures) for (domain, day), figures in sessions.items()])
    upsert(TlsFailureDailyRollup, ("organization_id", "domain", "day", "result_type", "sessions"),
           conflict=("organization_id", "domain", "day", "result_type"), increment=("sessions",),
           values=[(org_id, domain, day.isoformat(), result_type, total)
                   for (domain, day, result_type), total in failures.items()])


# -- the upsert -------------------------------------------------------------------------------------

def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def upsert(model, columns, conflict, increment, values) -> None:
    """Insert rows, or add ``increment`` columns to the row already there (SQLite and PostgreSQL).
    ``values`` must not hold two rows with the same ``conflict`` key (PostgreSQL refuses that)."""
    if not values:
        return
    q = connection.ops.quote_name
    table = _table(model)
    updates = [f"{q(column)} = {table}.{q(column)} + excluded.{q(column)}" for column in increment]
    if "service" in columns:
        updates.append(f"{q('service')} = CASE WHEN excluded.{q('service')} <> '' "
                       f"THEN excluded.{q('service')} ELSE {table}.{q('service')} END")
    with connection.cursor() as cursor:
        insert_rows(cursor, f"INSERT INTO {table} ({', '.join(q(c) for c in columns)}) VALUES",
                    f"({', '.join(['%s'] * len(columns))})", values,
                    f"ON CONFLICT ({', '.join(q(c) for c in conflict)}) DO UPDATE SET {', '.join(updates)}")
