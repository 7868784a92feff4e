"""Daily roll-ups equal a direct aggregation over the stored rows, multi-day reports included."""

import gzip
import itertools
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from fractions import Fraction
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from dmarc_reports.enrichment import name_rollups
from dmarc_reports.importing import import_file
from dmarc_reports.models import DailyRollup, DomainDailyRollup, ReportRow, ServiceDailyRollup, SourceHost
from dmarc_reports.prepare import day_weights, spread
from monitor.models import Organization
from tests.dmarc_reports.builders import ReportSpec, RowSpec, aggregate_xml

COUNTERS = DailyRollup.COUNTERS
EPOCH = datetime(2026, 3, 1, tzinfo=timezone.utc)
slugs = itertools.count()


def counters_of(row: ReportRow) -> dict[str, int]:
    """What one stored row contributes to each counter, straight from its fields."""
    failing = not (row.dkim == "pass" or row.spf == "pass")
    types = {reason["type"] for reason in row.reasons} if failing else set()  # overrides count on failing mail only
    return {
        "messages": 1, "dmarc_pass": int(row.dkim == "pass" or row.spf == "pass"), "dkim_pass": int(row.dkim == "pass"),
        "spf_pass": int(row.spf == "pass"), "disposition_none": int(row.disposition not in ("quarantine", "reject")),
        "disposition_quarantine": int(row.disposition == "quarantine"),
        "disposition_reject": int(row.disposition == "reject"),
        "forwarded": int(bool(types & {"forwarded", "trusted_forwarder"})),
        "mailing_list": int("mailing_list" in types),
    }


def exact_share(begin: datetime, end: datetime) -> dict[date, Fraction]:
    """The fraction of a period in each UTC day, computed second by second boundaries."""
    if end <= begin:
        return {begin.date(): Fraction(1)}
    whole = (end - begin).total_seconds()
    shares = {}
    day = datetime(begin.year, begin.month, begin.day, tzinfo=timezone.utc)
    while day < end:
        overlap = (min(end, day + timedelta(days=1)) - max(begin, day)).total_seconds()
        if overlap > 0:
            shares[day.date()] = Fraction(int(overlap), int(whole))
        day += timedelta(days=1)
    return shares


rows = st.builds(
    RowSpec,
    source_ip=st.sampled_from(["192.0.2.1", "192.0.2.2", "2001:db8::1"]),
    count=st.integers(min_value=0, max_value=10_000),
    disposition=st.sampled_from(["none", "quarantine", "reject", "pass"]),
    dkim=st.sampled_from(["pass", "fail", ""]),
    spf=st.sampled_from(["pass", "fail"]),
    reasons=st.lists(st.tuples(st.sampled_from(["forwarded", "mailing_list", "local_policy", "trusted_forwarder"]),
                               st.just("")), max_size=2).map(tuple),
)
reports = st.lists(
    st.tuples(st.lists(rows, min_size=1, max_size=12),
              st.integers(min_value=0, max_value=3 * 86400),  # begins up to 3 days after EPOCH
              st.integers(min_value=0, max_value=4 * 86400)),  # lasts up to 4 days
    min_size=1, max_size=3,
)


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reports=reports)
def test_it_keeps_rollups_equal_to_the_rows(reports):
    org = Organization.objects.create(slug=f"prop-{next(slugs)}", name="Property")
    for number, (row_specs, offset, length) in enumerate(reports):
        begin = EPOCH + timedelta(seconds=offset)
        spec = ReportSpec(rows=row_specs, report_id=f"p-{number}", begin=begin, end=begin + timedelta(seconds=length))
        assert import_file(aggregate_xml(spec), name="r.xml", org=org, via="command").status == "imported"

    exact = defaultdict(Fraction)  # (ip, day, counter) -> exact spread value
    totals = defaultdict(int)  # (ip, counter) -> sum over the rows
    groups = defaultdict(set)  # (ip, day) -> the (report, category) groups whose rounding lands there
    for row in ReportRow.objects.filter(report__organization=org).select_related("report"):
        flags = counters_of(row)
        shares = exact_share(row.report.date_begin, row.report.date_end)
        for counter, flag in flags.items():
            totals[(row.source_ip, counter)] += flag * row.count
            for day, share in shares.items():
                exact[(row.source_ip, day, counter)] += flag * row.count * share
                groups[(row.source_ip, day)].add((row.report_id, tuple(flags.values())))

    stored = {(r.source_ip, r.day): r for r in DailyRollup.objects.filter(organization=org)}
    for (ip, counter), total in totals.items():
        assert sum(getattr(r, counter) for (i, _), r in stored.items() if i == ip) == total
    for (ip, day, counter), value in exact.items():
        rollup = stored.get((ip, day))
        got = getattr(rollup, counter) if rollup else 0
        assert abs(got - value) < len(groups[(ip, day)]), (ip, day, counter)  # each group rounds by < 1
    for rollup in stored.values():
        assert rollup.disposition_none + rollup.disposition_quarantine + rollup.disposition_reject == rollup.messages
        assert rollup.dkim_pass <= rollup.dmarc_pass <= rollup.messages and rollup.spf_pass <= rollup.dmarc_pass


