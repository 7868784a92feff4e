"""BIMI, when published (default._bimi.<domain>). A domain without BIMI is fine: it is optional."""

import checkdmarc.bimi

from monitor.dns_audit.lookups import Lookups
from monitor.dns_audit.verdicts import FAIL, OK, WARN, Verdict, lookup_error, summarise

SELECTOR = "default"


def check_bimi(domain: str, lookups: Lookups) -> Verdict:
    name = f"{SELECTOR}._bimi.{domain}"
    txt = lookups.query(name, "TXT")
    if not txt.ok:
        return lookup_error(domain, "bimi", txt)
    found = sorted(r for r in txt.records if r.lower().startswith("v=bimi1"))
    if not found:
        return Verdict(domain, "bimi", OK, f"No BIMI record at {name} (BIMI is optional).")
    records = found
    if len(found) > 1:
        return Verdict(domain, "bimi", FAIL, f"{name} holds {len(found)} BIMI records; keep one.", records=records)
    try:
        # Downloads the l= image and a= certificate when present (over the system resolver).
        parsed = checkdmarc.bimi.parse_bimi_record(found[0], domain=domain)
    except checkdmarc.bimi.BIMIError as exc:
        return Verdict(domain, "bimi", FAIL, f"The BIMI record is invalid, so no logo will show: {exc}", records=records)
    findings = list(parsed["warnings"])
    for part in ("image", "certificate"):
        found = parsed.get(part) if isinstance(parsed.get(part), dict) else {}
        if found.get("error"):
            findings.insert(0, found["error"])
        findings[0:0] = [f"Logo: {problem}" for problem in found.get("validation_errors") or []]
    logo = parsed["tags"].get("l", {}).get("value", "")
    details = {"logo": logo, "findings": findings}
    if findings:
        return Verdict(domain, "bimi", WARN, summarise(findings), records=records, details=details)
    if not logo:
        return Verdict(domain, "bimi", OK, f"{domain} publishes a BIMI record that declines BIMI (empty l=).",
                       records=records, details=details)
    return Verdict(domain, "bimi", OK, f"BIMI logo {logo} with a valid mark certificate.", records=records, details=details)
