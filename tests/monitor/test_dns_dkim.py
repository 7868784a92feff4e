import base64

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from monitor.dns_audit.dkim import check_dkim, parse_tags
from monitor.dns_audit.lookups import Lookups
from tests.monitor.dns_audit_helpers import audit_dns, d  # noqa: F401


def dkim(selector, domain="good"):
    return check_dkim(d(domain), selector, Lookups())


def test_it_passes_rsa_2048(audit_dns):
    verdict = dkim("s2048")
    assert (verdict.check, verdict.status) == ("dkim:s2048", "ok")
    assert verdict.message == "Selector s2048 publishes a valid RSA 2048 key."
    assert verdict.records[0].startswith("v=DKIM1; k=rsa; p=MIIBIjAN")


def test_it_warns_about_rsa_1024(audit_dns):
    verdict = dkim("s1024")
    assert verdict.status == "warn"
    assert verdict.message.startswith("The DKIM key of selector s1024 is RSA 1024 bits")


def test_it_passes_ed25519(audit_dns):
    verdict = dkim("sed")
    assert verdict.status == "ok"
    assert verdict.details["key"] == "Ed25519"


def test_it_warns_about_testing_mode(audit_dns):
    verdict = dkim("stest")
    assert verdict.status == "warn"
    assert "testing mode (t=y)" in verdict.message


def test_it_fails_a_revoked_key(audit_dns):
    verdict = dkim("srevoked")
    assert verdict.status == "fail"
    assert verdict.message.startswith("The DKIM key of selector srevoked is revoked (empty p=)")


def test_it_fails_a_missing_selector(audit_dns):
    verdict = dkim("smissing")
    assert verdict.status == "fail"
    assert verdict.message.startswith("No DKIM key at smissing._domainkey.good.dnsaudit.test")


def test_it_fails_a_key_that_is_not_a_key(audit_dns):
    verdict = dkim("sbroken")
    assert verdict.status == "fail"
    assert "is not an RSA public key" in verdict.message


def test_it_fails_a_key_below_1024_bits(audit_dns):
    # cryptography will not generate keys this small; a 768-bit public key is just a modulus and an exponent.
    small = rsa.RSAPublicNumbers(65537, (1 << 767) | 1).public_key()
    der = small.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    audit_dns.add_record(f"s768._domainkey.{d('good')}", "TXT", f'"v=DKIM1; p={base64.b64encode(der).decode()}"')
    verdict = dkim("s768")
    assert verdict.status == "fail"
    assert "RSA 768 bits" in verdict.message


def test_it_reports_an_error_when_the_lookup_times_out(audit_dns):
    audit_dns.set_fault(f"sslow._domainkey.{d('good')}.", drop=True)
    verdict = dkim("sslow")
    assert verdict.status == "error"
    assert "timed out" in verdict.message


def test_it_reads_tags_with_folded_whitespace():
    assert parse_tags("v=DKIM1; k=rsa;\t p=AB CD\n EF ; t=y:s") == {"v": "DKIM1", "k": "rsa", "p": "ABCDEF", "t": "y:s"}
