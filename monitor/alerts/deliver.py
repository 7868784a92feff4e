"""Delivering notifications: a one-item work loop, safe with any number of workers.

``deliver_one()`` claims the oldest due pending notification (``select_for_update(skip_locked=True)``
plus a compare-and-set on its attempt count, so two workers never claim the same one, on SQLite too),
commits the claim, sends it, then records the outcome:

- sent: status "sent";
- a temporary failure (mail server down, 4xx, webhook 5xx or unreachable): tried again after a back-off
  (1, 2, 5, 10, 30 minutes, then hourly up to six-hourly), for up to ``MAX_ATTEMPTS`` attempts;
- a permanent refusal (SMTP 5xx for the recipient or message, webhook 4xx or redirect, a webhook URL whose
  host is not on the public internet: ``outbound``): status "failed", kept and shown.

The claim pushes ``next_attempt`` a lease ahead: if a worker dies mid-send, the notification is tried
again when the lease runs out.
"""

from __future__ import annotations

import json
import logging
import smtplib
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from monitor.alerts import emails, outbound
from monitor.models import Alert, Notification

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
BACKOFF = [timedelta(minutes=m) for m in (1, 2, 5, 10, 30, 60, 120, 240, 360)]
MAX_ATTEMPTS = 30  # about a week of six-hourly retries
WEBHOOK_TIMEOUT = 10
MAX_PER_CALL = 1000


def unreachable_server(exc: Exception) -> bool:
    """The mail server could not be reached at all (not a refusal of one message or recipient)."""
    if isinstance(exc, (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError)):
        return True
    return isinstance(exc, OSError) and not isinstance(exc, smtplib.SMTPException)


class PermanentFailure(Exception):
    """The receiving side refused for good; trying again would not help."""


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt."""
    return BACKOFF[min(attempts, len(BACKOFF)) - 1]


def deliver_pending(force: bool = False, limit: int = MAX_PER_CALL) -> int:
    """Deliver every due notification once; ``force`` makes every pending one due now. Returns how many were tried.

    Once the mail server cannot be reached, the other e-mails are left due for the next call (a minute
    later) instead of each waiting out a connection timeout; webhooks still go.
    """
    if force:
        Notification.objects.filter(status=Notification.PENDING).update(next_attempt=timezone.now())
    tried = 0
    channels = None
    while tried < limit:
        outcome = deliver_one(channels)
        if outcome is None:
            break
        if outcome is False:
            continue
        tried += 1
        if outcome == UNREACHABLE:
            channels = [Notification.WEBHOOK]
    return tried


SENT, RETRY, FAILED, UNREACHABLE = "sent", "retry", "failed", "unreachable"


def deliver_one(channels=None) -> str | bool | None:
    """Claim and deliver one due notification (of ``channels``, default all).

    None: nothing due; False: lost a race (call again); else the outcome (sent, retry, failed, unreachable).
    """
    notification = claim_one(channels)
    if notification is None or notification is False:
        return notification
    return attempt(notification)


def claim_one(channels=None):
    now = timezone.now()
    with transaction.atomic():
        due = Notification.objects.select_for_update(skip_locked=True).filter(
            status=Notification.PENDING, next_attempt__lte=now
        )
        if channels is not None:
            due = due.filter(channel__in=channels)
        candidate = due.order_by("next_attempt", "pk").first()
        if candidate is None:
            return None
        if not take(candidate, now):
            return False  # another worker claimed it between our read and our update
    return candidate


def take(candidate: Notification, now) -> bool:
    """Compare-and-set: count the attempt and lease the notification, unless someone else already did."""
    claimed = Notification.objects.filter(
        pk=candidate.pk, status=Notification.PENDING, attempts=candidate.attempts
    ).update(attempts=F("attempts") + 1, next_attempt=now + LEASE)
    if claimed == 1:
        candidate.attempts += 1
        candidate.next_attempt = now + LEASE
    return claimed == 1


def attempt(notification: Notification) -> str:
    now = timezone.now()
    try:
        send(notification)
    except PermanentFailure as exc:
        _finish(notification, status=Notification.FAILED, last_error=str(exc))
        return FAILED
    except Exception as exc:
        error = describe(exc)
        if notification.attempts >= MAX_ATTEMPTS:
            _finish(notification, status=Notification.FAILED,
                    last_error=f"Gave up after {notification.attempts} attempts: {error}")
            return FAILED
        log.info("Notification %s: attempt %s failed: %s", notification.pk, notification.attempts, error)
        _finish(notification, next_attempt=now + backoff(notification.attempts), last_error=error)
        unreachable = notification.channel == Notification.EMAIL and unreachable_server(exc)
        return UNREACHABLE if unreachable else RETRY
    _finish(notification, status=Notification.SENT, sent=timezone.now(), last_error="")
    return SENT


def _finish(notification: Notification, **fields) -> None:
    for name, value in fields.items():
        setattr(notification, name, value)
    Notification.objects.filter(pk=notification.pk).update(**fields)


def describe(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        message = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        return f"SMTP {exc.smtp_code}: {message}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{rcpt}: SMTP {code} {_text(msg)}" for rcpt, (code, msg) in exc.recipients.items())
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def send(notification: Notification) -> None:
    if notification.channel == Notification.EMAIL:
        send_email(notification)
    elif notification.channel == Notification.WEBHOOK:
        send_webhook(notification)
    else:
        raise PermanentFailure(f"Unknown channel {notification.channel!r}")


# E-mail ---------------------------------------------------------------------------------------------


def email_context(alert: Alert, event: str) -> dict:
    resolved = event == Notification.RESOLVED
    return {
        "alert": alert,
        "org": alert.organization,
        "event": event,
        "resolved": resolved,
        "subject": alert.resolved_title if resolved else alert.title,
        "details": alert.details,
        "resolved_details": alert.resolved_details if resolved else {},
        "url": alert.url(),
        "evidence_url": alert.evidence_url(),
    }


def send_email(notification: Notification) -> None:
    alert = notification.alert
    headers = {"X-Alert-Kind": alert.kind, "X-Alert-Id": str(alert.pk), "Auto-Submitted": "auto-generated"}
    try:
        emails.send("alert", notification.target, email_context(alert, notification.event), headers=headers)
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
        if refused_for_good(exc):
            raise PermanentFailure(describe(exc)) from exc
        raise


def refused_for_good(exc: Exception) -> bool:
    """An SMTP refusal that sending again will not change: 5xx for every recipient, the sender or the message."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, (smtplib.SMTPSenderRefused, smtplib.SMTPDataError)):
        return exc.smtp_code >= 500
    return False


