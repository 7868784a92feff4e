"""TLS-RPT (RFC 8460): a record at _smtp._tls.<domain> with a valid rua."""

import checkdmarc.smtp_tls_reporting as tlsrpt

from monitor.dns_audit.lookups import Lookups
from monitor.dns_audit.verdicts import FAIL, OK, WARN, Verdict, lookup_error, summarise


def check_tls_rpt(domain: str, lookups: Lookups) -> Verdict:
    name = f"_smtp._tls.{domain}"
    txt = lookups.query(name, "TXT")
    if not txt.ok:
        return lookup_error(domain, "tls_rpt", txt)
    found = sorted(r for r in txt.records if r.startswith("v=TLSRPTv1"))
    if not found:
        return Verdict(
            domain, "tls_rpt", WARN,
            f"No TLS-RPT record at {name}: you will not hear about senders failing to deliver to {domain} over "
            'TLS. Publish "v=TLSRPTv1; rua=mailto:<your address>".',
        )
    records = found
    if len(found) > 1:
        return Verdict(
            domain, "tls_rpt", FAIL,
            f"{name} holds {len(found)} TLS-RPT records; senders then send no reports (RFC 8460 section 3). Keep one.",
            records=records,
        )
    try:
        parsed = tlsrpt.parse_smtp_tls_reporting_record(found[0])
    except tlsrpt.SMTPTLSReportingError as exc:
        return Verdict(
            domain, "tls_rpt", FAIL,
            f"The TLS-RPT record is invalid, so no reports will arrive: {exc} Use rua=mailto:... or rua=https://...",
            records=records,
        )
    rua = parsed["tags"]["rua"]["value"]
    details = {"rua": rua, "warnings": parsed["warnings"]}
    if parsed["warnings"]:
        return Verdict(domain, "tls_rpt", WARN, summarise(parsed["warnings"]), records=records, details=details)
    return Verdict(domain, "tls_rpt", OK, f"TLS reports go to {', '.join(rua)}.", records=records, details=details)
