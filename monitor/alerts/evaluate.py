"""Evaluators: the one call each producer makes when it finishes, turning its results into alerts.

    after_blocklist_audit(run)   # end of a blocklist audit run (succeeded or failed)
    after_dns_audit(run)         # end of a DNS audit run (succeeded or failed)
    after_import(org, reports)   # after reports were imported for an organisation
    after_mailbox_pass(mailbox)  # after each pass over a mailbox (success or failure)
    evaluate_reports(org)        # periodic: pass rates, new failing sources, TLS failures, silence

Every evaluator compares the current state with the open alerts and opens/resolves the difference, so
calling one twice changes nothing, and a call missed (a worker died) is caught up by the next one.
Evaluators never raise into their caller: an audit must not fail because an alert could not be made.
"""

from __future__ import annotations

import functools
import logging
from urllib.parse import urlencode

from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from monitor.alerts import core
from monitor.alerts.text import check_label, duration_text, short_finding, when
from monitor.models import Alert, AuditRun

log = logging.getLogger(__name__)


def never_raise(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            with core.batch():
                return func(*args, **kwargs)
        except Exception:
            log.exception("Alert evaluation %s failed", func.__name__)
            return None

    return wrapper


def page(name: str, *args, **params) -> str:
    """The path of a dashboard page with its query string (empty when that page does not exist)."""
    try:
        return reverse(name, args=args) + (f"?{urlencode(params)}" if params else "")
    except NoReverseMatch:
        return ""


# Audits ---------------------------------------------------------------------------------------------


@never_raise
def after_blocklist_audit(run: AuditRun) -> None:
    run.refresh_from_db()
    audit_outcome(run)
    listings(run.organization)
    list_health(run)


@never_raise
def after_dns_audit(run: AuditRun) -> None:
    run.refresh_from_db()
    audit_outcome(run)
    dns_checks(run)


def audit_outcome(run: AuditRun, stalled: bool = False) -> None:
    """An audit run failing (or stalling: its worker died) opens an alert per (organisation, kind of audit);
    the next success resolves it. A run still going changes nothing."""
    org, key = run.organization, run.kind
    if run.status == AuditRun.FAILED or stalled:
        what = "stopped mid-run (its worker died)" if stalled and run.status == AuditRun.RUNNING else "failed"
        error = run.error or ("No heartbeat since " + when(run.heartbeat) if stalled else "(no error recorded)")
        core.open_alert(
            org, Alert.AUDIT_FAILED, key,
            title=f"[Audit failed] {run.get_kind_display()} of {org.name}",
            details={
                "facts": [["Audit", run.get_kind_display()], ["Started", when(run.started)], ["Outcome", what],
                          ["Error", error], ["Counts", _counts(run.counts)]],
                "data": {"run": run.pk, "kind": run.kind, "error": error, "counts": run.counts},
            },
            evidence_path=page("dash_blocklists" if run.kind == AuditRun.BLOCKLIST else "dash_dns", org=org.slug),
            now=run.finished,
        )
    elif run.status == AuditRun.SUCCEEDED:
        core.resolve_alert(
            org, Alert.AUDIT_FAILED, key,
            title=f"[Resolved] {run.get_kind_display()} of {org.name} succeeded again",
            details={"facts": [["Succeeded", when(run.finished or run.started)], ["Counts", _counts(run.counts)]]},
            now=run.finished,
        )


def audits(org, now=None) -> None:
    """Periodic catch-up: the latest run of each kind decides (a run whose worker died, or whose end
    was never evaluated, is noticed here)."""
    from monitor.models.audits import STALE_AFTER

    now = now or timezone.now()
    for kind, _ in AuditRun.KINDS:
        latest = AuditRun.objects.filter(organization=org, kind=kind).order_by("-started").first()
        if latest is None:
            continue
        stalled = latest.status == AuditRun.RUNNING and latest.heartbeat < now - STALE_AFTER
        audit_outcome(latest, stalled=stalled)


def _counts(counts: dict) -> str:
    return ", ".join(f"{name} {value}" for name, value in sorted((counts or {}).items())) or "-"


# Blocklists -----------------------------------------------------------------------------------------


def listing_key(target: str, zone: str) -> str:
    return f"{target}|{zone}"


def listings(org) -> None:
    """One open alert per open listing interval; an interval cleared resolves its alert.

    The blocklist audit keeps the intervals: an "error" result neither opens nor clears one, so it
    neither opens nor resolves an alert here.
    """
    from monitor.models.blocklists import Listing

    current = {
        listing_key(listing.target, listing.blocklist.zone): listing
        for listing in Listing.objects.filter(organization=org, cleared__isnull=True).select_related("blocklist")
    }
    alerted = set(core.open_alerts(org, Alert.LISTED).values_list("key", flat=True))
    for key in current.keys() - alerted:
        open_listing_alert(org, current[key])
    for key in alerted - current.keys():
        resolve_listing_alert(org, key)


def open_listing_alert(org, listing) -> None:
    blocklist, target = listing.blocklist, listing.target
    meanings = blocklist.meanings(listing.codes) if listing.codes else []
    codes = "; ".join(f"{code}: {meaning}" if not meaning.startswith(code) else meaning
                      for code, meaning in zip(listing.codes, meanings)) or "-"
    delist = blocklist.delist_link(target)
    facts = [
        ["Domain" if blocklist.kind == blocklist.DOMAIN else "Address", target],
        ["List", f"{blocklist.name} ({blocklist.zone})"],
        ["Severity", blocklist.get_severity_display()],
        ["Codes", codes],
        ["First seen", when(listing.first_seen)],
    ]
    pools = pools_holding(org, target)
    if pools:
        facts.insert(1, ["Pool", ", ".join(pools)])
    core.open_alert(
        org, Alert.LISTED, listing_key(target, blocklist.zone),
        title=f"[Listed] {target} on {blocklist.name}",
        details={
            "facts": facts,
            "reason": listing.reason,
            "links": [["Delisting / lookup at " + blocklist.name, delist]] if delist else [],
            "data": {"target": target, "zone": blocklist.zone, "list": blocklist.name, "codes": listing.codes,
                     "meanings": meanings, "reason": listing.reason, "delist_url": delist,
                     "severity": blocklist.severity, "first_seen": listing.first_seen.isoformat()},
        },
        evidence_path=page("dash_blocklists", org=org.slug, target=target),
        now=listing.first_seen,
    )


def pools_holding(org, target: str) -> list[str]:
    """The names of the organisation's pools with this address (or a range holding it) or domain."""
    import ipaddress

    from monitor.models import PoolMember

    try:
        address = ipaddress.ip_address(target)
    except ValueError:
        address = None
    names = []
    for member in PoolMember.objects.filter(pool__organization=org).select_related("pool"):
        if member.value == target:
            names.append(member.pool.name)
        elif address is not None and "/" in member.value:
            try:
                if address in ipaddress.ip_network(member.value, strict=False):
                    names.append(member.pool.name)
            except ValueError:
                continue
    return sorted(set(names))


def resolve_listing_alert(org, key: str, cleared=None) -> None:
    """Resolve with the interval that ended (``cleared``: that ``Listing``; default the latest cleared)."""
    from monitor.models.blocklists import Blocklist, Listing

    target, zone = key.rsplit("|", 1)
    if cleared is None:
        cleared = (
            Listing.objects.filter(organization=org, target=target, blocklist__zone=zone, cleared__isnull=False)
            .select_related("blocklist").order_by("-cleared").first()
        )
    alert = core.open_alerts(org, Alert.LISTED).filter(key=key).first()
    name = alert.details.get("data", {}).get("list", zone) if alert else zone
    if cleared is None:
        # The listing is gone without being seen cleared (its list or target was removed): not an all-clear.
        blocklist = Blocklist.objects.filter(zone=zone).first()
        why = "the list is no longer checked" if blocklist is None or not blocklist.enabled else "no longer monitored"
        core.resolve_alert(org, Alert.LISTED, key, title=f"[Closed] {target} on {name}: {why}",
                           details={"facts": [["Closed", f"{why}; the listing was not seen cleared"]]})
        return
    lasted = cleared.cleared - cleared.first_seen
    core.resolve_alert(
        org, Alert.LISTED, key,
        title=f"[Cleared] {target} on {cleared.blocklist.name} after {duration_text(lasted)}",
        details={"facts": [["Cleared", when(cleared.cleared)], ["Listed for", duration_text(lasted)]],
                 "data": {"cleared": cleared.cleared.isoformat(), "seconds_listed": int(lasted.total_seconds())}},
        now=cleared.cleared,
    )


def list_health(run: AuditRun) -> None:
    """A list turning bad (lists everything, refuses us, stopped answering) for an organisation that uses it."""
    from monitor.models.blocklists import Blocklist, ListHealth

    org = run.organization
    checked = ListHealth.objects.filter(run=run).select_related("blocklist")
    for health in checked:
        blocklist = health.blocklist
        if health.health == "ok":
            core.resolve_alert(org, Alert.LIST_HEALTH, blocklist.zone,
                               title=f"[List OK] {blocklist.name} answers correctly again",
                               details={"facts": [["Checked", when(run.started)]]}, now=run.finished or run.started)
        else:
            core.open_alert(
                org, Alert.LIST_HEALTH, blocklist.zone,
                title=f"[List {health.health}] {blocklist.name}: {short_finding('', health.reason) or health.health}",
                details={
                    "facts": [["List", f"{blocklist.name} ({blocklist.zone})"],
                              ["Health", health.get_health_display()], ["Why", health.reason or "-"],
                              ["Meaning", "Its answers are not trusted: its results are errors, not listings"
                                          " or all-clears, until it answers correctly again."]],
                    "data": {"zone": blocklist.zone, "list": blocklist.name, "health": health.health,
                             "reason": health.reason},
                },
                evidence_path=page("dash_blocklists", org=org.slug),
                now=run.finished or run.started,
            )
    # A list taken out of service no longer needs watching.
    for alert in core.open_alerts(org, Alert.LIST_HEALTH):
        if not Blocklist.objects.filter(zone=alert.key, enabled=True).exists():
            core.resolve_alert(org, Alert.LIST_HEALTH, alert.key,
                               title=f"[Closed] {alert.key}: the list is no longer checked")


# DNS ------------------------------------------------------------------------------------------------

# The records whose every change is worth an e-mail (DNSSEC signatures and the like change all the time).
WATCHED_RECORDS = ("spf", "dmarc", "mx", "mta_sts", "tls_rpt", "dkim")


def watched_record(check: str) -> bool:
    return check.split(":", 1)[0] in WATCHED_RECORDS


def dns_key(target: str, check: str) -> str:
    return f"{target}|{check}"


def dns_checks(run: AuditRun) -> None:
    """Checks getting worse (ok → warn/fail) open an alert, back to ok resolves it; watched records that
    changed are recorded as one-off changes (old and new record). An "error" verdict changes nothing."""
    from monitor.models.dns_checks import DnsCheckResult, changes_in_run

    org = run.organization
    results = {(r.target, r.check_name): r for r in DnsCheckResult.objects.filter(run=run)}
    for change in changes_in_run(run):
        result = results.get((change.target, change.check))
        if result is None or not result.conclusive:
            continue
        old_status = change.old_status
        if old_status == DnsCheckResult.ERROR:
            previous = result.previous(conclusive=True)
            old_status = previous.status if previous else None
        key = dns_key(change.target, change.check)
        label = check_label(change.check)
        evidence = page("dash_dns", org=org.slug, target=change.target)
        if result.status in (DnsCheckResult.WARN, DnsCheckResult.FAIL) and old_status == DnsCheckResult.OK:
            core.open_alert(
                org, Alert.DNS_CHECK, key,
                title=f"[DNS] {change.target} {label}: {short_finding(change.check, result.message, result.details)}",
                details={
                    "facts": [["Domain" if result.target_kind == result.DOMAIN else "Address", change.target],
                              ["Check", label], ["Was", "OK"], ["Now", result.get_status_display()],
                              ["Finding", result.message]],
                    "records": list(result.records),
                    "data": {"target": change.target, "check": change.check, "old_status": old_status,
                             "new_status": result.status, "message": result.message, "records": result.records,
                             "run": run.pk},
                },
                evidence_path=evidence,
                now=result.checked,
            )
        elif result.status == DnsCheckResult.OK:
            core.resolve_alert(
                org, Alert.DNS_CHECK, key,
                title=f"[DNS OK] {change.target} {label}: {short_finding(change.check, result.message, result.details)}",
                details={"facts": [["Now", "OK"], ["Finding", result.message]]},
                now=result.checked,
            )
        if change.records_changed and watched_record(change.check):
            core.record_event(
                org, Alert.DNS_CHANGE, f"{key}|run:{run.pk}",
                title=f"[DNS change] {change.target} {label} record changed",
                details={
                    "facts": [["Domain" if result.target_kind == result.DOMAIN else "Address", change.target],
                              ["Record", label], ["Check", f"{result.get_status_display()}: {result.message}"]],
                    "old_records": list(change.old_records),
                    "new_records": list(change.new_records),
                    "data": {"target": change.target, "check": change.check, "old_records": change.old_records,
                             "new_records": change.new_records, "run": run.pk},
                },
                evidence_path=evidence,
                now=result.checked,
            )


# Reports --------------------------------------------------------------------------------------------


@never_raise
def evaluate_reports(org, now=None) -> None:
    """Pass rates, new failing sources, TLS failure shares and silence of one organisation (periodic).
    ``now`` is for tests: the windows end then."""
    from monitor.alerts import reports

    reports.evaluate_all(org, now)


def after_import(org, reports=None) -> None:
    """Reports were imported for ``org`` (``reports`` is informative only): evaluate at once, so a
    report ending a silence resolves that alert now and a pass-rate drop is not left for the schedule."""
    evaluate_reports(org)


@never_raise
def evaluate_audits(org, now=None) -> None:
    """Catch-up for audit hand-overs that never happened (a worker died between the audit and its
    evaluation): failed or stalled runs, open listings, and the latest finished runs' list health and
    DNS changes. All idempotent: what was already raised is not raised again."""
    audits(org, now)
    listings(org)
    finished = AuditRun.objects.filter(organization=org).exclude(status=AuditRun.RUNNING).order_by("-started")
    latest_blocklist = finished.filter(kind=AuditRun.BLOCKLIST).first()
    if latest_blocklist is not None:
        list_health(latest_blocklist)
    latest_dns = finished.filter(kind=AuditRun.DNS).first()
    if latest_dns is not None:
        dns_checks(latest_dns)


def evaluate_all() -> str:
    """django-q2 schedule (hourly): ``evaluate_reports`` and the audits' catch-up for every organisation."""
    from monitor.models import Organization

    orgs = list(Organization.objects.all())
    for org in orgs:
        evaluate_reports(org)
        evaluate_audits(org)
    return f"{len(orgs)} organisation(s) evaluated"


# Mailboxes ------------------------------------------------------------------------------------------


@never_raise
def after_mailbox_pass(mailbox) -> None:
    """A mailbox failing repeatedly (``mailbox.failing``) opens an alert; its next good pass resolves it."""
    mailbox.refresh_from_db()
    org, key = mailbox.organization, f"mailbox:{mailbox.pk}"
    if mailbox.failing:
        core.open_alert(
            org, Alert.MAILBOX_FAILING, key,
            title=f"[Mailbox failing] {mailbox.label()}: {mailbox.consecutive_failures} passes in a row failed",
            details={
                "facts": [["Mailbox", mailbox.label()], ["Failed passes in a row", mailbox.consecutive_failures],
                          ["Last error", mailbox.last_error or "-"],
                          ["Last success", when(mailbox.last_success) if mailbox.last_success else "never"]],
                "data": {"mailbox": mailbox.pk, "label": mailbox.label(), "error": mailbox.last_error,
                         "consecutive_failures": mailbox.consecutive_failures},
            },
            evidence_path=page("mailboxes") or page("dash_reports", org=org.slug),
        )
    elif mailbox.consecutive_failures == 0:
        core.resolve_alert(
            org, Alert.MAILBOX_FAILING, key,
            title=f"[Mailbox OK] {mailbox.label()} works again",
            details={"facts": [["Succeeded", when(mailbox.last_success or timezone.now())]]},
        )
