import pytest

from dmarc_reports.mailbox_fetch import fetch_mailbox
from dmarc_reports.models_mailbox import FAILING_AFTER, Mailbox
from monitor.alerts import evaluate
from monitor.models import Alert
from tests.harness.smtp_server import free_tcp_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def mailbox(org):
    # Nothing listens on this port: every pass fails to connect.
    return Mailbox.objects.create(organization=org, host="127.0.0.1", port=free_tcp_port(), security=Mailbox.NONE,
                                  username="dmarc", password="secret")


def one_pass(mailbox):
    return fetch_mailbox(mailbox)  # which ends with evaluate.after_mailbox_pass(mailbox)


def test_it_alerts_once_when_a_mailbox_keeps_failing_and_when_it_recovers(mailbox):
    for _ in range(FAILING_AFTER - 1):
        assert not one_pass(mailbox).ok
    assert not Alert.objects.exists()  # one bad pass is not an alert

    one_pass(mailbox)
    one_pass(mailbox)
    [alert] = Alert.objects.filter(kind=Alert.MAILBOX_FAILING)
    assert alert.status == Alert.OPEN and alert.key == f"mailbox:{mailbox.pk}"
    assert alert.title == f"[Mailbox failing] {mailbox.label()}: {FAILING_AFTER} passes in a row failed"
    assert dict(alert.details["facts"])["Last error"] == Mailbox.objects.get().last_error != ""

    mailbox.record_success({"imported": 1})
    evaluate.after_mailbox_pass(mailbox)
    evaluate.after_mailbox_pass(mailbox)
    alert.refresh_from_db()
    assert alert.status == Alert.RESOLVED and alert.resolved_title == f"[Mailbox OK] {mailbox.label()} works again"
    assert alert.notifications.count() == 2
