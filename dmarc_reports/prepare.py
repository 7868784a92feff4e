"""What a batch of parsed rows becomes in the database, worked out without it.

    prepare = RowPreparer()
    prepared = prepare(batch)      # Prepared(values, counts, records, messages)

``values``: one tuple per row in the column order of ``ROW_COLUMNS`` (texts cut to their
columns' lengths, DKIM results, SPF results and reasons as JSON text), ready for one
``executemany``; the report's key is added by the storer. ``counts``: the rows' messages by
(source address, category), the category being the roll-up counters they add to (bits in the
order of ``COUNTERS``, see ``row_category``); ``rollups`` spreads them over the report's days.

Plain values only, so a batch can be prepared in the process that parsed it (``read_ahead``)
and sent to the one that stores it as cheaply as possible. No Django here.
"""

import json
from collections import defaultdict
from typing import NamedTuple

# The roll-up counters, in the order of their columns (``models.DmarcCounters``) and category bits.
COUNTERS = ("messages", "dmarc_pass", "dkim_pass", "spf_pass", "disposition_none", "disposition_quarantine",
            "disposition_reject", "forwarded", "mailing_list")
MESSAGES, DMARC, DKIM, SPF, NONE, QUARANTINE, REJECT, FORWARDED, MAILING_LIST = (1 << n for n in range(len(COUNTERS)))
FORWARDED_REASONS = {"forwarded", "trusted_forwarder"}

# ReportRow's columns after ``report_id``, in the order of a prepared row's values.
ROW_COLUMNS = ("source_ip", "count", "disposition", "dkim", "spf", "reasons", "header_from", "envelope_from",
               "envelope_to", "dkim_results", "spf_results")
JSON_COLUMNS = {"reasons", "dkim_results", "spf_results"}


class Prepared(NamedTuple):
    values: list[tuple]
    counts: dict[tuple[str, int], int]
    records: int
    messages: int


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
    for reason in row.reasons:
        if reason.type in FORWARDED_REASONS:
            category |= FORWARDED
        elif reason.type == "mailing_list":
            category |= MAILING_LIST
    return category


def category_counters(category: int) -> tuple[int, ...]:
    """A category as 0/1 per counter, in the order of ``COUNTERS``."""
    return tuple((category >> position) & 1 for position in range(len(COUNTERS)))


class RowPreparer:
    """Prepares batches of one report's rows. The same lists of DKIM results, SPF results and reasons
    recur across rows (one signature per sending domain), so their JSON is made once and reused."""

    CACHE_SIZE = 10_000

    def __init__(self):
        self.cache: dict = {}

    def json(self, items: tuple) -> str:
        """JSON text of a tuple of named tuples (a list of objects), made once per distinct value."""
        cached = self.cache.get(items)
        if cached is None:
            if len(self.cache) >= self.CACHE_SIZE:
                self.cache.clear()
            cached = self.cache[items] = json.dumps([item._asdict() for item in items])
        return cached

    def __call__(self, rows) -> Prepared:
        json_of = self.json
        counts: dict[tuple[str, int], int] = defaultdict(int)
        values = []
        messages = 0
        for row in rows:
            values.append((  # texts cut to their columns' lengths (PostgreSQL refuses longer ones)
                row.source_ip, row.count, row.disposition[:20], row.dkim[:20], row.spf[:20], json_of(row.reasons),
                row.header_from[:253], row.envelope_from[:253], row.envelope_to[:253],
                json_of(row.dkim_results), json_of(row.spf_results),
            ))
            counts[(row.source_ip, row_category(row))] += row.count
            messages += row.count
        return Prepared(values, dict(counts), len(values), messages)
