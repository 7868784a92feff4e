"""The reader that manage.py starts before Django loads is taken over only when it reads what the command reads."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dmarc_reports import head_start
from dmarc_reports.ingest import Limits
from dmarc_reports.read_ahead import ReadAhead
from dmarc_reports.store import rollups_per_batch

from .builders import ReportSpec, aggregate_xml

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def reports(tmp_path):
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    (folder / ".hidden.xml").write_bytes(b"not read")
    paths = []
    for number, place in enumerate((folder / "a.xml", folder / "sub" / "b.xml")):
        place.write_bytes(aggregate_xml(ReportSpec(report_id=f"early-{number}")))
        paths.append(str(place))
    return folder, paths


def started_process():
    return head_start._started[2] if head_start._started else None


def test_it_is_taken_over_for_the_same_files_and_limits(reports):
    folder, paths = reports
    head_start.start(["--org", "acme", "--json", str(folder)])
    early = started_process()
    assert early is not None
    with ReadAhead(paths, Limits(), rollups_per_batch()) as ahead:
        assert ahead.process is early
        assert [item.report.report_id for item in ahead.reports()] == ["early-0"]
    assert head_start._started is None


def test_it_is_stopped_when_the_command_reads_other_files_or_limits_or_takes_rollups_otherwise(reports):
    folder, paths = reports
    same = rollups_per_batch()
    for other_paths, limits, per_batch in ((paths[:1], Limits(), same), (paths, Limits(max_members=3), same),
                                           (paths, Limits(), not same)):
        head_start.start([str(folder)])
        early = started_process()
        with ReadAhead(other_paths, limits, per_batch) as ahead:
            assert ahead.process is not early
            assert early.wait(timeout=10) is not None
            assert [item.report.report_id for item in ahead.reports()] == ["early-0"]


def test_it_starts_nothing_for_a_line_it_cannot_read(monkeypatch, tmp_path):
    head_start.start([])
    head_start.start(["--org"])
    monkeypatch.setenv("INGEST_MAX_BYTES", "lots")
    head_start.start([str(tmp_path)])
    assert head_start._started is None


def test_it_reads_the_limits_the_environment_sets(monkeypatch, reports):
    folder, paths = reports
    monkeypatch.setenv("INGEST_MAX_BYTES", "5000")
    monkeypatch.setenv("INGEST_MAX_MEMBERS", "7")
    head_start.start([str(folder)])
    early = started_process()
    with ReadAhead(paths, Limits(max_total_bytes=5000, max_members=7), rollups_per_batch()) as ahead:
        assert ahead.process is early


FORKED = """
import json, sys
from dmarc_reports import head_start
from dmarc_reports.ingest import Limits
from dmarc_reports.read_ahead import ReadAhead

folder, paths = sys.argv[1], json.loads(sys.argv[2])
head_start.start([folder])
early = head_start._started[2]
assert isinstance(early, head_start.Forked), early
with ReadAhead(paths, Limits(), head_start.sqlite_named()) as ahead:
    assert ahead.process is early
    print([item.report.report_id for _ in paths for item in ahead.reports()])
head_start.start([folder])
other = head_start._started[2]
assert head_start.take(paths[:1]) is None  # other files: stopped
print(early.returncode is not None, other.returncode is not None, "django" in sys.modules)
"""


def test_it_forks_the_reader_from_a_process_that_has_loaded_nothing(reports):
    """As manage.py starts it (a process without Django, without threads): a fork, read as a spawned
    reader is, and stopped and waited for the same way."""
    folder, paths = reports
    done = subprocess.run([sys.executable, "-c", FORKED, str(folder), json.dumps(paths)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["['early-0', 'early-1']", "True True False"]


def test_it_imports_through_manage_py(reports, tmp_path):
    """The whole command line, as a user runs it: manage.py starts the reader, the command takes it over."""
    folder, _ = reports
    database = tmp_path / "db.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    subprocess.run([sys.executable, "manage.py", "shell", "-c",
                    "from monitor.models import Organization; Organization.objects.create(slug='acme', name='Acme')"],
                   cwd=ROOT, env=env, check=True)
    done = subprocess.run([sys.executable, "manage.py", "import_reports", "--org", "acme", str(folder)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "2 file(s): 2 report(s) imported, 0 duplicate(s), 0 rejected" in done.stdout  # (written before _exit)
    stored = subprocess.run([sys.executable, "manage.py", "shell", "-c",
                             "from dmarc_reports.models import AggregateReport, IncomingFile; "
                             "print(AggregateReport.objects.count(), sorted(IncomingFile.objects.values_list('status', flat=True)))"],
                            cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert stored.stdout.split("\n")[-2] == "2 ['imported', 'imported']"
    missing = subprocess.run([sys.executable, "manage.py", "import_reports", str(folder / "nope.xml")], cwd=ROOT,
                             env=env, capture_output=True, text=True, timeout=120)
    assert missing.returncode == 1 and "No such file or folder" in missing.stderr


def test_it_expects_sqlite_unless_database_url_names_another_database(monkeypatch):
    for url, expected in (("", True), ("sqlite:////tmp/db.sqlite3", True), ("postgres://u@127.0.0.1/db", False)):
        monkeypatch.setenv("DATABASE_URL", url)
        assert head_start.sqlite_named() is expected
    monkeypatch.delenv("DATABASE_URL")
    assert head_start.sqlite_named() is True
