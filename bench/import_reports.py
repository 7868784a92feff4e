"""Importing a big gzip'd aggregate report, as a whole `manage.py import_reports` process.

For 20,000 and 200,000 rows, each into a fresh SQLite database: wall time and peak RSS of the
command process, against the floor (lxml iterparse of the same file, nothing else, in this
process) and against the target (1/20 of parsedmarc's offline CLI, ~35 s per 50,000 rows here,
so 0.7 s for 20,000 rows; peak memory at most 150 MiB). No asserts: figures to read.
"""

import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.make_report import write_aggregate_report  # noqa: E402

PARSEDMARC_SECONDS_PER_ROW = 35 / 50_000
SCHEMA = """
import django
django.setup()
from django.apps import apps
from django.db import connection
with connection.schema_editor() as editor:
    for model in apps.get_models():
        if model._meta.managed and not model._meta.proxy:
            editor.create_model(model)
from monitor.models import Organization
Organization.objects.create(slug="bench", name="Bench")
"""


def floor_seconds(path: Path) -> float:
    """lxml iterparse of the file, elements cleared as they end: the least any importer must do."""
    started = time.perf_counter()
    with gzip.open(path, "rb") as stream:
        for _, element in etree.iterparse(stream, events=("end",), tag="record"):
            element.clear()
            while element.getprevious() is not None:
                del element.getparent()[0]
    return time.perf_counter() - started


def parse_seconds(path: Path) -> float:
    """The pipeline's parse alone (read_reports, rows read to the end), in this process: what storing adds to."""
    from dmarc_reports.ingest import Parsed, read_reports

    started = time.perf_counter()
    for item in read_reports(path):
        if isinstance(item, Parsed):
            for _ in item.report.rows.batches(5000):
                pass
    return time.perf_counter() - started


def run_measured(command: list[str], env: dict) -> tuple[float, float, str]:
    """(seconds, peak RSS in MiB, output) of one child process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = process.stdout.read().decode()
    _, status, usage = os.wait4(process.pid, 0)
    took = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{output}")
    return took, usage.ru_maxrss / 1024, output


def main(sizes=(20_000, 200_000)):
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        template = folder / "template.sqlite3"
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "monitor.settings", "DATABASE_URL": f"sqlite:///{template}"}
        env.pop("REDIS_URL", None)
        subprocess.run([sys.executable, "-c", SCHEMA], cwd=ROOT, env=env, check=True)
        python = sys.executable
        startup, startup_rss, _ = run_measured([python, "manage.py", "import_reports", "--help"], env)
        print(f"django start-up (import_reports --help): {startup:.2f} s, {startup_rss:.0f} MiB")
        for rows in sizes:
            path = folder / f"bench!example.com!{rows}.xml.gz"
            write_aggregate_report(path, rows, seed=rows)
            database = folder / f"import-{rows}.sqlite3"
            shutil.copy(template, database)
            run_env = {**env, "DATABASE_URL": f"sqlite:///{database}"}
            took, rss, output = run_measured([python, "manage.py", "import_reports", "--org", "bench", str(path)],
                                             run_env)
            floor = floor_seconds(path)
            parse = parse_seconds(path)
            target = rows * PARSEDMARC_SECONDS_PER_ROW / 20
            print(f"{rows:>8} rows ({path.stat().st_size / 1e6:.1f} MB gz): import_reports {took:.2f} s, "
                  f"peak RSS {rss:.0f} MiB | floor (lxml iterparse alone) {floor:.2f} s, ratio {took / floor:.1f}x | "
                  f"of which parsing (read_reports alone) {parse:.2f} s, start-up {startup:.2f} s, "
                  f"storing the rest {max(0.0, took - parse - startup):.2f} s | "
                  f"target {target:.2f} s (1/20 of parsedmarc), parsedmarc/us {rows * PARSEDMARC_SECONDS_PER_ROW / took:.1f}x",
                  flush=True)
            if "1 report(s) imported" not in output:
                print("   unexpected output:", output.strip())


if __name__ == "__main__":
    main()
