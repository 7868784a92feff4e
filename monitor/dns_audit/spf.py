"""SPF (RFC 7208): one record, valid syntax, at most 10 DNS-querying terms and 2 void lookups,
a size that fits a UDP answer, and a closing ``all`` (or ``redirect=``) that is not ``+all``."""

import re

import checkdmarc.spf

from monitor.dns_audit.lookups import Lookups
from monitor.dns_audit.verdicts import FAIL, OK, WARN, Verdict, lookup_error, summarise, unless_dns_failed

SPF_RECORD = re.compile(r"^v=spf1(\s|$)", re.IGNORECASE)
ALL_TERM = re.compile(r"^([+\-~?]?)all$", re.IGNORECASE)
LOOKUP_LIMIT, VOID_LIMIT = 10, 2


def check_spf(domain: str, lookups: Lookups) -> Verdict:
    txt = lookups.query(domain, "TXT")
    if not txt.ok:
        return lookup_error(domain, "spf", txt)
    records = sorted(r for r in txt.records if SPF_RECORD.match(r))
    if txt.outcome == "nxdomain":
        return Verdict(domain, "spf", FAIL, f"{domain} does not exist in DNS, so it has no SPF record.")
    if not records:
        return Verdict(
            domain, "spf", FAIL,
            f"No SPF record at {domain}: receivers cannot tell which servers may send as it. "
            'Publish one TXT record such as "v=spf1 include:<your provider> -all".',
        )
    if len(records) > 1:
        return Verdict(
            domain, "spf", FAIL,
            f"{domain} publishes {len(records)} SPF records; receivers return permerror when there is "
            "more than one (RFC 7208 section 4.5). Merge them into a single record.",
            records=records,
        )
    result = checkdmarc.spf.check_spf(domain, nameservers=lookups.nameservers, timeout=lookups.timeout)
    return unless_dns_failed(_verdict(domain, records, result), lookups)


def _verdict(domain: str, records: list[str], result: dict) -> Verdict:
    warnings = list(result.get("warnings") or [])
    lookups_needed = result.get("dns_lookups")
    void = result.get("void_dns_lookups")
    details = {"dns_lookups": lookups_needed, "void_dns_lookups": void, "warnings": warnings}
    if result.get("error"):
        details["error"] = str(result["error"])
        if lookups_needed is not None and lookups_needed > LOOKUP_LIMIT:
            message = (
                f"SPF needs {lookups_needed} DNS lookups; the limit is {LOOKUP_LIMIT}: receivers will return "
                "permerror and SPF fails for all mail. Remove unused includes or replace some with ip4:/ip6: ranges."
            )
        elif void is not None and void > VOID_LIMIT:
            message = (
                f"SPF makes {void} void DNS lookups (names that do not exist or have no address); the limit is "
                f"{VOID_LIMIT}: receivers will return permerror. Remove the a:/mx:/include: terms that point nowhere."
            )
        else:
            message = f"The SPF record is invalid, so receivers return permerror: {result['error']}"
        return Verdict(domain, "spf", FAIL, message, records=records, details=details)

    terms = records[0].split()[1:]
    closing = [t for t in terms if ALL_TERM.match(t)]
    has_redirect = any(t.lower().startswith("redirect=") for t in terms)
    if closing and ALL_TERM.match(closing[-1]).group(1) in ("", "+"):
        return Verdict(
            domain, "spf", FAIL,
            f"The SPF record ends in {closing[-1]}: it lets every server on the internet send as {domain}. "
            "End it with -all (or ~all).",
            records=records, details=details,
        )
    findings = []
    status = OK
    if not closing and not has_redirect:
        status = WARN
        findings.append(
            "The SPF record has no closing all term, so mail from servers it does not list gets a neutral "
            "result instead of a fail. End it with -all (or ~all)."
        )
    elif closing and ALL_TERM.match(closing[-1]).group(1) == "?":
        status = WARN
        findings.append("The SPF record ends in ?all (neutral): it does not tell receivers to reject anything. Use -all or ~all.")
    if lookups_needed is not None and LOOKUP_LIMIT - 1 <= lookups_needed <= LOOKUP_LIMIT:
        status = WARN
        findings.append(
            f"SPF needs {lookups_needed} of the {LOOKUP_LIMIT} DNS lookups allowed; one more include will make it fail."
        )
    if warnings:
        status = WARN
        findings.extend(warnings)
    if status == OK:
        message = f"SPF is valid ({lookups_needed} of {LOOKUP_LIMIT} DNS lookups) and ends in {closing[-1] if closing else 'a redirect'}."
    else:
        message = summarise(findings)
    details["findings"] = findings
    return Verdict(domain, "spf", status, message, records=records, details=details)
