from monitor.dns_audit.lookups import Lookups
from monitor.dns_audit.spf import check_spf
from tests.monitor.dns_audit_helpers import audit_dns, d  # noqa: F401


def spf(name):
    return check_spf(d(name), Lookups())


def test_it_passes_a_good_record(audit_dns):
    verdict = spf("good")
    assert verdict.status == "ok"
    assert verdict.records == ["v=spf1 ip4:203.0.113.10 include:i1.spfparts.dnsaudit.test -all"]
    assert verdict.details["dns_lookups"] == 1
    assert "ends in -all" in verdict.message


def test_it_fails_eleven_lookups(audit_dns):
    verdict = spf("spf-11")
    assert verdict.status == "fail"
    assert verdict.message.startswith("SPF needs 11 DNS lookups; the limit is 10: receivers will return permerror")
    assert verdict.details["dns_lookups"] == 11


def test_it_fails_three_void_lookups(audit_dns):
    verdict = spf("spf-void")
    assert verdict.status == "fail"
    assert verdict.message.startswith("SPF makes 3 void DNS lookups")
    assert "the limit is 2" in verdict.message


def test_it_fails_two_records(audit_dns):
    verdict = spf("spf-two")
    assert verdict.status == "fail"
    assert "publishes 2 SPF records" in verdict.message
    assert verdict.records == ["v=spf1 ip4:203.0.113.10 -all", "v=spf1 ip4:203.0.113.11 -all"]


def test_it_fails_a_missing_record_and_ignores_other_txt(audit_dns):
    verdict = spf("spf-none")
    assert verdict.status == "fail"
    assert verdict.message.startswith("No SPF record at spf-none.dnsaudit.test")
    assert verdict.records == []


def test_it_warns_without_a_closing_all(audit_dns):
    verdict = spf("spf-noall")
    assert verdict.status == "warn"
    assert "no closing all term" in verdict.message


def test_it_fails_plus_all(audit_dns):
    verdict = spf("spf-plusall")
    assert verdict.status == "fail"
    assert "ends in +all" in verdict.message


def test_it_warns_about_an_oversize_record(audit_dns):
    verdict = spf("spf-big")
    assert verdict.status == "warn"
    assert "bytes" in verdict.message and "512" in verdict.message
    assert len(verdict.records[0]) > 512


def test_it_warns_when_one_more_include_would_break_it(audit_dns):
    includes = " ".join(f"include:i{i}.spfparts.dnsaudit.test" for i in range(1, 10))
    audit_dns.add_record(d("spf-nine"), "TXT", f'"v=spf1 {includes[:200]}" "{includes[200:]} -all"')
    verdict = spf("spf-nine")
    assert verdict.status == "warn"
    assert "SPF needs 9 of the 10 DNS lookups allowed" in verdict.message


def test_it_reports_an_error_not_a_failure_when_an_include_times_out(audit_dns):
    audit_dns.set_fault("dead.spfparts.dnsaudit.test.", drop=True)
    verdict = spf("spf-include-timeout")
    assert verdict.status == "error"
    assert "dead.spfparts.dnsaudit.test TXT: timed out" in verdict.message
    assert verdict.details["verdict_without_dns_problems"]["status"] == "fail"  # what checkdmarc alone would say


def test_it_reports_an_error_when_the_record_lookup_fails(audit_dns):
    audit_dns.set_fault(d("spf-11") + ".", servfail=True)
    verdict = spf("spf-11")
    assert verdict.status == "error"
    assert "SERVFAIL" in verdict.message
