import pytest

from monitor.alerts.demo import load_alert_history
from monitor.models import Alert, Notification, Organization

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_org():
    from dmarc_reports.demo import load_report_history
    from monitor.blocklists.demo import load_demo_history
    from monitor.demo import INVENTORY
    from monitor.dns_audit.demo import load_dns_history
    from monitor.inventory import load_inventory

    load_inventory(INVENTORY)
    org = Organization.objects.get(slug="acme")
    for loader in (load_demo_history, load_dns_history, load_report_history):
        loader(org)
    return org


def test_it_records_the_demo_history_once_and_quietly(demo_org):
    said = load_alert_history(demo_org)
    alerts = Alert.objects.filter(organization=demo_org)
    listed = alerts.filter(kind=Alert.LISTED)
    assert listed.count() >= 6 and listed.filter(status=Alert.OPEN).count() >= 1
    assert alerts.filter(kind=Alert.DNS_CHANGE).exists()
    # Alerts carry the time the change happened, not the time the demo was loaded.
    assert min(a.opened for a in listed) < max(a.opened for a in listed)
    assert not Notification.objects.exists()
    assert said.startswith(f"Alert history of acme: {alerts.count()} alerts")

    assert load_alert_history(demo_org) == "Alert history of acme: already there"
    assert Alert.objects.count() == alerts.count()
