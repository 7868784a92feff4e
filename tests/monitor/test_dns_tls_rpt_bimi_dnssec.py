import dns.dnssec
import dns.name
import dns.rrset
from cryptography.hazmat.primitives.asymmetric import ed25519

from monitor.dns_audit.bimi import check_bimi
from monitor.dns_audit.dnssec import check_dnssec
from monitor.dns_audit.lookups import Lookups
from monitor.dns_audit.tls_rpt import check_tls_rpt
from tests.harness.dns_zones import DEFAULT_TTL
from tests.monitor.dns_audit_helpers import audit_dns, d, policy_server, policy_tls  # noqa: F401


def test_it_passes_a_tls_rpt_record(audit_dns):
    verdict = check_tls_rpt(d("good"), Lookups())
    assert verdict.status == "ok"
    assert verdict.message == "TLS reports go to mailto:tlsrpt@dnsaudit.test."
    assert verdict.records == ["v=TLSRPTv1; rua=mailto:tlsrpt@dnsaudit.test"]


def test_it_warns_about_a_missing_tls_rpt_record(audit_dns):
    verdict = check_tls_rpt(d("mx-noptr"), Lookups())
    assert verdict.status == "warn"
    assert verdict.message.startswith("No TLS-RPT record at _smtp._tls.mx-noptr.dnsaudit.test")


def test_it_fails_a_bad_tls_rpt_rua(audit_dns):
    verdict = check_tls_rpt(d("tlsrpt-bad"), Lookups())
    assert verdict.status == "fail"
    assert "ftp://reports.dnsaudit.test/tls is not a valid SMTP TLS Reporting URI" in verdict.message


def test_it_reports_an_error_when_tls_rpt_fails_to_resolve(audit_dns):
    audit_dns.set_fault("_smtp._tls.good.dnsaudit.test.", servfail=True)
    assert check_tls_rpt(d("good"), Lookups()).status == "error"


def test_it_leaves_an_unpublished_bimi_alone(audit_dns):
    verdict = check_bimi(d("mx-noptr"), Lookups())
    assert verdict.status == "ok"
    assert verdict.message == "No BIMI record at default._bimi.mx-noptr.dnsaudit.test (BIMI is optional)."


def test_it_passes_a_bimi_record_that_declines(audit_dns):
    verdict = check_bimi(d("good"), Lookups())
    assert verdict.status == "ok"
    assert verdict.records == ["v=BIMI1; l=; a="]


def test_it_fails_a_bimi_logo_over_http(audit_dns):
    verdict = check_bimi(d("bimi-bad"), Lookups())
    assert verdict.status == "fail"
    assert "The l tag value must be empty or a single HTTPS URI" in verdict.message


def test_it_warns_about_an_unsigned_domain(audit_dns):
    verdict = check_dnssec(d("good"), Lookups())
    assert verdict.status == "warn"
    assert "is not signed with DNSSEC" in verdict.message


def test_it_fails_a_ds_record_without_signed_keys(audit_dns):
    verdict = check_dnssec(d("dnssec-broken"), Lookups())
    assert verdict.status == "fail"
    assert verdict.message.startswith("DNSSEC is broken for dnssec-broken.dnsaudit.test")
    assert verdict.records[0].startswith("DS 12345 13 2")


def sign_zone(server, zone: str, signing_key=None):
    """Publish a DNSKEY at ``zone`` with its signature, and the DS record vouching for it (the test server
    keeps parent and child in one zone file, as the dnssec-broken records do); the signature is made with
    ``signing_key`` when given (another key: a signature that does not verify)."""
    key = ed25519.Ed25519PrivateKey.generate()
    dnskey = dns.dnssec.make_dnskey(key.public_key(), dns.dnssec.Algorithm.ED25519, flags=257)
    name = dns.name.from_text(zone)
    keys = dns.rrset.from_rdata(name, DEFAULT_TTL, dnskey)
    signature = dns.dnssec.sign(keys, signing_key or key, signer=name, dnskey=dnskey, lifetime=3600)
    server.add_record(zone, "DNSKEY", dnskey.to_text())
    server.add_record(zone, "RRSIG", signature.to_text())
    server.add_record(zone, "DS", dns.dnssec.make_ds(name, dnskey, "SHA256").to_text())


def test_it_passes_a_signed_zone_whose_keys_match_the_ds_record(audit_dns):
    sign_zone(audit_dns, d("dnssec-ok") + ".")
    verdict = check_dnssec(d("dnssec-ok"), Lookups())
    assert verdict.status == "ok"
    assert verdict.message == "DNSSEC validates for dnssec-ok.dnsaudit.test."
    assert verdict.records[0].startswith("DS ") and " 15 2 " in verdict.records[0]


def test_it_fails_a_zone_whose_keys_are_signed_with_another_key(audit_dns):
    sign_zone(audit_dns, d("dnssec-forged") + ".", signing_key=ed25519.Ed25519PrivateKey.generate())
    verdict = check_dnssec(d("dnssec-forged"), Lookups())
    assert verdict.status == "fail"
    assert verdict.message.startswith("DNSSEC is broken for dnssec-forged.dnsaudit.test")


def test_it_reports_an_error_when_the_ds_lookup_fails(audit_dns):
    audit_dns.set_fault(d("good") + ".", servfail=True)
    assert check_dnssec(d("good"), Lookups()).status == "error"


TINY_PS_LOGO = (
    '<svg xmlns="http://www.w3.org/2000/svg" version="1.2" baseProfile="tiny-ps" viewBox="0 0 100 100">'
    '<title>Acme</title><circle cx="50" cy="50" r="40" fill="#2358c4"/></svg>'
)


def _publish_logo(audit_dns, server, path, svg):
    server.policies[f"127.0.0.1{path}"] = (200, "image/svg+xml", svg)
    audit_dns.remove_records(f"default._bimi.{d('good')}", "TXT")
    audit_dns.add_record(f"default._bimi.{d('good')}", "TXT", f'"v=BIMI1; l=https://127.0.0.1:{server.port}{path}"')


def test_it_warns_that_a_logo_without_a_mark_certificate_shows_nowhere(audit_dns, policy_server, policy_tls, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(policy_tls[0]))  # the logo download trusts the test CA
    _publish_logo(audit_dns, policy_server, "/logo.svg", TINY_PS_LOGO)
    verdict = check_bimi(d("good"), Lookups())
    assert verdict.status == "warn"
    assert verdict.message == "Most email providers will not display a BIMI image without a valid mark certificate."
    assert "127.0.0.1/logo.svg" in policy_server.requests


def test_it_warns_about_a_logo_that_is_not_svg_tiny_ps(audit_dns, policy_server, policy_tls, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(policy_tls[0]))
    _publish_logo(audit_dns, policy_server, "/plain.svg", TINY_PS_LOGO.replace(' baseProfile="tiny-ps"', "").replace("1.2", "1.1"))
    verdict = check_bimi(d("good"), Lookups())
    assert verdict.status == "warn"
    assert verdict.message.startswith("Logo: The SVG version must be 1.2, not 1.1")
