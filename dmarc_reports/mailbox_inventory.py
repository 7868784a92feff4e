"""The ``[[mailbox]]`` section of the inventory file (``manage.py load_inventory``).

    [[mailbox]]
    organization = "acme"
    host = "imap.example.com"
    port = 993                      # optional: 993 for tls, 143 otherwise
    security = "tls"                # tls, starttls, or none (loopback hosts only)
    username = "dmarc@acme.example"
    password_env = "ACME_IMAP_PASSWORD"   # or: password = "..." (keep secrets out of version control)
    folder = "INBOX"                # optional, these three are the defaults
    processed_folder = "Processed"
    rejected_folder = "Rejected"
    enabled = true                  # optional

A mailbox is known by (organization, host, username, folder): loading the file again updates it.
With ``password_env`` only the variable's name is stored; the password is read when a pass logs in.
"""

import os

from django.core.exceptions import ValidationError

from dmarc_reports.models_mailbox import Mailbox
from monitor import inventory

KEYS = frozenset({"organization", "host", "port", "security", "username", "password", "password_env", "folder",
                  "processed_folder", "rejected_folder", "enabled"})
SETTINGS = ("port", "security", "password", "password_env", "processed_folder", "rejected_folder", "enabled")


def apply_mailbox(entry, ctx):
    ctx.require(entry, "organization", "host", "username")
    org = ctx.org(entry["organization"])
    if "password" in entry and "password_env" in entry:
        ctx.fail("give 'password' or 'password_env', not both")
    if "password" not in entry and "password_env" not in entry:
        ctx.fail("'password_env' (the name of an environment variable holding the password) or 'password' is required")
    for key in ("host", "username", "password", "password_env", "security", "folder", "processed_folder",
                "rejected_folder"):
        if key in entry and not isinstance(entry[key], str):
            ctx.fail(f"{key!r} must be a string")
    if "port" in entry and (not isinstance(entry["port"], int) or isinstance(entry["port"], bool)):
        ctx.fail("'port' must be a number")
    if "enabled" in entry and not isinstance(entry["enabled"], bool):
        ctx.fail("'enabled' must be true or false")

    wanted = {
        "port": entry.get("port"),
        "security": entry.get("security", Mailbox.TLS),
        "password": entry.get("password", ""),
        "password_env": entry.get("password_env", ""),
        "processed_folder": entry.get("processed_folder", "Processed"),
        "rejected_folder": entry.get("rejected_folder", "Rejected"),
        "enabled": entry.get("enabled", True),
    }
    folder = entry.get("folder", "INBOX")
    identity = {"organization": org, "host": entry["host"], "username": entry["username"], "folder": folder}
    mailbox = Mailbox.objects.filter(**identity).first()
    created = mailbox is None
    if created:
        mailbox = Mailbox(**identity)
    changed = [key for key in SETTINGS if getattr(mailbox, key) != wanted[key]]
    for key in changed:
        setattr(mailbox, key, wanted[key])
    try:
        mailbox.full_clean(validate_unique=False)
    except ValidationError as exc:
        ctx.fail("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items()))
    if created or changed:
        mailbox.save()
        shown = [key if key != "password" else "password (not shown)" for key in changed]
        what = "created" if created else f"updated {', '.join(shown)}"
        ctx.changes.append(f"mailbox {org.slug}/{mailbox}: {what}")
    if wanted["password_env"] and wanted["password_env"] not in os.environ:
        ctx.changes.append(f"mailbox {org.slug}/{mailbox}: note: ${wanted['password_env']} is not set here; "
                           "the worker that polls needs it")


SECTION = inventory.Section("mailbox", KEYS, apply_mailbox)  # named in monitor.inventory.SECTIONS