# Webhook --------------------------------------------------------------------------------------------


def webhook_payload(alert: Alert, event: str) -> dict:
    """JSON for a webhook: Slack-compatible ("text", "attachments") plus the alert's structured fields."""
    resolved = event == Notification.RESOLVED
    title = alert.resolved_title if resolved else alert.title
    facts = list((alert.resolved_details or {}).get("facts", [])) if resolved else []
    facts += list((alert.details or {}).get("facts", []))
    return {
        "text": f"{title} <{alert.url()}|details>",
        "event": event,
        "kind": alert.kind,
        "status": alert.status,
        "organization": alert.organization.slug,
        "key": alert.key,
        "title": title,
        "url": alert.url(),
        "evidence_url": alert.evidence_url(),
        "opened": alert.opened.isoformat(),
        "resolved": alert.resolved.isoformat() if alert.resolved else None,
        "facts": {label: value for label, value in facts},
        "reason": (alert.details or {}).get("reason", ""),
        "links": {label: url for label, url in (alert.details or {}).get("links", [])},
        "data": (alert.details or {}).get("data", {}),
        "attachments": [
            {
                "fallback": title,
                "color": "good" if resolved else "danger",
                "title": title,
                "title_link": alert.url(),
                "fields": [{"title": label, "value": str(value), "short": len(str(value)) < 40} for label, value in facts],
            }
        ],
    }


def send_webhook(notification: Notification) -> None:
    """POST the alert (``outbound``: public addresses only, no redirects). A 4xx answer (but 408 and 429),
    a redirect or a refused URL fail for good; the rest is tried again."""
    body = json.dumps(webhook_payload(notification.alert, notification.event)).encode()
    try:
        status, reason = outbound.post_json(notification.target, body, timeout=WEBHOOK_TIMEOUT)
    except outbound.Refused as exc:
        raise PermanentFailure(str(exc)) from exc
    if 300 <= status < 400:
        raise PermanentFailure(f"HTTP {status} {reason} (redirects are not followed: set the final URL)")
    if 400 <= status < 500 and status not in (408, 429):
        raise PermanentFailure(f"HTTP {status} {reason}")
    if status >= 400:
        raise RuntimeError(f"HTTP {status} {reason}")