domain_reports = st.lists(
    st.tuples(st.sampled_from(["acme.example", "brand.example"]), st.lists(rows, min_size=1, max_size=12),
              st.integers(min_value=0, max_value=3 * 86400), st.integers(min_value=0, max_value=4 * 86400)),
    min_size=1, max_size=4,
)


@pytest.mark.django_db
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reports=domain_reports, again=st.integers(min_value=0, max_value=3), named_after=st.integers(0, 4))
def test_it_keeps_domain_and_service_rollups_equal_to_the_sums_of_the_source_rollups(reports, again, named_after):
    """Per domain and day, and per domain, day and service (the roll-up's own, else its reverse DNS's)."""
    org = Organization.objects.create(slug=f"prop-{next(slugs)}", name="Property")
    SourceHost.objects.update_or_create(ip="192.0.2.1", defaults={"service": "Google"})
    SourceHost.objects.filter(ip="2001:db8::1").delete()
    files = []
    for number, (domain, row_specs, offset, length) in enumerate(reports):
        begin = EPOCH + timedelta(seconds=offset)
        files.append(aggregate_xml(ReportSpec(rows=row_specs, domain=domain, report_id=f"d-{number}", begin=begin,
                                              end=begin + timedelta(seconds=length))))
    with patch("dmarc_reports.store.BATCH", 2), patch("dmarc_reports.prepare.FLUSH_AT", 2):  # added in parts
        for number, xml in enumerate(files):
            if number == named_after:  # a reverse-DNS look-up names a source some roll-ups already hold
                name_rollups([SourceHost.objects.create(ip="2001:db8::1", service="SendGrid")])
            assert import_file(xml, name="r.xml", org=org, via="command").status == "imported"
        duplicate = gzip.compress(files[again % len(files)])
        assert import_file(duplicate, name="r.xml.gz", org=org, via="command").status == "duplicate"

    sums = defaultdict(lambda: [0] * len(COUNTERS))
    for rollup in DailyRollup.objects.filter(organization=org):
        key = (rollup.domain, rollup.day)
        sums[key] = [total + getattr(rollup, counter) for total, counter in zip(sums[key], COUNTERS)]
    stored = {(r.domain, r.day): [getattr(r, counter) for counter in COUNTERS]
              for r in DomainDailyRollup.objects.filter(organization=org)}
    assert stored == dict(sums)

    hosts = dict(SourceHost.objects.values_list("ip", "service"))
    by_service = defaultdict(lambda: [0] * len(COUNTERS))
    for rollup in DailyRollup.objects.filter(organization=org):
        key = (rollup.domain, rollup.day, rollup.service or hosts.get(rollup.source_ip, ""))
        by_service[key] = [total + getattr(rollup, counter) for total, counter in zip(by_service[key], COUNTERS)]
    stored = {(r.domain, r.day, r.service): [getattr(r, counter) for counter in COUNTERS]
              for r in ServiceDailyRollup.objects.filter(organization=org)}
    assert stored == dict(by_service)


def test_it_reads_the_usual_report_periods_as_one_day():
    day = datetime(2026, 3, 1, tzinfo=timezone.utc)
    assert day_weights(day, day + timedelta(seconds=86399)) == [(day.date(), 86399)]
    assert day_weights(day, day + timedelta(days=1)) == [(day.date(), 86400)]
    assert day_weights(day, day) == [(day.date(), 1)]


def test_it_spreads_a_count_over_days_keeping_the_total():
    noon = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
    weights = day_weights(noon, noon + timedelta(days=2))  # half a day, a day, half a day
    assert [seconds for _, seconds in weights] == [43200, 86400, 43200]
    assert [share for _, share in spread(100, weights)] == [25, 50, 25]
    assert [share for _, share in spread(3, weights)] == [1, 1, 1]  # 0.75, 1.5, 0.75: largest remainders first
    assert [share for _, share in spread(2, weights)] == [1, 1]  # 0.5, 1, 0.5: the tie goes to the earlier day
    assert sum(share for _, share in spread(7, weights)) == 7
    assert spread(0, weights) == []


def test_it_adds_reports_of_the_same_day_together(org):
    day = datetime(2026, 3, 2, tzinfo=timezone.utc)
    for number, count in enumerate((5, 7)):
        spec = ReportSpec(report_id=f"s-{number}", begin=day, end=day + timedelta(days=1),
                          rows=[RowSpec(count=count, spf="fail")])
        import_file(aggregate_xml(spec), name="r.xml", org=org, via="upload")
    rollup = DailyRollup.objects.get()
    assert (rollup.messages, rollup.dmarc_pass, rollup.spf_pass) == (12, 12, 0)
