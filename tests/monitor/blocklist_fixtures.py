"""Shared set-up for the blocklist tests (imported by tests/monitor/test_blocklist_*.py)."""

import pytest

from monitor.blocklists.catalogue import load_catalogue
from monitor.models import Pool, PoolMember
from monitor.models.blocklists import Blocklist

# Zones under tests/zones served by the loopback DNS server.
PLAIN = "plain.bl.test"
EVERYTHING = "everything.bl.test"
REFUSING = "refusing.bl.test"
HIJACKED = "hijacked.bl.test"


@pytest.fixture
def bl_settings(settings, dns_settings):
    """DNS questions go to the loopback server; timeouts short so 'drop' tests stay fast."""
    settings.DNS_TIMEOUT = 0.3
    return dns_settings


@pytest.fixture
def catalogue(db):
    load_catalogue()
    return Blocklist.objects.all()


def only(*zones):
    """Enable exactly these lists (the rest of the catalogue is switched off)."""
    Blocklist.objects.exclude(zone__in=zones).update(enabled=False)
    Blocklist.objects.filter(zone__in=zones).update(enabled=True)


def make_list(zone, kind="ip", **fields):
    fields.setdefault("name", zone)
    fields.setdefault("codes", {"127.0.0.2": "listed"})
    return Blocklist.objects.create(zone=zone, kind=kind, source="admin", **fields)


def make_pool(org, kind, *members, name=None):
    pool = Pool.objects.create(organization=org, name=name or f"{kind}-pool", kind=kind)
    PoolMember.objects.bulk_create([PoolMember(pool=pool, value=value) for value in members])
    return pool


def results_by_target(run):
    return {(r.target, r.blocklist.zone): r for r in run.blocklist_results.select_related("blocklist")}


class Recorder(list):
    """An ``emit`` callable that keeps every record."""

    def __call__(self, record):
        self.append(record)

    def results(self):
        return {(r["target"], r["zone"]): r for r in self if "target" in r}

    def health(self):
        return {r["zone"]: r for r in self if "health" in r}
