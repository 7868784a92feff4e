"""DNSSEC. An unsigned domain is a warning, not a failure: most mail domains are unsigned, and mail
works without it; it is what DANE and spoof-proof MX answers need. A domain whose parent publishes a
DS record that its keys do not live up to fails: validating receivers cannot resolve it at all."""

import checkdmarc.dnssec

from monitor.dns_audit.lookups import Lookups
from monitor.dns_audit.verdicts import FAIL, OK, WARN, Verdict, lookup_error, unless_dns_failed


def check_dnssec(domain: str, lookups: Lookups) -> Verdict:
    ds = lookups.query(domain, "DS")
    if not ds.ok:
        return lookup_error(domain, "dnssec", ds)
    records = sorted(f"DS {r}" for r in ds.records)
    signed = checkdmarc.dnssec.check_dnssec(domain, nameservers=lookups.nameservers, timeout=lookups.timeout)
    if signed:
        verdict = Verdict(domain, "dnssec", OK, f"DNSSEC validates for {domain}.", records=records)
    elif ds.exists:
        verdict = Verdict(
            domain, "dnssec", FAIL,
            f"DNSSEC is broken for {domain}: its parent publishes a DS record, but the zone's keys or signatures "
            "do not match it. Validating resolvers (many large receivers) then cannot look up anything in the "
            "domain, so mail to and from it fails. Fix the signing or remove the DS record at the registrar.",
            records=records,
        )
    else:
        verdict = Verdict(
            domain, "dnssec", WARN,
            f"{domain} is not signed with DNSSEC (no DS record at its parent). Mail works without it; it is "
            "needed for DANE and protects MX and policy answers from spoofing. Advisory.",
            records=records,
        )
    return unless_dns_failed(verdict, lookups)
