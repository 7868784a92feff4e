"""The ``[[blocklist]]`` inventory section and the top-level ``blocklists_exclusive`` switch.

    blocklists_exclusive = true          # every list not named below is disabled

    [[blocklist]]
    zone = "zen.spamhaus.org"            # a catalogue list: name and kind may be left out
    key = "abcdef123"                    # DQS key: questions go to abcdef123.zen.dq.spamhaus.net

    [[blocklist]]
    zone = "bl.example.net"
    kind = "ip"                          # "ip" or "domain"
    name = "Example BL"
    delist_url = "https://example.net/remove?ip={target}"
    codes = { "127.0.0.2" = "spam source" }
    severity = "low"

Named in ``monitor/inventory.py`` (``SECTIONS`` and ``FINISHERS``).
"""

from monitor.blocklists.catalogue import DESCRIPTIVE, ENTRY_KEYS, clean_entry, not_blocklists, retired_zones
from monitor.inventory import Section
from monitor.models.blocklists import Blocklist
from monitor.models.pools import normalise_domain

BLOCKLIST_KEYS = ENTRY_KEYS


def apply_blocklist(entry, ctx):
    ctx.require(entry, "zone")
    try:
        zone = normalise_domain(entry["zone"])
    except (ValueError, AttributeError):
        ctx.fail(f"zone {entry['zone']!r} is not a DNS zone name")
    if zone in not_blocklists():
        ctx.fail(f"{zone} is not a blocklist ({not_blocklists()[zone]}); its answers are not listings")
    row = Blocklist.objects.filter(zone=zone).first()
    known = {"name": row.name, "kind": row.kind} if row else {}
    try:
        fields = clean_entry({**known, **entry, "zone": zone})
    except ValueError as exc:
        ctx.fail(str(exc))
    if zone in retired_zones():
        ctx.changes.append(f"warning: blocklist {zone}: {retired_zones()[zone]}; the health check will flag it")
    if row is None:
        Blocklist.objects.create(source="inventory", **fields)
        ctx.changes.append(f"blocklist {zone}: created")
        return
    changed = [key for key, value in fields.items() if getattr(row, key) != value]
    if not changed:
        return
    for key in changed:
        setattr(row, key, fields[key])
    if any(key in DESCRIPTIVE for key in changed):
        row.source = "inventory"  # a later catalogue refresh leaves these descriptions alone
        changed.append("source")
    row.save(update_fields=changed)
    shown = [key if key != "key" else "key (hidden)" for key in changed if key != "source"]
    ctx.changes.append(f"blocklist {zone}: updated {', '.join(shown)}")


def finish_blocklists_exclusive(ctx):
    """``blocklists_exclusive = true``: disable every list the file does not name."""
    exclusive = ctx.top.get("blocklists_exclusive", False)
    if not isinstance(exclusive, bool):
        ctx.fail("'blocklists_exclusive' must be true or false")
    if not exclusive:
        return
    named = {normalise_domain(entry["zone"]) for entry in ctx.seen.get("blocklist", [])}
    disabled = Blocklist.objects.filter(enabled=True).exclude(zone__in=named).update(enabled=False)
    if disabled:
        ctx.changes.append(f"blocklists_exclusive: {disabled} list(s) not named in the file disabled")


SECTION = Section("blocklist", BLOCKLIST_KEYS, apply_blocklist)  # named in monitor.inventory.SECTIONS
