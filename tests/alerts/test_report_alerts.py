"""Alerts from imported reports: DMARC pass rate, new failing sources, TLS-RPT failures, silence."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from dmarc_reports.models import AggregateReport
from monitor.alerts import evaluate
from monitor.models import Alert
from tests.alerts.conftest import text_part
from tests.alerts.reportdata import aggregate_xml, import_report, tls_json

pytestmark = pytest.mark.django_db

DOMAIN = "acme.example"


def days_ago(n):
    return timezone.now().date() - timedelta(days=n)


def imported(org, data, name="report.xml"):
    reports = import_report(org, data, name)
    evaluate.after_import(org, reports)
    return reports


def alerts(kind):
    return list(Alert.objects.filter(kind=kind).order_by("pk"))


# DMARC pass rate


def test_it_alerts_once_when_the_pass_rate_falls_below_the_threshold_and_when_it_recovers(org, smtp):
    imported(org, aggregate_xml(DOMAIN, days_ago(2), [("203.0.113.5", 900, True), ("198.51.100.23", 100, False)]))
    evaluate.evaluate_reports(org)
    [alert] = alerts(Alert.DMARC_PASS_RATE)
    assert alert.key == DOMAIN and alert.status == Alert.OPEN
    assert alert.title == "[DMARC] acme.example pass rate 90.0% (below 95.0%) over 7 days"
    assert dict(alert.details["facts"])["Most failures from"] == "198.51.100.23: 100"

    imported(org, aggregate_xml(DOMAIN, days_ago(1), [("203.0.113.5", 5000, True)]))
    evaluate.evaluate_reports(org)
    [alert] = alerts(Alert.DMARC_PASS_RATE)
    assert alert.status == Alert.RESOLVED
    assert alert.resolved_title == "[DMARC OK] acme.example pass rate 98.3% (threshold 95.0%)"

    call_command("deliver_alerts")
    subjects = [m.message["Subject"] for m in smtp.messages]
    assert subjects.count(alert.title) == 1 and subjects.count(alert.resolved_title) == 1
    [message] = [m for m in smtp.messages if m.message["Subject"] == alert.title]
    assert "DMARC pass rate: 90.0% over the last 7 days" in text_part(message)
    assert f"https://monitor.example/dash/domains/{DOMAIN}/?org=acme" in text_part(message)


def test_it_uses_the_organisations_threshold(org):
    org.dmarc_pass_threshold = 85.0
    org.save()
    imported(org, aggregate_xml(DOMAIN, days_ago(2), [("203.0.113.5", 900, True), ("198.51.100.23", 100, False)]))
    assert alerts(Alert.DMARC_PASS_RATE) == []


def test_it_does_not_judge_a_pass_rate_on_a_handful_of_messages(org):
    imported(org, aggregate_xml(DOMAIN, days_ago(2), [("203.0.113.5", 5, True), ("198.51.100.23", 5, False)]))
    assert alerts(Alert.DMARC_PASS_RATE) == []


def test_it_ignores_reports_older_than_the_window(org):
    imported(org, aggregate_xml(DOMAIN, days_ago(10), [("203.0.113.5", 100, True), ("198.51.100.23", 900, False)]))
    assert alerts(Alert.DMARC_PASS_RATE) == []


# New sources failing DMARC


def test_it_alerts_once_on_a_new_source_failing_dmarc(org, smtp):
    imported(org, aggregate_xml(DOMAIN, days_ago(20), [("192.0.2.1", 500, True), ("192.0.2.2", 10, True)]))
    imported(org, aggregate_xml(DOMAIN, days_ago(1), [
        ("192.0.2.1", 5000, True),
        ("192.0.2.2", 200, False),     # failing, but not new
        ("203.0.113.77", 300, False),  # new and failing: the alert
        ("203.0.113.78", 10, False),   # new, failing, but too few messages to matter
    ]))
    evaluate.evaluate_reports(org)
    [alert] = alerts(Alert.DMARC_SOURCE)
    assert alert.key == "acme.example|203.0.113.77"
    assert alert.title == "[DMARC] New source 203.0.113.77 failing DMARC for acme.example: 300 messages"

    # A week on, the source stopped: resolved.
    evaluate.evaluate_reports(org, now=timezone.now() + timedelta(days=8))
    [alert] = alerts(Alert.DMARC_SOURCE)
    assert alert.status == Alert.RESOLVED
    call_command("deliver_alerts")
    assert [m.message["Subject"] for m in smtp.messages].count(alert.title) == 1


def spoofers(count, first=1, messages=100):
    return [(f"198.18.{n // 250}.{n % 250 + 1}", messages, False) for n in range(first, first + count)]


def test_it_alerts_once_for_a_wave_of_new_sources_failing_dmarc(org, smtp):
    imported(org, aggregate_xml(DOMAIN, days_ago(20), [("192.0.2.1", 500, True)]))
    imported(org, aggregate_xml(DOMAIN, days_ago(1), [("192.0.2.1", 5000, True), *spoofers(40)]))
    evaluate.evaluate_reports(org)
    [wave] = alerts(Alert.DMARC_SOURCE)
    assert wave.key == "acme.example|new-sources"
    assert wave.title == "[DMARC] 40 new sources failing DMARC for acme.example: 4,000 messages"
    facts = dict(wave.details["facts"])
    assert facts["New sources failing DMARC"] == "40"
    assert facts["Most failures from"].count(": 100") == 10 and facts["Most failures from"].endswith("and 30 more")
    assert len(wave.details["data"]["sources"]) == 40

    # More of the same run the next day: they join the wave, no other alert, no other e-mail.
    imported(org, aggregate_xml(DOMAIN, days_ago(0), spoofers(25, first=41)))
    evaluate.evaluate_reports(org)
    [wave] = alerts(Alert.DMARC_SOURCE)
    assert wave.status == Alert.OPEN and len(wave.details["data"]["sources"]) == 65
    assert dict(wave.details["facts"])["New sources failing DMARC"] == "65"
    call_command("deliver_alerts")
    [message] = [m for m in smtp.messages if "new sources" in m.message["Subject"]]  # (the pass rate fell too)
    assert message.message["Subject"] == wave.title and "and 30 more" in text_part(message)

    # While any of them still fails it stays open, even once they are no longer new (seen before the window).
    evaluate.evaluate_reports(org, now=timezone.now() + timedelta(days=6))
    assert alerts(Alert.DMARC_SOURCE)[0].status == Alert.OPEN
    # A week on, they stopped: resolved, once.
    evaluate.evaluate_reports(org, now=timezone.now() + timedelta(days=8))
    [wave] = alerts(Alert.DMARC_SOURCE)
    assert wave.status == Alert.RESOLVED
    assert wave.resolved_title == "[DMARC OK] The 65 new sources no longer fail DMARC for acme.example"
    call_command("deliver_alerts")
    assert [m.message["Subject"] for m in smtp.messages if "new sources" in m.message["Subject"]] == [
        wave.title, wave.resolved_title]


def test_it_keeps_a_wave_open_while_sources_that_just_joined_it_fail(org):
    imported(org, aggregate_xml(DOMAIN, days_ago(1), spoofers(10)))
    # More come the next day, evaluated only once the first ones are out of the window.
    import_report(org, aggregate_xml(DOMAIN, days_ago(0), spoofers(10, first=11)), "later.xml")
    evaluate.evaluate_reports(org, now=timezone.now() + timedelta(days=6))
    [wave] = alerts(Alert.DMARC_SOURCE)
    assert wave.status == Alert.OPEN and len(wave.details["data"]["sources"]) == 20


def test_it_alerts_source_by_source_up_to_the_limit_then_as_a_wave(org, settings):
    settings.ALERT_MAX_SOURCE_ALERTS = 5
    imported(org, aggregate_xml(DOMAIN, days_ago(2), spoofers(5)))
    evaluate.evaluate_reports(org)
    assert [a.key for a in alerts(Alert.DMARC_SOURCE)] == [f"acme.example|198.18.0.{n}" for n in range(2, 7)]

    # Five are open: the next new one would be a sixth, so it opens the wave (the five stay as they are).
    imported(org, aggregate_xml(DOMAIN, days_ago(1), spoofers(1, first=6)))
    evaluate.evaluate_reports(org)
    found = alerts(Alert.DMARC_SOURCE)
    assert len(found) == 6 and all(a.status == Alert.OPEN for a in found)
    assert found[-1].key == "acme.example|new-sources" and found[-1].details["data"]["sources"] == ["198.18.0.7"]

    # Another domain has its own count.
    imported(org, aggregate_xml("other.example", days_ago(1), spoofers(2, first=100)))
    evaluate.evaluate_reports(org)
    assert sorted(a.key for a in alerts(Alert.DMARC_SOURCE) if a.key.startswith("other.example")) == [
        "other.example|198.18.0.101", "other.example|198.18.0.102"]


# TLS-RPT


def test_it_alerts_once_when_tls_failures_exceed_the_threshold(org):
    imported(org, tls_json(DOMAIN, days_ago(1), successful=900, failed=100), "tls.json")
    evaluate.evaluate_reports(org)
    [alert] = alerts(Alert.TLS_FAILURES)
    assert alert.title == "[TLS-RPT] acme.example: 10.0% of TLS sessions failed (above 5.0%)"
    assert dict(alert.details["facts"])["Failures"] == "certificate-expired: 100"

    imported(org, tls_json(DOMAIN, days_ago(1), successful=9000, failed=0), "tls.json")
    [alert] = alerts(Alert.TLS_FAILURES)
    assert alert.status == Alert.RESOLVED
    assert alert.resolved_title == "[TLS-RPT OK] acme.example: 1.0% of TLS sessions failed (threshold 5.0%)"


def test_it_uses_the_organisations_tls_threshold(org):
    org.tls_failure_threshold = 20.0
    org.save()
    imported(org, tls_json(DOMAIN, days_ago(1), successful=900, failed=100), "tls.json")
    assert alerts(Alert.TLS_FAILURES) == []


# No reports


def test_it_alerts_once_when_reports_stop_arriving_and_when_they_come_back(org, smtp):
    imported(org, aggregate_xml(DOMAIN, days_ago(5), [("192.0.2.1", 50, True)]))
    AggregateReport.objects.update(imported=timezone.now() - timedelta(days=4))
    evaluate.evaluate_reports(org)
    evaluate.evaluate_reports(org)
    [alert] = alerts(Alert.NO_REPORTS)
    assert alert.title == "[No reports] acme.example: no DMARC reports for 3 days"

    imported(org, aggregate_xml(DOMAIN, days_ago(1), [("192.0.2.1", 50, True)]))
    [alert] = alerts(Alert.NO_REPORTS)
    assert alert.status == Alert.RESOLVED
    assert alert.resolved_title == "[Reports again] acme.example: DMARC reports arrive again"
    assert dict(alert.resolved_details["facts"])["Silent for"].startswith("4 days")
    call_command("deliver_alerts")
    assert sorted(m.message["Subject"] for m in smtp.messages) == sorted([alert.title, alert.resolved_title])


def test_it_waits_the_organisations_number_of_days(org):
    org.no_report_days = 7
    org.save()
    imported(org, aggregate_xml(DOMAIN, days_ago(5), [("192.0.2.1", 50, True)]))
    AggregateReport.objects.update(imported=timezone.now() - timedelta(days=4))
    evaluate.evaluate_reports(org)
    assert alerts(Alert.NO_REPORTS) == []


def test_it_says_nothing_of_domains_long_silent_or_never_heard_of(org, other_org):
    imported(org, aggregate_xml(DOMAIN, days_ago(90), [("192.0.2.1", 50, True)]))
    AggregateReport.objects.update(imported=timezone.now() - timedelta(days=60))
    evaluate.evaluate_reports(org)
    evaluate.evaluate_reports(other_org)
    assert alerts(Alert.NO_REPORTS) == []
