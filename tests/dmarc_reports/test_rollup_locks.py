"""Two imports adding to one domain's roll-ups at once, on PostgreSQL (SQLite writes one transaction at a
time): a report of more sources than ``prepare.FLUSH_AT`` comes in parts, and parts arriving in crossing
orders must wait for each other, never deadlock."""

import threading
import time

import pytest
from django.db import connection, connections, transaction
from django.db.models import Sum

from dmarc_reports.models import DailyRollup, DomainDailyRollup
from dmarc_reports.prepare import RollupValues
from dmarc_reports.rollups import ReportRollups

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's row locks; SQLite has none to cross"),
    pytest.mark.django_db(transaction=True),
]

DAY = "2026-03-01"
LOW = [f"198.51.100.{n}" for n in range(1, 11)]
HIGH = [f"203.0.113.{n}" for n in range(1, 11)]


def part(addresses: list[str]) -> RollupValues:
    """Each address: 5 messages, all passing (as ``prepare.rollup_values`` hands them out)."""
    figures = (5, 5, 5, 5, 5, 0, 0, 0, 0)
    return RollupValues(sources=[(address, DAY, "", *figures) for address in addresses],
                        days=[(DAY, *(n * len(addresses) for n in figures))])


def test_it_makes_a_second_import_wait_rather_than_deadlock(org):
    first_part_added, go_on = threading.Event(), threading.Event()
    errors = []

    def importing(parts, before=None, between=None):
        try:
            if before:
                before.wait(10)
            with transaction.atomic():
                rollups = ReportRollups(org.pk, "acme.example")
                for number, values in enumerate(parts):
                    rollups.add(values)
                    if number == 0 and between:
                        between()
                rollups.finish()
        except Exception as error:  # a deadlock, say: PostgreSQL breaks it by failing one transaction
            errors.append(error)
        finally:
            connections.close_all()

    def first_waits():
        first_part_added.set()
        go_on.wait(10)

    # The first import adds LOW and waits; the second adds HIGH then LOW (LOW is the first's, uncommitted),
    # then the first adds HIGH (the second's, uncommitted): without the domain's lock, each waits for the other.
    one = threading.Thread(target=importing, args=([part(LOW), part(HIGH)],), kwargs={"between": first_waits})
    two = threading.Thread(target=importing, args=([part(HIGH), part(LOW)],), kwargs={"before": first_part_added})
    one.start()
    two.start()
    first_part_added.wait(10)
    time.sleep(0.5)  # the second import gets as far as it can
    go_on.set()
    one.join(30)
    two.join(30)

    assert errors == []
    assert DailyRollup.objects.count() == 20
    assert DailyRollup.objects.aggregate(n=Sum("messages"))["n"] == 2 * 20 * 5
    [day] = DomainDailyRollup.objects.all()
    assert (day.messages, day.dmarc_pass) == (200, 200)
