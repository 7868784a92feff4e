"""Alerts read from the report roll-ups: DMARC pass rate, new sources failing DMARC, TLS-RPT failures,
and silence (no reports for a domain that used to get them).

Each is a state per (organisation, policy domain[, source]): opened when the condition starts to hold,
resolved when it no longer does. Too little data (fewer messages or sessions than the minimum) neither
opens nor resolves anything. Thresholds come from the organisation (``dmarc_pass_threshold``,
``tls_failure_threshold``, ``no_report_days``); the volume minimums from settings (defaults below).
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Sum
from django.utils import timezone

from monitor.alerts import core
from monitor.alerts.text import duration_text, percent, when
from monitor.models import Alert

WINDOW_DAYS = 7  # pass rates and TLS failure shares are over the last 7 days of report data
NEW_SOURCE_LOOKBACK_DAYS = 30  # a source is "new" if it sent nothing for the domain in the 30 days before
SILENCE_LOOKBACK_DAYS = 30  # "used to arrive": a report within this many days before the silence began


def page(name: str, *args, **params) -> str:
    from monitor.alerts.evaluate import page as dashboard_page

    return dashboard_page(name, *args, **params)


def evaluate_all(org, now=None) -> None:
    now = now or timezone.now()
    dmarc_pass_rates(org, now)
    failing_sources(org, now)
    tls_failures(org, now)
    silence(org, now)


def window_start(now):
    return now.date() - timedelta(days=WINDOW_DAYS - 1)


# DMARC pass rate --------------------------------------------------------------------------------------


def dmarc_pass_rates(org, now) -> None:
    from dmarc_reports.models import DomainDailyRollup

    threshold = org.dmarc_pass_threshold
    minimum = settings.ALERT_MIN_DMARC_MESSAGES  # fewer messages: the rate means nothing
    start = window_start(now)
    totals = (
        DomainDailyRollup.objects.filter(organization=org, day__gte=start, day__lte=now.date())
        .values("domain").annotate(messages=Sum("messages"), passed=Sum("dmarc_pass"))
    )
    for row in totals:
        domain, messages, passed = row["domain"], row["messages"] or 0, row["passed"] or 0
        if messages < minimum:
            continue
        rate = 100.0 * passed / messages
        facts = [["Domain", domain], ["DMARC pass rate", f"{percent(rate)} over the last {WINDOW_DAYS} days"],
                 ["Threshold", percent(threshold)], ["Messages", f"{messages:,}"],
                 ["Failing DMARC", f"{messages - passed:,}"]]
        if rate < threshold:
            top = _top_failing_sources(org, domain, start, now.date())
            if top:
                facts.append(["Most failures from", "; ".join(top)])
            core.open_alert(
                org, Alert.DMARC_PASS_RATE, domain,
                title=f"[DMARC] {domain} pass rate {percent(rate)} (below {percent(threshold)}) over {WINDOW_DAYS} days",
                details={"facts": facts, "data": {"domain": domain, "rate": round(rate, 2), "threshold": threshold,
                                                   "messages": messages, "dmarc_pass": passed, "since": str(start)}},
                evidence_path=page("dash_domain", domain, org=org.slug),
            )
        else:
            core.resolve_alert(
                org, Alert.DMARC_PASS_RATE, domain,
                title=f"[DMARC OK] {domain} pass rate {percent(rate)} (threshold {percent(threshold)})",
                details={"facts": facts},
            )


def _top_failing_sources(org, domain, start, end, limit=3) -> list[str]:
    from dmarc_reports.models import DailyRollup

    rows = (
        DailyRollup.objects.filter(organization=org, domain=domain, day__gte=start, day__lte=end)
        .values("source_ip").annotate(messages=Sum("messages"), passed=Sum("dmarc_pass"), service=Max("service"))
    )
    failing = sorted(((r["messages"] - r["passed"], r) for r in rows if r["messages"] > r["passed"]),
                     key=lambda item: -item[0])
    return [f"{r['source_ip']}{' (' + r['service'] + ')' if r['service'] else ''}: {n:,}" for n, r in failing[:limit]]


# New sources failing DMARC ----------------------------------------------------------------------------
#
# One alert per new source, as long as a domain has few of them open at once (``ALERT_MAX_SOURCE_ALERTS``);
# past that, the domain's new failing sources are one alert, a wave (a spoofing run from many addresses),
# which takes in silently the sources that join it while it is open, and resolves once none of them fails
# any more. So a wave of thousands of addresses is one e-mail, not thousands.

WAVE = "new-sources"  # the wave's key is "<domain>|new-sources" (a source's is "<domain>|<address>")
WAVE_TOP = 10  # sources named in a wave's facts (all are in its data)


def source_key(domain: str, source_ip: str) -> str:
    return f"{domain}|{source_ip}"


def failing_sources(org, now) -> None:
    """A source that sent nothing for the domain in the 30 days before the window, now failing DMARC
    for a meaningful volume, opens an alert (or joins the domain's wave, see above); it resolves once
    the source no longer fails that much."""
    from dmarc_reports.models import DailyRollup

    start = window_start(now)
    lookback = start - timedelta(days=NEW_SOURCE_LOOKBACK_DAYS)
    minimum, share = settings.ALERT_MIN_SOURCE_FAILURES, settings.ALERT_MIN_SOURCE_FAILURE_SHARE
    recent = (
        DailyRollup.objects.filter(organization=org, day__gte=start, day__lte=now.date())
        .values("domain", "source_ip")
        .annotate(messages=Sum("messages"), passed=Sum("dmarc_pass"), service=Max("service"))
    )
    stats = {source_key(r["domain"], r["source_ip"]): r for r in recent}
    open_alerts = list(core.open_alerts(org, Alert.DMARC_SOURCE))
    waves = {alert.key.split("|", 1)[0]: alert for alert in open_alerts if alert.key.endswith("|" + WAVE)}
    singles = {alert.key for alert in open_alerts if not alert.key.endswith("|" + WAVE)}
    covered = singles | {source_key(domain, ip) for domain, wave in waves.items() for ip in wave_members(wave)}

    def failing(row) -> bool:
        failed = row["messages"] - row["passed"]
        return failed >= minimum and 100.0 * failed >= share * row["messages"]

    candidates = [key for key, row in stats.items() if key not in covered and failing(row)]
    if candidates:
        seen_before = set(
            source_key(domain, ip)
            for domain, ip in DailyRollup.objects.filter(organization=org, day__gte=lookback, day__lt=start,
                                                         messages__gt=0)
            .values_list("domain", "source_ip").distinct()
        )
        new_by_domain: dict[str, list[dict]] = {}
        for key in candidates:
            if key not in seen_before:
                new_by_domain.setdefault(stats[key]["domain"], []).append(stats[key])
        open_per_domain = Counter(key.split("|", 1)[0] for key in singles)
        for domain, rows in new_by_domain.items():
            if domain in waves:
                waves[domain] = _join_wave(waves[domain], rows)
            elif open_per_domain[domain] + len(rows) <= settings.ALERT_MAX_SOURCE_ALERTS:
                for row in rows:
                    _open_source_alert(org, row)
            else:
                _open_wave(org, domain, rows)
    for key in singles:
        row = stats.get(key)
        if row is None or not failing(row):
            domain, source_ip = key.split("|", 1)
            passed = f"{row['passed']:,} of {row['messages']:,}" if row else "no messages"
            core.resolve_alert(
                org, Alert.DMARC_SOURCE, key,
                title=f"[DMARC OK] {source_ip} no longer fails DMARC for {domain}",
                details={"facts": [["Last 7 days", f"{passed} passing DMARC"]]},
            )
    for domain, wave in waves.items():
        members = wave_members(wave)
        if not any((row := stats.get(source_key(domain, ip))) is not None and failing(row) for ip in members):
            core.resolve_alert(
                org, Alert.DMARC_SOURCE, wave.key,
                title=f"[DMARC OK] The {len(members):,} new sources no longer fail DMARC for {domain}",
                details={"facts": [["Sources", f"{len(members):,}, none failing DMARC over the last 7 days"]]},
            )


def _open_source_alert(org, row) -> None:
    from dmarc_reports.models import DailyRollup

    domain, source_ip, service = row["domain"], row["source_ip"], row["service"] or ""
    failed = row["messages"] - row["passed"]
    first = (DailyRollup.objects.filter(organization=org, domain=domain, source_ip=source_ip)
             .order_by("day").values_list("day", flat=True).first())
    who = f"{source_ip} ({service})" if service else source_ip
    core.open_alert(
        org, Alert.DMARC_SOURCE, source_key(domain, source_ip),
        title=f"[DMARC] New source {who} failing DMARC for {domain}: {failed:,} messages",
        details={
            "facts": [["Domain", domain], ["Source", source_ip], ["Service", service or "unknown"],
                      ["First seen", str(first)], ["Messages (7 days)", f"{row['messages']:,}"],
                      ["Failing DMARC", f"{failed:,} ({percent(100.0 * failed / row['messages'])})"],
                      ["What to do", "If this is a service you use, authorise it (SPF include, DKIM key); "
                                     "if not, someone is sending as your domain."]],
            "data": {"domain": domain, "source_ip": source_ip, "service": service, "messages": row["messages"],
                     "dmarc_pass": row["passed"], "first_seen": str(first)},
        },
        evidence_path=page("dash_source", source_ip, org=org.slug, domain=domain),
    )


def wave_members(wave: Alert) -> list[str]:
    """The addresses a wave covers (all of them, not only those named in its facts)."""
    return list((wave.details.get("data") or {}).get("sources") or [])


def wave_details(domain: str, rows: list[dict]) -> dict:
    """A wave's facts, naming the sources failing most, and its data, listing them all (``rows``)."""
    rows = sorted(rows, key=lambda row: (row["passed"] - row["messages"], row["source_ip"]))
    failed = sum(row["messages"] - row["passed"] for row in rows)
    top = [f"{row['source_ip']}{' (' + row['service'] + ')' if row['service'] else ''}: "
           f"{row['messages'] - row['passed']:,}" for row in rows[:WAVE_TOP]]
    more = f"; and {len(rows) - WAVE_TOP:,} more" if len(rows) > WAVE_TOP else ""
    return {
        "facts": [["Domain", domain], ["New sources failing DMARC", f"{len(rows):,}"],
                  ["Failing DMARC (7 days)", f"{failed:,} messages"], ["Most failures from", "; ".join(top) + more],
                  ["What to do", "Many addresses that never sent for this domain before are failing DMARC at once: "
                                 "most likely someone is sending as your domain. If they are a service you use, "
                                 "authorise it (SPF include, DKIM key). Sources joining this wave while it is open "
                                 "are added here without another alert."]],
        "data": {"domain": domain, "failing": failed, "sources": sorted(row["source_ip"] for row in rows),
                 "top": [{"source_ip": row["source_ip"], "service": row["service"] or "", "messages": row["messages"],
                          "dmarc_pass": row["passed"]} for row in rows[:WAVE_TOP]]},
    }


def _open_wave(org, domain: str, rows: list[dict]) -> None:
    details = wave_details(domain, rows)
    core.open_alert(
        org, Alert.DMARC_SOURCE, source_key(domain, WAVE),
        title=f"[DMARC] {len(rows):,} new sources failing DMARC for {domain}: {details['data']['failing']:,} messages",
        details=details, evidence_path=page("dash_domain", domain, org=org.slug),
    )


def _join_wave(wave: Alert, rows: list[dict]) -> Alert:
    """New sources joining an open wave: added to it, without a notification (one alert per change)."""
    with transaction.atomic():
        wave = Alert.objects.select_for_update().get(pk=wave.pk)
        members = sorted(set(wave_members(wave)) | {row["source_ip"] for row in rows})
        wave.details = {**wave.details, "facts": [
            fact if fact[0] != "New sources failing DMARC" else [fact[0], f"{len(members):,}"]
            for fact in wave.details.get("facts", [])
        ], "data": {**(wave.details.get("data") or {}), "sources": members}}
        wave.save(update_fields=["details"])
    return wave


# TLS-RPT failures -------------------------------------------------------------------------------------


def tls_failures(org, now) -> None:
    from dmarc_reports.models import TlsDailyRollup, TlsFailureDailyRollup

    threshold = org.tls_failure_threshold
    minimum = settings.ALERT_MIN_TLS_SESSIONS
    start = window_start(now)
    totals = (
        TlsDailyRollup.objects.filter(organization=org, day__gte=start, day__lte=now.date()).exclude(domain="")
        .values("domain").annotate(successful=Sum("successful"), failed=Sum("failed"))
    )
    for row in totals:
        domain, failed = row["domain"], row["failed"] or 0
        sessions = (row["successful"] or 0) + failed
        if sessions < minimum:
            continue
        share = 100.0 * failed / sessions
        facts = [["Policy domain", domain], ["Failed sessions", f"{failed:,} of {sessions:,} ({percent(share)})"],
                 ["Threshold", percent(threshold)], ["Period", f"the last {WINDOW_DAYS} days"]]
        if share > threshold:
            kinds = (
                TlsFailureDailyRollup.objects.filter(organization=org, domain=domain, day__gte=start,
                                                     day__lte=now.date())
                .values("result_type").annotate(sessions=Sum("sessions")).order_by("-sessions")[:5]
            )
            if kinds:
                facts.append(["Failures", "; ".join(f"{k['result_type']}: {k['sessions']:,}" for k in kinds)])
            core.open_alert(
                org, Alert.TLS_FAILURES, domain,
                title=f"[TLS-RPT] {domain}: {percent(share)} of TLS sessions failed (above {percent(threshold)})",
                details={"facts": facts, "data": {"domain": domain, "failed": failed, "sessions": sessions,
                                                   "share": round(share, 2), "threshold": threshold,
                                                   "result_types": {k["result_type"]: k["sessions"] for k in kinds}}},
                evidence_path=page("dash_tls", org=org.slug, domain=domain),
            )
        else:
            core.resolve_alert(
                org, Alert.TLS_FAILURES, domain,
                title=f"[TLS-RPT OK] {domain}: {percent(share)} of TLS sessions failed (threshold {percent(threshold)})",
                details={"facts": facts},
            )


# No reports -------------------------------------------------------------------------------------------


def silence(org, now) -> None:
    """No DMARC aggregate report received for a domain for ``org.no_report_days`` days, when one was
    received within the 30 days before that; a report arriving resolves it."""
    from dmarc_reports.models import AggregateReport

    days = org.no_report_days
    if not days:
        return
    quiet_since = now - timedelta(days=days)
    horizon = quiet_since - timedelta(days=SILENCE_LOOKBACK_DAYS)
    last = dict(
        AggregateReport.objects.filter(organization=org).values("domain").annotate(last=Max("imported"))
        .values_list("domain", "last")
    )
    for domain, received in last.items():
        if received < quiet_since:
            if received >= horizon:
                core.open_alert(
                    org, Alert.NO_REPORTS, domain,
                    title=f"[No reports] {domain}: no DMARC reports for {days} days",
                    details={"facts": [["Domain", domain], ["Last report received", when(received)],
                                       ["Alert after", f"{days} days without reports"],
                                       ["Check", "the rua= address of the DMARC record, the mailbox and its polling"]],
                             "data": {"domain": domain, "last_received": received.isoformat(), "days": days}},
                    evidence_path=page("dash_reports", org=org.slug, domain=domain),
                )
        else:
            alert = core.open_alerts(org, Alert.NO_REPORTS).filter(key=domain).first()
            if alert is not None:
                core.resolve_alert(
                    org, Alert.NO_REPORTS, domain,
                    title=f"[Reports again] {domain}: DMARC reports arrive again",
                    details={"facts": [["Report received", when(received)],
                                       ["Silent for", _silent_for(alert, received)]]},
                )


def _silent_for(alert, received) -> str:
    from datetime import datetime

    before = (alert.details.get("data") or {}).get("last_received")
    if not before:
        return "-"
    return duration_text(received - datetime.fromisoformat(before))
