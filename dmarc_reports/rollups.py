"""Daily roll-ups, kept in step with every import.

A report's roll-up figures are worked out as its rows stream by (``prepare``: messages by source
and day, spread over the days the report covers) and added to the database part by part, as
``prepare`` hands them out, with one upsert per table (``INSERT ... ON CONFLICT DO UPDATE SET
n = n + excluded.n``): atomic increments, so two workers importing reports for the same day never
lose a count. The report's messages by service follow, once its parts are added (``ReportRollups``,
``service_rollups``). No query per row, ever, nor one that reads a day's other sources.

Lock order (PostgreSQL; SQLite writes one transaction at a time): each upsert takes its rows in key
order, and an import adding to an (organisation, domain)'s roll-ups first takes that pair's advisory
lock (``lock_domain``), held to the end of its transaction: a report of more sources than
``prepare.FLUSH_AT`` comes in parts, and two such imports would otherwise lock rows in crossing orders.
"""

import hashlib
from collections import defaultdict
from datetime import date

from django.db import connection

from dmarc_reports import service_rollups
from dmarc_reports.bulk import insert_rows
from dmarc_reports.models import DailyRollup, DomainDailyRollup, ServiceDailyRollup, TlsDailyRollup, TlsFailureDailyRollup
from dmarc_reports.prepare import RollupValues, day_weights, spread


# -- aggregate reports ------------------------------------------------------------------------------

class ReportRollups:
    """Adds one report's roll-up values (``prepare``), part by part as they come, to the daily roll-ups
    per source and per domain, and, once all are added (``finish``), its messages by service to the
    service roll-ups (``service_rollups``)."""

    def __init__(self, org_id: int, domain: str):
        self.org_id, self.domain = org_id, domain
        self.services = service_rollups.ServiceTally()
        self.days: set[str] = set()  # the days this import has added to
        self.new_days: set[str] = set()  # those of them that held no roll-ups of the domain before
        self.locked = False  # whether this transaction holds the (organisation, domain)'s lock

    def add(self, rollups: RollupValues) -> None:
        org_id, domain = self.org_id, self.domain
        if not self.locked:  # the first part (see "Lock order" above)
            lock_domain(org_id, domain)
            self.locked = True
        days = [day for day, *_ in rollups.days if day not in self.days]
        if days:
            self.new_days.update(set(days) - service_rollups.days_held(org_id, domain, days))
            self.days.update(days)
        upsert(DailyRollup, ("organization_id", "domain", "source_ip", "day", "service", *DailyRollup.COUNTERS),
               conflict=("organization_id", "domain", "day", "source_ip"), increment=DailyRollup.COUNTERS,
               values=[(org_id, domain, *values) for values in rollups.sources])
        upsert(DomainDailyRollup, ("organization_id", "domain", "day", *DomainDailyRollup.COUNTERS),
               conflict=("organization_id", "domain", "day"), increment=DomainDailyRollup.COUNTERS,
               values=[(org_id, domain, *values) for values in rollups.days])
        # Looked up once the days' DomainDailyRollup rows are this import's (see service_rollups).
        self.services.add(rollups, service_rollups.named_sources(org_id, domain, rollups.sources, self.new_days))

    def finish(self) -> None:
        upsert(ServiceDailyRollup, ("organization_id", "domain", "day", "service", *ServiceDailyRollup.COUNTERS),
               conflict=("organization_id", "domain", "day", "service"), increment=ServiceDailyRollup.COUNTERS,
               values=[(self.org_id, self.domain, *values) for values in self.services.values()])


def lock_domain(org_id: int, domain: str) -> None:
    """Wait until no other transaction adds to this (organisation, domain)'s roll-ups, and keep others
    waiting until this one ends (PostgreSQL's transaction-level advisory lock; nothing on SQLite)."""
    if connection.vendor != "postgresql":
        return
    digest = hashlib.blake2b(f"{org_id}|{domain}".encode(), digest_size=8).digest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest, "big", signed=True)])


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
           values=[(org_id, domain, day.isoformat(), *figures) for (domain, day), figures in sorted(sessions.items())])
    upsert(TlsFailureDailyRollup, ("organization_id", "domain", "day", "result_type", "sessions"),
           conflict=("organization_id", "domain", "day", "result_type"), increment=("sessions",),
           values=[(org_id, domain, day.isoformat(), result_type, total)
                   for (domain, day, result_type), total in sorted(failures.items())])


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
    if "service" in columns and "service" not in conflict:  # a source's service, once named, stays
        updates.append(f"{q('service')} = CASE WHEN excluded.{q('service')} <> '' "
                       f"THEN excluded.{q('service')} ELSE {table}.{q('service')} END")
    with connection.cursor() as cursor:
        insert_rows(cursor, f"INSERT INTO {table} ({', '.join(q(c) for c in columns)}) VALUES",
                    f"({', '.join(['%s'] * len(columns))})", values,
                    f"ON CONFLICT ({', '.join(q(c) for c in conflict)}) DO UPDATE SET {', '.join(updates)}")
