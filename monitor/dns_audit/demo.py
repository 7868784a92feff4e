"""Demo history for `make run` (no DNS questions asked): twelve weekly DNS audits of the demo
organisation's pools, telling a story a deliverability team knows: DMARC moving from p=none to
p=reject, an SPF include added, a 1024-bit DKIM key, a generic PTR, a missing PTR, one timeout.

Register with ``DEMO_LOADERS.append(load_dns_history)`` (monitor/demo/__init__.py).
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from monitor.dns_audit.fcrdns import generic_reason
from monitor.dns_audit.runner import collect_targets
from monitor.models import AuditRun, DnsCheckResult

WEEKS = 12


def policy_in_week(week: int) -> str:
    """The demo domains' DMARC policy in week ``week`` of the history (0 = oldest): monitoring, then
    quarantine, then reject."""
    return "none" if week < 5 else "quarantine" if week < 9 else "reject"


def policy_days_ago(days: int) -> str:
    """The policy published ``days`` days ago (what the weekly run before that day found; before the
    history, the first), for the demo's DMARC reports to say what the DNS audits say."""
    week = WEEKS - -(-days // 7)  # run ``week`` started WEEKS - week weeks ago
    return policy_in_week(min(max(week, 0), WEEKS - 1))


def _domain_verdicts(domain: str, selectors: list[str], week: int) -> list[tuple]:
    """(check, status, message, records) of one domain in week ``week`` (0 = oldest)."""
    policy = policy_in_week(week)
    dmarc = f"v=DMARC1; p={policy}; rua=mailto:dmarc@{domain}"
    spf = f"v=spf1 ip4:192.0.2.0/28 {'include:_spf.mailer.example ' if week >= 3 else ''}-all"
    verdicts = [
        ("spf", "ok", f"SPF is valid ({2 if week >= 3 else 0} of 10 DNS lookups) and ends in -all.", [spf]),
        ("dmarc", "warn" if policy == "none" else "ok",
         f"p=none: DMARC only monitors {domain}; receivers take no action on mail that fails." if policy == "none"
         else f"DMARC p={policy}, sp={policy}, np={policy}; alignment DKIM relaxed, SPF relaxed; aggregate reports to dmarc@{domain}.",
         [dmarc]),
        ("mx", "ok", f"2 MX hosts (mx1.{domain}, mx2.{domain}), all resolving, with forward-confirmed reverse DNS.",
         [f"10 mx1.{domain}.", f"20 mx2.{domain}."]),
        ("mta_sts", "warn", f"No MTA-STS record at _mta-sts.{domain}: senders deliver over TLS only if they feel like it.", []),
        ("tls_rpt", "ok", f"TLS reports go to mailto:tls@{domain}.", [f"v=TLSRPTv1; rua=mailto:tls@{domain}"]),
        ("bimi", "ok", f"No BIMI record at default._bimi.{domain} (BIMI is optional).", []),
        ("dnssec", "warn", f"{domain} is not signed with DNSSEC (no DS record at its parent). Advisory.", []),
    ]
    for index, selector in enumerate(selectors):
        bits = 1024 if index else 2048
        verdicts.append((
            f"dkim:{selector}", "warn" if bits < 2048 else "ok",
            f"The DKIM key of selector {selector} is RSA {bits} bits: still accepted, but weak." if bits < 2048
            else f"Selector {selector} publishes a valid RSA {bits} key.",
            [f"v=DKIM1; k=rsa; p=(demo {bits}-bit key)"],
        ))
    if week == 7 and not selectors:
        message = "Some DNS lookups went unanswered (timed out), so this check is inconclusive."
        verdicts = [(check, "error", message, []) for check, *_ in verdicts]
    return verdicts


def _address_verdict(address: str) -> tuple:
    if address.endswith("::25"):
        return ("fcrdns", "fail", f"{address} has no reverse DNS (PTR) record.", [])
    last = address.replace(":", ".").split(".")[-1]
    name = f"{address.replace('.', '-')}.static.isp.example" if address.endswith(".77") else f"mail-{last}.acme.example"
    reason = generic_reason(name, address)
    if reason:
        return ("fcrdns", "warn", f"The PTR of {address} is {name}, which looks like a generic access-network name ({reason}).",
                [f"PTR {name}", f"{name} -> {address}"])
    return ("fcrdns", "ok", f"The PTR of {address} is {name}, which resolves back to {address}.",
            [f"PTR {name}", f"{name} -> {address}"])


def load_dns_history(org) -> str:
    if AuditRun.objects.filter(organization=org, kind=AuditRun.DNS).exists():
        return "DNS audits: history already there"
    domains, addresses, _ = collect_targets(org)
    now = timezone.now()
    results = []
    with transaction.atomic():
        for week in range(WEEKS):
            started = now - timedelta(weeks=WEEKS - week, hours=-4)
            run = AuditRun.objects.create(organization=org, kind=AuditRun.DNS, trigger=AuditRun.SCHEDULE,
                                          status=AuditRun.SUCCEEDED, started=started, heartbeat=started,
                                          finished=started + timedelta(seconds=40))
            counts = {"ok": 0, "warn": 0, "fail": 0, "error": 0}
            rows = [(d, DnsCheckResult.DOMAIN, v) for d, s in domains.items() for v in _domain_verdicts(d, s, week)]
            rows += [(a, DnsCheckResult.ADDRESS, _address_verdict(a)) for a in addresses]
            for target, kind, (check, status, message, records) in rows:
                counts[status] += 1
                results.append(DnsCheckResult(run=run, organization=org, target=target, target_kind=kind,
                                              check_name=check, status=status, message=message, records=records,
                                              checked=started + timedelta(seconds=30)))
            run.counts = {**counts, "domains": len(domains), "addresses": len(addresses)}
            run.save(update_fields=["counts"])
        DnsCheckResult.objects.bulk_create(results)
    return f"DNS audits: {WEEKS} weekly runs, {len(results)} verdicts"
