"""ServiceDailyRollup: each day's source roll-ups summed by the service behind each source, after every
import and every reverse-DNS look-up that names (or renames) a source."""

from collections import defaultdict
from datetime import datetime, timedelta, timezone

import pytest

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


def test_it_moves_a_sources_messages_to_the_service_a_look_up_names(org, reverse_dns):  # noqa: F811
    pks = import_sources(org, ADDRESSES)
    assert {service for _, _, service in stored(org)} == {""}
    enrich_reports(pks)
    services = stored(org)
    assert services == expected(org)
    assert {service: counters[0] for (_, _, service), counters in services.items()} == {"SendGrid": 3, "Google": 3, "": 6}
    SourceHost.objects.filter(ip="198.51.100.1").update(looked_up=None)
    enrich_reports(pks)  # looked up again, named the same: nothing moves
    assert stored(org) == services
