"""Import one incoming file: record it, read the reports in it, store each once, say what happened.

    outcome = import_file(upload, name="google.com!acme.example!1700000000!1700086399.zip",
                          org=None, via="upload", user=request.user)
    outcome.status        # "imported" (any report imported), "duplicate" (all duplicates), "rejected"
    outcome.results       # one ReportOutcome per report found (or per member refused)
    outcome.incoming      # the IncomingFile row: name, size, sha256, via, who, when, status, reason, raw
    outcome.as_json_lines("path/as/given")   # the dicts `import_reports --json` prints

The steps, top to bottom:

1. ``receive``: hash and measure the file, keep its raw bytes (compressed), refuse it if it is
   over the ingest limit; record it as an ``IncomingFile``;
2. ``read_reports`` (``dmarc_reports.ingest``): detect, unwrap, parse, validate;
3. ``owner_of``: the organisation, when none was given;
4. ``store_report``: one transaction per report, stored once;
5. ``finish``: the file's status, reason and results; enrichment of new sources queued.

Nothing raises for bad input: every problem is a rejected ``ReportOutcome`` with a reason.
"""

import hashlib
import io
import logging
import tempfile
import zlib
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DataError

from dmarc_reports import ingest
from dmarc_reports.ingest import Failed, Limits, Parsed, Rejected
from dmarc_reports.models import IncomingFile
from dmarc_reports.owners import Unresolved, owner_of
from dmarc_reports.store import store_report

log = logging.getLogger(__name__)

VIAS = {choice for choice, _ in IncomingFile.VIAS}
CHUNK = 1024 * 1024
KEEP_RAW_BYTES = 32 * 1024 * 1024  # a raw file larger than this (compressed) is recorded but not kept
COMPRESSED_MAGIC = (b"\x1f\x8b", b"PK\x03\x04")


@dataclass
class ReportOutcome:
    status: str  # "imported", "duplicate" or "rejected"
    kind: str | None = None  # "aggregate", "tls", or None when nothing could be read
    org: object = None  # Organization or None
    report_id: str | None = None
    domain: str | None = None
    records: int | None = None
    messages: int | None = None
    error: str | None = None
    member: str = ""  # where in the file (a zip member, an e-mail part ...)
    report: object = None  # the stored AggregateReport / TlsReport, if any

    def as_dict(self) -> dict:
        return {
            "status": self.status, "kind": self.kind, "org": self.org.slug if self.org else None,
            "report_id": self.report_id, "domain": self.domain, "records": self.records,
            "messages": self.messages, "error": self.error,
        }


@dataclass
class FileOutcome:
    incoming: IncomingFile
    status: str
    results: list[ReportOutcome] = field(default_factory=list)

    def as_json_lines(self, file_label: str) -> list[dict]:
        """One dict per report found or member refused, ``{"file": file_label, "status": ..., ...}``."""
        return [{"file": file_label, **result.as_dict()} for result in self.results]

    @property
    def counts(self) -> dict:
        counts = {"imported": 0, "duplicate": 0, "rejected": 0}
        for result in self.results:
            counts[result.status] += 1
        return counts


def limits() -> Limits:
    return Limits(max_total_bytes=settings.INGEST_MAX_BYTES, max_members=settings.INGEST_MAX_MEMBERS)


def import_file(source, *, name: str, org=None, via: str, user=None, enrich: bool = True,
                reports=None) -> FileOutcome:
    """Record, read and store one incoming file (bytes or a binary file object); see the module docstring.

    ``org``: the organisation the reports go to; ``None`` finds it per report (``owners``).
    ``enrich``: queue the reverse-DNS look-up of new sources (the import command queues once at the end).
    ``reports``: what ``read_reports`` yields for this file, when the caller reads it elsewhere
    (``import_reports`` reads in a second process, ``ingest.ahead``); by default it is read here.
    """
    if via not in VIAS:
        raise ValueError(f"via must be one of {sorted(VIAS)}, not {via!r}")
    received = receive(source)
    incoming = IncomingFile.objects.create(
        organization=org, name=name[:500], size=received.size, sha256=received.sha256, via=via,
        user=user if user is not None and user.is_authenticated else None,
        raw=received.raw, raw_encoding=received.raw_encoding,
    )
    results = []
    try:
        if received.refusal:
            results.append(ReportOutcome("rejected", error=received.refusal, member=name))
        else:
            if reports is None:
                reports = ingest.read_reports(received.stream, name=name, limits=limits())
            for item in reports:
                results.append(import_item(item, org, incoming))
    except Exception:  # a bug, or the database went away: the file's record says so, then the error goes on
        log.exception("importing %s failed", name)
        results.append(ReportOutcome("rejected", member=name,
                                     error="An unexpected error stopped the import of this file; it was logged"))
        finish(incoming, org, results)
        raise
    finally:
        received.close()
    outcome = finish(incoming, org, results)
    if enrich:
        queue_enrichment([r.report.pk for r in results if r.status == "imported" and r.kind == "aggregate"])
    return outcome


# -- 1. receive -------------------------------------------------------------------------------------

@dataclass
class Received:
    stream: object  # seekable, at 0
    size: int
    sha256: str
    raw: bytes | None
    raw_encoding: str
    refusal: str = ""
    ours: bool = True  # a copy we made (closed when done), or the caller's file (left open)

    def close(self):
        if self.ours:
            self.stream.close()


