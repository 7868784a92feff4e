import pytest
from django.db import IntegrityError, transaction

from monitor.alerts import core
from monitor.models import Alert, Notification, Subscription
from tests.conftest import make_member

pytestmark = pytest.mark.django_db


def raise_listing(org, key="192.0.2.99|zen.test"):
    return core.open_alert(org, Alert.LISTED, key, title=f"[Listed] {key}", details={"facts": [["Address", key]]})


def test_it_opens_one_alert_per_key(org):
    first = raise_listing(org)
    again = raise_listing(org)
    assert first is not None and again is None
    assert Alert.objects.count() == 1
    assert list(Notification.objects.values_list("target", "event")) == [("alerts@acme.example", "opened")]


def test_it_keeps_one_open_alert_per_key_in_the_database(org):
    raise_listing(org)
    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(organization=org, kind=Alert.LISTED, key="192.0.2.99|zen.test", title="again")


def test_it_keeps_the_same_key_apart_per_organisation_and_kind(org, other_org):
    assert raise_listing(org) and raise_listing(other_org)
    assert core.open_alert(org, Alert.LIST_HEALTH, "192.0.2.99|zen.test", title="other kind")
    assert Alert.objects.filter(status=Alert.OPEN).count() == 3


def test_it_resolves_once_with_an_all_clear(org):
    raise_listing(org)
    resolved = core.resolve_alert(org, Alert.LISTED, "192.0.2.99|zen.test", title="[Cleared] 192.0.2.99")
    assert resolved.status == Alert.RESOLVED and resolved.resolved is not None
    assert core.resolve_alert(org, Alert.LISTED, "192.0.2.99|zen.test") is None
    assert list(Notification.objects.order_by("pk").values_list("event", flat=True)) == ["opened", "resolved"]
    assert Alert.objects.get().resolved_title == "[Cleared] 192.0.2.99"


def test_it_resolves_nothing_when_nothing_is_open(org):
    assert core.resolve_alert(org, Alert.LISTED, "192.0.2.99|zen.test") is None
    assert not Notification.objects.exists()


def test_it_opens_a_new_alert_after_the_last_one_resolved(org):
    raise_listing(org)
    core.resolve_alert(org, Alert.LISTED, "192.0.2.99|zen.test")
    assert raise_listing(org) is not None
    assert list(Alert.objects.order_by("pk").values_list("status", flat=True)) == ["resolved", "open"]


def test_it_records_an_event_once(org):
    made = core.record_event(org, Alert.DNS_CHANGE, "acme.example|spf|run:1", title="[DNS change] SPF")
    assert made.status == Alert.RESOLVED and made.is_event
    assert core.record_event(org, Alert.DNS_CHANGE, "acme.example|spf|run:1", title="[DNS change] SPF") is None
    assert Notification.objects.filter(event="opened").count() == 1


def test_it_notifies_the_alert_addresses_and_members_subscribed_to_the_kind(org, other_org):
    listings_fan = make_member(org, "lisa", "viewer")
    dns_fan = make_member(org, "dan", "viewer")
    stranger = make_member(other_org, "sam", "viewer")
    Subscription.objects.create(user=listings_fan, organization=org, kinds=[Alert.LISTED])
    Subscription.objects.create(user=dns_fan, organization=org, kinds=[Alert.DNS_CHECK])
    Subscription.objects.create(user=stranger, organization=org, kinds=[Alert.LISTED])  # not a member of org
    org.alert_emails = ["Alerts@Acme.example", "noc@acme.example", "alerts@acme.example"]
    org.save()

    raise_listing(org)

    assert sorted(Notification.objects.values_list("target", flat=True)) == [
        "alerts@acme.example", "lisa@example.test", "noc@acme.example"]


def test_it_adds_the_organisations_webhook(org):
    org.webhook_url = "http://127.0.0.1:9/hook"
    org.save()
    raise_listing(org)
    assert set(Notification.objects.values_list("channel", "target")) == {
        ("email", "alerts@acme.example"), ("webhook", "http://127.0.0.1:9/hook")}


def test_it_asks_the_worker_to_deliver_once_per_batch(org, django_capture_on_commit_callbacks, monkeypatch):
    queued = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda func, **kwargs: queued.append(func))

    with django_capture_on_commit_callbacks(execute=True):
        with core.batch():
            raise_listing(org, "192.0.2.1|zen.test")
            raise_listing(org, "192.0.2.2|zen.test")
    assert queued == ["monitor.alerts.deliver.deliver_pending"]

    with django_capture_on_commit_callbacks(execute=True):
        raise_listing(org, "192.0.2.3|zen.test")
        raise_listing(org, "192.0.2.3|zen.test")  # not raised again: nothing to deliver
    assert len(queued) == 2


def test_it_opens_one_alert_when_two_workers_race(org, monkeypatch):
    raise_listing(org)
    # The second worker's look-up ran before the first one's insert: only the constraint stops it.
    monkeypatch.setattr("django.db.models.query.QuerySet.exists", lambda self: False)
    assert raise_listing(org) is None
    assert Alert.objects.count() == 1 and Notification.objects.count() == 1


def test_it_resolves_once_when_two_workers_race(org, monkeypatch):
    raise_listing(org)
    read_by_second = Alert.objects.get()  # the second worker reads the alert while it is open...
    assert core.resolve_alert(org, Alert.LISTED, "192.0.2.99|zen.test")  # ...the first resolves it...
    monkeypatch.setattr("django.db.models.query.QuerySet.first", lambda self: read_by_second)
    assert core.resolve_alert(org, Alert.LISTED, "192.0.2.99|zen.test") is None  # ...the second changes nothing
    assert Notification.objects.filter(event="resolved").count() == 1
