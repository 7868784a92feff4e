"""Six months of blocklist history for the demo organisation (``make run``), without asking any DNS.

Weekly runs with their counts and list health, and a handful of listing intervals on the
organisation's own addresses and domains: some cleared after days, one still open, one list shown
as dead (Barracuda without a registered resolver). Idempotent: nothing is added when the
organisation already has blocklist runs.
"""

import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from monitor.blocklists.audit import collect_targets
from monitor.blocklists.catalogue import load_catalogue
from monitor.models import AuditRun
from monitor.models.blocklists import Blocklist, BlocklistResult, Listing, ListHealth

WEEKS = 26
# (target index, zone, first week, weeks listed or None for still listed, codes, reason)
STORY = [
    (0, "bl.spamcop.net", 3, 1, ["127.0.0.2"], "Blocked - see https://www.spamcop.net/bl.shtml?{target}"),
    (1, "psbl.surriel.com", 8, 2, ["127.0.0.2"], "Listed in PSBL, see https://psbl.org/listing?ip={target}"),
    (0, "dnsbl-2.uceprotect.net", 10, 5, ["127.0.0.2"], "Net {target}/24 is UCEPROTECT-Level2 listed"),
    (2, "zen.spamhaus.org", 14, 1, ["127.0.0.3"], "https://check.spamhaus.org/results/?query={target}"),
    (3, "bl.mailspike.net", 20, 1, ["127.0.0.12"], ""),
    (1, "dnsbl-1.uceprotect.net", 24, None, ["127.0.0.2"], "IP {target} is UCEPROTECT-Level1 listed"),
]
DOMAIN_STORY = [(0, "multi.uribl.com", 12, 2, ["127.0.0.4"], "")]
UNUSABLE = ("b.barracudacentral.org", "no answer for test point 127.0.0.2 (timeout): Barracuda answers registered resolvers only")


def load_demo_history(org) -> str:
    if AuditRun.objects.filter(organization=org, kind=AuditRun.BLOCKLIST).exists():
        return "blocklists: demo history already there"
    load_catalogue()
    addresses, domains, _ = collect_targets(org)
    lists = {b.zone: b for b in Blocklist.objects.filter(enabled=True)}
    ip_lists = [b for b in lists.values() if b.kind == Blocklist.IP]
    domain_lists = [b for b in lists.values() if b.kind == Blocklist.DOMAIN]
    questions = len(addresses) * len(ip_lists) + len(domains) * len(domain_lists)
    now = timezone.now().replace(hour=3, minute=0, second=0, microsecond=0)
    random.seed(org.slug)
    stories = [s for s in STORY if s[0] < len(addresses) and s[1] in lists]
    stories += [(i, z, w, n, c, r) for i, z, w, n, c, r in DOMAIN_STORY if i < len(domains) and z in lists]

    with transaction.atomic():
        runs = []
        for week in range(WEEKS):
            started = now - timedelta(weeks=WEEKS - week)
            runs.append(AuditRun(organization=org, kind=AuditRun.BLOCKLIST, trigger=AuditRun.SCHEDULE,
                                 status=AuditRun.SUCCEEDED, started=started, heartbeat=started,
                                 finished=started + timedelta(seconds=random.uniform(4, 9))))
        runs = AuditRun.objects.bulk_create(runs)
        health, results, listings = [], [], []
        for week, run in enumerate(runs):
            listed = errors = 0
            for blocklist in lists.values():
                state, reason = ("dead", UNUSABLE[1]) if blocklist.zone == UNUSABLE[0] else ("ok", "")
                health.append(ListHealth(run=run, blocklist=blocklist, health=state, reason=reason))
            for index, zone, first, weeks, codes, reason in stories:
                target = (domains if lists[zone].kind == Blocklist.DOMAIN else addresses)[index]
                if first <= week and (weeks is None or week < first + weeks):
                    listed += 1
                    results.append(BlocklistResult(run=run, blocklist=lists[zone], target=target, status="listed",
                                                   codes=codes, reason=reason.replace("{target}", target)))
            if week % 9 == 5 and addresses and "bl.0spam.org" in lists:  # a timeout now and then: an error
                errors = 1
                results.append(BlocklistResult(run=run, blocklist=lists["bl.0spam.org"], target=addresses[-1],
                                               status="error", reason="no answer (timeout, 2 attempts)"))
            unusable_targets = len(addresses) if UNUSABLE[0] in lists else 0
            run.counts = {"targets": len(addresses) + len(domains), "lists": len(lists), "lists_unhealthy": 1,
                          "skipped": unusable_targets, "listed": listed, "error": errors,
                          "clean": questions - unusable_targets - listed - errors, "planned": questions - unusable_targets}
        for index, zone, first, weeks, codes, reason in stories:
            target = (domains if lists[zone].kind == Blocklist.DOMAIN else addresses)[index]
            last = WEEKS - 1 if weeks is None else first + weeks - 1
            listings.append(Listing(
                organization=org, blocklist=lists[zone], target=target, codes=codes,
                reason=reason.replace("{target}", target), first_seen=runs[first].started,
                last_seen=runs[last].started, first_run=runs[first], last_run=runs[last],
                cleared=None if weeks is None else runs[first + weeks].started,
                cleared_run=None if weeks is None else runs[first + weeks],
            ))
        AuditRun.objects.bulk_update(runs, ["counts"])
        ListHealth.objects.bulk_create(health)
        BlocklistResult.objects.bulk_create(results)
        Listing.objects.bulk_create(listings)
        # The catalogue says what the last run found of each list (as run_audit leaves it).
        audited = Blocklist.objects.filter(pk__in=[b.pk for b in lists.values()])
        audited.update(health="ok", health_reason="", health_checked=runs[-1].started)
        audited.filter(zone=UNUSABLE[0]).update(health="dead", health_reason=UNUSABLE[1])
    return f"blocklists: {len(runs)} weekly runs, {len(listings)} listing intervals"
