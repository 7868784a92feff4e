from monitor.dns_audit.lookups import Lookups
from monitor.dns_audit.mx import check_mx
from tests.monitor.dns_audit_helpers import audit_dns, d  # noqa: F401


def mx(name):
    return check_mx(d(name), Lookups())


def test_it_passes_resolving_hosts_with_reverse_dns(audit_dns):
    verdict = mx("good")
    assert verdict.status == "ok"
    assert verdict.records == ["10 mx1.good.dnsaudit.test."]
    assert verdict.details["addresses"] == {"mx1.good.dnsaudit.test": ["203.0.113.10"]}


def test_it_fails_a_domain_without_mx_or_address(audit_dns):
    verdict = mx("mx-missing")
    assert verdict.status == "fail"
    assert "has no MX record and no address: it cannot receive mail" in verdict.message


def test_it_warns_about_the_implicit_mx(audit_dns):
    verdict = mx("mx-a-only")
    assert verdict.status == "warn"
    assert "implicit MX rule" in verdict.message


def test_it_fails_when_no_host_resolves(audit_dns):
    verdict = mx("mx-unresolvable")
    assert verdict.status == "fail"
    assert verdict.message.startswith("No MX host of mx-unresolvable.dnsaudit.test resolves to an address (nowhere.dnsaudit.test)")


def test_it_warns_when_one_host_does_not_resolve(audit_dns):
    verdict = mx("mx-partly")
    assert verdict.status == "warn"
    assert verdict.message.startswith("MX host nowhere.dnsaudit.test of mx-partly.dnsaudit.test does not resolve")
    assert verdict.records == ["10 mx1.good.dnsaudit.test.", "20 nowhere.dnsaudit.test."]


def test_it_warns_about_a_null_mx(audit_dns):
    verdict = mx("mx-null")
    assert verdict.status == "warn"
    assert "null MX (RFC 7505)" in verdict.message
    assert verdict.records == ["0 ."]


def test_it_warns_about_a_host_without_reverse_dns(audit_dns):
    verdict = mx("mx-noptr")
    assert verdict.status == "warn"
    assert verdict.message == "The MX host mx.mx-noptr.dnsaudit.test (203.0.113.11) has no reverse DNS (PTR) record."


def test_it_fails_a_domain_that_does_not_exist(audit_dns):
    verdict = mx("no-such-domain")
    assert verdict.status == "fail"
    assert "does not exist" in verdict.message


def test_it_reports_an_error_when_a_host_lookup_times_out(audit_dns):
    audit_dns.set_fault("mx1.good.dnsaudit.test.", drop=True)
    verdict = mx("good")
    assert verdict.status == "error"
    assert "mx1.good.dnsaudit.test A (timed out)" in verdict.message


def test_it_reports_an_error_when_the_reverse_lookup_fails(audit_dns):
    audit_dns.set_fault("10.113.0.203.in-addr.arpa.", servfail=True)
    verdict = mx("good")
    assert verdict.status == "error"
    assert "10.113.0.203.in-addr.arpa. PTR (SERVFAIL)" in verdict.message
