"""MTA-STS (RFC 8461): the _mta-sts TXT record, the policy file over HTTPS (fetched by
``policy_fetch``), its mode, its mx patterns against the real MX hosts, and max_age."""

import checkdmarc.mta_sts

from monitor.dns_audit.lookups import Lookups
from monitor.dns_audit.policy_fetch import PolicyFetchError, fetch_policy
from monitor.dns_audit.verdicts import ERROR, FAIL, OK, WARN, Verdict, lookup_error, summarise

MIN_MAX_AGE = 86400  # a day; RFC 8461 section 3.2 suggests weeks (e.g. 604800 or more)


def check_mta_sts(domain: str, lookups: Lookups, mx_hosts: list[str] | None) -> Verdict:
    """``mx_hosts``: the domain's MX host names, or None when the MX lookup could not be done."""
    name = f"_mta-sts.{domain}"
    txt = lookups.query(name, "TXT")
    if not txt.ok:
        return lookup_error(domain, "mta_sts", txt)
    sts = sorted(r for r in txt.records if r.startswith("v=STSv1"))
    if not sts:
        return Verdict(
            domain, "mta_sts", WARN,
            f"No MTA-STS record at {name}: senders deliver to {domain} over TLS only if they feel like it, and "
            "an attacker on the path can strip it. Publish an MTA-STS policy (mode testing first) with TLS-RPT.",
        )
    records = [f"TXT {record}" for record in sts]
    if len(sts) > 1:
        return Verdict(
            domain, "mta_sts", FAIL,
            f"{name} holds {len(sts)} MTA-STS records; senders then assume there is no policy (RFC 8461 "
            "section 3.1). Keep one.",
            records=records,
        )
    try:
        parsed_record = checkdmarc.mta_sts.parse_mta_sts_record(sts[0])
    except checkdmarc.mta_sts.MTASTSError as exc:
        return Verdict(domain, "mta_sts", FAIL, f"The MTA-STS record is invalid, so senders ignore it: {exc}", records=records)
    findings = list(parsed_record["warnings"])

    try:
        fetched = fetch_policy(domain, lookups)
    except PolicyFetchError as exc:
        if not exc.conclusive:
            return Verdict(
                domain, "mta_sts", ERROR,
                f"Could not check the MTA-STS policy: {exc} The check will be retried on the next run.",
                records=records,
            )
        return Verdict(
            domain, "mta_sts", FAIL,
            f"{name} announces an MTA-STS policy but senders cannot fetch it: {exc} Publish the policy file at "
            f"https://mta-sts.{domain}/.well-known/mta-sts.txt, or remove the TXT record.",
            records=records,
        )
    records += [f"policy {line.strip()}" for line in fetched.text.splitlines() if line.strip()]
    try:
        policy = checkdmarc.mta_sts.parse_mta_sts_policy(fetched.text)
    except checkdmarc.mta_sts.MTASTSError as exc:
        return Verdict(
            domain, "mta_sts", FAIL,
            f"The MTA-STS policy at {fetched.url} is invalid, so senders ignore it: {exc}",
            records=records,
        )
    findings += policy["warnings"]
    mode, max_age, patterns = policy["policy"]["mode"], policy["policy"]["max_age"], policy["policy"]["mx"]
    details = {"mode": mode, "max_age": max_age, "mx": patterns, "id": parsed_record["tags"].get("id")}
    if fetched.content_type != "text/plain":
        findings.append(f"The policy is served as {fetched.content_type or 'no Content-Type'}; RFC 8461 asks for text/plain.")

    status = OK
    if mode == "testing":
        status = WARN
        findings.insert(0, "MTA-STS is in testing mode: senders report TLS failures but still deliver without TLS. "
                           "Switch to mode: enforce once TLS-RPT reports are clean.")
    elif mode == "none":
        status = WARN
        findings.insert(0, "MTA-STS mode is none: the policy is withdrawn and senders do not enforce TLS.")
    if mx_hosts is None:
        return Verdict(
            domain, "mta_sts", ERROR,
            "The MTA-STS policy was fetched, but the MX records could not be looked up to compare with its mx "
            "patterns; the check will be retried on the next run.",
            records=records, details=details,
        )
    uncovered = [h for h in mx_hosts if not checkdmarc.mta_sts.mx_in_mta_sts_patterns(h, patterns)]
    details["uncovered_mx"] = uncovered
    if uncovered and mode == "enforce":
        return Verdict(
            domain, "mta_sts", FAIL,
            f"The MTA-STS policy (mode enforce) does not cover MX host{'s' if len(uncovered) > 1 else ''} "
            f"{', '.join(uncovered)}: senders that honour it refuse to deliver there. Add "
            f"{'them' if len(uncovered) > 1 else 'it'} to the policy's mx lines (patterns: {', '.join(patterns)}) "
            "and change the id in the TXT record.",
            records=records, details=details,
        )
    if uncovered:
        status = WARN
        findings.append(f"The policy's mx patterns ({', '.join(patterns) or 'none'}) do not cover {', '.join(uncovered)}.")
    if max_age < MIN_MAX_AGE:
        status = WARN
        findings.append(
            f"max_age is {max_age} s; senders re-fetch the policy that often and forget it soon after. "
            "Use at least a week (604800)."
        )
    if findings and status == OK:
        status = WARN
    details["findings"] = findings
    if status != OK:
        return Verdict(domain, "mta_sts", status, summarise(findings), records=records, details=details)
    return Verdict(
        domain, "mta_sts", OK,
        f"MTA-STS enforces TLS (max_age {max_age // 86400} days) and covers every MX host.",
        records=records, details=details,
    )
