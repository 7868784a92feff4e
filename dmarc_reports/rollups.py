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

from django.db import connection

from dmarc_reports.models import DailyRollup, SourceHost, TlsDailyRollup, TlsFailureDailyRollup

DAY = 86400
FORWARDED_REASONS = {"forwarded", "trusted_forwarder"}


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

def row_category(row) -> tuple:
    """What a row's messages count towards: (dmarc, dkim, spf, disposition, forwarded, mailing list)."""
    dkim, spf = row.dkim == "pass", row.spf == "pass"
    disposition = row.disposition if row.disposition in ("quarantine", "reject") else "none"
    forwarded = mailing_list = False
    for reason in row.reasons:
        if reason.type in FORWARDED_REASONS:
            forwarded = True
        elif reason.type == "mailing_list":
            mailing_list = True
    return (dkim or spf, dkim, spf, disposition, forwarded, mailing_list)


def category_counters(category: tuple) -> tuple[int, ...]:
    """A category as 0/1 per counter, in the order of ``DailyRollup.COUNTERS``."""
    dmarc, dkim, spf, disposition, forwarded, mailing_list = category
    return (1, int(dmarc), int(dkim), int(spf), int(disposition == "none"), int(disposition == "quarantine"),
            int(disposition == "reject"), int(forwarded), int(mailing_list))


class SourceTally:
    """Counts of one report's rows by source address and category, filled as the rows stream by."""

    def __init__(self):
        self.counts: dict[tuple, int] = defaultdict(int)

    def add(self, rows) -> None:
        counts = self.counts
        for row in rows:
            counts[(row.source_ip, row_category(row))] += row.count

    def by_day(self, begin: datetime, end: datetime) -> dict[tuple[str, date], list[int]]:
        """{(source address, day): counters in the order of ``DailyRollup.COUNTERS``}."""
        weights = day_weights(begin, end)
        days: dict[tuple[str, date], list[int]] = {}
        width = len(DailyRollup.COUNTERS)
        for (source_ip, category), total in self.counts.items():
            flags = category_counters(category)
            for day, share in spread(total, weights):
                figures = days.get((source_ip, day))
                if figures is None:
                    figures = days[(source_ip, day)] = [0] * width
                for position in range(width):
                    if flags[position]:
                        figures[position] += share
        return days


def add_aggregate(org_id: int, domain: str, tally: SourceTally, begin: datetime, end: datetime) -> int:
    """Add one report's tally to the daily roll-ups; returns how many (source, day) figures were added."""
    days = tally.by_day(begin, end)
    values = [(org_id, domain, source_ip, day, "", *figures) for (source_ip, day), figures in days.items()]
    upsert(DailyRollup, ("organization_id", "domain", "source_ip", "day", "service", *DailyRollup.COUNTERS),
           conflict=("organization_id", "domain", "source_ip", "day"), increment=DailyRollup.COUNTERS,
           values=values)
    if days:
        name_services(org_id, domain, min(day for _, day in days), max(day for _, day in days))
    return len(values)


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
            [org_id, domain, first, last],
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
           values=[(org_id, domain, day, *figures) for (domain, day), figures in sessions.items()])
    upsert(TlsFailureDailyRollup, ("organization_id", "domain", "day", "result_type", "sessions"),
           conflict=("organization_id", "domain", "day", "result_type"), increment=("sessions",),
           values=[(org_id, *key, total) for key, total in failures.items()])


# -- the upsert -------------------------------------------------------------------------------------

def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def upsert(model, columns, conflict, increment, values, batch: int = 2000) -> None:
    """Insert rows, or add ``increment`` columns to the row already there (SQLite and PostgreSQL)."""
    if not values:
        return
    q = connection.ops.quote_name
    table = _table(model)
    updates = [f"{q(column)} = {table}.{q(column)} + excluded.{q(column)}" for column in increment]
    if "service" in columns:
        updates.append(f"{q('service')} = CASE WHEN excluded.{q('service')} <> '' "
                       f"THEN excluded.{q('service')} ELSE {table}.{q('service')} END")
    sql = (f"INSERT INTO {table} ({', '.join(q(c) for c in columns)}) VALUES ({', '.join(['%s'] * len(columns))}) "
           f"ON CONFLICT ({', '.join(q(c) for c in conflict)}) DO UPDATE SET {', '.join(updates)}")
    with connection.cursor() as cursor:
        for start in range(0, len(values), batch):
            cursor.executemany(sql, values[start:start + batch])