def receive(source) -> Received:
    """Measure, hash and keep (compressed) the file, reading it once in chunks; never past the limit."""
    limit = settings.INGEST_MAX_BYTES
    if isinstance(source, (bytes, bytearray, memoryview)):
        reader = stream = io.BytesIO(bytes(source))
    elif source.seekable():
        source.seek(0)
        reader = stream = source
    else:  # a pipe: spooled to a temporary file so the reports can be read from it
        reader, stream = source, tempfile.SpooledTemporaryFile(max_size=4 * CHUNK)
    received = Received(stream, 0, "", None, "", ours=stream is not source)
    digest = hashlib.sha256()
    keeper = RawKeeper()
    while chunk := reader.read(CHUNK):
        received.size += len(chunk)
        if received.size > limit:
            received.refusal = f"The file is larger than the {limit // (1024 * 1024)} MB ingest limit; it was not read"
            return received
        digest.update(chunk)
        keeper.add(chunk)
        if stream is not reader:
            stream.write(chunk)
    stream.seek(0)
    received.sha256 = digest.hexdigest()
    received.raw, received.raw_encoding = keeper.result()
    return received


class RawKeeper:
    """The raw file for "download the raw file": kept as sent when it is gzip or zip already, gzip'd
    otherwise; not kept when that would take more than ``KEEP_RAW_BYTES``."""

    def __init__(self):
        self.pieces: list[bytes] | None = []
        self.kept = 0
        self.compressor = None
        self.started = False

    def add(self, chunk: bytes) -> None:
        if not self.started:
            self.started = True
            if not chunk.startswith(COMPRESSED_MAGIC):
                self.compressor = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: gzip format
        if self.pieces is None:
            return
        piece = self.compressor.compress(chunk) if self.compressor else chunk
        self.pieces.append(piece)
        self.kept += len(piece)
        if self.kept > KEEP_RAW_BYTES:
            self.pieces = None

    def result(self) -> tuple[bytes | None, str]:
        if self.pieces is None:
            return None, ""
        if self.compressor:
            self.pieces.append(self.compressor.flush())
        return b"".join(self.pieces), (IncomingFile.GZIPPED if self.compressor else IncomingFile.AS_SENT)


# -- 2-4. read, find the owner, store ---------------------------------------------------------------

def import_item(item, org, incoming) -> ReportOutcome:
    if isinstance(item, Failed):
        return ReportOutcome("rejected", error=item.reason, member=item.member)
    assert isinstance(item, Parsed)
    report = item.report
    outcome = describe(report, item.member)
    if org is None:
        try:
            org = owner_of(policy_domains(report))
        except Unresolved as error:
            outcome.status, outcome.error = "rejected", str(error)
            return outcome
    outcome.org = org
    try:
        stored = store_report(report, org, incoming)
    except Rejected as error:
        outcome.status, outcome.error = "rejected", f"{error} (nothing of this report was stored)"
        return outcome
    except (DataError, OverflowError) as error:
        log.warning("report %s of %s could not be stored: %s", outcome.report_id, incoming.name, error)
        outcome.status = "rejected"
        outcome.error = "The report holds values the database cannot store (a number or text too large)"
        return outcome
    outcome.status, outcome.report = stored.status, stored.report
    outcome.records, outcome.messages = stored.records, stored.messages
    return outcome


def describe(report, member: str) -> ReportOutcome:
    if report.kind == "tls":
        domains = policy_domains(report)
        return ReportOutcome("rejected", kind="tls", report_id=report.report_id,
                             domain=domains[0] if domains else "", member=member)
    return ReportOutcome("rejected", kind="aggregate", report_id=report.report_id, domain=report.policy.domain,
                         member=member)


def policy_domains(report) -> list[str]:
    if report.kind == "tls":
        return list(dict.fromkeys(p.policy_domain for p in report.policies if p.policy_domain))
    return [report.policy.domain]


# -- 5. finish --------------------------------------------------------------------------------------

def finish(incoming: IncomingFile, org, results: list[ReportOutcome], *, unless_finished: bool = False) -> FileOutcome:
    """The file's status, reason and results from what became of its reports. ``unless_finished``: only
    if the file is still "processing" in the database (``interrupted``: an import that finished in the
    meantime has the last word)."""
    if not results:
        results.append(ReportOutcome("rejected", error="No DMARC or TLS-RPT report was found in the file",
                                     member=incoming.name))
    statuses = {result.status for result in results}
    if "imported" in statuses:
        status = IncomingFile.IMPORTED
    elif statuses == {"duplicate"}:
        status = IncomingFile.DUPLICATE
    else:
        status = IncomingFile.REJECTED
    reasons = [(r.member, r.error) for r in results if r.status == "rejected"]
    if len(reasons) == 1:
        reason = reasons[0][1]
    else:
        reason = "; ".join(f"{member}: {error}" for member, error in reasons)
    owners = {r.org.pk: r.org for r in results if r.org is not None}
    incoming.status = status
    incoming.reason = reason[:5000]
    incoming.results = [{**r.as_dict(), "member": r.member,
                         "report": r.report.pk if r.report is not None else None} for r in results[:1000]]
    if org is None and len(owners) == 1:
        incoming.organization = next(iter(owners.values()))
    fields = ["status", "reason", "results", "organization"]
    if unless_finished:
        IncomingFile.objects.filter(pk=incoming.pk, status=IncomingFile.PROCESSING).update(
            **{name: getattr(incoming, name) for name in fields})
    else:
        incoming.save(update_fields=fields)
    return FileOutcome(incoming, status, results)


def queue_enrichment(report_pks: list[int]) -> None:
    """Ask the worker to look up the reverse DNS of these reports' sources; an import never waits for it."""
    if not report_pks:
        return
    try:
        from django_q.tasks import async_task

        async_task("dmarc_reports.enrichment.enrich_reports", report_pks, task_name="Reverse DNS of report sources")
    except Exception:  # the broker is down: the next import or the daily pass catches up
        log.warning("could not queue the reverse-DNS look-up of %d report(s)", len(report_pks), exc_info=True)

