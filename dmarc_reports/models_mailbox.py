"""IMAP mailboxes that receive reports (issue: hands-free ingestion).

A mailbox is polled by ``dmarc_reports.mailbox_fetch``; what happened last is recorded here
(``record_success`` / ``record_failure``) for the UI and the alerts (``failing``).
"""

import ipaddress
import os
import re
import socket
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.db.models import Q
from django.utils import timezone

from monitor.models import Organization

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Alerts and the UI call a mailbox failing after this many passes in a row could not connect or log in.
FAILING_AFTER = 3
# A pass holds its mailbox this long after its last message; a pass that died on another machine
# frees it when the lease runs out (one that died on this machine at once: its process is gone).
LEASE = timedelta(minutes=15)


def pass_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_is_gone(owner: str) -> bool:
    """True if ``owner`` (a ``pass_owner()``) was a process on this machine that no longer runs."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def is_loopback_host(host: str) -> bool:
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def validate_folder_name(name: str) -> None:
    if not name or not all(" " <= c <= "~" for c in name):
        raise ValidationError("Folder names are printable ASCII (for example INBOX, Processed, Reports/Rejected).")


class Mailbox(models.Model):
    TLS, STARTTLS, NONE = "tls", "starttls", "none"
    SECURITY = [(TLS, "TLS (IMAPS, port 993)"), (STARTTLS, "STARTTLS (port 143)"), (NONE, "None (loopback hosts only)")]

    organization = models.ForeignKey(Organization, models.CASCADE, related_name="mailboxes")
    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: 993 for TLS, 143 otherwise.")
    security = models.CharField(max_length=10, choices=SECURITY, default=TLS)
    username = models.CharField(max_length=255)
    password = models.CharField(max_length=500, blank=True)
    password_env = models.CharField(
        max_length=100, blank=True, help_text="Read the password from this environment variable instead."
    )
    folder = models.CharField(max_length=200, default="INBOX", validators=[validate_folder_name])
    processed_folder = models.CharField(max_length=200, default="Processed", validators=[validate_folder_name])
    rejected_folder = models.CharField(max_length=200, default="Rejected", validators=[validate_folder_name])
    enabled = models.BooleanField(default=True)

    last_attempt = models.DateTimeField(null=True, blank=True)
    last_success = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_counts = models.JSONField(default=dict, blank=True, help_text='The last pass: {"imported": 3, ...}')
    busy_until = models.DateTimeField(null=True, blank=True)
    busy_by = models.CharField(max_length=300, blank=True, help_text="host:pid of the pass holding the mailbox")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization", "host", "username", "folder"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "host", "username", "folder"], name="unique_mailbox")
        ]

    def __str__(self):
        return f"{self.username}@{self.host}/{self.folder}"

    def clean(self):
        errors = {}
        if self.security == self.NONE and self.host and not is_loopback_host(self.host):
            errors["security"] = "Without TLS the password would cross the network in clear: only for loopback hosts."
        if self.security not in dict(self.SECURITY):
            errors["security"] = f"{self.security!r} is not one of tls, starttls, none."
        if self.port is not None and not 0 < self.port < 65536:
            errors["port"] = "A port is between 1 and 65535."
        if self.password_env and not ENV_NAME.fullmatch(self.password_env):
            errors["password_env"] = "An environment variable name: letters, digits and _ (e.g. ACME_IMAP_PASSWORD)."
        elif self.password and self.password_env:
            errors["password_env"] = "Give the password or the name of its environment variable, not both."
        if not self.password and not self.password_env:
            errors["password"] = "A password (or the name of an environment variable holding it) is needed."
        for field in ("processed_folder", "rejected_folder"):
            if getattr(self, field) == self.folder:
                errors[field] = "Must differ from the folder polled, or messages would be read again and again."
        if errors:
            raise ValidationError(errors)

    # -- connecting -------------------------------------------------------------------------------

    @property
    def effective_port(self) -> int:
        return self.port or (993 if self.security == self.TLS else 143)

    def secret(self) -> str:
        """The password to log in with; ValueError naming the variable if it is not set."""
        if self.password_env:
            value = os.environ.get(self.password_env)
            if value is None:
                raise ValueError(f"the environment variable {self.password_env} (the password) is not set")
            return value
        return self.password

    def label(self, uid=None) -> str:
        """``imap://user@host/INBOX``, or ``...;UID=42`` for one message (the "file" of the import log)."""
        default = 993 if self.security == self.TLS else 143
        port = f":{self.port}" if self.port and self.port != default else ""
        text = f"imap://{self.username}@{self.host}{port}/{self.folder}"
        return text if uid is None else f"{text};UID={uid}"

    # -- status -----------------------------------------------------------------------------------

    @property
    def failing(self) -> bool:
        """True after FAILING_AFTER passes in a row failed to connect or log in (alert material)."""
        return self.consecutive_failures >= FAILING_AFTER

    def record_success(self, counts: dict) -> None:
        now = timezone.now()
        self.last_attempt = self.last_success = now
        self.last_error = ""
        self.consecutive_failures = 0
        self.last_counts = counts
        Mailbox.objects.filter(pk=self.pk).update(
            last_attempt=now, last_success=now, last_error="", consecutive_failures=0, last_counts=counts
        )

    def record_failure(self, error: str, counts: dict | None = None) -> None:
        """A pass that could not finish (connection, log-in, server error): counted for alerts."""
        now = timezone.now()
        self.last_attempt = now
        self.last_error = error[:2000]
        self.consecutive_failures += 1
        update = {"last_attempt": now, "last_error": self.last_error,
                  "consecutive_failures": models.F("consecutive_failures") + 1}
        if counts is not None:
            self.last_counts = update["last_counts"] = counts
        Mailbox.objects.filter(pk=self.pk).update(**update)
        self.refresh_from_db(fields=["consecutive_failures"])

    # -- one pass at a time -----------------------------------------------------------------------

    def claim(self) -> bool:
        """Take the mailbox for one pass; False while another live pass holds it.

        Only an optimisation: two passes at once would still store each report once (the second
        finds duplicates) and move each message once (a UID already moved is no longer there).
        """
        now = timezone.now()
        free = Q(busy_until__isnull=True) | Q(busy_until__lt=now)
        holder = Mailbox.objects.filter(pk=self.pk).values_list("busy_by", flat=True).first()
        if holder and owner_is_gone(holder):
            free |= Q(busy_by=holder)
        taken = Mailbox.objects.filter(pk=self.pk).filter(free)
        return taken.update(busy_until=now + LEASE, busy_by=pass_owner()) == 1

    def renew(self) -> None:
        """Keep the lease of a long pass alive (called once per message)."""
        Mailbox.objects.filter(pk=self.pk).update(busy_until=timezone.now() + LEASE)

    def release(self) -> None:
        Mailbox.objects.filter(pk=self.pk, busy_by=pass_owner()).update(busy_until=None, busy_by="")


@receiver([post_save, post_delete], sender=Mailbox, dispatch_uid="mailbox_schedule")
def _sync_schedule(sender, instance, **kwargs):
    from dmarc_reports.mailbox_fetch import sync_mailbox_schedule

    if Organization.objects.filter(pk=instance.organization_id).exists():  # not mid-way through deleting it
        sync_mailbox_schedule(instance.organization)
