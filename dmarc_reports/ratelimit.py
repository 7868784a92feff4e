"""A token bucket per key (e.g. a client IP address) kept in Django's cache.

    allowed, retry_after = take("tlsrpt:192.0.2.1", capacity=20, per_hour=60)

A bucket holds at most ``capacity`` tokens and gains ``per_hour`` tokens an hour; each request takes
one. The cache is shared by every web process (``settings.CACHES``: Redis, or the database), so the
limit is one across them all. Two requests racing on one bucket may both pass: the limit is there to
stop floods, not to count exactly.
"""

import time

from django.core.cache import cache


def take(key: str, *, capacity: int, per_hour: float, now: float | None = None) -> tuple[bool, int]:
    """Take a token; returns (allowed, seconds until the next token when refused)."""
    now = time.time() if now is None else now
    rate = per_hour / 3600.0
    cache_key = f"ratelimit:{key}"
    tokens, stamp = cache.get(cache_key) or (float(capacity), now)
    tokens = min(float(capacity), tokens + max(0.0, now - stamp) * rate)
    allowed = tokens >= 1.0
    if allowed:
        tokens -= 1.0
    refill_time = int((capacity - tokens) / rate) + 1 if rate > 0 else None
    cache.set(cache_key, (tokens, now), timeout=refill_time)
    retry_after = 0 if allowed else (int((1.0 - tokens) / rate) + 1 if rate > 0 else 3600)
    return allowed, retry_after
