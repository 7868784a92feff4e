import socket

from monitor.dns_audit.lookups import Lookups
from monitor.dns_audit.mta_sts import check_mta_sts
from tests.monitor.dns_audit_helpers import audit_dns, d, policy_server, policy_tls  # noqa: F401

MX = ["mx1.good.dnsaudit.test"]


def sts(name, mx_hosts=MX):
    return check_mta_sts(d(name), Lookups(), mx_hosts)


def test_it_passes_an_enforced_policy_covering_the_mx(policy_server):
    verdict = sts("good")
    assert verdict.status == "ok"
    assert verdict.message == "MTA-STS enforces TLS (max_age 7 days) and covers every MX host."
    assert verdict.records == [
        "TXT v=STSv1; id=20261128T01",
        "policy version: STSv1",
        "policy mode: enforce",
        "policy mx: mx1.good.dnsaudit.test",
        "policy max_age: 604800",
    ]
    assert policy_server.requests == ["mta-sts.good.dnsaudit.test/.well-known/mta-sts.txt"]


def test_it_fails_a_record_without_a_policy_file(policy_server):
    verdict = sts("sts-nopolicy")
    assert verdict.status == "fail"
    assert "answered HTTP 404" in verdict.message
    assert verdict.records == ["TXT v=STSv1; id=1"]


def test_it_fails_when_the_policy_host_does_not_exist(policy_server):
    verdict = sts("sts-nohost")
    assert verdict.status == "fail"
    assert "mta-sts.sts-nohost.dnsaudit.test does not resolve to an address" in verdict.message


def test_it_warns_about_testing_mode(policy_server):
    verdict = sts("sts-testing")
    assert verdict.status == "warn"
    assert verdict.message.startswith("MTA-STS is in testing mode")


def test_it_fails_an_enforced_policy_that_leaves_out_an_mx_host(policy_server):
    verdict = sts("sts-mismatch")
    assert verdict.status == "fail"
    assert verdict.message.startswith("The MTA-STS policy (mode enforce) does not cover MX host mx1.good.dnsaudit.test")
    assert verdict.details["uncovered_mx"] == MX


def test_it_fails_a_max_age_beyond_the_rfc_limit(policy_server):
    verdict = sts("sts-maxage")
    assert verdict.status == "fail"
    assert "max_age must be an integer value between 0 and 31557600" in verdict.message


def test_it_warns_about_a_short_max_age(policy_server):
    verdict = sts("sts-short")
    assert verdict.status == "warn"
    assert "max_age is 3600 s" in verdict.message


def test_it_warns_when_nothing_is_published(policy_server):
    verdict = sts("mx-noptr")
    assert verdict.status == "warn"
    assert verdict.message.startswith("No MTA-STS record at _mta-sts.mx-noptr.dnsaudit.test")


def test_it_fails_a_certificate_senders_do_not_trust(policy_server, settings):
    settings.MTA_STS_CA_FILE = None  # the system's CAs do not know the test CA
    verdict = sts("good")
    assert verdict.status == "fail"
    assert "The certificate of mta-sts.good.dnsaudit.test is not valid for senders" in verdict.message


def test_it_reports_an_error_when_the_policy_server_does_not_answer(policy_server, settings):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(5)  # accepts connections, never says anything
    settings.MTA_STS_PORT = silent.getsockname()[1]
    settings.MTA_STS_TIMEOUT = 0.3
    try:
        verdict = sts("good")
    finally:
        silent.close()
    assert verdict.status == "error"
    assert "did not answer within 0.3 s" in verdict.message


def test_it_reports_an_error_when_the_policy_host_lookup_fails(policy_server, audit_dns):
    audit_dns.set_fault("mta-sts.good.dnsaudit.test.", servfail=True)
    verdict = sts("good")
    assert verdict.status == "error"
    assert "Could not look up mta-sts.good.dnsaudit.test (SERVFAIL)" in verdict.message
    assert policy_server.requests == []


def test_it_reports_an_error_when_the_mx_hosts_are_unknown(policy_server):
    verdict = sts("good", mx_hosts=None)
    assert verdict.status == "error"


def test_it_never_fetches_a_policy_from_a_private_address(policy_server, settings):
    settings.MTA_STS_ALLOW_NETWORKS = []  # (the test server is on loopback, allowed for the other tests)
    verdict = sts("good")
    assert verdict.status == "error"  # not "fail": our DNS servers may give an internal view (split horizon)
    assert ("mta-sts.good.dnsaudit.test resolves to 127.0.0.1, not a public address, so the policy at "
            "https://mta-sts.good.dnsaudit.test/.well-known/mta-sts.txt was not fetched") in verdict.message
    assert policy_server.requests == []
