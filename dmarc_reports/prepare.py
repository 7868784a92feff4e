"""What a report's rows become in the database, worked out without it.

    for part in prepare_report(report.rows.batches(), report.date_begin, report.date_end):
        RowValues: rows to insert          RollupValues: daily roll-ups to add

``RowValues.values``: one tuple per row in the column order of ``ROW_COLUMNS`` (texts cut to
their columns' lengths, DKIM results, SPF results and reasons as JSON text); the storer adds the
report's key. ``RollupValues``: the same rows' messages summed per source address and day, and per
day, counter by counter (``COUNTERS``), a report of several days spread over them in proportion
to the overlap (``spread``). The storer adds each part of the roll-ups to what is there (an
upsert). When they come:

- after each batch (``per_batch``), for a storer whose database takes no row locks (SQLite, which
  writes one transaction at a time), so it adds them while the next rows are being read; only for a
  report of one day, where parts add up to exactly what the whole gives;
- otherwise once the rows are read, in one part, so the storer adds them with one statement per
  table, in address order: concurrent imports on PostgreSQL then lock roll-up rows in the same order
  and never deadlock; or in parts of ``FLUSH_AT`` sources for a report with more, so memory stays
  flat however many sources (the totals are the same; a report of several days may then round its
  share of a day differently, by less than a message per part).

Plain values only, so a report can be prepared in the process that parsed it (``read_ahead``)
and sent to the one that stores it as cheaply as possible. No Django here.
"""

import json
from collections import defaultdict
from datetime import date, datetime, timezone
from operator import add, itemgetter
from typing import Iterator, NamedTuple

# The roll-up counters, in the order of their columns (``models.DmarcCounters``) and category bits.
COUNTERS = ("messages", "dmarc_pass", "dkim_pass", "spf_pass", "disposition_none", "disposition_quarantine",
            "disposition_reject", "forwarded", "mailing_list")
MESSAGES, DMARC, DKIM, SPF, NONE, QUARANTINE, REJECT, FORWARDED, MAILING_LIST = (1 << n for n in range(len(COUNTERS)))
FORWARDED_REASONS = {"forwarded", "trusted_forwarder"}

# ReportRow's columns after ``report_id``, in the order of a prepared row's values.
ROW_COLUMNS = ("source_ip", "count", "disposition", "dkim", "spf", "reasons", "header_from", "envelope_from",
               "envelope_to", "dkim_results", "spf_results")
JSON_COLUMNS = {"reasons", "dkim_results", "spf_results"}
BATCH = 1000  # rows per RowValues, when the rows are prepared here
FLUSH_AT = 20_000  # (source address, category)s tallied at most before their roll-ups are handed out
DAY = 86400
COMPACT = (",", ":")  # JSON without the spaces after separators: about 12 bytes less per row stored


class RowValues(NamedTuple):
    values: list[tuple]  # in the order of ROW_COLUMNS
    records: int
    messages: int


class RollupValues(NamedTuple):
    sources: list[tuple]  # (source address, ISO day, service "" (named later), *counters), by address
    days: list[tuple]  # (ISO day, *counters): the same summed per day


def prepare_report(batches, begin: datetime, end: datetime, per_batch: bool = False
                   ) -> Iterator[RowValues | RollupValues]:
    """Each batch of the report's ``Row``s as RowValues; their roll-ups as RollupValues after them:
    after each batch (``per_batch``, a report of one day), else once the rows are read (or earlier, in
    parts, when the tally reaches ``FLUSH_AT`` sources). See the module docstring."""
    prepare_rows, weights = RowPreparer(), day_weights(begin, end)
    per_batch = per_batch and len(weights) == 1
    tally: dict[tuple[str, int], int] = defaultdict(int)
    for batch in batches:
        values, counts = prepare_rows(batch)
        yield values
        for key, count in counts.items():
            tally[key] += count
        if per_batch or len(tally) >= FLUSH_AT:
            yield rollup_values(tally, weights)
            tally.clear()
    if tally:
        yield rollup_values(tally, weights)


# -- rows --------------------------------------------------------------------------------------------

