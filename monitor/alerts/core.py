"""Opening and resolving alerts, and queueing their notifications.

Evaluators (``monitor.alerts.evaluate``) decide *that* something changed; these functions make the change
happen exactly once. Each call is safe to repeat and safe to race: the database keeps one open alert per
(organisation, kind, key), and one notification per (alert, event, channel, target).

An alert's ``details`` is a plain dict the e-mails, the webhook and the alert page all render:

    {"facts": [["Address", "192.0.2.99"], ["List", "Spamhaus ZEN"], ...],   # label/value rows
     "reason": "the list's TXT record",                                      # optional
     "links": [["Delisting form", "https://..."]],                           # optional
     "old_records": [...], "new_records": [...],                             # optional (DNS)
     "data": {...}}                                                          # machine-readable, for the webhook
"""

from __future__ import annotations

import contextlib
import logging
import threading

from django.db import IntegrityError, transaction
from django.utils import timezone

from monitor.models import Alert, Membership, Notification, Organization, Subscription

log = logging.getLogger(__name__)


def open_alert(org: Organization, kind: str, key: str, *, title: str, details: dict | None = None,
               evidence_path: str = "", now=None) -> Alert | None:
    """Open an alert unless one is already open for (org, kind, key). Returns the new alert, else None."""
    if Alert.objects.filter(organization=org, kind=kind, key=key, status=Alert.OPEN).exists():
        return None
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                organization=org, kind=kind, key=key[:500], title=title[:300], details=details or {},
                evidence_path=evidence_path, opened=now or timezone.now(),
            )
            queue_notifications(alert, Notification.OPENED)
    except IntegrityError:
        return None  # another worker opened it first
    _request_delivery()
    return alert


def resolve_alert(org: Organization, kind: str, key: str, *, title: str = "", details: dict | None = None,
                  now=None) -> Alert | None:
    """Resolve the open alert for (org, kind, key), if any. Returns it (resolved), else None.

    ``title`` defaults to "[Resolved] <the alert's title>".
    """
    alert = Alert.objects.filter(organization=org, kind=kind, key=key, status=Alert.OPEN).first()
    if alert is None:
        return None
    now = now or timezone.now()
    with transaction.atomic():
        alert.status, alert.resolved = Alert.RESOLVED, now
        alert.resolved_title = (title or f"[Resolved] {alert.title}")[:300]
        alert.resolved_details = details or {}
        # Compare-and-set: only one caller turns this alert from open to resolved.
        changed = Alert.objects.filter(pk=alert.pk, status=Alert.OPEN).update(
            status=alert.status, resolved=now, resolved_title=alert.resolved_title,
            resolved_details=alert.resolved_details,
        )
        if changed != 1:
            return None
        queue_notifications(alert, Notification.RESOLVED)
    _request_delivery()
    return alert


def record_event(org: Organization, kind: str, key: str, *, title: str, details: dict | None = None,
                 evidence_path: str = "", now=None) -> Alert | None:
    """Record a one-off fact (a DNS record changed) once per key; returns it, or None if already recorded."""
    now = now or timezone.now()
    if Alert.objects.filter(organization=org, kind=kind, key=key).exists():
        return None
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                organization=org, kind=kind, key=key[:500], title=title[:300], details=details or {},
                evidence_path=evidence_path, opened=now, status=Alert.RESOLVED, resolved=now,
            )
            queue_notifications(alert, Notification.OPENED)
    except IntegrityError:
        return None
    _request_delivery()
    return alert


def open_alerts(org: Organization, kind: str):
    return Alert.objects.filter(organization=org, kind=kind, status=Alert.OPEN)


def email_recipients(org: Organization, kind: str) -> list[str]:
    """The organisation's alert addresses, then every member subscribed to this kind; lower-cased, unique."""
    found: dict[str, None] = {}
    for address in org.alert_emails or []:
        if address and address.strip():
            found[address.strip().lower()] = None
    subscriptions = Subscription.objects.filter(organization=org).select_related("user")
    members = set(Membership.objects.filter(organization=org).values_list("user_id", flat=True))
    for subscription in subscriptions:
        user = subscription.user
        if kind in subscription.kinds and user.is_active and user.email and (
            user.pk in members or user.is_superuser
        ):
            found[user.email.strip().lower()] = None
    return list(found)


def queue_notifications(alert: Alert, event: str) -> list[Notification]:
    """One pending notification per recipient and channel (call inside the alert's transaction)."""
    if getattr(_local, "quiet", False):
        return []
    org = alert.organization
    targets = [(Notification.EMAIL, address) for address in email_recipients(org, alert.kind)]
    if org.webhook_url:
        targets.append((Notification.WEBHOOK, org.webhook_url))
    now = timezone.now()
    made = [
        Notification(alert=alert, event=event, channel=channel, target=target, created=now, next_attempt=now)
        for channel, target in targets
    ]
    Notification.objects.bulk_create(made, ignore_conflicts=True)
    return made


_local = threading.local()


@contextlib.contextmanager
def batch():
    """Within this block, alerts raised ask the worker for one delivery at the end, not one each."""
    depth = getattr(_local, "depth", 0)
    _local.depth = depth + 1
    try:
        yield
    finally:
        _local.depth = depth
        if depth == 0 and getattr(_local, "wanted", False):
            _local.wanted = False
            transaction.on_commit(_enqueue_delivery)


@contextlib.contextmanager
def quiet():
    """Alerts raised within this block notify nobody (demo history: facts of the past, not news)."""
    before = getattr(_local, "quiet", False)
    _local.quiet = True
    try:
        yield
    finally:
        _local.quiet = before


def _request_delivery() -> None:
    """Ask the worker to deliver now (after commit); the every-minute schedule is the safety net."""
    if getattr(_local, "quiet", False):
        return
    if getattr(_local, "depth", 0):
        _local.wanted = True
    else:
        transaction.on_commit(_enqueue_delivery)


def _enqueue_delivery() -> None:
    try:
        from django_q.tasks import async_task

        async_task("monitor.alerts.deliver.deliver_pending", task_name="deliver alerts", group="alerts")
    except Exception:  # broker down: the schedule delivers within a minute
        log.warning("Could not queue alert delivery; the schedule will deliver it", exc_info=True)
