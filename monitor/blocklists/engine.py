"""The DNS side of a blocklist audit: asyncio dnspython, a bounded number of questions in flight, a
token bucket per zone, timeouts retried before they count.

The event loop runs in a thread of its own and hands results back in batches (``Engine.stream``), so
the caller persists them with the ORM while questions are still being asked. Nothing in this module
touches the database: lists arrive as ``ListSpec`` objects.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from typing import Iterable, Iterator

import dns.exception
import dns.rdatatype
import dns.resolver
from django.conf import settings

from monitor.blocklists.answers import (
    ANSWER,
    FAILURE,
    LISTED,
    NODATA,
    NXDOMAIN,
    TIMEOUT,
    ListSpec,
    Outcome,
    Verdict,
    assess_health,
    classify,
    query_name,
    test_points,
)
from monitor.dns import async_resolver


RCODE_WORDS = ("SERVFAIL", "REFUSED", "NOTIMP", "FORMERR", "NOTAUTH", "YXDOMAIN")


class TokenBucket:
    """``rate`` questions per second with bursts of ``burst``; 0 means no limit. One event loop only."""

    def __init__(self, rate: float, burst: int, stamp: float | None = None):
        self.rate = float(rate or 0)
        self.capacity = float(max(1, burst or 1))
        self.tokens = self.capacity
        self.stamp = time.monotonic() if stamp is None else stamp

    def reserve(self, now: float) -> float:
        """Take a token at time ``now``; return how long to wait until it has been earned."""
        if not self.rate:
            return 0.0
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        self.tokens -= 1  # reserved now, even if it is earned later: later callers queue behind
        return -self.tokens / self.rate if self.tokens < 0 else 0.0

    async def take(self) -> None:
        wait = self.reserve(time.monotonic())
        if wait:
            await asyncio.sleep(wait)


class Engine:
    def __init__(self, in_flight: int | None = None, retries: int | None = None, timeout: float | None = None,
                 batch_size: int = 1000):
        self.batch_size = batch_size  # results handed back (and persisted) at a time
        self.in_flight = in_flight or settings.BLOCKLIST_IN_FLIGHT
        self.retries = settings.BLOCKLIST_RETRIES if retries is None else retries
        self.resolver = async_resolver(timeout)
        self.stats = {"questions": 0, "retries": 0}
        self._stop = threading.Event()
        self._buckets: dict[str, TokenBucket] = {}

    def bucket(self, spec: ListSpec) -> TokenBucket:
        bucket = self._buckets.get(spec.zone)
        if bucket is None:
            bucket = self._buckets[spec.zone] = TokenBucket(spec.rate, spec.burst)
        return bucket

    # -- one question ---------------------------------------------------------------------------

    async def ask(self, qname: str, rdtype=dns.rdatatype.A, retries: int | None = None) -> Outcome:
        attempts = 1 + (self.retries if retries is None else retries)
        for attempt in range(attempts):
            self.stats["questions"] += 1
            if attempt:
                self.stats["retries"] += 1
            try:
                answer = await self.resolver.resolve(qname, rdtype, search=False, raise_on_no_answer=False)
            except dns.resolver.NXDOMAIN:
                return Outcome(NXDOMAIN)
            except dns.exception.Timeout:
                continue
            except dns.resolver.NoNameservers as exc:
                text = str(exc)
                word = next((w for w in RCODE_WORDS if w in text), None)
                return Outcome(FAILURE, detail=f"server answered {word}" if word else text[:200])
            except dns.exception.DNSException as exc:
                return Outcome(FAILURE, detail=f"{type(exc).__name__}: {exc}"[:200])
            if answer.rrset is None:
                return Outcome(NODATA)
            if rdtype == dns.rdatatype.TXT:
                text = " ".join(b"".join(r.strings).decode("utf-8", "replace") for r in answer.rrset)
                return Outcome(ANSWER, detail=text)
            return Outcome(ANSWER, tuple(r.address for r in answer.rrset))
        return Outcome(TIMEOUT, detail=f"{attempts} attempt{'s' if attempts > 1 else ''}")

    async def check(self, spec: ListSpec, target: str) -> Verdict:
        """The verdict for one target on one list; the TXT reason is fetched for listings."""
        bucket = self.bucket(spec)
        await bucket.take()
        qname = query_name(target, spec.zone, spec.kind)
        verdict = classify(spec, await self.ask(qname))
        if verdict.status == LISTED:
            await bucket.take()
            txt = await self.ask(qname, dns.rdatatype.TXT, retries=0)
            verdict.reason = txt.detail[:500] if txt.kind == ANSWER else ""
        return verdict

    # -- many questions -------------------------------------------------------------------------

    async def probe(self, spec: ListSpec, target: str) -> Outcome:
        """The raw outcome of the A question (for test points)."""
        await self.bucket(spec).take()
        return await self.ask(query_name(target, spec.zone, spec.kind))

    async def _run(self, jobs: list, work, deliver, batch_size: int, interval: float) -> None:
        buffer: list = []
        last = time.monotonic()
        position = 0

        async def worker():
            nonlocal position, buffer, last
            while position < len(jobs) and not self._stop.is_set():
                spec, target = jobs[position]
                position += 1
                result = await work(spec, target)  # (not inside buffer.append(): buffer changes while we wait)
                buffer.append((spec, target, result))
                now = time.monotonic()
                if len(buffer) >= batch_size or now - last >= interval:
                    deliver(buffer)
                    buffer, last = [], now

        await asyncio.gather(*(worker() for _ in range(min(self.in_flight, len(jobs)))))
        if buffer:
            deliver(buffer)

    def stream(self, jobs: Iterable, work=None, batch_size: int | None = None, interval: float = 0.5) -> Iterator[list]:
        """Ask every (spec, target) job; yield lists of (spec, target, Verdict) as they complete.

        ``work`` is the coroutine function applied to each job (default ``check``).

        The questions run in a background thread; if the caller stops early (an exception while
        persisting), the remaining questions are abandoned.
        """
        jobs = list(jobs)
        results: queue.Queue = queue.Queue()
        done = object()

        def runner():
            try:
                asyncio.run(self._run(jobs, work or self.check, results.put, batch_size or self.batch_size, interval))
            except BaseException as exc:  # handed to the caller's thread
                results.put(exc)
            results.put(done)

        thread = threading.Thread(target=runner, name="blocklist-dns", daemon=True)
        self._stop.clear()
        thread.start()
        try:
            while True:
                item = results.get()
                if item is done:
                    break
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self._stop.set()
            thread.join()

    def health(self, specs: list[ListSpec], with_ipv6: bool) -> dict[int, tuple[str, str]]:
        """{spec.id: (health, reason)} from the RFC 5782 test points of every list."""
        points = {}
        jobs = []
        for spec in specs:
            for target, must_be_listed in test_points(spec, with_ipv6):
                points[(spec.id, target)] = must_be_listed
                jobs.append((spec, target))
        outcomes: dict[int, list] = {spec.id: [] for spec in specs}
        for batch in self.stream(jobs, work=self.probe):
            for spec, target, outcome in batch:
                outcomes[spec.id].append((target, points[(spec.id, target)], outcome))
        return {spec.id: assess_health(spec, outcomes[spec.id]) for spec in specs}
