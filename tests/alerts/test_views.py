import pytest

from monitor.alerts import core
from monitor.models import Alert, Subscription

pytestmark = pytest.mark.django_db


def listing(org, target="192.0.2.99"):
    return core.open_alert(org, Alert.LISTED, f"{target}|zen.test", title=f"[Listed] {target} on Test ZEN",
                           details={"facts": [["Address", target]], "reason": "spam trap hits",
                                    "links": [["Delisting", f"https://zen.test/?ip={target}"]]},
                           evidence_path=f"/blocklists/?target={target}")


def test_it_lists_open_and_resolved_alerts_of_my_organisations_only(org, other_org, viewer_client):
    listing(org, "192.0.2.1")
    listing(org, "192.0.2.2")
    core.resolve_alert(org, Alert.LISTED, "192.0.2.2|zen.test", title="[Cleared] 192.0.2.2 on Test ZEN after 2 hours")
    listing(other_org, "198.51.100.9")

    page = viewer_client.get("/alerts/").content.decode()
    assert "[Listed] 192.0.2.1 on Test ZEN" in page
    assert "[Cleared] 192.0.2.2 on Test ZEN after 2 hours" in page
    assert "198.51.100.9" not in page
    assert 'href="/blocklists/?target=192.0.2.1"' in page


def test_it_shows_an_alert_with_its_evidence_and_deliveries(org, viewer_client):
    alert = listing(org)
    page = viewer_client.get(f"/alerts/{alert.pk}/").content.decode()
    assert "spam trap hits" in page and "https://zen.test/?ip=192.0.2.99" in page
    assert 'href="/blocklists/?target=192.0.2.99"' in page
    assert "alerts@acme.example" in page and "Pending" in page


def test_it_hides_other_organisations_alerts(org, other_org, viewer_client):
    theirs = listing(other_org)
    assert viewer_client.get(f"/alerts/{theirs.pk}/").status_code == 404


def test_it_asks_to_sign_in(client, org):
    alert = listing(org)
    assert client.get(f"/alerts/{alert.pk}/").status_code == 302
    assert client.get("/alerts/subscriptions/").status_code == 302


def test_it_saves_my_subscriptions(org, other_org, viewer, viewer_client):
    page = viewer_client.get("/alerts/subscriptions/").content.decode()
    assert "Acme Mail" in page and "Globex" not in page and "vera@example.test" in page

    response = viewer_client.post("/alerts/subscriptions/", {
        f"org-{org.pk}-kinds": [Alert.LISTED, Alert.DNS_CHANGE, "bogus"], f"org-{org.pk}-digest": "on",
        f"org-{other_org.pk}-kinds": [Alert.LISTED],  # not mine: ignored
    })
    assert response.status_code == 302
    [subscription] = Subscription.objects.all()
    assert (subscription.organization, subscription.kinds, subscription.weekly_digest) == (
        org, [Alert.LISTED, Alert.DNS_CHANGE], True)

    listing(org)
    assert "vera@example.test" in set(Alert.objects.get().notifications.values_list("target", flat=True))

    viewer_client.post("/alerts/subscriptions/", {})
    subscription.refresh_from_db()
    assert subscription.kinds == [] and subscription.weekly_digest is False


def test_it_lets_an_editor_change_the_alert_settings(org, editor_client):
    response = editor_client.post(f"/alerts/settings/{org.slug}/", {
        "alert_emails": "noc@acme.example\nops@acme.example, noc@acme.example",
        "dmarc_pass_threshold": "90", "tls_failure_threshold": "2.5", "no_report_days": "5",
        "webhook_url": "https://hooks.example/alerts",
    })
    assert response.status_code == 302
    org.refresh_from_db()
    assert org.alert_emails == ["noc@acme.example", "ops@acme.example"]
    assert (org.dmarc_pass_threshold, org.tls_failure_threshold, org.no_report_days) == (90.0, 2.5, 5)
    assert org.webhook_url == "https://hooks.example/alerts"
    assert "noc@acme.example\nops@acme.example" in editor_client.get(f"/alerts/settings/{org.slug}/").content.decode()


def test_it_refuses_bad_alert_settings(org, editor_client):
    page = editor_client.post(f"/alerts/settings/{org.slug}/", {
        "alert_emails": "not-an-address", "dmarc_pass_threshold": "120", "tls_failure_threshold": "5",
        "no_report_days": "3", "webhook_url": "",
    }).content.decode()
    assert "is not an e-mail address" in page and "A percentage between 0 and 100." in page
    org.refresh_from_db()
    assert org.alert_emails == ["alerts@acme.example"] and org.dmarc_pass_threshold == 95.0


@pytest.mark.parametrize("url", ["http://10.0.0.5/hook", "https://169.254.169.254/", "http://localhost:8080/hook",
                                 "http://[::1]/hook"])
def test_it_refuses_a_webhook_that_is_not_on_the_public_internet(org, editor_client, url):
    page = editor_client.post(f"/alerts/settings/{org.slug}/", {
        "alert_emails": "noc@acme.example", "dmarc_pass_threshold": "95", "tls_failure_threshold": "5",
        "no_report_days": "3", "webhook_url": url,
    }).content.decode()
    assert "not a public address" in page
    org.refresh_from_db()
    assert org.webhook_url == ""


def test_it_keeps_viewers_and_outsiders_from_the_alert_settings(org, viewer_client, client, outsider):
    assert viewer_client.get(f"/alerts/settings/{org.slug}/").status_code == 403
    client.force_login(outsider)
    assert client.get(f"/alerts/settings/{org.slug}/").status_code == 404


def test_it_lets_an_admin_try_a_refused_notification_again(org, rf, admin_user):
    from django.contrib import admin
    from django.contrib.messages.storage.fallback import FallbackStorage

    from monitor.alerts.admin import NotificationAdmin
    from monitor.models import Notification

    listing(org)
    Notification.objects.update(status="failed", attempts=1, last_error="SMTP 550: no such user")
    request = rf.post("/admin/monitor/notification/")
    request.user, request.session = admin_user, {}
    request._messages = FallbackStorage(request)
    NotificationAdmin(Notification, admin.site).try_again_now(request, Notification.objects.all())
    notification = Notification.objects.get()
    assert (notification.status, notification.attempts) == ("pending", 0)
