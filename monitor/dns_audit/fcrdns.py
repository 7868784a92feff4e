"""Forward-confirmed reverse DNS of a sending address, and PTR names that look generic.

Receivers (Gmail, Microsoft, most spam filters) want the PTR of a sending address to exist, to
resolve back to the address, and to look like a mail server rather than a broadband customer.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

import dns.reversename

from monitor.dns_audit.lookups import Answer, Lookups
from monitor.dns_audit.verdicts import ERROR, FAIL, OK, WARN, Verdict, lookup_error

# Words that access networks put in the names of customer addresses.
GENERIC_WORDS = {
    "dsl", "adsl", "vdsl", "xdsl", "dyn", "dynamic", "dynip", "pool", "static", "dhcp", "dial", "dialup",
    "ppp", "pppoe", "cable", "broadband", "customer", "cust", "client", "clients", "home", "user", "users",
    "unassigned", "unknown", "nat", "ip", "ipv4", "ipv6", "host", "hosted", "res", "residential", "fiber",
    "fibre", "ftth", "mobile", "wireless", "wlan", "lte", "cpe", "rev", "reverse", "in-addr", "arpa",
}


@dataclass
class ReverseDNS:
    address: str
    ptr: Answer
    names: list[str] = field(default_factory=list)
    confirmed: list[str] = field(default_factory=list)  # PTR names that resolve back to the address
    elsewhere: dict[str, list[str]] = field(default_factory=dict)  # PTR name -> where it points instead
    unanswered: list[Answer] = field(default_factory=list)

    @property
    def records(self) -> list[str]:
        return sorted(f"PTR {name}" for name in self.names)


def reverse_dns(address: str, lookups: Lookups) -> ReverseDNS:
    reverse_name = dns.reversename.from_address(address).to_text()
    ptr = lookups.query(reverse_name, "PTR")
    result = ReverseDNS(address, ptr)
    if not ptr.exists:
        return result
    result.names = sorted({record.rstrip(".").lower() for record in ptr.records})
    family = "AAAA" if ipaddress.ip_address(address).version == 6 else "A"
    wanted = ipaddress.ip_address(address)
    for name in result.names:
        forward = lookups.query(name, family)
        if not forward.ok:
            result.unanswered.append(forward)
            continue
        found = [record for record in forward.records if ipaddress.ip_address(record) == wanted]
        if found:
            result.confirmed.append(name)
        else:
            result.elsewhere[name] = forward.records
    return result


def address_spellings(address: str) -> set[str]:
    """The ways an address shows up inside generic PTR names (192-0-2-1, 1.2.0.192, 192000002001...)."""
    ip = ipaddress.ip_address(address)
    if ip.version == 4:
        octets = address.split(".")
        padded = [o.zfill(3) for o in octets]
        spellings = set()
        for parts in (octets, list(reversed(octets)), padded, list(reversed(padded))):
            for separator in ("-", ".", "_", ""):
                spellings.add(separator.join(parts))
        spellings.add(ip.packed.hex())
        # Drop joined forms so short that they would match ordinary names (e.g. "1111").
        return {s for s in spellings if len(s) >= 7}
    exploded = ip.exploded
    groups = exploded.split(":")
    compressed_groups = [g.lstrip("0") or "0" for g in groups]
    return {
        exploded.replace(":", ""),
        "-".join(groups),
        "-".join(compressed_groups),
        ip.compressed.replace(":", "-"),
        "".join(reversed(exploded.replace(":", ""))),
    }


def generic_reason(name: str, address: str) -> str | None:
    """Why a PTR name looks like an access network's customer name, or None if it does not."""
    lower = name.lower()
    for spelling in address_spellings(address):
        if spelling in lower:
            return f"it contains the address ({spelling})"
    # Only the host part: a provider's own domain may well contain such words.
    labels = lower.split(".")
    host_labels = labels[:-2] if len(labels) > 2 else labels[:1]
    words = {word for label in host_labels for word in re.split(r"[^a-z]+", label) if word}
    hits = sorted(words & GENERIC_WORDS)
    if hits:
        return f"it contains {', '.join(repr(w) for w in hits)}"
    digits = sum(c.isdigit() for c in labels[0])
    if digits >= 6:
        return "its first label is mostly digits"
    return None


def check_fcrdns(address: str, lookups: Lookups) -> Verdict:
    result = reverse_dns(address, lookups)
    if not result.ptr.ok:
        return lookup_error(address, "fcrdns", result.ptr)
    if not result.names:
        return Verdict(
            address, "fcrdns", FAIL,
            f"{address} has no reverse DNS (PTR) record: Gmail, Microsoft and most filters reject or junk mail "
            "from such addresses. Ask whoever holds the address range to set a PTR naming your mail server.",
        )
    records = result.records + sorted(
        f"{name} -> {', '.join(sorted(targets)) or 'nothing'}" for name, targets in result.elsewhere.items()
    ) + sorted(f"{name} -> {address}" for name in result.confirmed)
    details = {"ptr": result.names, "confirmed": result.confirmed, "elsewhere": result.elsewhere}
    if not result.confirmed:
        if result.unanswered:
            first = result.unanswered[0]
            return Verdict(
                address, "fcrdns", ERROR,
                f"Could not look up {first.name} {first.type} ({first.error}) to confirm the PTR of {address}; "
                "the check is inconclusive and will be retried on the next run.",
                records=records, details=details,
            )
        name = result.names[0]
        targets = result.elsewhere.get(name) or []
        where = f"resolves to {', '.join(targets)}" if targets else "does not resolve to any address"
        return Verdict(
            address, "fcrdns", FAIL,
            f"The PTR of {address} is {name}, which {where}, not back to {address}: the reverse DNS is not "
            f"forward-confirmed, which receivers treat like a missing PTR. Add an A record {name} -> {address} "
            "or change the PTR.",
            records=records, details=details,
        )
    name = result.confirmed[0]
    findings = []
    reason = generic_reason(name, address)
    if reason:
        details["generic"] = reason
        findings.append(
            f"The PTR of {address} is {name}, which looks like a generic access-network name ({reason}); "
            "receivers score such names as dynamic or residential. Use a name under your own domain, such as "
            "mail1.<your domain>."
        )
    if len(result.names) > 1:
        findings.append(
            f"{address} has {len(result.names)} PTR records ({', '.join(result.names)}); receivers may pick any of "
            "them. Keep one."
        )
    if findings:
        return Verdict(address, "fcrdns", WARN, " ".join(findings), records=records, details=details)
    return Verdict(
        address, "fcrdns", OK, f"The PTR of {address} is {name}, which resolves back to {address}.",
        records=records, details=details,
    )
