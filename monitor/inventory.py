"""Load an organisation set-up kept in version control (``manage.py load_inventory FILE.toml``).

The file is applied in one transaction: any bad entry changes nothing, and the error names the file,
the entry and the problem. Loading the same file twice changes nothing the second time.

Each ``[[section]]`` has a handler: ``handler(entry, ctx)`` creates or updates what the entry says and
returns nothing; it raises ``InventoryError`` (via ``ctx.fail``) for bad input. Later subjects
(blocklists, mailboxes) are named in ``SECTIONS`` by the dotted path of their ``Section``, imported when
an inventory is loaded (not at start-up), like ``FINISHERS``.
"""

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.module_loading import import_string
from django.utils.text import slugify

from monitor.alerts import outbound
from monitor.models import Membership, Organization, Pool, PoolMember
from monitor.models.pools import normalise_domain, normalise_ip_member


class InventoryError(Exception):
    pass


@dataclass
class Context:
    path: str
    where: str = ""
    top: dict = field(default_factory=dict)
    changes: list[str] = field(default_factory=list)
    seen: dict = field(default_factory=dict)  # section name -> list of keys named in the file

    def fail(self, problem: str):
        raise InventoryError(f"{self.path}: {self.where}: {problem}")

    def org(self, slug) -> Organization:
        org = Organization.objects.filter(slug=slug).first()
        if org is None:
            self.fail(f"unknown organization {slug!r} (declare it in an [[organization]] entry)")
        return org

    def require(self, entry: dict, *keys):
        for key in keys:
            if entry.get(key) in (None, ""):
                self.fail(f"{key!r} is required")

    def string_list(self, entry: dict, key: str) -> list[str]:
        value = entry.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(f"{key!r} must be a list of strings")
        return value


