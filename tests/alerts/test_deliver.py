"""Delivery through a real SMTP server on loopback: sent once, retried while the server is down, refusals kept."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from monitor.alerts import core, deliver
from monitor.models import Alert, Notification
from tests.alerts.conftest import html_part, text_part

pytestmark = pytest.mark.django_db


def raise_listing(org):
    return core.open_alert(
        org, Alert.LISTED, "192.0.2.99|zen.test", title="[Listed] 192.0.2.99 on Test ZEN",
        details={"facts": [["Address", "192.0.2.99"], ["Codes", "127.0.0.2: SBL"]], "reason": "See https://zen.test/q",
                 "links": [["Delisting", "https://zen.test/lookup?ip=192.0.2.99"]]},
        evidence_path="/blocklists/?target=192.0.2.99",
    )


def test_it_sends_a_multipart_email_stating_the_fact(org, smtp):
    alert = raise_listing(org)
    assert deliver.deliver_pending() == 1

    [message] = smtp.messages
    assert message.rcpt_tos == ("alerts@acme.example",)
    assert message.message["Subject"] == "[Listed] 192.0.2.99 on Test ZEN"
    assert message.message["X-Alert-Kind"] == "listed"
    text, html = text_part(message), html_part(message)
    for body in (text, html):
        assert "127.0.0.2: SBL" in body and "See https://zen.test/q" in body
        assert "https://zen.test/lookup?ip=192.0.2.99" in body
        assert f"https://monitor.example/alerts/{alert.pk}/" in body
        assert "https://monitor.example/blocklists/?target=192.0.2.99" in body
    notification = Notification.objects.get()
    assert (notification.status, notification.attempts, notification.last_error) == ("sent", 1, "")


def test_it_sends_each_notification_once(org, smtp):
    raise_listing(org)
    deliver.deliver_pending()
    assert deliver.deliver_pending(force=True) == 0
    assert len(smtp.messages) == 1


def test_it_sends_the_all_clear(org, smtp):
    raise_listing(org)
    core.resolve_alert(org, Alert.LISTED, "192.0.2.99|zen.test", title="[Cleared] 192.0.2.99 on Test ZEN after 2 days",
                       details={"facts": [["Listed for", "2 days"]]})
    deliver.deliver_pending()
    assert [m.message["Subject"] for m in smtp.messages] == [
        "[Listed] 192.0.2.99 on Test ZEN", "[Cleared] 192.0.2.99 on Test ZEN after 2 days"]
    assert "Listed for: 2 days" in text_part(smtp.messages[1])


def test_it_delivers_after_the_mail_server_comes_back(org, smtp):
    smtp.stop()
    raise_listing(org)
    assert deliver.deliver_pending() == 1
    notification = Notification.objects.get()
    assert notification.status == "pending" and notification.attempts == 1
    assert "Connection refused" in notification.last_error or "ConnectionRefused" in notification.last_error
    assert notification.next_attempt > timezone.now()
    assert deliver.deliver_pending() == 0  # backing off

    smtp.start()
    call_command("deliver_alerts", "--force")

    [message] = smtp.messages
    assert message.message["Subject"] == "[Listed] 192.0.2.99 on Test ZEN"
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("sent", 2)


def test_it_retries_a_temporary_refusal(org, smtp):
    smtp.refuse(451)
    raise_listing(org)
    deliver.deliver_pending()
    notification = Notification.objects.get()
    assert notification.status == "pending" and "451" in notification.last_error

    smtp.accept()
    Notification.objects.update(next_attempt=timezone.now() - timedelta(seconds=1))
    deliver.deliver_pending()
    notification.refresh_from_db()
    assert notification.status == "sent" and len(smtp.messages) == 1


def test_it_records_a_permanent_refusal_and_shows_it(org, smtp, viewer_client):
    smtp.refuse(550)
    alert = raise_listing(org)
    deliver.deliver_pending()
    notification = Notification.objects.get()
    assert notification.status == "failed" and notification.attempts == 1
    assert "550" in notification.last_error
    assert deliver.deliver_pending(force=True) == 0  # never tried again

    page = viewer_client.get(f"/alerts/{alert.pk}/").content.decode()
    assert "delivery failed" in page and "550 5.7.1 Delivery refused" in page
    listing_page = viewer_client.get("/alerts/").content.decode()
    assert "1 notification could not be delivered" in listing_page
    assert listing_page.count('<span class="status-fail">delivery failed</span>') == 1


def test_it_gives_up_after_the_last_attempt(org, smtp):
    smtp.stop()
    raise_listing(org)
    Notification.objects.update(attempts=deliver.MAX_ATTEMPTS - 1)
    deliver.deliver_pending()
    notification = Notification.objects.get()
    assert notification.status == "failed" and notification.last_error.startswith(f"Gave up after {deliver.MAX_ATTEMPTS}")


def test_it_backs_off_longer_after_each_failure():
    waits = [deliver.backoff(n) for n in range(1, deliver.MAX_ATTEMPTS + 1)]
    assert waits == sorted(waits) and waits[0] == timedelta(minutes=1) and waits[-1] == timedelta(hours=6)


def test_it_lets_only_one_worker_take_a_notification(org):
    raise_listing(org)
    # Two workers read the same pending row before either claims it.
    first_read, second_read = Notification.objects.get(), Notification.objects.get()
    now = timezone.now()
    assert deliver.take(first_read, now) is True
    assert deliver.take(second_read, now) is False
    assert deliver.claim_one() is None  # leased: not due for anyone else
    assert Notification.objects.get().attempts == 1


def test_it_tries_again_when_a_worker_died_mid_send(org, smtp):
    raise_listing(org)
    claimed = deliver.claim_one()  # ...and the worker dies here
    assert claimed and deliver.deliver_pending() == 0
    Notification.objects.update(next_attempt=timezone.now() - timedelta(seconds=1))  # the lease ran out
    deliver.deliver_pending()
    assert len(smtp.messages) == 1 and Notification.objects.get().attempts == 2


def test_it_leaves_the_other_emails_due_while_the_mail_server_is_down(org, smtp, webhook_server):
    org.webhook_url = webhook_server.url
    org.save()
    smtp.stop()
    for n in range(3):
        core.open_alert(org, Alert.LISTED, f"192.0.2.{n}|zen.test", title=f"[Listed] 192.0.2.{n} on Test ZEN")
    assert deliver.deliver_pending() == 4  # one e-mail found the server down; the three webhooks went
    emails = Notification.objects.filter(channel="email")
    assert sorted(emails.values_list("attempts", flat=True)) == [0, 0, 1]
    assert len(webhook_server.received) == 3

    smtp.start()
    call_command("deliver_alerts", "--force")
    assert len(smtp.messages) == 3 and set(emails.values_list("status", flat=True)) == {"sent"}


def test_it_tries_every_email_when_the_server_answers_with_a_temporary_refusal(org, smtp):
    smtp.refuse(451)
    for n in range(2):
        core.open_alert(org, Alert.LISTED, f"192.0.2.{n}|zen.test", title=f"[Listed] 192.0.2.{n} on Test ZEN")
    assert deliver.deliver_pending() == 2
    assert list(Notification.objects.values_list("attempts", flat=True)) == [1, 1]
