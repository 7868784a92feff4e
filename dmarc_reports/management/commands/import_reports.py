"""`manage.py import_reports [--org SLUG] [--json] PATH...`: import report files and folders.

Folders are read recursively (hidden files skipped). Each file goes through ``import_file``; with
``--json`` one JSON object per line for each report found or file refused, else a summary line
per file. Exit status 0 when every file was handled (rejections are handled); 1 when a path
does not exist or cannot be read. A progress bar is drawn on stderr when it is a terminal.
"""

import gc
import json
import os
import sys
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from dmarc_reports.head_start import files_under
from dmarc_reports.importing import import_file, limits, queue_enrichment
from dmarc_reports.read_ahead import ReadAhead
from dmarc_reports.store import rollups_per_batch
from monitor.alerts.evaluate import after_import
from monitor.models import Organization

SQLITE_CACHE_KIB = 16 * 1024


class Progress:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal."""

    WIDTH = 30

    def __init__(self, total: int, stream=None):
        self.total = max(total, 1)
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.drawn = 0.0

    def update(self, done: int, label: str) -> None:
        if not self.enabled or (time.monotonic() - self.drawn < 0.1 and done < self.total):
            return
        self.drawn = time.monotonic()
        filled = self.WIDTH * done // self.total
        label = label if len(label) <= 40 else "..." + label[-37:]
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.WIDTH - filled)}] {done}/{self.total} {label:<40}")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * (self.WIDTH + 60) + "\r")
            self.stream.flush()


class Command(BaseCommand):
    help = "Import DMARC aggregate and TLS-RPT report files (and folders of them, recursively)."
    requires_system_checks = []  # an import needs no URL or template checks; it starts faster without

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH", help="Report files or folders.")
        parser.add_argument("--org", metavar="SLUG", help="The organisation (else found from the report's domain).")
        parser.add_argument("--json", action="store_true", help="One JSON object per line per report or rejection.")

    def execute(self, *args, **options):
        gc.freeze()  # the start-up's objects are left out of the collections that the import sets off
        gc.enable()  # (manage.py holds the collector back while Django loads)
        try:
            return super().execute(*args, **options)
        finally:
            gc.unfreeze()

    def handle(self, *args, paths, org=None, json=False, **options):
        missing = [p for p in paths if not os.path.exists(p)]
        if missing:
            raise CommandError(f"No such file or folder: {', '.join(missing)}")
        files = list(files_under(paths))
        with ReadAhead([path for _, path in files], limits(), rollups_per_batch()) as ahead:  # read as we store
            organization = None
            if org:
                organization = Organization.objects.filter(slug=org).first()
                if organization is None:
                    raise CommandError(f"There is no organisation with the slug {org!r}")
            if connection.vendor == "sqlite":  # a larger page cache for big reports' index updates (here only)
                with connection.cursor() as cursor:
                    cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
            self.import_files(files, organization, ahead, json)

    def import_files(self, files, organization, ahead, json):
        progress = Progress(len(files))
        totals = {"imported": 0, "duplicate": 0, "rejected": 0}
        report_pks = []
        orgs_with_news = {}
        unreadable = 0
        for done, (label, path) in enumerate(files, start=1):
            progress.update(done - 1, label)
            reports = ahead.reports()
            try:
                with open(path, "rb") as stream:
                    outcome = import_file(stream, name=path.name, org=organization, via="command", enrich=False,
                                          reports=reports)
            except OSError as error:
                unreadable += 1
                self.stderr.write(f"{label}: cannot be read ({error.strerror or error})")
                continue
            for result in outcome.results:
                totals[result.status] += 1
                if result.status == "imported":
                    orgs_with_news[result.org.pk] = result.org
                    if result.kind == "aggregate":
                        report_pks.append(result.report.pk)
            if json:
                for line in outcome.as_json_lines(label):
                    self.stdout.write(_dumps(line))
            else:
                self.stdout.write(summary(label, outcome))
        progress.update(len(files), "")
        progress.close()
        queue_enrichment(report_pks)
        for organization in orgs_with_news.values():
            after_import(organization)
        if not json:
            self.stdout.write(f"{len(files)} file(s): {totals['imported']} report(s) imported, "
                              f"{totals['duplicate']} duplicate(s), {totals['rejected']} rejected")
        if unreadable:
            raise CommandError(f"{unreadable} file(s) could not be read", returncode=1)


def _dumps(line: dict) -> str:
    return json.dumps(line, ensure_ascii=False)


def summary(label: str, outcome) -> str:
    parts = []
    for result in outcome.results:
        if result.status == "rejected":
            parts.append(f"rejected: {result.error}")
        else:
            parts.append(f"{result.status} {result.kind} {result.report_id} ({result.domain}, {result.org.slug}, "
                         f"{result.records} records, {result.messages} messages)")
    return f"{label}: " + "; ".join(parts)
