import pytest

from monitor.dns_audit.fcrdns import check_fcrdns, generic_reason
from monitor.dns_audit.lookups import Lookups
from tests.monitor.dns_audit_helpers import audit_dns  # noqa: F401


def fcrdns(last_octet):
    return check_fcrdns(f"203.0.113.{last_octet}", Lookups())


def test_it_passes_a_forward_confirmed_ptr(audit_dns):
    verdict = fcrdns(10)
    assert verdict.status == "ok"
    assert verdict.message == "The PTR of 203.0.113.10 is mx1.good.dnsaudit.test, which resolves back to 203.0.113.10."
    assert verdict.records == ["PTR mx1.good.dnsaudit.test", "mx1.good.dnsaudit.test -> 203.0.113.10"]


def test_it_fails_a_missing_ptr(audit_dns):
    verdict = fcrdns(11)
    assert verdict.status == "fail"
    assert verdict.message.startswith("203.0.113.11 has no reverse DNS (PTR) record")


def test_it_fails_a_ptr_that_resolves_elsewhere(audit_dns):
    verdict = fcrdns(12)
    assert verdict.status == "fail"
    assert "mail12.fcrdns.dnsaudit.test, which resolves to 203.0.113.99, not back to 203.0.113.12" in verdict.message


def test_it_fails_a_ptr_that_resolves_nowhere(audit_dns):
    verdict = fcrdns(16)
    assert verdict.status == "fail"
    assert "which does not resolve to any address" in verdict.message


def test_it_warns_about_a_ptr_holding_the_address(audit_dns):
    verdict = fcrdns(13)
    assert verdict.status == "warn"
    assert "looks like a generic access-network name (it contains the address (203-0-113-13))" in verdict.message


def test_it_warns_about_a_ptr_with_access_network_words(audit_dns):
    verdict = fcrdns(14)
    assert verdict.status == "warn"
    assert "it contains 'pool', 'static'" in verdict.message


def test_it_warns_about_several_ptr_records(audit_dns):
    audit_dns.add_record("15.113.0.203.in-addr.arpa.", "PTR", "mx1.good.dnsaudit.test.")
    verdict = fcrdns(15)
    assert verdict.status == "warn"
    assert "has 2 PTR records" in verdict.message


def test_it_reports_an_error_when_the_ptr_lookup_fails(audit_dns):
    audit_dns.set_fault("15.113.0.203.in-addr.arpa.", servfail=True)
    verdict = fcrdns(15)
    assert verdict.status == "error"
    assert "SERVFAIL" in verdict.message


def test_it_reports_an_error_when_the_forward_lookup_times_out(audit_dns):
    audit_dns.set_fault("mail15.fcrdns.dnsaudit.test.", drop=True)
    verdict = fcrdns(15)
    assert verdict.status == "error"
    assert "mail15.fcrdns.dnsaudit.test A (timed out)" in verdict.message


@pytest.mark.parametrize(
    "name, address",
    [
        ("192-0-2-1.dynamic.isp.example", "192.0.2.1"),
        ("ip-192-0-2-1.eu-west-1.compute.internal", "192.0.2.1"),
        ("1.2.0.192.in-addr.example.net", "192.0.2.1"),
        ("host192000002001.isp.example", "192.0.2.1"),
        ("c0000201.isp.example", "192.0.2.1"),
        ("dsl-pool-7.isp.example", "192.0.2.1"),
        ("dyn-7.isp.example", "192.0.2.1"),
        ("static-7.isp.example", "192.0.2.1"),
        ("2001-db8--25.isp.example", "2001:db8::25"),
    ],
)
def test_it_recognises_generic_names(name, address):
    assert generic_reason(name, address) is not None


@pytest.mark.parametrize(
    "name, address",
    [
        ("mail1.example.com", "192.0.2.1"),
        ("mta-out-7.mailer.example.net", "192.0.2.1"),
        ("o1.ptr2025.sendgrid.example", "192.0.2.1"),
        ("smtp.staticfiles-company.example", "192.0.2.1"),  # provider domain words do not count
    ],
)
def test_it_leaves_mail_server_names_alone(name, address):
    assert generic_reason(name, address) is None


def test_it_confirms_an_ipv6_address(audit_dns):
    audit_dns.add_zone_text("8.b.d.0.1.0.0.2.ip6.arpa.", "5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 PTR mail6.fcrdns.dnsaudit.test.")
    audit_dns.add_record("mail6.fcrdns.dnsaudit.test.", "AAAA", "2001:db8::25")
    verdict = check_fcrdns("2001:db8::25", Lookups())
    assert verdict.status == "ok"
    assert verdict.records == ["PTR mail6.fcrdns.dnsaudit.test", "mail6.fcrdns.dnsaudit.test -> 2001:db8::25"]
