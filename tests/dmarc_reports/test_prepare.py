"""Preparing rows for storing: the shortcuts (values remembered per shape, roll-ups by day and category)
give what the plain definitions give."""

import json
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from unittest.mock import patch

from hypothesis import given, settings, strategies as st

from dmarc_reports.ingest import DkimResult, Reason, Row, SpfResult
from dmarc_reports.prepare import (COUNTERS, RowPreparer, category_counters, day_weights, prepare_report,
                                   rollup_values, row_category, spread)

EPOCH = datetime(2026, 3, 1, tzinfo=timezone.utc)

rows = st.builds(
    Row,
    source_ip=st.sampled_from(["192.0.2.1", "192.0.2.2", "2001:db8::1", "198.51.100.7"]),
    count=st.integers(min_value=0, max_value=10**6),
    disposition=st.sampled_from(["none", "quarantine", "reject", "pass", "x" * 30]),
    dkim=st.sampled_from(["pass", "fail", ""]),
    spf=st.sampled_from(["pass", "fail", ""]),
    reasons=st.lists(st.builds(Reason, st.sampled_from(["forwarded", "mailing_list", "other"]), st.text(max_size=5)),
                     max_size=2).map(tuple),
    header_from=st.sampled_from(["acme.example", "y" * 300]),
    envelope_from=st.sampled_from(["", "acme.example"]),
    envelope_to=st.just(""),
    dkim_results=st.lists(st.builds(DkimResult, st.sampled_from(["acme.example", "esp.example"]), st.just("s1"),
                                    st.sampled_from(["pass", "fail"]), st.just("")), max_size=2).map(tuple),
    spf_results=st.lists(st.builds(SpfResult, st.just("acme.example"), st.just("mfrom"),
                                   st.sampled_from(["pass", "softfail"])), max_size=1).map(tuple),
)


def plain_values(row) -> tuple:
    as_json = lambda items: json.dumps([item._asdict() for item in items], separators=(",", ":"))  # noqa: E731
    return (row.source_ip, row.count, row.disposition[:20], row.dkim[:20], row.spf[:20], as_json(row.reasons),
            row.header_from[:253], row.envelope_from[:253], row.envelope_to[:253], as_json(row.dkim_results),
            as_json(row.spf_results))


@settings(max_examples=200, deadline=None)
@given(batches=st.lists(st.lists(rows, max_size=8), max_size=4))
def test_it_prepares_each_row_as_the_plain_definition_does(batches):
    with patch.object(RowPreparer, "CACHE_SIZE", 3):  # forgetting what it remembered changes nothing
        prepare = RowPreparer()
        for batch in batches:
            values, counts = prepare(batch)
            assert values.values == [plain_values(row) for row in batch]
            assert (values.records, values.messages) == (len(batch), sum(row.count for row in batch))
            expected = defaultdict(int)
            for row in batch:
                expected[(row.source_ip, row_category(row))] += row.count
            assert counts == dict(expected)


@settings(max_examples=200, deadline=None)
@given(batch=st.lists(rows, max_size=12), offset=st.integers(0, 86400), length=st.integers(0, 4 * 86400))
def test_it_rolls_up_as_spreading_each_source_and_category_does(batch, offset, length):
    begin = EPOCH + timedelta(seconds=offset)
    weights = day_weights(begin, begin + timedelta(seconds=length))
    _, counts = RowPreparer()(batch)
    expected = defaultdict(lambda: [0] * len(COUNTERS))
    for (source_ip, category), total in counts.items():
        for day, share in spread(total, weights):
            figures = expected[(source_ip, day.isoformat())]
            for position, flag in enumerate(category_counters(category)):
                figures[position] += share * flag
    rolled = rollup_values(counts, weights)
    assert {(ip, day): list(figures) for ip, day, service, *figures in rolled.sources} == dict(expected)
    assert all(service == "" for _, _, service, *_ in rolled.sources)
    assert [row[0] for row in rolled.sources] == sorted(row[0] for row in rolled.sources)
    per_day = defaultdict(lambda: [0] * len(COUNTERS))
    for (_, day), figures in expected.items():
        per_day[day] = [a + b for a, b in zip(per_day[day], figures)]
    assert {day: list(figures) for day, *figures in rolled.days} == dict(per_day)


def test_it_hands_out_rollups_once_the_rows_are_read_or_in_parts_of_flush_at_sources():
    row = Row("192.0.2.1", 3, "none", "pass", "pass", (), "acme.example", "", "", (), ())
    batches = [[row], [row._replace(count=4)], [row._replace(source_ip="192.0.2.2", count=5)]]
    parts = list(prepare_report(batches, EPOCH, EPOCH + timedelta(hours=1)))
    assert [type(part).__name__ for part in parts] == ["RowValues"] * 3 + ["RollupValues"]
    assert [(source[0], source[3]) for source in parts[-1].sources] == [("192.0.2.1", 7), ("192.0.2.2", 5)]
    with patch("dmarc_reports.prepare.FLUSH_AT", 1):
        parts = list(prepare_report(batches, EPOCH, EPOCH + timedelta(hours=1)))
    assert [type(part).__name__ for part in parts] == ["RowValues", "RollupValues"] * 3


def test_it_hands_out_rollups_after_each_batch_for_a_storer_that_takes_them_so_for_a_report_of_one_day():
    row = Row("192.0.2.1", 3, "none", "pass", "pass", (), "acme.example", "", "", (), ())
    batches = [[row], [row._replace(count=4)], [row._replace(source_ip="192.0.2.2", count=5)]]
    parts = list(prepare_report(batches, EPOCH, EPOCH + timedelta(hours=1), per_batch=True))
    assert [type(part).__name__ for part in parts] == ["RowValues", "RollupValues"] * 3
    assert [(source[0], source[3]) for part in parts[1::2] for source in part.sources] == [
        ("192.0.2.1", 3), ("192.0.2.1", 4), ("192.0.2.2", 5)]
    # Over several days, parts could round a day's share differently from the whole: once, at the end.
    parts = list(prepare_report(batches, EPOCH, EPOCH + timedelta(days=2), per_batch=True))
    assert [type(part).__name__ for part in parts] == ["RowValues"] * 3 + ["RollupValues"]
