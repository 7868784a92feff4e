"""ServiceDailyRollup: each day's source roll-ups summed by the service behind each source, after every
import and every reverse-DNS look-up that names (or renames) a source."""

from collections import defaultdict
from datetime import datetime, timedelta, timezone
from unittest.mock import patch

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dmarc_reports.enrichment import enrich_reports
from dmarc_reports.importing import import_file
from dmarc_reports.models import DailyRollup, ServiceDailyRollup, SourceHost
from tests.dmarc_reports.builders import ReportSpec, RowSpec, aggregate_xml
from tests.dmarc_reports.test_enrichment import ADDRESSES, import_sources, reverse_dns  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db
COUNTERS = DailyRollup.COUNTERS


def stored(org) -> dict:
    return {(r.domain, r.day, r.service): [getattr(r, c) for c in COUNTERS]
            for r in ServiceDailyRollup.objects.filter(organization=org)}


def expected(org) -> dict:
    """The source roll-ups summed by their service, else their address's service from reverse DNS."""
    hosts = dict(SourceHost.objects.values_list("ip", "service"))
    sums = defaultdict(lambda: [0] * len(COUNTERS))
    for r in DailyRollup.objects.filter(organization=org):
        key = (r.domain, r.day, r.service or hosts.get(r.source_ip, ""))
        sums[key] = [total + getattr(r, c) for total, c in zip(sums[key], COUNTERS)]
    return dict(sums)


def test_it_sums_each_imported_day_by_service(org):
    SourceHost.objects.create(ip="198.51.100.2", ptr="mail-sor-f41.google.com", service="Google")
    begin = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
    rows = [RowSpec(source_ip=ip, count=n + 2) for n, ip in enumerate(ADDRESSES)]
    for number in range(2):  # the second report adds to the first's days
        spec = ReportSpec(rows=rows, report_id=f"s-{number}", begin=begin, end=begin + timedelta(days=1))
        assert import_file(aggregate_xml(spec), name="r.xml", org=org, via="command", enrich=False).status == "imported"
    services = stored(org)
    assert services == expected(org)
    assert {service for _, _, service in services} == {"Google", ""}
    assert sum(counters[0] for (_, _, service), counters in services.items() if service == "Google") == 2 * 3
    # the known service is copied onto the import's roll-ups, and only onto those of that address
    assert dict(DailyRollup.objects.values_list("source_ip", "service").distinct()) == {
        "198.51.100.1": "", "198.51.100.2": "Google", "198.51.100.3": "", "198.51.100.4": ""}


def test_it_adds_an_import_to_a_day_without_reading_the_days_other_sources(org):
    """An import looks up its own sources' services (a few indexed queries), not the whole day's."""
    SourceHost.objects.create(ip="198.51.100.2", ptr="mail-sor-f41.google.com", service="Google")
    SourceHost.objects.create(ip="203.0.113.9", ptr="o1.ptr4242.sendgrid.net", service="SendGrid")
    begin = datetime(2026, 3, 1, tzinfo=timezone.utc)
    busy = [RowSpec(source_ip=f"192.0.2.{n}", count=1) for n in range(1, 40)]
    busy.append(RowSpec(source_ip="203.0.113.9", count=5))
    spec = ReportSpec(rows=busy, report_id="busy", begin=begin, end=begin + timedelta(days=1))
    assert import_file(aggregate_xml(spec), name="r.xml", org=org, via="command", enrich=False).status == "imported"
    rows = [RowSpec(source_ip=ip, count=2) for ip in ADDRESSES]
    spec = ReportSpec(rows=rows, report_id="small", begin=begin, end=begin + timedelta(days=1))
    with CaptureQueriesContext(connection) as queries:
        assert import_file(aggregate_xml(spec), name="r.xml", org=org, via="command", enrich=False).status == "imported"
    assert stored(org) == expected(org)
    assert {service: counters[0] for (_, _, service), counters in stored(org).items()} == {
        "": 39 + 2 * 3, "SendGrid": 5, "Google": 2}
    lookups = [q["sql"] for q in queries.captured_queries if "LEFT JOIN" in q["sql"]]
    assert len(lookups) == 1  # the day's four addresses in one query, each looked up in the index
    if connection.vendor == "sqlite":  # ... the addresses first, never a scan of the day's roll-ups
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {lookups[0]}")  # (as captured: the parameters written in)
            plan = [row[-1] for row in cursor.fetchall()]
        assert plan[0].startswith("SCAN a") and all(not step.startswith("SCAN") for step in plan[1:]), plan


def test_it_spreads_a_report_of_several_days_over_each_days_services(org):
    SourceHost.objects.create(ip="198.51.100.1", ptr="o1.ptr4242.sendgrid.net", service="SendGrid")
    begin = datetime(2026, 3, 1, 18, tzinfo=timezone.utc)  # a quarter, a whole and three quarters of a day
    rows = [RowSpec(source_ip=ip, count=40 + n) for n, ip in enumerate(ADDRESSES)]
    spec = ReportSpec(rows=rows, report_id="long", begin=begin, end=begin + timedelta(days=2))
    with patch("dmarc_reports.prepare.FLUSH_AT", 2):  # in parts: each part's sources looked up on their own
        assert import_file(aggregate_xml(spec), name="r.xml", org=org, via="command", enrich=False).status == "imported"
    services = stored(org)
    assert services == expected(org)
    assert len({day for _, day, _ in services}) == 3
    assert sum(counters[0] for (_, _, service), counters in services.items() if service == "SendGrid") == 40


def test_it_moves_a_sources_messages_to_the_service_a_look_up_names(org, reverse_dns):  # noqa: F811
    pks = import_sources(org, ADDRESSES)
    assert {service for _, _, service in stored(org)} == {""}
    enrich_reports(pks)
    services = stored(org)
    assert services == expected(org)
    assert {service: counters[0] for (_, _, service), counters in services.items()} == {"SendGrid": 3, "Google": 3,
                                                                                      "customer.example": 3, "": 3}
    SourceHost.objects.filter(ip="198.51.100.1").update(looked_up=None)
    enrich_reports(pks)  # looked up again, named the same: nothing moves
    assert stored(org) == services