class RowPreparer:
    """Prepares batches of one report's rows: their values, and their messages by (source address,
    category). Rows mostly differ only in their address and count (the parser reads them by shape),
    so what follows those two is prepared once per distinct value and reused, as is the JSON of
    each list of DKIM results, SPF results and reasons."""

    CACHE_SIZE = 10_000  # values remembered at most (then forgotten all at once)

    def __init__(self):
        self.cache: dict = {}  # a row's values after address and count -> (their prepared values, category)
        self.json_cache: dict = {}

    def json(self, items: tuple) -> str:
        """JSON text of a tuple of named tuples (a list of objects), made once per distinct value."""
        cached = self.json_cache.get(items)
        if cached is None:
            if len(self.json_cache) >= self.CACHE_SIZE:
                self.json_cache.clear()
            cached = self.json_cache[items] = json.dumps([item._asdict() for item in items], separators=COMPACT)
        return cached

    def rest(self, row) -> tuple:
        """A row's values after its address and count, texts cut to their columns' lengths
        (PostgreSQL refuses longer ones)."""
        return (row.disposition[:20], row.dkim[:20], row.spf[:20], self.json(row.reasons), row.header_from[:253],
                row.envelope_from[:253], row.envelope_to[:253], self.json(row.dkim_results),
                self.json(row.spf_results))

    def __call__(self, rows) -> tuple[RowValues, dict[tuple[str, int], int]]:
        cache = self.cache
        counts: dict[tuple[str, int], int] = defaultdict(int)
        values = []
        messages = 0
        for row in rows:
            known = cache.get(row[2:])
            if known is None:
                if len(cache) >= self.CACHE_SIZE:
                    cache.clear()
                known = cache[row[2:]] = (self.rest(row), row_category(row))
            rest, category = known
            source_ip, count = row[0], row[1]
            values.append((source_ip, count, *rest))
            counts[(source_ip, category)] += count
            messages += count
        return RowValues(values, len(values), messages), counts


def row_category(row) -> int:
    """The counters a row's messages count towards, as bits (see above)."""
    category = MESSAGES
    if row.dkim == "pass":
        category |= DKIM | DMARC
    if row.spf == "pass":
        category |= SPF | DMARC
    if row.disposition == "quarantine":
        category |= QUARANTINE
    elif row.disposition == "reject":
        category |= REJECT
    else:  # none, pass (RFC 9990: delivered, the policy not applied) or unknown
        category |= NONE
    if category & DMARC:  # an override reason on mail that passes overrides nothing: not counted
        return category
    for reason in row.reasons:
        if reason.type in FORWARDED_REASONS:
            category |= FORWARDED
        elif reason.type == "mailing_list":
            category |= MAILING_LIST
    return category


def category_counters(category: int) -> tuple[int, ...]:
    """A category as 0/1 per counter, in the order of ``COUNTERS``."""
    return tuple((category >> position) & 1 for position in range(len(COUNTERS)))


# -- roll-ups ----------------------------------------------------------------------------------------

def rollup_values(counts: dict[tuple[str, int], int], weights: list[tuple[date, int]]) -> RollupValues:
    """Messages by (source address, category) as roll-up values: counters per source and day, and per
    day, spread over the days of ``weights`` (``day_weights``)."""
    counters_of = {category: category_counters(category) for category in {category for _, category in counts}}
    by_day: dict[date, dict[str, tuple[int, ...]]] = {day: {} for day, _ in weights}
    by_day_and_category: dict[date, dict[int, int]] = {day: defaultdict(int) for day, _ in weights}
    one_day = weights[0][0] if len(weights) == 1 else None
    scaled: dict[tuple[int, int], tuple[int, ...]] = {}  # (category, share) -> figures: counts repeat (1, 2, 3 ...)
    for (source_ip, category), total in counts.items():
        if one_day is not None:  # the usual report, of one day: spread() would give it all to that day
            shares = ((one_day, total),) if total else ()
        else:
            shares = spread(total, weights)
        for day, share in shares:
            figures = scaled.get((category, share))
            if figures is None:
                figures = scaled[(category, share)] = tuple([share * flag for flag in counters_of[category]])
            sources = by_day[day]
            before = sources.get(source_ip)
            sources[source_ip] = figures if before is None else tuple(map(add, before, figures))
            by_day_and_category[day][category] += share
    rows, days = [], []
    for day, sources in by_day.items():
        if not sources:
            continue
        iso = day.isoformat()
        rows += [(source_ip, iso, "", *figures) for source_ip, figures in sources.items()]
        day_total = [0] * len(COUNTERS)
        for category, share in by_day_and_category[day].items():
            day_total = [a + share * b for a, b in zip(day_total, counters_of[category])]
        days.append((iso, *day_total))
    rows.sort(key=itemgetter(0))  # by source address, as the indexes are: fewer page misses
    return RollupValues(rows, days)


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
