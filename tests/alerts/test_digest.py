from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.core.management import call_command
from django.utils import timezone

from monitor.alerts import evaluate
from monitor.blocklists.audit import run_blocklist_audit
from monitor.models import AuditRun, Subscription
from monitor.models.dns_checks import DnsCheckResult
from tests.alerts.conftest import html_part, text_part
from tests.alerts.reportdata import aggregate_xml, import_report, tls_json
from tests.conftest import make_member

pytestmark = pytest.mark.django_db


def days_ago(n):
    return timezone.now().date() - timedelta(days=n)


@pytest.fixture
def week(org, pool, zen, dns_settings):
    """A week of real data: reports this week and the week before, a listing, a DNS finding, alerts."""
    import_report(org, aggregate_xml("acme.example", days_ago(9), [("192.0.2.1", 500, True)]))
    import_report(org, aggregate_xml("acme.example", days_ago(2), [("192.0.2.1", 900, True), ("203.0.113.77", 100, False)]))
    import_report(org, tls_json("acme.example", days_ago(1), successful=900, failed=100), "tls.json")
    run_blocklist_audit(org)  # raises the listing alert
    evaluate.evaluate_reports(org)
    dns_run = AuditRun.start(org, AuditRun.DNS)
    DnsCheckResult.objects.create(run=dns_run, organization=org, target="acme.example", target_kind="domain",
                                  check_name="spf", status="fail", message="SPF needs 11 DNS lookups")
    dns_run.succeed()
    return org


def test_it_sends_the_weekly_digest_to_those_who_asked(week, org, viewer, editor, smtp):
    Subscription.objects.create(user=viewer, organization=org, kinds=[], weekly_digest=True)
    Subscription.objects.create(user=editor, organization=org, kinds=["listed"], weekly_digest=False)

    call_command("send_digest", "--org", "acme")

    [message] = smtp.messages
    assert message.rcpt_tos == ("vera@example.test",)
    assert message.message["Subject"].startswith("[Weekly] Acme Mail: ")
    text, html = text_part(message), html_part(message)
    assert "acme.example: 1000 messages, 90.0% passing DMARC (week before: 100.0%)  BELOW 95.0%" in text
    assert "192.0.2.10 on Spamhaus ZEN since" in text and "(new)" in text
    assert "Failed: acme.example SPF: SPF needs 11 DNS lookups" in text
    assert "acme.example: 100 of 1000 sessions failed (10.0%)  ABOVE 5.0%" in text
    assert "[Listed] 192.0.2.10 on Spamhaus ZEN" in text and "[TLS-RPT] acme.example" in text
    for fact in ("acme.example", "90.0%", "192.0.2.10", "SPF needs 11 DNS lookups", "[Listed] 192.0.2.10"):
        assert fact in html


def test_it_sends_nothing_to_those_who_did_not_ask(week, org, viewer, outsider, other_org, smtp):
    Subscription.objects.create(user=outsider, organization=org, weekly_digest=True)  # not a member of acme
    call_command("send_digest")
    assert smtp.messages == []


def test_it_says_which_addresses_it_could_not_reach(org, viewer, smtp, capsys):
    Subscription.objects.create(user=viewer, organization=org, weekly_digest=True)
    colleague = make_member(org, "carl", "viewer")
    Subscription.objects.create(user=colleague, organization=org, weekly_digest=True)
    smtp.stop()
    call_command("send_digest")
    out = capsys.readouterr().out
    assert out.startswith("0 digest(s) sent, 2 failed: ") and "vera@example.test (acme)" in out


def test_it_registers_its_schedules():
    from django_q.models import Schedule

    from monitor.schedules import sync_schedules

    sync_schedules()
    found = {s.name: (s.func, s.cron) for s in Schedule.objects.filter(name__startswith="monitor:alerts:")}
    assert found == {
        "monitor:alerts:deliver": ("monitor.alerts.deliver.deliver_pending", "* * * * *"),
        "monitor:alerts:evaluate": ("monitor.alerts.evaluate.evaluate_all", "17 * * * *"),
        "monitor:alerts:weekly-digest": ("monitor.alerts.digest.send_digests", "0 7 * * 1"),
    }


# A digest that could not be sent is tried again -----------------------------------------------------

MONDAY = datetime(2026, 11, 23, 7, 0, tzinfo=dt_timezone.utc)


@pytest.fixture
def sync_scheduler(settings, monkeypatch):
    from django_q.conf import Conf

    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    monkeypatch.setattr(Conf, "SYNC", True)  # django-q reads Q_CLUSTER once, at import
    from django_q.scheduler import scheduler

    return scheduler


def retries():
    import ast

    from django_q.models import Schedule

    return [(s, ast.literal_eval(s.kwargs)) for s in Schedule.objects.filter(func="monitor.alerts.digest.send_digests")]


@pytest.mark.django_db(transaction=True)
def test_it_tries_a_digest_again_later_for_the_same_week(org, viewer, smtp, sync_scheduler):
    from monitor.alerts.digest import send_digests

    Subscription.objects.create(user=viewer, organization=org, weekly_digest=True)
    make_member(org, "carl", "viewer")  # asked for no digest: never in a retry
    smtp.refuse(451)  # the mail server says "not now"

    summary = send_digests(now=MONDAY)

    assert summary.startswith("0 digest(s) sent, 1 failed: vera@example.test (acme): ")
    assert "acme: tried again at" in summary and "for 1 address(es)" in summary
    [(retry, kwargs)] = retries()
    assert kwargs == {"org_slug": "acme", "now": MONDAY.isoformat(), "only": ["vera@example.test"], "attempt": 1}
    assert timedelta(minutes=9) < retry.next_run - timezone.now() <= timedelta(minutes=10)

    smtp.accept()
    type(retry).objects.filter(pk=retry.pk).update(next_run=timezone.now() - timedelta(seconds=1))
    sync_scheduler()

    [message] = smtp.messages
    assert message.rcpt_tos == ("vera@example.test",)
    assert message.message["Subject"] == "[Weekly] Acme Mail: 17 Nov – 23 Nov 2026"
    assert retries() == [], "a retry that ran is gone"


def test_it_does_not_try_again_what_was_refused_for_good(org, viewer, smtp):
    from monitor.alerts.digest import send_digests

    Subscription.objects.create(user=viewer, organization=org, weekly_digest=True)
    smtp.refuse(550)

    summary = send_digests(now=MONDAY)

    assert "1 failed" in summary and "SMTP 550" in summary and "tried again" not in summary
    assert retries() == []


def test_it_gives_up_after_a_day_of_tries(org, viewer, smtp):
    from monitor.alerts.digest import RETRY_AFTER, send_digests

    Subscription.objects.create(user=viewer, organization=org, weekly_digest=True)
    smtp.stop()

    summary = send_digests("acme", now=MONDAY.isoformat(), only=["vera@example.test"], attempt=len(RETRY_AFTER))

    assert summary.endswith(f"acme: given up after {len(RETRY_AFTER) + 1} tries")
    assert retries() == []
