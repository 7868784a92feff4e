"""The shipped blocklist catalogue (``catalogue.toml``) and the one validator of blocklist entries.

``load_catalogue()`` is idempotent: it creates missing lists, refreshes what the catalogue describes
(codes, notes, links) and leaves what operators choose (enabled, key, severity, rate) alone. A data
migration calls it with the historical model: ``load_catalogue(apps.get_model("monitor", "Blocklist"))``.
"""

from __future__ import annotations

import ipaddress
import tomllib
from functools import lru_cache
from pathlib import Path

from monitor.models.pools import normalise_domain

CATALOGUE = Path(__file__).resolve().parent / "catalogue.toml"
KINDS = ("ip", "domain")
SEVERITIES = ("high", "medium", "low")
# What the catalogue describes (refreshed on reload) and what operators choose (kept).
DESCRIPTIVE = ("name", "kind", "ipv6", "delist_url", "codes", "bitmask", "error_codes", "notes", "key_zone",
               "requires_key", "test_listed", "test_unlisted")
CHOSEN = ("severity", "enabled", "key", "rate", "burst")
ENTRY_KEYS = frozenset({"zone", *DESCRIPTIVE, *CHOSEN})


@lru_cache(maxsize=1)
def read_catalogue() -> dict:
    with open(CATALOGUE, "rb") as fh:
        return tomllib.load(fh)


def retired_zones() -> dict[str, str]:
    return {entry["zone"]: entry["reason"] for entry in read_catalogue().get("retired", [])}


def not_blocklists() -> dict[str, str]:
    return {entry["zone"]: entry["reason"] for entry in read_catalogue().get("not_a_blocklist", [])}


def _code_table(value, key: str) -> dict:
    if not isinstance(value, dict):
        raise ValueError(f"{key!r} must be a table of \"127.0.0.N\" = \"meaning\"")
    table = {}
    for code, meaning in value.items():
        try:
            address = ipaddress.IPv4Address(code)
        except ValueError:
            raise ValueError(f"{key}: {code!r} is not an IPv4 address") from None
        if not isinstance(meaning, str):
            raise ValueError(f"{key}: the meaning of {code} must be a string")
        table[str(address)] = meaning
    return table


def clean_entry(entry: dict) -> dict:
    """Model field values for one ``[[blocklist]]`` entry; ValueError says what is wrong."""
    unknown = sorted(set(entry) - ENTRY_KEYS)
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(map(repr, unknown))}")
    for key in ("zone", "name", "kind"):
        if not entry.get(key):
            raise ValueError(f"{key!r} is required")
    zone = normalise_domain(entry["zone"])
    kind = entry["kind"]
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r} is not 'ip' or 'domain'")
    fields = {"zone": zone, "name": str(entry["name"]), "kind": kind}
    for key in ("ipv6", "bitmask", "requires_key", "enabled"):
        if key in entry:
            if not isinstance(entry[key], bool):
                raise ValueError(f"{key!r} must be true or false")
            fields[key] = entry[key]
    for key in ("delist_url", "notes", "key", "key_zone", "test_listed", "test_unlisted"):
        if key in entry:
            if not isinstance(entry[key], str):
                raise ValueError(f"{key!r} must be a string")
            fields[key] = entry[key].strip()
    url = fields.get("delist_url", "")
    if url and not url.startswith(("https://", "http://")):
        raise ValueError(f"delist_url {url!r} must be an http(s) URL ({{target}} is replaced by the target)")
    if fields.get("key_zone") and "{key}" not in fields["key_zone"]:
        raise ValueError("key_zone must contain {key}, e.g. \"{key}.zen.dq.spamhaus.net\"")
    if "severity" in entry:
        if entry["severity"] not in SEVERITIES:
            raise ValueError(f"severity {entry['severity']!r} is not one of {', '.join(SEVERITIES)}")
        fields["severity"] = entry["severity"]
    for key in ("codes", "error_codes"):
        if key in entry:
            fields[key] = _code_table(entry[key], key)
    if fields.get("bitmask"):
        for code in fields.get("codes", {}):
            bit = int(code.rsplit(".", 1)[1])
            if bit == 0 or bit & (bit - 1):
                raise ValueError(f"codes: {code} is not a single bit of the last octet (bitmask = true)")
    for key, kind_of in (("rate", (int, float)), ("burst", int)):
        if key in entry:
            value = entry[key]
            if isinstance(value, bool) or not isinstance(value, kind_of) or value < 0:
                raise ValueError(f"{key!r} must be a number >= 0")
            fields[key] = value
    return fields


def catalogue_entries() -> list[dict]:
    return [clean_entry(entry) for entry in read_catalogue()["blocklist"]]


def load_catalogue(model=None) -> tuple[int, int]:
    """Install or refresh the shipped lists; disable retired ones. Returns (created, updated)."""
    if model is None:
        from monitor.models.blocklists import Blocklist as model
    existing = {b.zone: b for b in model.objects.all()}
    created = updated = 0
    for fields in catalogue_entries():
        row = existing.get(fields["zone"])
        if row is None:
            model.objects.create(source="catalogue", **fields)
            created += 1
            continue
        changed = [key for key in DESCRIPTIVE if key in fields and getattr(row, key) != fields[key]]
        if row.source == "catalogue" and changed:
            for key in changed:
                setattr(row, key, fields[key])
            row.save(update_fields=changed)
            updated += 1
    retired = model.objects.filter(zone__in=list(retired_zones()), enabled=True)
    updated += retired.update(enabled=False)
    return created, updated
