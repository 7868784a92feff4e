"""Reverse DNS of report sources, and the sending service behind each (Google, SendGrid ...).

After an import, ``importing`` queues ``enrich_reports(report_pks)`` for the worker: the sources of
those reports that were never looked up (or not for ``SOURCE_HOST_MAX_AGE_DAYS``, a day after a
failed look-up) are resolved concurrently (asyncio, at most ``ENRICH_CONCURRENCY`` questions in
flight) through ``monitor.dns.async_resolver``, cached in ``SourceHost`` and copied into the daily
roll-ups' ``service``. An import never waits for this.

The service comes from the PTR name by a maintained table of host-name suffixes
(``data/senders.toml``); the longest matching suffix wins. A name no suffix matches is named after
its organisational domain (``mail1.acme.example`` -> ``acme.example``): the sender's own servers,
a hosting company's, an ISP's, each a group of its own rather than one heap of "unnamed".
"""

import asyncio
import logging
import tomllib
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

import dns.asyncresolver
import dns.exception
import dns.resolver
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from dmarc_reports import service_rollups
from dmarc_reports.models import DailyRollup, ReportRow, SourceHost
from dmarc_reports.owners import organisational_domain
from monitor.dns import async_resolver

log = logging.getLogger(__name__)

SENDERS = Path(__file__).resolve().parent / "data" / "senders.toml"
RETRY_FAILED_AFTER = timedelta(days=1)
CHUNK = 500  # addresses per database query
SERVICE_LENGTH = SourceHost._meta.get_field("service").max_length


# -- the service behind a host name -----------------------------------------------------------------

@lru_cache(maxsize=1)
def suffixes() -> list[tuple[str, str]]:
    """(suffix, service), longest suffix first."""
    with open(SENDERS, "rb") as stream:
        table = tomllib.load(stream)["services"]
    pairs = [(suffix.lower().strip("."), service) for service, names in table.items() for suffix in names]
    return sorted(pairs, key=lambda pair: (-len(pair[0]), pair[0]))


def service_for(host: str) -> str:
    """The known sender whose host names end with this one's suffix, else the name's organisational
    domain; "" for no name."""
    host = host.lower().rstrip(".")
    if not host:
        return ""
    for suffix, service in suffixes():
        if host == suffix or host.endswith("." + suffix):
            return service
    return organisational_domain(host)[:SERVICE_LENGTH]


# -- asking DNS, many at a time ---------------------------------------------------------------------

async def lookup_all(addresses: list[str], concurrency: int) -> dict[str, tuple[str, str]]:
    """{address: (PTR name or "", error or "")}: ``concurrency`` workers, each one question at a time."""
    resolver = async_resolver()
    pending = iter(addresses)
    answers: dict[str, tuple[str, str]] = {}

    async def worker():
        for address in pending:  # shared: each address is taken by one worker
            answers[address] = await lookup(resolver, address)

    await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, len(addresses))))))
    return answers


async def lookup(resolver: dns.asyncresolver.Resolver, address: str) -> tuple[str, str]:
    try:
        answer = await resolver.resolve_address(address)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return "", ""  # no PTR: an answer, not a failure
    except dns.exception.Timeout:
        return "", "no answer in time"
    except dns.resolver.NoNameservers:
        return "", "the DNS server failed or refused"
    except (dns.exception.DNSException, ValueError, OSError) as error:
        return "", f"look-up failed: {error.__class__.__name__}"
    names = sorted(str(record.target).rstrip(".").lower() for record in answer)
    return (names[0][:253] if names else ""), ""


def run_coroutine(coroutine):
    """``asyncio.run``, in a thread of its own when this thread already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="reverse-dns") as pool:
        return pool.submit(asyncio.run, coroutine).result()


# -- what needs looking up, and storing the answers -------------------------------------------------

def stale(addresses: list[str], now=None) -> list[str]:
    """The addresses never looked up, looked up too long ago, or whose last look-up failed a while ago."""
    now = now or timezone.now()
    max_age = timedelta(days=settings.SOURCE_HOST_MAX_AGE_DAYS)
    fresh = set()
    for start in range(0, len(addresses), CHUNK):
        fresh.update(SourceHost.objects.filter(ip__in=addresses[start:start + CHUNK], looked_up__gte=now - max_age)
                     .filter(Q(error="") | Q(looked_up__gte=now - RETRY_FAILED_AFTER))
                     .values_list("ip", flat=True))
    return [address for address in addresses if address not in fresh]


def enrich_sources(addresses, force: bool = False) -> dict:
    """Look up the reverse DNS of these addresses (the stale ones, unless ``force``) and store it."""
    addresses = sorted(set(addresses))
    todo = addresses if force else stale(addresses)
    if not todo:
        return {"looked_up": 0, "named": 0, "failed": 0}
    answers = run_coroutine(lookup_all(todo, settings.ENRICH_CONCURRENCY))
    now = timezone.now()
    hosts = [SourceHost(ip=address, ptr=ptr, service=service_for(ptr) if ptr else "", looked_up=now, error=error[:255])
             for address, (ptr, error) in answers.items()]
    failed = {host.ip for host in hosts if host.error}
    SourceHost.objects.bulk_create(
        [host for host in hosts if not host.error], batch_size=CHUNK,
        update_conflicts=True, unique_fields=["ip"], update_fields=["ptr", "service", "looked_up", "error"],
    )
    # A failed look-up keeps what an earlier one found; it only notes the error and when.
    SourceHost.objects.bulk_create(
        [host for host in hosts if host.error], batch_size=CHUNK,
        update_conflicts=True, unique_fields=["ip"], update_fields=["looked_up", "error"],
    )
    name_rollups([host for host in hosts if host.ip not in failed])
    named = sum(1 for host in hosts if host.service)
    return {"looked_up": len(hosts), "named": named, "failed": len(failed)}


def name_rollups(hosts: list[SourceHost]) -> None:
    """Put each source's service on its daily roll-ups (one update per service and chunk), then sum the
    days those roll-ups belong to by service again."""
    by_service: dict[str, list[str]] = {}
    for host in hosts:
        by_service.setdefault(host.service, []).append(host.ip)
    changed = set()
    for service, addresses in by_service.items():
        for start in range(0, len(addresses), CHUNK):
            rollups = DailyRollup.objects.filter(source_ip__in=addresses[start:start + CHUNK]).exclude(service=service)
            changed.update(rollups.order_by().values_list("organization_id", "domain", "day").distinct())
            rollups.update(service=service)
    service_rollups.rebuild(changed)


def enrich_reports(report_pks: list[int]) -> str:
    """django-q2 task queued after an import: the reverse DNS of these reports' sources."""
    addresses = list(ReportRow.objects.filter(report_id__in=report_pks).values_list("source_ip", flat=True).distinct())
    counts = enrich_sources(addresses)
    return f"{len(addresses)} source(s): {counts['looked_up']} looked up, {counts['named']} named, {counts['failed']} failed"


def enrich_recent_sources(days: int = 7) -> str:
    """django-q2 task for a daily schedule: sources seen in the last ``days`` days whose look-up is stale
    (older than ``SOURCE_HOST_MAX_AGE_DAYS``, or failed more than a day ago) are looked up again."""
    since = timezone.now().date() - timedelta(days=days)
    addresses = list(DailyRollup.objects.filter(day__gte=since).values_list("source_ip", flat=True).distinct())
    counts = enrich_sources(addresses)
    return f"{len(addresses)} recent source(s): {counts['looked_up']} looked up, {counts['named']} named, {counts['failed']} failed"
