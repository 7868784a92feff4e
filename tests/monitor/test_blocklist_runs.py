"""Audit runs: AuditRun.start()/beat()/succeed()/fail(), no overlap, a dead worker's run closed as
failed with what it finished kept, and the next run completing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from monitor.blocklists.audit import run_blocklist_audit
from monitor.blocklists.engine import Engine
from monitor.models import AuditAlreadyRunning, AuditRun
from monitor.models.audits import STALE_AFTER
from monitor.models.blocklists import BlocklistResult, Listing

from tests.monitor.blocklist_fixtures import PLAIN, Recorder, bl_settings, make_list, make_pool  # noqa: F401

pytestmark = pytest.mark.django_db


def test_it_refuses_a_second_run_of_the_same_kind(org, other_org):
    AuditRun.start(org, AuditRun.BLOCKLIST)
    with pytest.raises(AuditAlreadyRunning):
        AuditRun.start(org, AuditRun.BLOCKLIST)
    assert AuditRun.start(org, AuditRun.DNS).status == AuditRun.RUNNING, "another kind may run"
    assert AuditRun.start(other_org, AuditRun.BLOCKLIST).status == AuditRun.RUNNING, "another organisation may run"


def test_it_closes_a_stale_run_as_failed_before_starting(org):
    stale = AuditRun.start(org, AuditRun.BLOCKLIST)
    stale.beat({"listed": 1})
    AuditRun.objects.filter(pk=stale.pk).update(heartbeat=timezone.now() - STALE_AFTER - timedelta(seconds=1))

    fresh = AuditRun.start(org, AuditRun.BLOCKLIST, trigger=AuditRun.MANUAL)

    stale.refresh_from_db()
    assert stale.status == AuditRun.FAILED and "stopped mid-run" in stale.error
    assert stale.counts == {"listed": 1} and stale.finished is not None
    assert fresh.status == AuditRun.RUNNING and fresh.trigger == AuditRun.MANUAL


def test_it_keeps_a_live_run_that_beats(org):
    live = AuditRun.start(org, AuditRun.BLOCKLIST)
    AuditRun.objects.filter(pk=live.pk).update(heartbeat=timezone.now() - STALE_AFTER + timedelta(minutes=1))
    with pytest.raises(AuditAlreadyRunning):
        AuditRun.start(org, AuditRun.BLOCKLIST)
    live.refresh_from_db()
    assert live.status == AuditRun.RUNNING


def test_it_records_counts_and_duration_of_a_run(bl_settings, org):
    make_list(PLAIN)
    make_pool(org, "ip", "192.0.2.10", "192.0.2.11")

    run = run_blocklist_audit(org)

    run.refresh_from_db()
    assert run.kind == AuditRun.BLOCKLIST and run.status == AuditRun.SUCCEEDED and run.trigger == AuditRun.SCHEDULE
    assert run.finished >= run.started and run.duration is not None and run.error == ""
    assert {k: run.counts[k] for k in ("targets", "lists", "listed", "clean", "error")} == {
        "targets": 2, "lists": 1, "listed": 1, "clean": 1, "error": 0}


def test_it_refuses_to_overlap_a_running_audit(bl_settings, org):
    make_list(PLAIN)
    make_pool(org, "ip", "192.0.2.10")
    running = AuditRun.start(org, AuditRun.BLOCKLIST)

    with pytest.raises(AuditAlreadyRunning):
        run_blocklist_audit(org)

    assert AuditRun.objects.filter(organization=org).count() == 1
    assert not bl_settings.queries, "nothing was asked"
    running.refresh_from_db()
    assert running.status == AuditRun.RUNNING


class Crash(Exception):
    pass


def crash_on(number):
    """An emit that kills the audit at the n-th result, as a worker dying mid-run would."""
    seen = Recorder()

    def emit(record):
        seen(record)
        if len(seen.results()) == number:
            raise Crash("worker killed")

    return emit


def test_it_keeps_what_a_failed_run_finished_and_the_next_run_completes(bl_settings, org):
    make_list(PLAIN)
    bl_settings.add_record("1.2.0.192.plain.bl.test.", "A", "127.0.0.2")
    bl_settings.set_fault("3.2.0.192.plain.bl.test.", servfail=True)
    make_pool(org, "ip", "192.0.2.0/29")  # hosts .1 to .6
    engine = Engine(in_flight=1, batch_size=2)  # one question at a time, stored two by two

    with pytest.raises(Crash):
        run_blocklist_audit(org, emit=crash_on(5), engine=engine)

    failed = AuditRun.objects.get()
    assert failed.status == AuditRun.FAILED and "worker killed" in failed.error and failed.finished
    assert (failed.counts["listed"], failed.counts["error"], failed.counts["clean"]) == (1, 1, 2), "the 2 stored batches"
    stored = {(r.target, r.status) for r in BlocklistResult.objects.filter(run=failed)}
    assert stored == {("192.0.2.1", "listed"), ("192.0.2.3", "error")}
    [listing] = Listing.objects.all()
    assert listing.target == "192.0.2.1" and listing.first_run == failed

    bl_settings.set_fault("3.2.0.192.plain.bl.test.")  # healthy again
    second = run_blocklist_audit(org)

    assert second.status == AuditRun.SUCCEEDED
    assert (second.counts["listed"], second.counts["clean"], second.counts["error"]) == (1, 5, 0)
    [listing] = Listing.objects.all()
    assert listing.first_run == failed and listing.last_run == second, "the interval carries on"


def test_it_closes_a_killed_workers_run_on_the_next_run(bl_settings, org):
    make_list(PLAIN)
    make_pool(org, "ip", "192.0.2.10")
    killed = AuditRun.start(org, AuditRun.BLOCKLIST)
    killed.beat({"listed": 0, "clean": 3})
    AuditRun.objects.filter(pk=killed.pk).update(heartbeat=timezone.now() - STALE_AFTER - timedelta(minutes=1))

    run = run_blocklist_audit(org)

    killed.refresh_from_db()
    assert killed.status == AuditRun.FAILED and killed.counts["clean"] == 3
    assert run.status == AuditRun.SUCCEEDED and run.counts["listed"] == 1
