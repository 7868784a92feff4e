"""Run the DNS audit of an organisation: every domain of its domain pools, every address of its IP
pools, a few targets at a time, recorded as an AuditRun (kind "dns") with one DnsCheckResult per check."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed

import checkdmarc.dnssec
import checkdmarc.smtp
import checkdmarc.utils
from django.conf import settings
from django.utils import timezone

from monitor.dns_audit.bimi import check_bimi
from monitor.dns_audit.dkim import check_dkim
from monitor.dns_audit.dmarc import check_dmarc
from monitor.dns_audit.dnssec import check_dnssec
from monitor.dns_audit.fcrdns import check_fcrdns
from monitor.dns_audit.lookups import Lookups
from monitor.dns_audit.mta_sts import check_mta_sts
from monitor.dns_audit.mx import check_mx
from monitor.dns_audit.spf import check_spf
from monitor.dns_audit.tls_rpt import check_tls_rpt
from monitor.dns_audit.verdicts import ERROR, Verdict
from monitor.models import AuditRun, DnsCheckResult, Pool

logger = logging.getLogger(__name__)

DOMAIN_CHECKS = ["spf", "dmarc", "mx", "mta_sts", "tls_rpt", "bimi", "dnssec"]
SAVE_EVERY = 200  # results written per batch (a run that dies keeps what it saved)
BEAT_EVERY = 30  # seconds: well inside AuditRun's STALE_AFTER, even when targets are slow


def clear_checkdmarc_caches() -> None:
    """checkdmarc keeps answers for 30 minutes, keyed without the nameserver: start each audit afresh."""
    for cache in (
        checkdmarc.utils.DNS_CACHE,
        checkdmarc.utils._NAMESERVER_FAILURES,
        checkdmarc.dnssec.DNSSEC_CACHE,
        checkdmarc.dnssec.DNSKEY_CACHE,
        checkdmarc.dnssec.TLSA_CACHE,
        checkdmarc.smtp.TLS_CACHE,
        checkdmarc.smtp.STARTTLS_CACHE,
    ):
        cache.clear()


def collect_targets(org, pools=None) -> tuple[dict[str, list[str]], list[str], list[str]]:
    """(domain -> DKIM selectors, addresses, notes on members skipped) of an organisation's pools."""
    queryset = Pool.objects.filter(organization=org).prefetch_related("members")
    if pools is not None:
        queryset = queryset.filter(pk__in=[p.pk if isinstance(p, Pool) else p for p in pools])
    domains: dict[str, dict[str, None]] = {}
    addresses: dict[str, None] = {}
    skipped = []
    for pool in queryset:
        for member in pool.members.all():
            if pool.kind == Pool.DOMAIN:
                selectors = domains.setdefault(member.value, {})
                for selector in member.dkim_selectors or []:
                    selectors[str(selector).strip().lower()] = None
            else:
                try:
                    for address in member.addresses():
                        addresses[address] = None
                except ValueError as exc:
                    skipped.append(f"{pool.name}: {exc}")
    return {d: list(s) for d, s in domains.items()}, list(addresses), skipped


def _safely(target: str, check: str, function, *args) -> Verdict:
    try:
        return function(*args)
    except Exception as exc:  # one broken check must not sink the audit; it is reported, not hidden
        logger.exception("DNS check %s of %s crashed", check, target)
        return Verdict(target, check, ERROR, f"The check crashed ({type(exc).__name__}: {exc}); it will be retried.")


