"""The weekly digest: one e-mail per organisation to each member who asked for it (``Subscription.weekly_digest``).

What the week looked like: DMARC volumes and pass rates per domain (against the week before), blocklist
listings (still open, new, cleared), DNS findings of the latest DNS audit, TLS-RPT failures per policy
domain, and the alerts opened. Sent by the schedule (Mondays) and ``manage.py send_digest [--org SLUG]``; a
digest the mail server did not take (down, or a 4xx) is tried again later, the same week's (``retry_later``).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db.models import Sum
from django.utils import timezone

from monitor.alerts import emails
from monitor.alerts.deliver import describe, refused_for_good
from monitor.alerts.text import check_label
from monitor.models import Alert, AuditRun, Membership, Organization, Subscription

log = logging.getLogger(__name__)

DAYS = 7
# Waits before a digest that could not be sent (the mail server down, a 4xx) is tried again: 23 hours in all.
RETRY_AFTER = [timedelta(minutes=m) for m in (10, 30, 60, 180, 360, 720)]


def _rate(passed, messages):
    return round(100.0 * passed / messages, 1) if messages else None


def digest_context(org: Organization, now=None) -> dict:
    from dmarc_reports.models import DomainDailyRollup, TlsDailyRollup
    from monitor.models.blocklists import Listing
    from monitor.models.dns_checks import DnsCheckResult

    now = now or timezone.now()
    end = now.date()
    start = end - timedelta(days=DAYS - 1)
    before = start - timedelta(days=DAYS)

    def totals(first, last):
        return {
            row["domain"]: row
            for row in DomainDailyRollup.objects.filter(organization=org, day__gte=first, day__lte=last)
            .values("domain").annotate(messages=Sum("messages"), passed=Sum("dmarc_pass"))
        }

    this_week, last_week = totals(start, end), totals(before, start - timedelta(days=1))
    domains = []
    for domain, row in sorted(this_week.items(), key=lambda item: -item[1]["messages"]):
        previous = last_week.get(domain)
        domains.append({
            "domain": domain, "messages": row["messages"], "rate": _rate(row["passed"], row["messages"]),
            "previous_rate": _rate(previous["passed"], previous["messages"]) if previous else None,
            "below": _rate(row["passed"], row["messages"]) is not None
            and _rate(row["passed"], row["messages"]) < org.dmarc_pass_threshold,
        })

    since = now - timedelta(days=DAYS)
    listings = Listing.objects.filter(organization=org).select_related("blocklist")
    open_listings = list(listings.filter(cleared__isnull=True).order_by("target"))
    new_listings = [listing for listing in open_listings if listing.first_seen >= since]
    cleared = list(listings.filter(cleared__gte=since).order_by("-cleared"))

    latest_dns = AuditRun.objects.filter(organization=org, kind=AuditRun.DNS, status=AuditRun.SUCCEEDED).first()
    findings = []
    if latest_dns is not None:
        findings = [
            {"status": r.get_status_display(), "target": r.target, "check": check_label(r.check_name),
             "message": r.message}
            for r in DnsCheckResult.objects.filter(run=latest_dns, status__in=[DnsCheckResult.WARN, DnsCheckResult.FAIL])
            .order_by("status", "target", "check_name")  # "fail" before "warn"
        ]

    tls = []
    for row in (TlsDailyRollup.objects.filter(organization=org, day__gte=start, day__lte=end).exclude(domain="")
                .values("domain").annotate(successful=Sum("successful"), failed=Sum("failed")).order_by("domain")):
        sessions = row["successful"] + row["failed"]
        share = round(100.0 * row["failed"] / sessions, 1) if sessions else 0.0
        tls.append({"domain": row["domain"], "sessions": sessions, "failed": row["failed"], "share": share,
                    "above": share > org.tls_failure_threshold})

    alerts = list(Alert.objects.filter(organization=org, opened__gte=since).order_by("-opened"))
    still_open = Alert.objects.filter(organization=org, status=Alert.OPEN).exclude(kind__in=Alert.EVENT_KINDS).count()
    return {
        "org": org, "start": start, "end": end, "domains": domains, "open_listings": open_listings,
        "new_listings": new_listings, "cleared_listings": cleared, "dns_run": latest_dns, "dns_findings": findings,
        "tls": tls, "alerts": alerts, "still_open": still_open,
        "subject": f"[Weekly] {org.name}: {start:%d %b} – {end:%d %b %Y}",
    }


def recipients(org: Organization) -> list[str]:
    members = set(Membership.objects.filter(organization=org).values_list("user_id", flat=True))
    found: dict[str, None] = {}
    for subscription in Subscription.objects.filter(organization=org, weekly_digest=True).select_related("user"):
        user = subscription.user
        if user.is_active and user.email and (user.pk in members or user.is_superuser):
            found[user.email.strip().lower()] = None
    return list(found)


def send_digests(org_slug: str | None = None, now=None, only: list[str] | None = None, attempt: int = 0) -> str:
    """Send this week's digest of every organisation (or one); returns a summary line.

    An address that cannot be reached now is logged and counted, and its digest tried again later
    (``retry_later``); the others still get theirs. ``now``: the end of the digest's week (a datetime,
    or ISO text from a retry's schedule). ``only``: these addresses (still subscribed) of the
    organisation, on a retry; ``attempt``: how many tries came before.
    """
    now = datetime.fromisoformat(now) if isinstance(now, str) else now or timezone.now()
    orgs = Organization.objects.all()
    if org_slug:
        orgs = orgs.filter(slug=org_slug)
    sent, failed, later = 0, [], []
    for org in orgs:
        to = [address for address in recipients(org) if only is None or address in only]
        if not to:
            continue
        ctx = digest_context(org, now)
        again = []
        for address in to:
            try:
                emails.send("digest", address, ctx, headers={"Auto-Submitted": "auto-generated"})
                sent += 1
            except Exception as exc:
                log.warning("Weekly digest of %s to %s failed: %s", org.slug, address, describe(exc))
                failed.append(f"{address} ({org.slug}): {describe(exc)}")
                if not refused_for_good(exc):
                    again.append(address)
        if again:
            later.append(retry_later(org, now, again, attempt + 1))
    summary = f"{sent} digest(s) sent"
    if failed:
        summary += f", {len(failed)} failed: " + "; ".join(failed)
    if later:
        summary += ". " + "; ".join(later)
    return summary


def retry_later(org: Organization, now, addresses: list[str], attempt: int) -> str:
    """Schedule the ``attempt``-th try of these addresses' digest (the same week's) after its wait in
    ``RETRY_AFTER`` (a one-off schedule, deleted once run); what the summary says of it."""
    if attempt > len(RETRY_AFTER):
        return f"{org.slug}: given up after {attempt} tries"
    from django_q.models import Schedule
    from django_q.tasks import schedule

    when = timezone.now() + RETRY_AFTER[attempt - 1]
    schedule("monitor.alerts.digest.send_digests", org_slug=org.slug, now=now.isoformat(), only=addresses,
             attempt=attempt, schedule_type=Schedule.ONCE, next_run=when)
    return f"{org.slug}: tried again at {when:%Y-%m-%d %H:%M} UTC for {len(addresses)} address(es)"
