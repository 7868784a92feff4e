"""Daily roll-ups, kept in step with every import.

While a report's rows stream by, ``SourceTally`` adds each row's count to a small table keyed by
(source address, what happened to the messages). Once the rows are read, every entry is spread
over the days the report covers (``spread``: in proportion to the overlap, rounded so the total is
kept) and the day figures are added to the database in one upsert per table
(``INSERT ... ON CONFLICT DO UPDATE SET n = n + excluded.n``): atomic increments, so two workers
importing reports for the same day never lose a count. No query per row, ever.
"""

from collections import defaultdict
from datetime import date, datetime, timezone
from operator import itemgetter

from django.db import connection

from dmarc_reports import service_rollups
from dmarc_reports.bulk import insert_rows
from dmarc_reports.models import DailyRollup, DomainDailyRollup, SourceHost, TlsDailyRollup, TlsFailureDailyRollup
from dmarc_reports.prepare import category_counters

DAY = 86400


# -- spreading a count over days --------------------------------------------------------------------

def day_weights(begin: datetime, end: datetime) -> list[tuple[date, int]]:
    """The UTC days a period covers, each with the seconds of the period that fall in it.

    The period is read as [begin, end): a report from 00:00:00 to 23:59:59 or to the next
    00:00:00 is one day. A period of no length counts wholly on its first day.
    """
    start, stop = int(begin.timestamp()), int(end.timestamp())
    if stop <= start:
        return [(_day(start), 1)]
    weights = []
    position = start
    while position < stop:
        next_midnight = (position // DAY + 1) * DAY
        piece = min(stop, next_midnight) - position
        weights.append((_day(position), piece))
        position = next_midnight
    return weights


def _day(seconds: int) -> date:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).date()


def spread(total: int, weights: list[tuple[date, int]]) -> list[tuple[date, int]]:
    """``total`` shared out over the days in proportion to their weights, in whole numbers that add
    up to ``total`` (largest remainder; ties go to the earlier day). Days that get 0 are left out."""
    if len(weights) == 1:
        return [(weights[0][0], total)] if total else []
    whole = sum(weight for _, weight in weights)
    shares = []
    handed = 0
    for index, (day, weight) in enumerate(weights):
        share, remainder = divmod(total * weight, whole)
        shares.append([day, share, remainder, index])
        handed += share
    for entry in sorted(shares, key=lambda entry: (-entry[2], entry[3]))[: total - handed]:
        entry[1] += 1
    return [(day, share) for day, share, _, _ in shares if share]


# -- aggregate report rows ---------------------------------------------------------------------------

class SourceTally:
    """One report's messages by (source address, category) (``prepare``: which counters they add to),
    summed batch by batch as the rows stream by, and added to the daily roll-ups whenever the tally
    grows past ``FLUSH_AT`` entries and at the end (the upsert adds, so adding in parts gives the
    same figures): memory stays flat however many sources."""

    FLUSH_AT = 20_000

    def __init__(self, org_id: int, domain: str, begin: datetime, end: datetime):
        self.org_id, self.domain = org_id, domain
        self.weights = day_weights(begin, end)
        self.counts: dict[tuple, int] = defaultdict(int)

    def add(self, counts: dict[tuple[str, int], int]) -> None:
        """Add a prepared batch's counts, {(source address, category): messages}."""
        tally = self.counts
        for key, count in counts.items():
            tally[key] += count
        if len(tally) >= self.FLUSH_AT:
            self.flush()

    def by_day(self) -> dict[tuple[str, date], list[int]]:
        """{(source address, day): counters in the order of ``DailyRollup.COUNTERS``} of the tally."""
        days: dict[tuple[str, date], list[int]] = {}
        counters_of = {}
        one_day = self.weights[0][0] if len(self.weights) == 1 else None
        for (source_ip, category), total in self.counts.items():
            counters = counters_of.get(category)
            if counters is None:
                counters = counters_of[category] = category_counters(category)
            if one_day is not None:  # the usual report, of one day: spread() would give it all to that day
                shares = ((one_day, total),) if total else ()
            else:
                shares = spread(total, self.weights)
            for day, share in shares:
                figures = days.get((source_ip, day))
                if figures is None:
                    days[(source_ip, day)] = [share * counter for counter in counters]
                else:
                    days[(source_ip, day)] = [sum_ + share * counter for sum_, counter in zip(figures, counters)]
        return days

    def flush(self) -> None:
        days = self.by_day()
        self.counts.clear()
        iso = {day: day.isoformat() for day, _ in self.weights}
        values = [(self.org_id, self.domain, source_ip, iso[day], "", *figures)
                  for (source_ip, day), figures in days.items()]
        values.sort(key=itemgetter(2))  # by source address, as the indexes are: fewer page misses
        upsert(DailyRollup, ("organization_id", "domain", "source_ip", "day", "service", *DailyRollup.COUNTERS),
               conflict=("organization_id", "domain", "day", "source_ip"), increment=DailyRollup.COUNTERS,
               values=values)
        add_domain_rollups((self.org_id, self.domain, day, figures) for (_, day), figures in days.items())

    def finish(self) -> None:
        """Add what is left, name the services of sources already looked up, and sum the report's days
        by service again (``service_rollups``)."""
        self.flush()
        name_services(self.org_id, self.domain, self.weights[0][0], self.weights[-1][0])
        service_rollups.rebuild((self.org_id, self.domain, day) for day, _ in self.weights)


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
