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


# Where webhooks may go: the public internet only ---------------------------------------------------


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:{port}/hook", "http://[::1]:{port}/hook", "http://[::ffff:127.0.0.1]:{port}/hook",
    "http://10.1.2.3/hook", "http://192.168.0.1/hook", "http://169.254.169.254/latest/meta-data/", "http://[fd00::1]/",
    "http://100.64.0.1/hook", "http://0.0.0.0:{port}/hook", "http://localhost:{port}/hook",
])
def test_it_refuses_for_good_a_webhook_that_is_not_on_the_public_internet(org, webhook_server, settings, url):
    settings.WEBHOOK_ALLOW_NETWORKS = []
    org.alert_emails, org.webhook_url = [], url.format(port=webhook_server.server_address[1])
    org.save()
    raise_listing(org)

    deliver.deliver_pending()

    notification = Notification.objects.get()
    assert notification.status == "failed" and "not a public address" in notification.last_error
    assert webhook_server.received == []


def test_it_refuses_a_host_name_that_resolves_to_a_private_address(org, webhook_server, settings, dns_server):
    settings.WEBHOOK_ALLOW_NETWORKS = []
    dns_server.add_record("hooks.example.test", "A", "127.0.0.1")
    org.alert_emails, org.webhook_url = [], f"http://hooks.example.test:{webhook_server.server_address[1]}/hook"
    org.save()
    raise_listing(org)

    deliver.deliver_pending()

    notification = Notification.objects.get()
    assert notification.status == "failed"
    assert "hooks.example.test is at 127.0.0.1, not a public address" in notification.last_error
    assert webhook_server.received == []


def test_it_posts_to_the_address_it_checked_naming_the_host(hooked_org, webhook_server, dns_server):
    dns_server.add_record("hooks.example.test", "A", "127.0.0.1")  # (loopback allowed for the test's server)
    port = webhook_server.server_address[1]
    hooked_org.webhook_url = f"http://hooks.example.test:{port}/hook?channel=ops"
    hooked_org.save()
    raise_listing(hooked_org)

    deliver.deliver_pending()

    assert Notification.objects.get().status == "sent"
    assert [path for path, _, _ in webhook_server.received] == ["/hook?channel=ops"]
    assert webhook_server.hosts == [f"hooks.example.test:{port}"]
    assert [q.name for q in dns_server.queries if q.name == "hooks.example.test."], "resolved by our DNS servers"


def test_it_refuses_for_good_a_url_it_cannot_post_to(hooked_org, webhook_server):
    hooked_org.webhook_url = f"http://127.0.0.1:{webhook_server.server_address[1]}0000/hook"  # port > 65535
    hooked_org.save()
    raise_listing(hooked_org)

    deliver.deliver_pending()

    notification = Notification.objects.get()
    assert notification.status == "failed" and "not a port number" in notification.last_error


def test_it_follows_no_redirect(hooked_org, webhook_server):
    webhook_server.status, webhook_server.location = 302, "http://169.254.169.254/latest/meta-data/"
    raise_listing(hooked_org)

    deliver.deliver_pending()

    notification = Notification.objects.get()
    assert notification.status == "failed" and "HTTP 302" in notification.last_error
    assert "redirects are not followed" in notification.last_error
    assert len(webhook_server.received) == 1


def test_it_tries_again_when_the_host_name_does_not_resolve(hooked_org, webhook_server):
    hooked_org.webhook_url = "http://nowhere.example.test/hook"
    hooked_org.save()
    raise_listing(hooked_org)

    deliver.deliver_pending()

    notification = Notification.objects.get()
    assert notification.status == "pending" and "no such host" in notification.last_error
