"""Files whose import stopped half-way (the process killed, the machine restarted) do not stay
"processing" for ever: the hourly schedule says which of their reports were stored and that the rest
was not read; importing the file again completes it."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import Schedule

from dmarc_reports.importing import ReportOutcome, finish, import_file
from dmarc_reports.interrupted import INTERRUPTED_AFTER, close_interrupted
from dmarc_reports.models import AggregateReport, IncomingFile
from monitor.schedules import sync_schedules
from tests.dmarc_reports.builders import ReportSpec, aggregate_xml, tls_json, zipped

pytestmark = pytest.mark.django_db

THREE = {"a.xml": aggregate_xml(ReportSpec(report_id="a")), "b.json": tls_json(report_id="t-1"),
         "c.xml": aggregate_xml(ReportSpec(report_id="c"))}


def stopped_after(org, names: list[str], minutes_ago: int) -> IncomingFile:
    """What a process killed while importing a zip of THREE leaves behind, once the reports in ``names``
    were stored: the file recorded and "processing", those reports (whole) pointing at it."""
    incoming = IncomingFile.objects.create(organization=org, name="three.zip", size=1, sha256="0" * 64,
                                           via=IncomingFile.UPLOAD)
    if names:
        done = import_file(zipped({name: THREE[name] for name in names}), name="part.zip", org=org, via="command")
        for result in done.results:
            type(result.report).objects.filter(pk=result.report.pk).update(incoming=incoming)
        done.incoming.delete()
    IncomingFile.objects.filter(pk=incoming.pk).update(received=timezone.now() - timedelta(minutes=minutes_ago))
    return incoming


def test_it_says_a_file_with_nothing_stored_was_rejected_and_why(org):
    incoming = stopped_after(org, [], minutes_ago=61)

    assert close_interrupted() == 1

    incoming.refresh_from_db()
    assert incoming.status == IncomingFile.REJECTED
    assert "stopped before it finished" in incoming.reason and "Import it again" in incoming.reason
    assert [r["status"] for r in incoming.results] == ["rejected"]


def test_it_lists_the_reports_stored_before_the_stop_and_calls_the_file_imported(org):
    incoming = stopped_after(org, ["a.xml", "b.json"], minutes_ago=90)

    close_interrupted()

    incoming.refresh_from_db()
    assert incoming.status == IncomingFile.IMPORTED
    assert [(r["status"], r["kind"], r["report_id"], r["domain"], r["records"]) for r in incoming.results] == [
        ("imported", "aggregate", "a", "acme.example", 1), ("imported", "tls", "t-1", "acme.example", 1),
        ("rejected", None, None, None, None)]
    assert "stopped before it finished" in incoming.reason


def test_it_completes_the_file_when_it_is_imported_again(org):
    stopped_after(org, ["a.xml"], minutes_ago=90)
    close_interrupted()

    again = import_file(zipped(THREE), name="three.zip", org=org, via="upload")

    assert [r.status for r in again.results] == ["duplicate", "imported", "imported"]
    assert sorted(AggregateReport.objects.values_list("report_id", flat=True)) == ["a", "c"]


def test_it_leaves_a_file_still_being_imported_alone(org):
    incoming = stopped_after(org, ["a.xml"], minutes_ago=int(INTERRUPTED_AFTER.total_seconds() // 60) - 5)

    assert close_interrupted() == 0

    incoming.refresh_from_db()
    assert incoming.status == IncomingFile.PROCESSING and incoming.results == []


def test_it_never_overwrites_an_import_that_finished_meanwhile(org):
    incoming = stopped_after(org, [], minutes_ago=61)
    seen_as_stale = IncomingFile.objects.get(pk=incoming.pk)  # what the sweep read ...
    finish(incoming, org, [ReportOutcome("duplicate", kind="aggregate", report_id="x")])  # ... then the import ended

    finish(seen_as_stale, org, [ReportOutcome("rejected", error="stopped")], unless_finished=True)

    incoming.refresh_from_db()
    assert incoming.status == IncomingFile.DUPLICATE and incoming.reason == ""


@pytest.mark.django_db(transaction=True)
def test_it_runs_on_its_schedule(org, settings, monkeypatch):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    monkeypatch.setattr(Conf, "SYNC", True)  # django-q reads Q_CLUSTER once, at import
    incoming = stopped_after(org, ["a.xml"], minutes_ago=120)
    sync_schedules()
    schedule = Schedule.objects.get(name="monitor:close-interrupted-imports")
    assert schedule.cron == "17 * * * *"
    Schedule.objects.filter(pk=schedule.pk).update(next_run=timezone.now() - timedelta(minutes=1))

    from django_q.scheduler import scheduler

    scheduler()

    incoming.refresh_from_db()
    assert incoming.status == IncomingFile.IMPORTED
