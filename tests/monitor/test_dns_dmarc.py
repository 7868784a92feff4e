from monitor.dns_audit.dmarc import check_dmarc
from monitor.dns_audit.lookups import Lookups
from tests.monitor.dns_audit_helpers import audit_dns, d  # noqa: F401


def dmarc(name):
    return check_dmarc(d(name), Lookups())


def test_it_passes_an_enforcing_record(audit_dns):
    verdict = dmarc("good")
    assert verdict.status == "ok"
    assert verdict.message.startswith("DMARC p=reject, sp=reject, np=reject; alignment DKIM strict, SPF strict")
    assert verdict.records == ["v=DMARC1; p=reject; sp=reject; adkim=s; aspf=s; rua=mailto:dmarc@dnsaudit.test"]
    assert verdict.details["rua"] == ["dmarc@dnsaudit.test"]


def test_it_fails_a_missing_record(audit_dns):
    audit_dns.add_record(d("dmarc-missing"), "MX", "10 mx1.good.dnsaudit.test.")
    verdict = dmarc("dmarc-missing")
    assert verdict.status == "fail"
    assert verdict.message.startswith("No DMARC record at _dmarc.dmarc-missing.dnsaudit.test or its parent domains")
    assert verdict.records == []


def test_it_warns_about_p_none(audit_dns):
    verdict = dmarc("dmarc-none")
    assert verdict.status == "warn"
    assert verdict.message.startswith("p=none: DMARC only monitors dmarc-none.dnsaudit.test")


def test_it_fails_a_bad_tag_value(audit_dns):
    verdict = dmarc("dmarc-badvalue")
    assert verdict.status == "fail"
    assert "The DMARC record is invalid" in verdict.message and "not block" in verdict.message
    assert verdict.records == ["v=DMARC1; p=block; rua=mailto:dmarc@dnsaudit.test"]


def test_it_warns_about_an_unknown_tag(audit_dns):
    verdict = dmarc("dmarc-unknown")
    assert verdict.status == "warn"
    assert "Unknown DMARC tag 'foo'" in verdict.message


def test_it_warns_about_legacy_tags(audit_dns):
    verdict = dmarc("dmarc-legacy")
    assert verdict.status == "warn"
    assert verdict.message.startswith("Legacy tags pct, rf, ri: removed in RFC 9989")


def test_it_warns_about_testing_mode(audit_dns):
    verdict = dmarc("dmarc-testing")
    assert verdict.status == "warn"
    assert verdict.message.startswith("t=y (testing)")


def test_it_warns_about_np_none(audit_dns):
    verdict = dmarc("dmarc-np-none")
    assert verdict.status == "warn"
    assert verdict.message.startswith("np=none")


def test_it_warns_about_an_external_rua_without_authorisation(audit_dns):
    verdict = dmarc("dmarc-external")
    assert verdict.status == "warn"
    assert "dnsaudit-reports.test does not indicate that it accepts DMARC reports" in verdict.message
    assert "dmarc-external.dnsaudit.test._report._dmarc.dnsaudit-reports.test" in verdict.message


def test_it_passes_an_external_rua_with_authorisation(audit_dns):
    verdict = dmarc("dmarc-authorised")
    assert verdict.status == "ok"
    assert verdict.details["rua"] == ["agg@dnsaudit-reports.test"]


def test_it_marks_an_inherited_record(audit_dns):
    audit_dns.add_record(d("sub.dmarc-authorised"), "MX", "10 mx1.good.dnsaudit.test.")
    verdict = check_dmarc(d("sub.dmarc-authorised"), Lookups())
    assert verdict.records == [
        "(inherited from _dmarc.dmarc-authorised.dnsaudit.test) v=DMARC1; p=reject; rua=mailto:agg@dnsaudit-reports.test"
    ]


def test_it_reports_an_error_when_dmarc_times_out(audit_dns):
    audit_dns.set_fault("_dmarc.dmarc-slow.dnsaudit.test.", drop=True)
    verdict = dmarc("dmarc-slow")
    assert verdict.status == "error"
    assert "_dmarc.dmarc-slow.dnsaudit.test TXT (timed out)" in verdict.message


def test_it_reports_an_error_when_the_authorisation_lookup_fails(audit_dns):
    audit_dns.set_fault("_report._dmarc.dnsaudit-reports.test.", servfail=True)
    verdict = dmarc("dmarc-authorised")
    assert verdict.status == "error"
    assert "SERVFAIL" in verdict.message
