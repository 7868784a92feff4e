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
