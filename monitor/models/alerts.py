"""Alerts: a fact about a change, opened once and later resolved, and the notifications that carry it.

An ``Alert`` is a state: "192.0.2.99 is listed on Spamhaus ZEN" is open from the audit that found the
listing until the audit that found it gone. At most one alert is open per (organisation, kind, key),
enforced by the database, so a repeated audit or a second worker cannot raise the same alert twice.
A one-off fact (a DNS record changed) is an *event*: stored resolved from the start, unique per key.

Opening and resolving each queue one ``Notification`` per recipient and channel. Notifications are
delivered by ``monitor.alerts.deliver`` one at a time, with attempts, back-off and the last error kept.
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from monitor.models.orgs import Organization


class Alert(models.Model):
    LISTED = "listed"
    LIST_HEALTH = "list_health"
    DNS_CHECK = "dns_check"
    DNS_CHANGE = "dns_change"
    DMARC_PASS_RATE = "dmarc_pass_rate"
    DMARC_SOURCE = "dmarc_source"
    TLS_FAILURES = "tls_failures"
    NO_REPORTS = "no_reports"
    AUDIT_FAILED = "audit_failed"
    MAILBOX_FAILING = "mailbox_failing"
    KINDS = [
        (LISTED, "Blocklist listing"),
        (LIST_HEALTH, "Blocklist health"),
        (DNS_CHECK, "DNS check"),
        (DNS_CHANGE, "DNS record change"),
        (DMARC_PASS_RATE, "DMARC pass rate"),
        (DMARC_SOURCE, "New source failing DMARC"),
        (TLS_FAILURES, "TLS-RPT failures"),
        (NO_REPORTS, "No reports"),
        (AUDIT_FAILED, "Audit failed"),
        (MAILBOX_FAILING, "Mailbox failing"),
    ]
    # Kinds that are one-off facts rather than states.
    EVENT_KINDS = frozenset({DNS_CHANGE})

    OPEN, RESOLVED = "open", "resolved"
    STATUSES = [(OPEN, "Open"), (RESOLVED, "Resolved")]

    organization = models.ForeignKey(Organization, models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=32, choices=KINDS)
    key = models.CharField(max_length=500, help_text='What the alert is about, e.g. "192.0.2.99|zen.spamhaus.org".')
    status = models.CharField(max_length=10, choices=STATUSES, default=OPEN)
    title = models.CharField(max_length=300, help_text="The fact, as the e-mail subject states it.")
    resolved_title = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True, help_text="facts, links, records... (see monitor.alerts.core)")
    resolved_details = models.JSONField(default=dict, blank=True)
    evidence_path = models.CharField(max_length=500, blank=True, help_text="Dashboard page showing the evidence.")
    opened = models.DateTimeField(default=timezone.now)
    resolved = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened"]
        indexes = [models.Index(fields=["organization", "status", "-opened"])]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "kind", "key"], condition=models.Q(status="open"), name="one_open_alert_per_key"
            ),
            models.UniqueConstraint(
                fields=["organization", "kind", "key"], condition=models.Q(kind="dns_change"), name="one_event_per_key"
            ),
        ]

    def __str__(self):
        return self.title

    @property
    def is_event(self) -> bool:
        return self.kind in self.EVENT_KINDS

    @property
    def duration(self) -> timedelta | None:
        return (self.resolved - self.opened) if self.resolved and not self.is_event else None

    def get_absolute_url(self) -> str:
        return reverse("alert", args=[self.pk])

    def url(self) -> str:
        """The alert's page, absolute (for e-mails and webhooks)."""
        return settings.SITE_URL + self.get_absolute_url()

    def evidence_url(self) -> str:
        return settings.SITE_URL + (self.evidence_path or self.get_absolute_url())


class Notification(models.Model):
    OPENED, RESOLVED = "opened", "resolved"
    EVENTS = [(OPENED, "Alert"), (RESOLVED, "All clear")]
    EMAIL, WEBHOOK = "email", "webhook"
    CHANNELS = [(EMAIL, "E-mail"), (WEBHOOK, "Webhook")]
    PENDING, SENT, FAILED = "pending", "sent", "failed"
    STATUSES = [(PENDING, "Pending"), (SENT, "Sent"), (FAILED, "Failed")]

    alert = models.ForeignKey(Alert, models.CASCADE, related_name="notifications")
    event = models.CharField(max_length=10, choices=EVENTS)
    channel = models.CharField(max_length=10, choices=CHANNELS)
    target = models.CharField(max_length=500, help_text="An e-mail address or a webhook URL.")
    status = models.CharField(max_length=10, choices=STATUSES, default=PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt = models.DateTimeField(default=timezone.now, help_text="Pending: not tried again before this.")
    last_error = models.TextField(blank=True)
    created = models.DateTimeField(default=timezone.now)
    sent = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created", "pk"]
        indexes = [models.Index(fields=["status", "next_attempt"])]
        constraints = [
            models.UniqueConstraint(fields=["alert", "event", "channel", "target"], name="one_notification_per_target")
        ]

    def __str__(self):
        return f"{self.get_event_display()} {self.alert_id} to {self.target} ({self.status})"


def default_subscription_kinds() -> list[str]:
    return [kind for kind, _ in Alert.KINDS]


class Subscription(models.Model):
    """A member's choice of alert kinds (by e-mail to their account's address) and the weekly digest."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="alert_subscriptions")
    organization = models.ForeignKey(Organization, models.CASCADE, related_name="subscriptions")
    kinds = models.JSONField(default=default_subscription_kinds, blank=True)
    weekly_digest = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "organization"], name="one_subscription_per_org")]

    def __str__(self):
        return f"{self.user} in {self.organization}: {', '.join(self.kinds) or 'no alerts'}"
