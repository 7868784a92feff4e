"""Django talks to the SQLite that pysqlite3-binary bundles where the wheel is installed
(``monitor.sqlite``), never to two SQLite libraries in one process, and to Python's own without it."""

import json
import os
import subprocess
import sys

import pytest
from django.db import connection

from dmarc_reports.bulk import insert_rows

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

pysqlite3 = pytest.importorskip("pysqlite3", reason="no pysqlite3-binary wheel for this platform")
sqlite_only = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite only")


def run_python(code: str) -> dict:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "monitor.settings", "DATABASE_URL": "sqlite:///:memory:"}
    result = subprocess.run([sys.executable, "-c", "import json, sys\n" + code], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@sqlite_only
@pytest.mark.django_db
def test_it_gives_django_the_bundled_sqlite():
    assert connection.Database is pysqlite3.dbapi2
    with connection.cursor() as cursor:
        cursor.execute("SELECT sqlite_version()")
        assert cursor.fetchone()[0] == pysqlite3.sqlite_version
    compile_options = {row[0] for row in pysqlite3.connect(":memory:").execute("PRAGMA compile_options")}
    assert "OMIT_LOOKASIDE" not in compile_options and "SECURE_DELETE" not in compile_options


@sqlite_only
@pytest.mark.django_db
def test_it_inserts_many_rows_through_the_bundled_driver():
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bulk_probe (a integer, b text)")
        insert_rows(cursor, "INSERT INTO bulk_probe (a, b) VALUES", "(%s, %s)", [(n, str(n)) for n in range(1200)])
        cursor.execute("SELECT count(*), sum(a) FROM bulk_probe")
        assert cursor.fetchone() == (1200, sum(range(1200)))


def test_it_loads_one_sqlite_per_process():
    seen = run_python(
        "import django; django.setup()\n"
        "from django.db import connection; import sqlite3\n"
        "connection.ensure_connection()\n"
        "print(json.dumps([connection.Database.__name__, sqlite3.__name__,"
        " '_sqlite3' in sys.modules and 'pysqlite3._sqlite3' in sys.modules]))"
    )
    assert seen == ["pysqlite3.dbapi2", "pysqlite3", False]


def test_it_leaves_a_backend_that_is_loaded_already_as_it_is():
    seen = run_python(
        "import django.db.backends.sqlite3.base as base\n"
        "from monitor import sqlite\n"
        "print(json.dumps([sqlite.prefer_pysqlite3(), base.Database.__name__, sys.modules['sqlite3'].__name__]))"
    )
    assert seen == [False, "sqlite3.dbapi2", "sqlite3"]


def test_it_uses_pythons_sqlite_without_the_wheel():
    seen = run_python(
        "sys.modules['pysqlite3'] = None  # as if not installed: importing it raises ImportError\n"
        "import django; django.setup()\n"
        "from django.db import connection\n"
        "print(json.dumps([connection.Database.__name__]))"
    )
    assert seen == ["sqlite3.dbapi2"]


def test_it_makes_a_new_database_file_with_16_kib_pages_in_wal_mode(tmp_path):
    path = tmp_path / "new.sqlite3"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "monitor.settings", "DATABASE_URL": f"sqlite:///{path}"}
    code = ("import django, json; django.setup()\nfrom django.db import connection\n"
            "with connection.cursor() as c:\n    c.execute('CREATE TABLE t (a integer)')\n"
            "    print(json.dumps([c.execute(f'PRAGMA {p}').fetchone()[0] for p in ('page_size', 'journal_mode', 'synchronous')]))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [16384, "wal", 1]  # synchronous=NORMAL
