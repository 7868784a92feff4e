"""Listing alerts from real blocklist audits against the loopback DNS server, delivered over real SMTP."""

import pytest
from django.core.management import call_command

from monitor.alerts import evaluate
from monitor.blocklists.audit import run_blocklist_audit
from monitor.models import Alert, AuditRun, Notification
from monitor.models.blocklists import Blocklist, Listing
from tests.alerts.conftest import html_part, text_part

pytestmark = pytest.mark.django_db

ZEN_NAME = "10.2.0.192.zen.spamhaus.org."
REASON = "Listed in SBL, see https://check.spamhaus.org/sbl/query/SBL123"
DELIST = "https://check.spamhaus.org/listed/?searchterm=192.0.2.10"


def audit(org) -> AuditRun:
    """A real audit, which ends by handing its run to ``evaluate.after_blocklist_audit``."""
    return run_blocklist_audit(org, trigger=AuditRun.COMMAND)


def deliver():
    call_command("deliver_alerts", "--force")


def test_it_sends_one_email_per_listing_and_one_when_it_clears(org, pool, zen, dns_settings, smtp):
    audit(org)
    deliver()

    [message] = smtp.messages
    assert message.rcpt_tos == ("alerts@acme.example",)
    assert message.message["Subject"] == "[Listed] 192.0.2.10 on Spamhaus ZEN"
    for body in (text_part(message), html_part(message)):
        assert "192.0.2.10" in body and "Spamhaus ZEN (zen.spamhaus.org)" in body
        assert "127.0.0.2: SBL: direct spam source" in body
        assert REASON in body
        assert DELIST in body
    alert = Alert.objects.get(kind=Alert.LISTED)
    assert alert.key == "192.0.2.10|zen.spamhaus.org" and f"/alerts/{alert.pk}/" in text_part(message)

    audit(org)  # the same listing again: nothing new
    deliver()
    assert len(smtp.messages) == 1
    assert Alert.objects.count() == 1

    dns_settings.remove_records(ZEN_NAME)
    audit(org)
    deliver()

    assert len(smtp.messages) == 2
    cleared = smtp.messages[1]
    assert cleared.message["Subject"].startswith("[Cleared] 192.0.2.10 on Spamhaus ZEN after ")
    assert "Listed for: " in text_part(cleared)
    alert.refresh_from_db()
    listing = Listing.objects.get()
    assert alert.status == Alert.RESOLVED
    assert (alert.opened, alert.resolved) == (listing.first_seen, listing.cleared)

    audit(org)  # still clean: nothing more
    deliver()
    assert len(smtp.messages) == 2


def test_it_delivers_the_listing_once_the_mail_server_is_back(org, pool, zen, dns_settings, smtp):
    smtp.stop()
    audit(org)
    deliver()
    notification = Notification.objects.get()
    assert notification.status == Notification.PENDING and notification.last_error

    smtp.start()
    deliver()

    [message] = smtp.messages
    assert message.message["Subject"] == "[Listed] 192.0.2.10 on Spamhaus ZEN"
    assert REASON in text_part(message)


def test_it_neither_opens_nor_resolves_on_an_error(org, pool, zen, dns_settings, smtp):
    dns_settings.set_fault(ZEN_NAME, servfail=True)
    audit(org)  # the listed address cannot be checked: no alert
    assert not Alert.objects.filter(kind=Alert.LISTED).exists()

    dns_settings.clear_fault(ZEN_NAME)
    audit(org)
    assert Alert.objects.filter(kind=Alert.LISTED, status=Alert.OPEN).count() == 1

    dns_settings.remove_records(ZEN_NAME)
    dns_settings.set_fault(ZEN_NAME, servfail=True)
    audit(org)  # gone or not, we cannot tell: no all-clear
    assert Alert.objects.filter(kind=Alert.LISTED, status=Alert.OPEN).count() == 1
    deliver()
    assert [m.message["Subject"] for m in smtp.messages] == ["[Listed] 192.0.2.10 on Spamhaus ZEN"]


def test_it_alerts_once_when_a_list_turns_bad_and_again_when_it_recovers(org, pool, zen, dns_settings, smtp):
    Blocklist.objects.create(zone="everything.bl.test", name="Everything BL", kind=Blocklist.IP)
    audit(org)
    audit(org)
    health = Alert.objects.get(kind=Alert.LIST_HEALTH)
    assert health.status == Alert.OPEN and health.key == "everything.bl.test"
    assert health.title.startswith("[List broken] Everything BL")
    # Its "listed" answers are not listings.
    assert not Alert.objects.filter(kind=Alert.LISTED, key__endswith="|everything.bl.test").exists()

    dns_settings.remove_records("*.everything.bl.test.")
    dns_settings.add_record("2.0.0.127.everything.bl.test.", "A", "127.0.0.2")
    audit(org)
    health.refresh_from_db()
    assert health.status == Alert.RESOLVED
    deliver()
    subjects = sorted(m.message["Subject"] for m in smtp.messages)
    assert subjects[0].startswith("[List OK] Everything BL") and subjects[1].startswith("[List broken] Everything BL")
    assert len(subjects) == 3  # and the ZEN listing


def test_it_alerts_once_when_an_audit_fails_and_resolves_on_the_next_success(org, pool, zen, dns_settings, smtp):
    run = AuditRun.start(org, AuditRun.BLOCKLIST)
    run.fail("RuntimeError: the DNS engine crashed")
    evaluate.after_blocklist_audit(run)
    evaluate.after_blocklist_audit(run)
    failed = Alert.objects.get(kind=Alert.AUDIT_FAILED)
    assert failed.title == "[Audit failed] Blocklist audit of Acme Mail"
    assert ["Error", "RuntimeError: the DNS engine crashed"] in failed.details["facts"]

    audit(org)
    failed.refresh_from_db()
    assert failed.status == Alert.RESOLVED
    deliver()
    subjects = [m.message["Subject"] for m in smtp.messages]
    assert subjects.count("[Audit failed] Blocklist audit of Acme Mail") == 1
    assert "[Resolved] Blocklist audit of Acme Mail succeeded again" in subjects


def test_it_notices_an_audit_whose_worker_died(org, pool, zen, dns_settings):
    from datetime import timedelta

    from django.utils import timezone

    run = AuditRun.start(org, AuditRun.BLOCKLIST)
    evaluate.evaluate_all()
    assert not Alert.objects.exists()  # running, alive

    AuditRun.objects.filter(pk=run.pk).update(heartbeat=timezone.now() - timedelta(hours=1))
    evaluate.evaluate_all()
    evaluate.evaluate_all()
    [alert] = Alert.objects.filter(kind=Alert.AUDIT_FAILED)
    assert dict(alert.details["facts"])["Outcome"] == "stopped mid-run (its worker died)"

    audit(org)  # the next run closes the dead one and succeeds
    alert.refresh_from_db()
    assert alert.status == Alert.RESOLVED


def test_it_catches_up_on_a_listing_whose_run_was_never_handed_over(org, pool, zen, dns_settings):
    audit(org)
    Alert.objects.all().delete()  # as if the worker died before handing the run to the alerts

    evaluate.evaluate_all()
    evaluate.evaluate_all()

    assert Alert.objects.get(kind=Alert.LISTED).key == "192.0.2.10|zen.spamhaus.org"
