"""RFC 5782 to the letter, as plain functions: question names, what an answer means, list health.

Nothing here touches the network or the database: the engine gathers ``Outcome`` objects and these
functions turn them into verdicts. The rules, in the order they apply:

- NXDOMAIN is the only "clean".
- An A answer is a listing only when every address is inside 127.0.0.0/8 and none is a refusal
  code: 127.255.255.0/24 (reserved for errors by every list) or one of the list's own error codes
  (DBL 127.0.1.255, URIBL 127.0.0.1). An address outside 127/8 means a resolver rewrote the
  answer. Refusals and rewritten answers are errors, never listings.
- Anything else (timeout after retries, SERVFAIL, REFUSED, an empty answer) is an error.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from functools import lru_cache

LISTED, CLEAN, ERROR = "listed", "clean", "error"
OK, BROKEN, UNUSABLE, DEAD = "ok", "broken", "unusable", "dead"

LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
RESERVED_ERRORS = ipaddress.ip_network("127.255.255.0/24")
RESERVED_MEANINGS = {
    "127.255.255.252": "refused: typing error in the zone name",
    "127.255.255.254": "refused: query through a public or open resolver",
    "127.255.255.255": "refused: too many queries (rate limit)",
}

# The RFC 5782 test points.
IPV4_LISTED, IPV4_UNLISTED = "127.0.0.2", "127.0.0.1"
IPV6_LISTED, IPV6_UNLISTED = "::ffff:7f00:2", "::ffff:7f00:1"
DOMAIN_LISTED, DOMAIN_UNLISTED = "test", "invalid"

# Outcome kinds (what the wire said).
ANSWER, NXDOMAIN, NODATA, TIMEOUT, FAILURE = "answer", "nxdomain", "nodata", "timeout", "failure"


@dataclass(frozen=True)
class Outcome:
    kind: str
    addresses: tuple = ()
    detail: str = ""  # e.g. "SERVFAIL" or the exception text


@dataclass
class ListSpec:
    """What the engine needs to know of a list (no ORM objects cross into the DNS thread)."""

    id: int
    zone: str  # the zone questions go to (keyed zone if any)
    kind: str = "ip"
    ipv6: bool = False
    codes: dict = field(default_factory=dict)
    bitmask: bool = False
    error_codes: dict = field(default_factory=dict)
    rate: float = 0.0  # questions per second, 0 = unlimited
    burst: int = 1
    test_listed: str = ""
    test_unlisted: str = ""
    name: str = ""


@dataclass
class Verdict:
    status: str
    codes: list = field(default_factory=list)
    reason: str = ""


@lru_cache(maxsize=65536)  # each target is asked of every list: reverse it once
def reverse_ip(address: str) -> str:
    """The DNSBL label form: reversed octets (IPv4) or 32 reversed nibbles (IPv6)."""
    ip = ipaddress.ip_address(address)
    if ip.version == 4:
        return ".".join(reversed(str(ip).split(".")))
    return ".".join(reversed(ip.exploded.replace(":", "")))


def query_name(target: str, zone: str, kind: str) -> str:
    prefix = reverse_ip(target) if kind == "ip" else target.lower().rstrip(".")
    return f"{prefix}.{zone}."


def is_ipv6(target: str) -> bool:
    try:
        return ipaddress.ip_address(target).version == 6
    except ValueError:
        return False


def refusal(spec: ListSpec, address: str) -> str | None:
    """Why this answer address is a refusal/error code of the list, or None if it is not one."""
    if address in spec.error_codes:
        return spec.error_codes[address] or "error code"
    ip = ipaddress.ip_address(address)
    if ip in RESERVED_ERRORS:
        return RESERVED_MEANINGS.get(address, "refused: error code in 127.255.255.0/24")
    return None


def classify(spec: ListSpec, outcome: Outcome) -> Verdict:
    """listed / clean / error for one (target, list) question."""
    if outcome.kind == NXDOMAIN:
        return Verdict(CLEAN)
    if outcome.kind == TIMEOUT:
        return Verdict(ERROR, reason=f"no answer (timeout{', ' + outcome.detail if outcome.detail else ''})")
    if outcome.kind == NODATA:
        return Verdict(ERROR, reason="empty answer (NODATA): neither listed nor NXDOMAIN")
    if outcome.kind != ANSWER:
        return Verdict(ERROR, reason=outcome.detail or "DNS failure")
    addresses = sorted(set(outcome.addresses), key=ipaddress.ip_address)
    outside = [a for a in addresses if ipaddress.ip_address(a) not in LOOPBACK]
    if outside:
        return Verdict(ERROR, addresses, f"answer outside 127.0.0.0/8 ({', '.join(outside)}): a resolver rewrote it")
    refused = [(a, why) for a in addresses if (why := refusal(spec, a))]
    if refused:
        return Verdict(ERROR, addresses, "; ".join(f"{a} {why}" for a, why in refused))
    return Verdict(LISTED, addresses)


def code_meanings(codes: dict, bitmask: bool, answers) -> list[str]:
    """A human meaning per answer address (bitmask lists: one per bit set in the last octet)."""
    meanings = []
    for answer in answers:
        if not bitmask:
            meanings.append(codes.get(answer, f"{answer}: no documented meaning"))
            continue
        octet = int(answer.rsplit(".", 1)[1])
        found = []
        for code, meaning in codes.items():
            bit = int(code.rsplit(".", 1)[1])
            if bit and octet & bit == bit:
                found.append(meaning)
                octet &= ~bit
        if octet:
            found.append(f"unknown bit(s) {octet}")
        meanings.append(" + ".join(found) or f"{answer}: no documented meaning")
    return meanings


def test_points(spec: ListSpec, with_ipv6: bool) -> list[tuple[str, bool]]:
    """(target, must_be_listed) pairs to ask before trusting the list."""
    if spec.kind == "domain":
        return [(spec.test_listed or DOMAIN_LISTED, True), (spec.test_unlisted or DOMAIN_UNLISTED, False)]
    points = [(spec.test_listed or IPV4_LISTED, True), (spec.test_unlisted or IPV4_UNLISTED, False)]
    if with_ipv6 and spec.ipv6:
        points += [(IPV6_LISTED, True), (IPV6_UNLISTED, False)]
    return points


def assess_health(spec: ListSpec, outcomes: list[tuple[str, bool, Outcome]]) -> tuple[str, str]:
    """(health, reason) from the test points' outcomes: (target, must_be_listed, outcome)."""
    # A refusal answers everything, so it is checked before "lists everything".
    for target, _, outcome in outcomes:
        if outcome.kind == ANSWER:
            for address in outcome.addresses:
                try:
                    inside = ipaddress.ip_address(address) in LOOPBACK
                except ValueError:
                    inside = False
                if inside and (why := refusal(spec, address)):
                    return UNUSABLE, f"test point {target} answered {address} ({why})"
    for target, _, outcome in outcomes:
        if outcome.kind == ANSWER:
            outside = [a for a in outcome.addresses if ipaddress.ip_address(a) not in LOOPBACK]
            if outside:
                return BROKEN, f"test point {target} answered {', '.join(outside)}, outside 127.0.0.0/8 (resolver rewriting?)"
    for target, _, outcome in outcomes:
        if outcome.kind == TIMEOUT:
            return DEAD, f"no answer for test point {target} (timeout)"
        if outcome.kind == FAILURE:
            return DEAD, f"test point {target}: {outcome.detail or 'DNS failure'}"
    for target, must_be_listed, outcome in outcomes:
        if not must_be_listed and outcome.kind != NXDOMAIN:
            what = "lists" if outcome.kind == ANSWER else "does not deny"
            return BROKEN, f"{what} test point {target}, which must not be listed: it would list everything"
    for target, must_be_listed, outcome in outcomes:
        if must_be_listed and outcome.kind != ANSWER:
            return DEAD, f"test point {target} is not listed: the list is dead or refusing us"
    return OK, ""
