"""Two processes importing the same report at the same moment store it once (the constraint decides).

Runs on the database the suite runs on: PostgreSQL when DATABASE_URL names one (the test
database), else a SQLite file of its own (an in-memory test database cannot be shared).
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from monitor.models import Organization
from tests.dmarc_reports.builders import ReportSpec, RowSpec, aggregate_xml, gz

ROOT = Path(__file__).resolve().parents[2]
ROWS = 2000


def worker(env, *args, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "tests.dmarc_reports.race_worker", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def finished(process) -> str:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return out.strip()


def database_env(tmp_path) -> dict:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "monitor.settings"}
    env.pop("REDIS_URL", None)
    if connection.vendor == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'race.sqlite3'}"
        finished(worker(env, "schema", "racers"))
    else:
        db = connection.settings_dict
        env["DATABASE_URL"] = (f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
                               f"{db['PORT'] or 5432}/{db['NAME']}")
        Organization.objects.create(slug="racers", name="Racers")
    return env


@pytest.mark.django_db(transaction=True)
def test_it_stores_a_report_once_when_two_processes_import_it_at_once(tmp_path):
    env = database_env(tmp_path)
    rows = [RowSpec(source_ip=f"198.51.100.{n % 250 + 1}", count=n % 7 + 1) for n in range(ROWS)]
    messages = sum(row.count for row in rows)
    for round_ in range(2):
        data = aggregate_xml(ReportSpec(report_id=f"race-{round_}", rows=rows))
        paths = [tmp_path / f"r{round_}.xml", tmp_path / f"r{round_}.xml.gz"]  # the same report, two wrappings
        paths[0].write_bytes(data)
        paths[1].write_bytes(gz(data))
        go = tmp_path / f"go-{round_}"
        ready = [tmp_path / f"ready-{round_}-{n}" for n in range(2)]
        racers = [worker(env, "import", "racers", str(path), str(flag), str(go)) for path, flag in zip(paths, ready)]
        deadline = time.monotonic() + 60
        while not all(flag.exists() for flag in ready):
            assert time.monotonic() < deadline and all(r.poll() is None for r in racers), "a racer did not start"
            time.sleep(0.01)
        go.touch()
        statuses = sorted(finished(racer) for racer in racers)
        assert statuses == ["duplicate", "imported"]
        reports, stored_rows, rolled = map(int, finished(worker(env, "count")).split())
        assert (reports, stored_rows, rolled) == (round_ + 1, ROWS * (round_ + 1), messages * (round_ + 1))
