"""One blocklist audit of one organisation: health first, then every (target, list) question.

    run = run_blocklist_audit(org, pools=None, trigger=AuditRun.COMMAND, emit=print_json)

1. The RFC 5782 test points of every list in use are asked; a list whose health is not "ok" is not
   asked about any target (its answers would not count) and the run says why.
2. The targets of the organisation's pools are asked of every healthy list. Results are persisted in
   batches while questions are still in flight, and the run's heart beats after each batch, so a
   worker that dies leaves a run that the next ``AuditRun.start()`` closes as failed, with what it
   finished kept.
3. Only listed and error results are stored per run (``BlocklistResult``); clean ones are counted.
   Listings are intervals (``Listing``): opened by "listed", kept open by "listed" again, closed by
   "clean". An error neither opens nor closes one.
4. At the end (success or failure) the alerts evaluator turns listings, list health and the run's
   outcome into alerts (``monitor.alerts.evaluate.after_blocklist_audit``).
"""

from __future__ import annotations

import ipaddress
from collections import Counter

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from monitor.blocklists.answers import CLEAN, LISTED, OK, UNUSABLE, ListSpec, is_ipv6
from monitor.blocklists.engine import Engine
from monitor.models import AuditRun
from monitor.models.blocklists import Blocklist, BlocklistResult, Listing, ListHealth
from monitor.models.pools import Pool


def collect_targets(org, pools=None) -> tuple[list[str], list[str], list[str]]:
    """(addresses, domains, warnings) of the pools (all the organisation's when ``pools`` is None)."""
    cap = settings.BLOCKLIST_MAX_ADDRESSES
    if pools is None:
        pools = org.pools.all()
    pools = Pool.objects.filter(pk__in=[p.pk for p in pools], organization=org).prefetch_related("members")
    addresses: dict[str, None] = {}
    domains: dict[str, None] = {}
    warnings = []
    for pool in pools:
        for member in pool.members.all():
            if pool.kind == Pool.IP:
                try:
                    for address in member.addresses(cap):
                        addresses[address] = None
                except ValueError as exc:
                    warnings.append(f"pool {pool.name}: {exc}; not checked")
            else:
                domains[member.value] = None
    ordered = sorted(addresses, key=lambda a: ipaddress.ip_address(a).packed.rjust(16, b"\0"))
    return ordered, list(domains), warnings


def spec_for(blocklist: Blocklist) -> ListSpec:
    return ListSpec(
        id=blocklist.id,
        zone=blocklist.query_zone,
        kind=blocklist.kind,
        ipv6=blocklist.ipv6,
        codes=blocklist.codes,
        bitmask=blocklist.bitmask,
        error_codes=blocklist.error_codes,
        rate=settings.BLOCKLIST_RATE if blocklist.rate is None else blocklist.rate,
        burst=settings.BLOCKLIST_BURST if blocklist.burst is None else blocklist.burst,
        test_listed=blocklist.test_listed,
        test_unlisted=blocklist.test_unlisted,
        name=blocklist.name,
    )


def without_key(blocklist: Blocklist, text: str) -> str:
    """A DNS error may quote the name asked: never show or store a list's key."""
    if blocklist.key and text:
        text = text.replace(blocklist.query_zone, blocklist.zone).replace(blocklist.key, "<key>")
    return text


def interleave(per_list: dict[int, list[str]], specs: dict[int, ListSpec]) -> list:
    """Jobs ordered target by target across lists, so no one zone's rate limit holds up the rest."""
    jobs = []
    longest = max((len(t) for t in per_list.values()), default=0)
    for index in range(longest):
        for list_id, targets in per_list.items():
            if index < len(targets):
                jobs.append((specs[list_id], targets[index]))
    return jobs


