"""Demo data for `make run`: the demo inventory, then each subject's own demo history.

``DEMO_LOADERS`` holds functions ``(org) -> str`` that add months of history for one subject (reports,
audits, alerts) when it is not there yet, and say what they did. They must be idempotent.
"""

from pathlib import Path

from monitor.inventory import load_inventory
from monitor.models import Organization

INVENTORY = Path(__file__).resolve().parent / "inventory.toml"
DEMO_LOADERS: list = []


def load_demo() -> list[str]:
    said = load_inventory(INVENTORY)
    org = Organization.objects.get(slug="acme")
    for loader in DEMO_LOADERS:
        said.append(loader(org))
    return said
