from datetime import timedelta

import pytest
from django.utils import timezone

from monitor.alerts import core, deliver
from monitor.models import Alert, Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def hooked_org(org, webhook_server, settings):
    settings.SITE_URL = "https://monitor.example"
    org.alert_emails = []
    org.webhook_url = webhook_server.url
    org.save()
    return org


def raise_listing(org):
    return core.open_alert(
        org, Alert.LISTED, "192.0.2.99|zen.test", title="[Listed] 192.0.2.99 on Test ZEN",
        details={"facts": [["Address", "192.0.2.99"], ["Codes", "127.0.0.2: SBL"]], "reason": "spam source",
                 "links": [["Delisting", "https://zen.test/lookup?ip=192.0.2.99"]], "data": {"codes": ["127.0.0.2"]}},
    )


def test_it_posts_slack_compatible_json(hooked_org, webhook_server):
    alert = raise_listing(hooked_org)
    deliver.deliver_pending()

    [(path, content_type, payload)] = webhook_server.received
    assert path == "/hook" and content_type == "application/json"
    assert payload["text"] == f"[Listed] 192.0.2.99 on Test ZEN <https://monitor.example/alerts/{alert.pk}/|details>"
    assert payload["event"] == "opened" and payload["kind"] == "listed" and payload["organization"] == "acme"
    assert payload["facts"] == {"Address": "192.0.2.99", "Codes": "127.0.0.2: SBL"}
    assert payload["reason"] == "spam source" and payload["data"] == {"codes": ["127.0.0.2"]}
    assert payload["attachments"][0]["fields"][1] == {"title": "Codes", "value": "127.0.0.2: SBL", "short": True}
    assert Notification.objects.get().status == "sent"


def test_it_posts_the_resolution(hooked_org, webhook_server):
    raise_listing(hooked_org)
    core.resolve_alert(hooked_org, Alert.LISTED, "192.0.2.99|zen.test", title="[Cleared] 192.0.2.99",
                       details={"facts": [["Listed for", "3 hours"]]})
    deliver.deliver_pending()
    assert [p["event"] for _, _, p in webhook_server.received] == ["opened", "resolved"]
    resolved = webhook_server.received[1][2]
    assert resolved["status"] == "resolved" and resolved["resolved"] and resolved["facts"]["Listed for"] == "3 hours"


def test_it_retries_when_the_webhook_fails_for_now(hooked_org, webhook_server):
    webhook_server.status = 503
    raise_listing(hooked_org)
    deliver.deliver_pending()
    notification = Notification.objects.get()
    assert notification.status == "pending" and "HTTP 503" in notification.last_error

    webhook_server.status = 200
    Notification.objects.update(next_attempt=timezone.now() - timedelta(seconds=1))
    deliver.deliver_pending()
    assert Notification.objects.get().status == "sent" and len(webhook_server.received) == 2


def test_it_records_a_webhook_that_refuses(hooked_org, webhook_server):
    webhook_server.status = 404
    raise_listing(hooked_org)
    deliver.deliver_pending()
    notification = Notification.objects.get()
    assert notification.status == "failed" and notification.last_error == "HTTP 404 Not Found"
