"""DMARC (RFC 9989, tree-walk discovery; RFC 7489 legacy tags warn): policy for the domain, its
subdomains (sp) and its non-existent subdomains (np), testing mode (t), alignment, and reporting
addresses with their external authorisation (RFC 9990 section 4)."""

import checkdmarc.dmarc

from monitor.dns_audit.lookups import Lookups
from monitor.dns_audit.verdicts import FAIL, OK, WARN, Verdict, lookup_error, summarise, unless_dns_failed

LEGACY_TAGS = ("pct", "rf", "ri")
MODES = {"r": "relaxed", "s": "strict"}


def check_dmarc(domain: str, lookups: Lookups) -> Verdict:
    own = lookups.query(f"_dmarc.{domain}", "TXT")
    if not own.ok:
        return lookup_error(domain, "dmarc", own)
    result = checkdmarc.dmarc.check_dmarc(domain, nameservers=lookups.nameservers, timeout=lookups.timeout)
    return unless_dns_failed(_verdict(domain, result), lookups)


def _verdict(domain: str, result: dict) -> Verdict:
    record, location = result.get("record"), result.get("location")
    records = []
    if record:
        records = [record] if location in (None, domain) else [f"(inherited from _dmarc.{location}) {record}"]
    warnings = list(result.get("warnings") or [])
    details = {"location": location, "warnings": warnings}
    if not result.get("valid"):
        details["error"] = result.get("error")
        if not record:
            message = (
                f"No DMARC record at _dmarc.{domain} or its parent domains: receivers apply no policy, and anyone "
                f'can send as {domain} unnoticed. Publish "v=DMARC1; p=none; rua=mailto:<your address>" to '
                "start collecting reports."
            )
        else:
            message = f"The DMARC record is invalid, so receivers ignore it: {result.get('error')}"
        return Verdict(domain, "dmarc", FAIL, message, records=records, details=details)

    tags = {name: tag["value"] for name, tag in result["tags"].items()}
    explicit = {name for name, tag in result["tags"].items() if tag.get("explicit")}
    details["tags"] = {k: v for k, v in tags.items() if k not in ("rua", "ruf")}
    details["rua"] = [uri.get("address") for uri in tags.get("rua") or [] if isinstance(uri, dict)]
    findings = []
    p, sp, np = tags.get("p"), tags.get("sp"), tags.get("np")
    if p == "none":
        findings.append(
            f"p=none: DMARC only monitors {domain}; receivers take no action on mail that fails. Once the "
            "reports show your own sources pass, move to p=quarantine and then p=reject."
        )
    if p != "none" and sp == "none":
        findings.append(f"sp=none: mail sent as subdomains of {domain} is not protected although {domain} is.")
    if p != "none" and np == "none" and "np" in explicit:
        findings.append(
            f"np=none: mail from subdomains of {domain} that do not exist is not blocked (RFC 9989); use np=reject."
        )
    if tags.get("t") == "y":
        findings.append(
            "t=y (testing): receivers apply a policy one step milder than the one published (RFC 9989). "
            "Remove t=y once the reports look right."
        )
    legacy = [tag for tag in LEGACY_TAGS if f"Support for the {tag} tag was removed in RFC 9989" in warnings]
    if legacy:
        findings.append(
            f"Legacy tag{'s' if len(legacy) > 1 else ''} {', '.join(legacy)}: removed in RFC 9989 and ignored by "
            "up-to-date receivers (a partial rollout is now t=y). Remove them."
        )
    others = [w for w in warnings if not w.startswith("Support for the ") and not w.startswith("A p tag value of none")
              and not w.startswith("An sp tag value of none")]
    findings.extend(others)
    details["findings"] = findings
    if findings:
        return Verdict(domain, "dmarc", WARN, summarise(findings), records=records, details=details)
    where = "" if location in (None, domain) else f" (inherited from {location})"
    rua = ", ".join(details["rua"]) or "nowhere"
    message = (
        f"DMARC p={p}{where}, sp={sp}, np={np}; alignment DKIM {MODES.get(tags.get('adkim'), tags.get('adkim'))}, "
        f"SPF {MODES.get(tags.get('aspf'), tags.get('aspf'))}; aggregate reports to {rua}."
    )
    return Verdict(domain, "dmarc", OK, message, records=records, details=details)