class BlocklistAudit:
    def __init__(self, org, run: AuditRun, pools=None, emit=None, engine: Engine | None = None):
        self.org, self.run, self.pools = org, run, pools
        self.emit = emit if emit is not None else (lambda record: None)
        self.engine = engine or Engine()
        self.counts = Counter()
        self.warnings: list[str] = []

    def summary(self) -> dict:
        counts = dict(self.counts)
        for key in ("listed", "clean", "error"):
            counts.setdefault(key, 0)
        counts["questions"] = self.engine.stats["questions"]
        counts["retries"] = self.engine.stats["retries"]
        if self.warnings:
            counts["warnings"] = self.warnings
        return counts

    def perform(self) -> None:
        addresses, domains, self.warnings = collect_targets(self.org, self.pools)
        ipv4 = [a for a in addresses if not is_ipv6(a)]
        ipv6 = [a for a in addresses if is_ipv6(a)]
        self.counts["targets"] = len(addresses) + len(domains)
        lists = {b.id: b for b in Blocklist.objects.filter(enabled=True)}
        per_list: dict[int, list[str]] = {}
        for blocklist in lists.values():
            targets = domains if blocklist.kind == Blocklist.DOMAIN else ipv4 + (ipv6 if blocklist.ipv6 else [])
            if targets:
                per_list[blocklist.id] = targets
        self.counts["lists"] = len(per_list)
        if ipv6:  # IPv6 targets are not asked of lists that answer IPv4 only
            self.counts["ipv6_not_asked"] = len(ipv6) * sum(
                1 for i in per_list if lists[i].kind == Blocklist.IP and not lists[i].ipv6)
        specs = {list_id: spec_for(lists[list_id]) for list_id in per_list}

        health = self.check_health([lists[i] for i in per_list], specs, with_ipv6=bool(ipv6))
        healthy = {list_id: targets for list_id, targets in per_list.items() if health[list_id][0] == OK}
        self.counts["lists_unhealthy"] = len(per_list) - len(healthy)
        self.counts["skipped"] = sum(len(t) for i, t in per_list.items() if i not in healthy)
        self.run.beat(self.summary())

        jobs = interleave(healthy, specs)
        self.counts["planned"] = len(jobs)
        open_listings = {
            (listing.blocklist_id, listing.target): listing
            for listing in Listing.objects.filter(organization=self.org, cleared__isnull=True, blocklist_id__in=list(healthy))
        }
        for batch in self.engine.stream(jobs):
            self.persist(batch, lists, open_listings)
            self.run.beat(self.summary())

    def check_health(self, blocklists: list[Blocklist], specs: dict[int, ListSpec], with_ipv6: bool) -> dict:
        verdicts = {}
        askable = []
        for blocklist in blocklists:
            if blocklist.requires_key and not blocklist.key:
                verdicts[blocklist.id] = (UNUSABLE, "needs a key: set one in the admin or the inventory")
            else:
                askable.append(specs[blocklist.id])
        verdicts.update(self.engine.health(askable, with_ipv6) if askable else {})
        now = timezone.now()
        rows = []
        for blocklist in blocklists:
            state, reason = verdicts[blocklist.id]
            reason = without_key(blocklist, reason)
            blocklist.health, blocklist.health_reason, blocklist.health_checked = state, reason[:300], now
            rows.append(ListHealth(run=self.run, blocklist=blocklist, health=state, reason=reason[:300]))
            self.emit({"zone": blocklist.zone, "health": state, "reason": reason})
        with transaction.atomic():
            ListHealth.objects.bulk_create(rows)
            Blocklist.objects.bulk_update(blocklists, ["health", "health_reason", "health_checked"])
        return verdicts

    def persist(self, batch, lists: dict[int, Blocklist], open_listings: dict) -> None:
        now = timezone.now()
        counts = Counter()
        results, opened, kept, closed = [], [], [], []
        for spec, target, verdict in batch:
            status = verdict.status
            counts[status] += 1
            blocklist = lists[spec.id]
            if blocklist.key:
                verdict.reason = without_key(blocklist, verdict.reason)
            self.emit({"target": target, "zone": blocklist.zone, "status": status, "codes": verdict.codes,
                       "reason": verdict.reason})
            key = (spec.id, target)
            if status == CLEAN:
                listing = open_listings.pop(key, None)
                if listing is not None:
                    listing.cleared, listing.cleared_run = now, self.run
                    closed.append(listing)
                continue
            results.append(BlocklistResult(run=self.run, blocklist_id=spec.id, target=target, status=status,
                                           codes=verdict.codes, reason=verdict.reason[:500]))
            if status != LISTED:
                continue  # an error neither opens nor closes a listing
            listing = open_listings.get(key)
            if listing is None:
                listing = Listing(organization=self.org, blocklist_id=spec.id, target=target, first_seen=now,
                                  last_seen=now, codes=verdict.codes, reason=verdict.reason[:500],
                                  first_run=self.run, last_run=self.run)
                open_listings[key] = listing
                opened.append(listing)
            else:
                listing.last_seen, listing.last_run = now, self.run
                listing.codes, listing.reason = verdict.codes, verdict.reason[:500] or listing.reason
                kept.append(listing)
        counts["newly_listed"], counts["cleared"] = len(opened), len(closed)
        with transaction.atomic():
            BlocklistResult.objects.bulk_create(results, batch_size=500)
            Listing.objects.bulk_create(opened, batch_size=500)
            if kept:
                Listing.objects.bulk_update(kept, ["last_seen", "last_run", "codes", "reason"], batch_size=500)
            if closed:
                Listing.objects.bulk_update(closed, ["cleared", "cleared_run"], batch_size=500)
        self.counts.update(counts)  # counted once the batch is stored: a failed run's counts match its rows


def run_blocklist_audit(org, pools=None, trigger=AuditRun.SCHEDULE, emit=None, engine=None) -> AuditRun:
    """Run and record one audit. Raises AuditAlreadyRunning if one is under way; any other failure
    closes the run as failed (what was finished is kept) and is raised again."""
    run = AuditRun.start(org, AuditRun.BLOCKLIST, trigger)
    audit = BlocklistAudit(org, run, pools=pools, emit=emit, engine=engine)
    try:
        audit.perform()
    except BaseException as exc:
        run.fail(f"{type(exc).__name__}: {exc}"[:2000], audit.summary())
        evaluate_alerts(run)
        raise
    run.succeed(audit.summary())
    evaluate_alerts(run)
    return run


def evaluate_alerts(run: AuditRun) -> None:
    """Listings opened or cleared, list health and a failed run become alerts (never raises)."""
    from monitor.alerts.evaluate import after_blocklist_audit

    after_blocklist_audit(run)
