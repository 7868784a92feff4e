"""Reverse DNS of report sources against the loopback DNS server: PTR, service, cache, roll-ups."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dmarc_reports.enrichment import enrich_reports, enrich_sources, lookup_all, service_for, stale
from dmarc_reports.importing import import_file
from dmarc_reports.models import DailyRollup, SourceHost
from tests.dmarc_reports.builders import ReportSpec, RowSpec, aggregate_xml

REVERSE = """
1   PTR o1.ptr4242.sendgrid.net.
2   PTR mail-sor-f41.google.com.
4   PTR host-4.customer.example.
"""
ADDRESSES = ["198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4"]


@pytest.fixture
def reverse_dns(dns_settings, settings):
    dns_settings.add_zone_text("100.51.198.in-addr.arpa.", REVERSE)
    settings.DNS_TIMEOUT = 0.5
    return dns_settings


def ptr_questions(server) -> int:
    return sum(1 for query in server.queries if query.type == "PTR")


def import_sources(org, addresses, report_id="e-1"):
    rows = [RowSpec(source_ip=address, count=3) for address in addresses]
    outcome = import_file(aggregate_xml(ReportSpec(rows=rows, report_id=report_id)), name="r.xml", org=org,
                          via="command", enrich=False)
    return [result.report.pk for result in outcome.results]


def test_it_names_known_senders_by_host_name_suffix():
    assert service_for("a8-55.smtp-out.amazonses.com.") == "Amazon SES"
    assert service_for("mail-db3eur04on0101.outbound.protection.outlook.com") == "Microsoft 365 / Outlook"
    assert service_for("mx0b-00123.pphosted.com") == "Proofpoint"
    assert service_for("esa2.acme.iphmx.com") == "Cisco Secure Email (IronPort)"
    assert service_for("x.prod.hydra.sophos.com") == "Sophos Email" and service_for("www.sophos.com") == "sophos.com"
    assert service_for("") == ""


def test_it_keeps_a_table_of_senders_with_each_suffix_once_in_lower_case():
    import tomllib

    from dmarc_reports.enrichment import SENDERS

    with open(SENDERS, "rb") as stream:
        table = tomllib.load(stream)["services"]
    listed = [suffix for suffixes in table.values() for suffix in suffixes]
    assert len(listed) == len(set(listed)) and all(suffix == suffix.lower().strip(".") for suffix in listed)
    assert all(table.values()) and list(table) == sorted(table, key=str.lower)


def test_it_names_other_senders_by_the_organisational_domain_of_their_host_name():
    assert service_for("notgoogle.com") == "notgoogle.com"
    assert service_for("Mail-7.Out.Acme.co.uk.") == "acme.co.uk"
    assert service_for("192-0-2-77.static.isp.example") == "isp.example"
    assert service_for("localhost") == "localhost"


def test_it_looks_up_sources_after_an_import_and_names_their_roll_ups(org, reverse_dns):
    pks = import_sources(org, ADDRESSES)
    assert set(DailyRollup.objects.values_list("service", flat=True)) == {""}  # the import did not wait

    summary = enrich_reports(pks)

    assert summary.startswith("4 source(s): 4 looked up, 3 named")
    hosts = {host.ip: host for host in SourceHost.objects.all()}
    assert (hosts["198.51.100.1"].ptr, hosts["198.51.100.1"].service) == ("o1.ptr4242.sendgrid.net", "SendGrid")
    assert (hosts["198.51.100.2"].ptr, hosts["198.51.100.2"].service) == ("mail-sor-f41.google.com", "Google")
    assert (hosts["198.51.100.3"].ptr, hosts["198.51.100.3"].error) == ("", "")  # no PTR is an answer
    assert (hosts["198.51.100.4"].ptr, hosts["198.51.100.4"].service) == ("host-4.customer.example", "customer.example")
    assert all(host.looked_up for host in hosts.values())
    services = dict(DailyRollup.objects.values_list("source_ip", "service"))
    assert services == {"198.51.100.1": "SendGrid", "198.51.100.2": "Google", "198.51.100.3": "",
                        "198.51.100.4": "customer.example"}


def test_it_asks_dns_only_for_sources_not_looked_up_lately(org, reverse_dns):
    enrich_sources(ADDRESSES[:2])
    asked = ptr_questions(reverse_dns)
    assert asked >= 2
    enrich_sources(ADDRESSES)
    assert ptr_questions(reverse_dns) - asked == 2  # only .3 and .4 were new
    SourceHost.objects.filter(ip="198.51.100.1").update(looked_up=timezone.now() - timedelta(days=31))
    assert stale(ADDRESSES) == ["198.51.100.1"]


def test_it_names_the_sources_of_a_later_import_at_once(org, reverse_dns):
    enrich_sources(["198.51.100.2"])
    import_sources(org, ["198.51.100.2"], report_id="later")
    assert DailyRollup.objects.get().service == "Google"


def test_it_notes_a_failed_look_up_and_keeps_what_it_knew(org, reverse_dns):
    enrich_sources(["198.51.100.1"])
    reverse_dns.set_fault("100.51.198.in-addr.arpa.", drop=True)
    counts = enrich_sources(["198.51.100.1", "198.51.100.9"], force=True)
    assert counts["failed"] == 2
    known = SourceHost.objects.get(ip="198.51.100.1")
    assert (known.ptr, known.service, known.error) == ("o1.ptr4242.sendgrid.net", "SendGrid", "no answer in time")
    assert SourceHost.objects.get(ip="198.51.100.9").error == "no answer in time"
    SourceHost.objects.filter(ip="198.51.100.9").update(looked_up=timezone.now() - timedelta(days=2))
    assert stale(["198.51.100.1", "198.51.100.9"]) == ["198.51.100.9"]  # failures are retried after a day


def test_it_asks_many_at_once_with_a_bounded_number_in_flight(reverse_dns, monkeypatch):
    from dmarc_reports import enrichment
    from tests.harness import aio

    reverse_dns.set_fault("100.51.198.in-addr.arpa.", latency=0.02)
    real, flight = enrichment.lookup, {"now": 0, "most": 0}

    async def counted(resolver, address):
        flight["now"] += 1
        flight["most"] = max(flight["most"], flight["now"])
        try:
            return await real(resolver, address)
        finally:
            flight["now"] -= 1

    monkeypatch.setattr(enrichment, "lookup", counted)
    addresses = [f"198.51.100.{n}" for n in range(1, 41)]
    answers = aio.run(lookup_all(addresses, concurrency=8))
    assert flight["most"] == 8  # concurrent, and never more than asked
    assert set(answers) == set(addresses)
    assert answers["198.51.100.2"] == ("mail-sor-f41.google.com", "")
    assert answers["198.51.100.40"] == ("", "")


def test_it_queues_the_look_up_without_waiting_for_it(org, reverse_dns, monkeypatch):
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", True)  # run the queued task here, so its effect can be seen
    rows = [RowSpec(source_ip="198.51.100.1")]
    import_file(aggregate_xml(ReportSpec(rows=rows)), name="r.xml", org=org, via="upload")
    assert SourceHost.objects.get(ip="198.51.100.1").service == "SendGrid"
    assert DailyRollup.objects.get().service == "SendGrid"


def test_it_refreshes_recent_sources_whose_look_up_is_stale(org, reverse_dns):
    from datetime import datetime, timezone as tz

    from dmarc_reports.enrichment import enrich_recent_sources

    today = timezone.now().date()
    begin = datetime(today.year, today.month, today.day, tzinfo=tz.utc) - timedelta(days=2)
    spec = ReportSpec(rows=[RowSpec(source_ip="198.51.100.2")], begin=begin, end=begin + timedelta(days=1))
    import_file(aggregate_xml(spec), name="r.xml", org=org, via="command", enrich=False)
    SourceHost.objects.create(ip="198.51.100.2", ptr="old.example", looked_up=timezone.now() - timedelta(days=40))

    assert enrich_recent_sources(days=7).startswith("1 recent source(s): 1 looked up, 1 named")
    assert SourceHost.objects.get(ip="198.51.100.2").service == "Google"
    assert enrich_recent_sources(days=7).startswith("1 recent source(s): 0 looked up")