def apply_organization(entry, ctx):
    ctx.require(entry, "slug", "name")
    slug = entry["slug"]
    if slugify(slug) != slug:
        ctx.fail(f"slug {slug!r} may hold only lower-case letters, digits, '-' and '_'")
    emails = ctx.string_list(entry, "alert_emails")
    for email in emails:
        try:
            validate_email(email)
        except ValidationError:
            ctx.fail(f"{email!r} in alert_emails is not an e-mail address")
    webhook = entry.get("webhook_url", "")
    if webhook and (why := outbound.problem(webhook)):
        ctx.fail(f"webhook_url {webhook!r}: {why}")
    defaults = {"name": entry["name"], "alert_emails": emails}
    for key in ("dmarc_pass_threshold", "tls_failure_threshold", "no_report_days", "blocklist_cron", "dns_cron",
                "webhook_url"):
        if key in entry:
            defaults[key] = entry[key]
    org, created = Organization.objects.get_or_create(slug=slug, defaults=defaults)
    if not created:
        changed = [key for key, value in defaults.items() if getattr(org, key) != value]
        for key in changed:
            setattr(org, key, defaults[key])
        if changed:
            org.save()
            ctx.changes.append(f"organization {slug}: updated {', '.join(changed)}")
    else:
        ctx.changes.append(f"organization {slug}: created")
    try:
        org.full_clean()
    except ValidationError as exc:
        ctx.fail("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items()))


def apply_member(entry, ctx):
    ctx.require(entry, "organization", "username")
    org = ctx.org(entry["organization"])
    role = entry.get("role", Membership.VIEWER)
    if role not in dict(Membership.ROLES):
        ctx.fail(f"role {role!r} is not one of viewer, editor, admin")
    email = entry.get("email", "")
    if email:
        try:
            validate_email(email)
        except ValidationError:
            ctx.fail(f"{email!r} is not an e-mail address")
    User = get_user_model()
    user, created = User.objects.get_or_create(username=entry["username"], defaults={"email": email})
    if created:
        user.set_unusable_password()  # passwords never live in the inventory; set one in the admin
        user.save()
        ctx.changes.append(f"user {user.username}: created (no password yet)")
    elif email and user.email != email:
        user.email = email
        user.save(update_fields=["email"])
    membership, created = Membership.objects.get_or_create(organization=org, user=user, defaults={"role": role})
    if not created and membership.role != role:
        membership.role = role
        membership.save(update_fields=["role"])
        ctx.changes.append(f"member {user.username} in {org.slug}: now {role}")
    elif created:
        ctx.changes.append(f"member {user.username} in {org.slug}: added as {role}")


def apply_pool(entry, ctx):
    ctx.require(entry, "organization", "name", "kind")
    org = ctx.org(entry["organization"])
    kind = entry["kind"]
    if kind not in (Pool.IP, Pool.DOMAIN):
        ctx.fail(f"kind {kind!r} is not 'ip' or 'domain'")
    tags = ctx.string_list(entry, "tags")
    raw_members = ctx.string_list(entry, "members")
    normalise = normalise_ip_member if kind == Pool.IP else normalise_domain
    members = {}
    for raw in raw_members:
        try:
            members[normalise(raw)] = []
        except ValueError:
            what = "an IP address or CIDR range" if kind == Pool.IP else "a domain name"
            ctx.fail(f"member {raw!r} is not {what}")
    selectors = entry.get("dkim_selectors", {})
    if not isinstance(selectors, dict):
        ctx.fail("'dkim_selectors' must be a table of domain = [selectors]")
    if selectors and kind != Pool.DOMAIN:
        ctx.fail("'dkim_selectors' belong to domain pools")
    for domain, names in selectors.items():
        try:
            key = normalise_domain(domain)
        except ValueError:
            ctx.fail(f"dkim_selectors: {domain!r} is not a domain name")
        if key not in members:
            ctx.fail(f"dkim_selectors: {domain!r} is not a member of this pool")
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            ctx.fail(f"dkim_selectors: {domain!r} must map to a list of selector names")
        members[key] = names

    pool, created = Pool.objects.get_or_create(organization=org, name=entry["name"], defaults={"kind": kind, "tags": tags})
    if not created and pool.kind != kind:
        ctx.fail(f"pool {pool.name!r} already exists as a {pool.kind} pool")
    if pool.tags != tags:
        pool.tags = tags
        pool.save(update_fields=["tags"])
    existing = {m.value: m for m in pool.members.all()}
    removed = [value for value in existing if value not in members]
    pool.members.filter(value__in=removed).delete()
    for value, dkim in members.items():
        member = existing.get(value)
        if member is None:
            PoolMember.objects.create(pool=pool, value=value, dkim_selectors=dkim)
        elif member.dkim_selectors != dkim:
            member.dkim_selectors = dkim
            member.save(update_fields=["dkim_selectors"])
    added = [value for value in members if value not in existing]
    if created or added or removed:
        ctx.changes.append(f"pool {org.slug}/{pool.name}: {len(added)} added, {len(removed)} removed")


@dataclass(frozen=True)
class Section:
    name: str
    keys: frozenset
    apply: Callable


ORGANIZATION = Section("organization", frozenset({"slug", "name", "alert_emails", "dmarc_pass_threshold",
                                                  "tls_failure_threshold", "no_report_days", "blocklist_cron",
                                                  "dns_cron", "webhook_url"}), apply_organization)
MEMBER = Section("member", frozenset({"organization", "username", "email", "role"}), apply_member)
POOL = Section("pool", frozenset({"organization", "name", "kind", "tags", "members", "dkim_selectors"}), apply_pool)

SECTIONS = [  # applied in this order
    "monitor.inventory.ORGANIZATION",
    "monitor.inventory.MEMBER",
    "monitor.inventory.POOL",
    "monitor.blocklists.inventory.SECTION",  # [[blocklist]]
    "dmarc_reports.mailbox_inventory.SECTION",  # [[mailbox]]
]
TOP_LEVEL_KEYS = {"blocklists_exclusive"}
FINISHERS = [  # called with ctx after every section
    "monitor.blocklists.inventory.finish_blocklists_exclusive",  # blocklists_exclusive
]


def sections() -> list[Section]:
    return [import_string(path) for path in SECTIONS]


def load_inventory(path: str | Path) -> list[str]:
    """Apply the file; return a list of the changes made. Raises InventoryError, changing nothing."""
    path = str(path)
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise InventoryError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise InventoryError(f"{path}: not valid TOML: {exc}") from None
    ctx = Context(path=path)
    all_sections = sections()
    known = {s.name for s in all_sections} | TOP_LEVEL_KEYS
    for key in data:
        if key not in known:
            raise InventoryError(f"{path}: unknown key {key!r} (expected one of {', '.join(sorted(known))})")
    ctx.top = {key: data[key] for key in TOP_LEVEL_KEYS if key in data}
    with transaction.atomic():
        for section in all_sections:
            entries = data.get(section.name, [])
            if not isinstance(entries, list):
                raise InventoryError(f"{path}: {section.name!r} must be written as [[{section.name}]] entries")
            for number, entry in enumerate(entries, start=1):
                label = entry.get("slug") or entry.get("name") or entry.get("username") or entry.get("zone") or ""
                ctx.where = f"[[{section.name}]] #{number}" + (f" ({label})" if label else "")
                unknown = sorted(set(entry) - section.keys)
                if unknown:
                    ctx.fail(f"unknown key(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(sorted(section.keys))}")
                section.apply(entry, ctx)
                ctx.seen.setdefault(section.name, []).append(entry)
        ctx.where = "top level"
        for finish in FINISHERS:
            import_string(finish)(ctx)
    return ctx.changes
