"""MX: the domain can receive mail (replies, bounces, DMARC and TLS reports), its hosts resolve,
and their addresses have forward-confirmed reverse DNS."""

from monitor.dns_audit.fcrdns import reverse_dns
from monitor.dns_audit.lookups import Lookups
from monitor.dns_audit.verdicts import ERROR, FAIL, OK, WARN, Verdict, lookup_error, summarise


def check_mx(domain: str, lookups: Lookups) -> Verdict:
    answer = lookups.query(domain, "MX")
    if not answer.ok:
        return lookup_error(domain, "mx", answer)
    if answer.outcome == "nxdomain":
        return Verdict(domain, "mx", FAIL, f"{domain} does not exist in DNS: it can neither send nor receive mail.")
    if answer.outcome == "nodata":
        return _without_mx(domain, lookups)

    mx = sorted((r.preference, r.exchange.to_text(omit_final_dot=True).lower() or ".") for r in answer.rdata)
    records = [f"{preference} {host}." if host != "." else f"{preference} ." for preference, host in mx]
    hosts = list(dict.fromkeys(host for _, host in mx if host not in ("", ".")))
    details = {"hosts": [{"preference": p, "host": h} for p, h in mx]}
    if not hosts:
        return Verdict(
            domain, "mx", WARN,
            f"{domain} publishes a null MX (RFC 7505): it accepts no mail. If it sends mail, receivers reject it "
            "(RFC 7505 section 4.2) and bounces go nowhere; publish real MX hosts or stop sending as it.",
            records=records, details=details,
        )

    findings, unresolvable, unanswered = [], [], []
    addresses_of = {}
    if len(hosts) != len([h for _, h in mx]):
        findings.append(f"{domain} has a null MX (0 .) next to other MX records; RFC 7505 allows it only alone.")
    for host in hosts:
        addresses, answers = lookups.addresses(host)
        failed = [a for a in answers if not a.ok]
        if failed:
            unanswered.append(f"{failed[0].name} {failed[0].type} ({failed[0].error})")
            continue
        if not addresses:
            unresolvable.append(host)
            continue
        addresses_of[host] = addresses
    details["addresses"] = addresses_of

    for host, addresses in addresses_of.items():
        for address in addresses:
            reverse = reverse_dns(address, lookups)
            if not reverse.ptr.ok:
                unanswered.append(f"{reverse.ptr.name} PTR ({reverse.ptr.error})")
            elif not reverse.names:
                findings.append(f"The MX host {host} ({address}) has no reverse DNS (PTR) record.")
            elif not reverse.confirmed:
                if reverse.unanswered:
                    first = reverse.unanswered[0]
                    unanswered.append(f"{first.name} {first.type} ({first.error})")
                else:
                    findings.append(
                        f"The reverse DNS of MX host {host} ({address}) is {reverse.names[0]}, which does not "
                        f"resolve back to {address}."
                    )

    if unanswered:
        return Verdict(
            domain, "mx", ERROR,
            f"Could not look up {'; '.join(unanswered[:3])}: the MX check is inconclusive and will be retried.",
            records=records, details={**details, "dns_problems": unanswered},
        )
    if unresolvable and len(unresolvable) == len(hosts):
        return Verdict(
            domain, "mx", FAIL,
            f"No MX host of {domain} resolves to an address ({', '.join(unresolvable)}): mail to {domain}, "
            "including bounces and reports, cannot be delivered. Fix the MX records or the hosts' A/AAAA records.",
            records=records, details=details,
        )
    if unresolvable:
        findings.insert(
            0,
            f"MX host{'s' if len(unresolvable) > 1 else ''} {', '.join(unresolvable)} of {domain} "
            f"{'do' if len(unresolvable) > 1 else 'does'} not resolve to an address; senders skip to the other "
            "hosts. Fix or remove the record.",
        )
    if findings:
        details["findings"] = findings
        return Verdict(domain, "mx", WARN, summarise(findings), records=records, details=details)
    return Verdict(
        domain, "mx", OK,
        f"{len(hosts)} MX host{'s' if len(hosts) > 1 else ''} ({', '.join(hosts)}), all resolving, with "
        "forward-confirmed reverse DNS.",
        records=records, details=details,
    )


def _without_mx(domain: str, lookups: Lookups) -> Verdict:
    addresses, answers = lookups.addresses(domain)
    failed = [a for a in answers if not a.ok]
    if failed:
        return lookup_error(domain, "mx", failed[0])
    if addresses:
        return Verdict(
            domain, "mx", WARN,
            f"{domain} has no MX record; senders fall back to its address ({', '.join(addresses)}) under the "
            "implicit MX rule (RFC 5321 section 5.1). Publish an MX record if that server does not take mail.",
            details={"implicit": addresses},
        )
    return Verdict(
        domain, "mx", FAIL,
        f"{domain} has no MX record and no address: it cannot receive mail, so replies, bounces and reports are "
        "lost, and many receivers reject mail from domains that cannot receive any. Publish MX records "
        "(or a null MX, '0 .', if it never receives mail).",
    )
