"""Two delivery workers at once, each with its own database connection: every notification is sent once."""

import threading

import pytest
from django.db import connection, connections

from monitor.alerts import core, deliver
from monitor.models import Alert, Notification

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite's test database in memory serialises connections; "
                    "the compare-and-set is tested alone in test_deliver (CI runs this on PostgreSQL)")
def test_it_sends_each_notification_once_with_two_workers(org, smtp):
    org.alert_emails = [f"ops{n}@acme.example" for n in range(5)]
    org.save()
    for n in range(6):
        core.open_alert(org, Alert.LISTED, f"192.0.2.{n}|zen.test", title=f"[Listed] 192.0.2.{n} on Test ZEN")
    assert Notification.objects.count() == 30
    tried, errors = [], []

    def worker():
        try:
            tried.append(deliver.deliver_pending())
        except Exception as exc:  # pragma: no cover - shown in the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == [] and sum(tried) == 30
    assert len(smtp.messages) == 30
    assert len({(m.rcpt_tos, m.message["Subject"]) for m in smtp.messages}) == 30
    assert set(Notification.objects.values_list("status", "attempts")) == {("sent", 1)}


@pytest.fixture
def sync_worker(settings, monkeypatch):
    from django_q.conf import Conf

    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    monkeypatch.setattr(Conf, "SYNC", True)  # django-q reads Q_CLUSTER once, at import


def test_it_delivers_right_after_an_alert_is_raised(org, smtp, sync_worker):
    core.open_alert(org, Alert.LISTED, "192.0.2.99|zen.test", title="[Listed] 192.0.2.99 on Test ZEN")
    # No deliver_alerts: the task queued when the alert was committed has delivered it.
    [message] = smtp.messages
    assert message.message["Subject"] == "[Listed] 192.0.2.99 on Test ZEN"
    assert Notification.objects.get().status == "sent"


def test_it_delivers_on_the_minute_schedule(org, smtp, sync_worker):
    from datetime import timedelta

    from django.utils import timezone
    from django_q.models import Schedule
    from django_q.scheduler import scheduler

    from monitor.schedules import sync_schedules

    smtp.stop()
    core.open_alert(org, Alert.LISTED, "192.0.2.99|zen.test", title="[Listed] 192.0.2.99 on Test ZEN")
    assert Notification.objects.get().status == "pending"  # the immediate attempt found no server
    smtp.start()
    Notification.objects.update(next_attempt=timezone.now())  # its back-off is over
    sync_schedules()
    Schedule.objects.filter(name="monitor:alerts:deliver").update(next_run=timezone.now() - timedelta(minutes=1))

    scheduler()

    [message] = smtp.messages
    assert message.message["Subject"] == "[Listed] 192.0.2.99 on Test ZEN"
