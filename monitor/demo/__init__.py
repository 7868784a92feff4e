"""Demo data for `make run`: the demo inventory, then each subject's own demo history.

``DEMO_LOADERS`` holds functions ``(org) -> str`` that add months of history for one subject (reports,
audits, alerts) when it is not there yet, and say what they did. They must be idempotent.
"""

from pathlib import Path

from dmarc_reports.demo import load_report_history
from monitor.alerts.demo import load_alert_history
from monitor.blocklists.demo import load_demo_history as load_blocklist_history
from monitor.dns_audit.demo import load_dns_history
from monitor.inventory import load_inventory
from monitor.models import Organization

INVENTORY = Path(__file__).resolve().parent / "inventory.toml"
DEMO_LOADERS: list = [load_report_history, load_blocklist_history, load_dns_history, load_alert_history]


def load_demo() -> list[str]:
    said = load_inventory(INVENTORY)
    org = Organization.objects.get(slug="acme")
    for loader in DEMO_LOADERS:
        said.append(loader(org))
    return said
