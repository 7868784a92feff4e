"""Blocklist (DNSBL/RHSBL) audits: the shipped catalogue, RFC 5782 health checks, the asyncio query
engine, per-run results and listing intervals.

- ``catalogue``: ``catalogue.toml`` and ``load_catalogue()`` (call it from a data migration).
- ``answers``: question names and what an answer means (pure functions).
- ``engine``: asking many questions concurrently, rate-limited per zone.
- ``audit``: ``run_blocklist_audit(org, pools=None, trigger=..., emit=None)``.
- ``inventory``: the ``[[blocklist]]`` inventory section and ``blocklists_exclusive``.
"""