def audit_domain(domain: str, selectors: Iterable[str] = ()) -> list[Verdict]:
    checks = DOMAIN_CHECKS + [f"dkim:{s}" for s in selectors]
    reach = Lookups().query(domain, "SOA")
    if not reach.ok:
        # The domain's servers do not answer at all: say so once per check instead of timing out 30 times.
        message = (
            f"The DNS servers for {domain} did not answer ({reach.error}); nothing could be checked. "
            "It will be retried on the next run."
        )
        return [Verdict(domain, check, ERROR, message, details={"dns_problems": [f"{domain} SOA: {reach.error}"]})
                for check in checks]
    verdicts = [
        _safely(domain, "spf", check_spf, domain, Lookups()),
        _safely(domain, "dmarc", check_dmarc, domain, Lookups()),
    ]
    mx = _safely(domain, "mx", check_mx, domain, Lookups())
    verdicts.append(mx)
    mx_hosts = None
    if mx.status != ERROR:
        mx_hosts = [h["host"] for h in mx.details.get("hosts", []) if h["host"] not in ("", ".")]
    verdicts += [
        _safely(domain, "mta_sts", check_mta_sts, domain, Lookups(), mx_hosts),
        _safely(domain, "tls_rpt", check_tls_rpt, domain, Lookups()),
        _safely(domain, "bimi", check_bimi, domain, Lookups()),
        _safely(domain, "dnssec", check_dnssec, domain, Lookups()),
    ]
    for selector in selectors:
        verdicts.append(_safely(domain, f"dkim:{selector}", check_dkim, domain, selector, Lookups()))
    return verdicts


def audit_address(address: str) -> list[Verdict]:
    return [_safely(address, "fcrdns", check_fcrdns, address, Lookups())]


def run_dns_audit(org, pools=None, trigger: str = AuditRun.COMMAND, emit: Callable[[dict], None] | None = None) -> AuditRun:
    """Audit every domain and address of ``org`` (or of ``pools`` only); returns the finished run.

    ``emit`` receives ``{"target", "check", "status", "message"}`` for each check as it completes.
    Raises AuditAlreadyRunning when a DNS audit of the organisation is under way.
    """
    run = AuditRun.start(org, AuditRun.DNS, trigger)
    counts = {"ok": 0, "warn": 0, "fail": 0, "error": 0}
    try:
        clear_checkdmarc_caches()
        domains, addresses, skipped = collect_targets(org, pools)
        counts.update(domains=len(domains), addresses=len(addresses))
        if skipped:
            counts["skipped"] = skipped
        run.beat(counts)
        pending: list[DnsCheckResult] = []
        last_beat = time.monotonic()
        workers = max(1, settings.DNS_AUDIT_WORKERS)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dns-audit") as pool:
            futures = [pool.submit(audit_domain, domain, selectors) for domain, selectors in domains.items()]
            futures += [pool.submit(audit_address, address) for address in addresses]
            for future in as_completed(futures):
                for verdict in future.result():
                    counts[verdict.status] += 1
                    pending.append(_result(run, verdict, addresses_kind=verdict.target not in domains))
                    if emit is not None:
                        emit(verdict.as_event())
                if len(pending) >= SAVE_EVERY or time.monotonic() - last_beat > BEAT_EVERY:
                    DnsCheckResult.objects.bulk_create(pending)
                    pending = []
                    run.beat(counts)
                    last_beat = time.monotonic()
        DnsCheckResult.objects.bulk_create(pending)
    except Exception as exc:
        run.fail(f"{type(exc).__name__}: {exc}", counts)
        evaluate_alerts(run)
        raise
    run.succeed(counts)
    evaluate_alerts(run)
    return run


def evaluate_alerts(run: AuditRun) -> None:
    """Checks that got worse or better, changed records and a failed run become alerts (never raises)."""
    from monitor.alerts.evaluate import after_dns_audit

    after_dns_audit(run)


def _result(run: AuditRun, verdict: Verdict, addresses_kind: bool) -> DnsCheckResult:
    return DnsCheckResult(
        run=run,
        organization_id=run.organization_id,
        target=verdict.target,
        target_kind=DnsCheckResult.ADDRESS if addresses_kind else DnsCheckResult.DOMAIN,
        check_name=verdict.check,
        status=verdict.status,
        message=verdict.message,
        records=verdict.records,
        details=verdict.details,
        checked=timezone.now(),
    )
