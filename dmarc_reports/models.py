"""Models of ingested reports (issue: report ingestion).

- ``IncomingFile``: every file that arrived (upload, command, mailbox, API), what happened to it,
  and the raw bytes (compressed) for "download the raw file".
- ``AggregateReport`` / ``ReportRow``: a DMARC aggregate report and its rows. A row's DKIM and SPF
  results and override reasons are kept on the row as JSON lists (a row is read whole; the
  dashboards read the roll-ups), so storing a 20,000-row report is one insert per row.
- ``TlsReport`` / ``TlsPolicyResult`` / ``TlsFailureDetail``: an SMTP TLS report (RFC 8460).
- ``DailyRollup`` / ``TlsDailyRollup`` / ``TlsFailureDailyRollup``: per-day sums the dashboards and
  alerts read, kept in step with every import by ``dmarc_reports.rollups``; ``DomainDailyRollup`` and
  ``ServiceDailyRollup`` (``dmarc_reports.service_rollups``): the same per domain, and per service.
- ``SourceHost``: the reverse DNS of a source address and the sending service behind it
  (``dmarc_reports.enrichment``).

A report is stored once per organisation: a unique constraint on (organisation, reporter,
report id, policy domain, period) holds even when two workers store the same report at once.
"""

import gzip
import io
from collections import Counter

from django.conf import settings
from django.db import models
from django.utils import timezone

from dmarc_reports import prepare
from monitor.models import Organization


class IncomingFile(models.Model):
    UPLOAD, COMMAND, MAILBOX, API = "upload", "command", "mailbox", "api"
    VIAS = [(UPLOAD, "Upload"), (COMMAND, "Import command"), (MAILBOX, "Mailbox"), (API, "API")]
    PROCESSING, IMPORTED, DUPLICATE, REJECTED = "processing", "imported", "duplicate", "rejected"
    STATUSES = [(PROCESSING, "Processing"), (IMPORTED, "Imported"), (DUPLICATE, "Duplicate"), (REJECTED, "Rejected")]
    # How ``raw`` holds the file: as it came (it was already gzip or zip) or gzip-compressed by us.
    AS_SENT, GZIPPED = "as-sent", "gzip"

    organization = models.ForeignKey(Organization, models.CASCADE, null=True, blank=True, related_name="incoming_files",
                                     help_text="The organisation given, or the one its reports went to.")
    name = models.CharField(max_length=500)
    size = models.BigIntegerField(help_text="Bytes as received.")
    sha256 = models.CharField(max_length=64, db_index=True)
    via = models.CharField(max_length=10, choices=VIAS)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+")
    received = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=12, choices=STATUSES, default=PROCESSING)
    reason = models.TextField(blank=True, help_text="Why (part of) the file was refused.")
    results = models.JSONField(default=list, blank=True, help_text="One entry per report found (see importing).")
    raw = models.BinaryField(null=True, blank=True, editable=False)
    raw_encoding = models.CharField(max_length=10, blank=True)

    class Meta:
        ordering = ["-received", "-pk"]
        indexes = [models.Index(fields=["organization", "-received"])]

    def __str__(self):
        return f"{self.name} ({self.status})"

    @property
    def has_raw(self) -> bool:
        return self.raw is not None

    def outcome_counts(self) -> str:
        """What the file's reports came to, e.g. "35 imported, 2 duplicate, 1 rejected" (one entry of
        ``results`` per report found or member refused)."""
        counts = Counter(entry.get("status") for entry in self.results or [])
        return ", ".join(f"{counts[status]} {status}" for status, _ in self.STATUSES if counts.get(status))

    def raw_bytes(self) -> bytes:
        """The file exactly as received."""
        data = bytes(self.raw or b"")
        return gzip.decompress(data) if self.raw_encoding == self.GZIPPED else data

    def raw_chunks(self, size: int = 1024 * 1024):
        """The file exactly as received, in pieces (for a StreamingHttpResponse: a big XML is never whole)."""
        stream = io.BytesIO(bytes(self.raw or b""))
        if self.raw_encoding == self.GZIPPED:
            stream = gzip.GzipFile(fileobj=stream)
        while chunk := stream.read(size):
            yield chunk


class AggregateReport(models.Model):
    organization = models.ForeignKey(Organization, models.CASCADE, related_name="aggregate_reports")
    incoming = models.ForeignKey(IncomingFile, models.SET_NULL, null=True, blank=True, related_name="aggregate_reports")
    # The reporter
    org_name = models.CharField(max_length=255)
    email = models.CharField(max_length=255, blank=True)
    extra_contact_info = models.TextField(blank=True)
    report_id = models.CharField(max_length=255)
    domain = models.CharField(max_length=253, help_text="The policy domain.")
    date_begin = models.DateTimeField()
    date_end = models.DateTimeField()
    # The published policy
    p = models.CharField(max_length=20, blank=True)
    sp = models.CharField(max_length=20, blank=True)
    np = models.CharField(max_length=20, blank=True)
    adkim = models.CharField(max_length=20, blank=True)
    aspf = models.CharField(max_length=20, blank=True)
    pct = models.PositiveSmallIntegerField(null=True, blank=True)
    fo = models.CharField(max_length=100, blank=True)
    testing = models.CharField(max_length=20, blank=True)
    discovery_method = models.CharField(max_length=20, blank=True)
    generator = models.CharField(max_length=255, blank=True)
    version = models.CharField(max_length=20, blank=True)
    errors = models.JSONField(default=list, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    # Counted while the rows were stored
    records = models.PositiveIntegerField(default=0)
    messages = models.BigIntegerField(default=0)
    imported = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-date_begin", "-pk"]
        indexes = [models.Index(fields=["organization", "domain", "-date_begin"])]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "org_name", "report_id", "domain", "date_begin", "date_end"],
                name="aggregate_report_once",
            )
        ]

    def __str__(self):
        return f"{self.org_name} {self.report_id} ({self.domain}, {self.date_begin:%Y-%m-%d})"


class RowJSONField(models.JSONField):
    """A JSON list on each report row, without SQLite's ``CHECK (JSON_VALID(...))``: its text is only
    ever written by ``json.dumps`` (the ORM's, or ``prepare``'s for an import), so the check would only
    parse again, on every insert, JSON that cannot be invalid (about a fifth of the time a big report's
    rows take to insert). PostgreSQL's jsonb checks it by its type either way."""

    def db_check(self, connection):
        return None


class ReportRow(models.Model):
    report = models.ForeignKey(AggregateReport, models.CASCADE, related_name="rows")
    source_ip = models.CharField(max_length=45)
    count = models.BigIntegerField()
    disposition = models.CharField(max_length=20, blank=True)
    dkim = models.CharField(max_length=20, blank=True, help_text="Aligned DKIM result (policy_evaluated).")
    spf = models.CharField(max_length=20, blank=True, help_text="Aligned SPF result (policy_evaluated).")
    reasons = RowJSONField(default=list, blank=True, help_text='[{"type": "forwarded", "comment": ""}]')
    header_from = models.CharField(max_length=253, blank=True)
    envelope_from = models.CharField(max_length=253, blank=True)
    envelope_to = models.CharField(max_length=253, blank=True)
    dkim_results = RowJSONField(default=list, blank=True, help_text='[{"domain", "selector", "result", "human_result"}]')
    spf_results = RowJSONField(default=list, blank=True, help_text='[{"domain", "scope", "result"}]')

    class Meta:
        ordering = ["report", "pk"]

    def __str__(self):
        return f"{self.source_ip} x{self.count}"

    @property
    def dmarc_pass(self) -> bool:
        return self.dkim == "pass" or self.spf == "pass"


class TlsReport(models.Model):
    organization = models.ForeignKey(Organization, models.CASCADE, related_name="tls_reports")
    incoming = models.ForeignKey(IncomingFile, models.SET_NULL, null=True, blank=True, related_name="tls_reports")
    organization_name = models.CharField(max_length=255, help_text="The reporter.")
    contact_info = models.CharField(max_length=255, blank=True)
    report_id = models.CharField(max_length=255)
    date_begin = models.DateTimeField()
    date_end = models.DateTimeField()
    warnings = models.JSONField(default=list, blank=True)
    policies_count = models.PositiveIntegerField(default=0)
    successful_sessions = models.BigIntegerField(default=0)
    failed_sessions = models.BigIntegerField(default=0)
    imported = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-date_begin", "-pk"]
        indexes = [models.Index(fields=["organization", "-date_begin"])]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "organization_name", "report_id", "date_begin", "date_end"],
                name="tls_report_once",
            )
        ]

    def __str__(self):
        return f"{self.organization_name} {self.report_id} ({self.date_begin:%Y-%m-%d})"

    @property
    def sessions(self) -> int:
        return self.successful_sessions + self.failed_sessions


class TlsPolicyResult(models.Model):
    report = models.ForeignKey(TlsReport, models.CASCADE, related_name="policies")
    policy_type = models.CharField(max_length=30, blank=True)
    policy_strings = models.JSONField(default=list, blank=True)
    policy_domain = models.CharField(max_length=253, blank=True)
    mx_hosts = models.JSONField(default=list, blank=True)
    successful_sessions = models.BigIntegerField(default=0)
    failed_sessions = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["report", "pk"]

    def __str__(self):
        return f"{self.policy_type} {self.policy_domain}"


class TlsFailureDetail(models.Model):
    policy = models.ForeignKey(TlsPolicyResult, models.CASCADE, related_name="failures")
    result_type = models.CharField(max_length=60)
    sending_mta_ip = models.CharField(max_length=45, blank=True)
    receiving_mx_hostname = models.CharField(max_length=253, blank=True)
    receiving_mx_helo = models.CharField(max_length=253, blank=True)
    receiving_ip = models.CharField(max_length=45, blank=True)
    failed_session_count = models.BigIntegerField(default=0)
    additional_information = models.TextField(blank=True)
    failure_reason_code = models.TextField(blank=True)

    class Meta:
        ordering = ["policy", "pk"]

    def __str__(self):
        return f"{self.result_type} x{self.failed_session_count}"


class DmarcCounters(models.Model):
    """What the reports said, summed: the counters every DMARC roll-up keeps."""

    messages = models.BigIntegerField(default=0)
    dmarc_pass = models.BigIntegerField(default=0, help_text="Aligned DKIM pass or aligned SPF pass.")
    dkim_pass = models.BigIntegerField(default=0)
    spf_pass = models.BigIntegerField(default=0)
    disposition_none = models.BigIntegerField(default=0, help_text="Delivered: none, pass (RFC 9990) or unknown.")
    disposition_quarantine = models.BigIntegerField(default=0)
    disposition_reject = models.BigIntegerField(default=0)
    forwarded = models.BigIntegerField(
        default=0, help_text="Failing DMARC, with the override reason forwarded or trusted_forwarder.")
    mailing_list = models.BigIntegerField(default=0, help_text="Failing DMARC, with the override reason mailing_list.")

    COUNTERS = prepare.COUNTERS  # the fields above, in the order a row's category bits follow

    class Meta:
        abstract = True


class DailyRollup(DmarcCounters):
    """Per organisation, policy domain, source address and day: what the reports said.

    A report covering several days is spread over them in proportion to the overlap (see
    ``prepare.spread``). ``service`` is filled in once the source's reverse DNS is known.
    """

    # Three indexes, each earning its keep (every import writes to all of them): the unique one also
    # serves "this domain, these days"; (organization, day) every overview; source_ip the source page.
    organization = models.ForeignKey(Organization, models.CASCADE, related_name="daily_rollups", db_index=False)
    domain = models.CharField(max_length=253)
    source_ip = models.CharField(max_length=45)
    day = models.DateField()
    service = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["day", "domain", "source_ip"]
        indexes = [models.Index(fields=["organization", "day"]), models.Index(fields=["source_ip"])]
        constraints = [
            models.UniqueConstraint(fields=["organization", "domain", "day", "source_ip"], name="one_rollup_per_source_day")
        ]

    def __str__(self):
        return f"{self.day} {self.domain} {self.source_ip}: {self.messages}"


class DomainDailyRollup(DmarcCounters):
    """Per organisation, policy domain and day: the sum of that domain's ``DailyRollup`` rows, kept in
    the same upsert pass (``rollups.add_domain_rollups``), so charts cost the same however many sources."""

    organization = models.ForeignKey(Organization, models.CASCADE, related_name="domain_daily_rollups")
    domain = models.CharField(max_length=253)
    day = models.DateField()

    class Meta:
        ordering = ["day", "domain"]
        indexes = [models.Index(fields=["organization", "day"])]
        constraints = [models.UniqueConstraint(fields=["organization", "domain", "day"], name="one_domain_rollup_per_day")]

    def __str__(self):
        return f"{self.day} {self.domain}: {self.messages}"


class ServiceDailyRollup(DmarcCounters):
    """Per organisation, policy domain, day and service: that day's ``DailyRollup`` rows summed by the
    service behind each source ("" when none is known). Each import adds to it; a reverse-DNS look-up
    that names sources rebuilds the days it changes (``service_rollups``). The domain page reads a few
    rows per day however many addresses send."""

    organization = models.ForeignKey(Organization, models.CASCADE, related_name="service_daily_rollups")
    domain = models.CharField(max_length=253)
    day = models.DateField()
    service = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["day", "domain", "service"]
        constraints = [models.UniqueConstraint(fields=["organization", "domain", "day", "service"],
                                               name="one_service_rollup_per_day")]

    def __str__(self):
        return f"{self.day} {self.domain} {self.service or '-'}: {self.messages}"


class TlsDailyRollup(models.Model):
    organization = models.ForeignKey(Organization, models.CASCADE, related_name="tls_daily_rollups")
    domain = models.CharField(max_length=253, help_text="The policy domain ('' when the report did not say).")
    day = models.DateField()
    successful = models.BigIntegerField(default=0)
    failed = models.BigIntegerField(default=0)

    COUNTERS = ("successful", "failed")

    class Meta:
        ordering = ["day", "domain"]
        constraints = [models.UniqueConstraint(fields=["organization", "domain", "day"], name="one_tls_rollup_per_day")]

    def __str__(self):
        return f"{self.day} {self.domain}: {self.successful} ok, {self.failed} failed"


class TlsFailureDailyRollup(models.Model):
    """Failed TLS sessions per organisation, policy domain, day and result type."""

    organization = models.ForeignKey(Organization, models.CASCADE, related_name="tls_failure_rollups")
    domain = models.CharField(max_length=253)
    day = models.DateField()
    result_type = models.CharField(max_length=60)
    sessions = models.BigIntegerField(default=0)

    COUNTERS = ("sessions",)

    class Meta:
        ordering = ["day", "domain", "result_type"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "domain", "day", "result_type"],
                                    name="one_tls_failure_rollup_per_day")
        ]

    def __str__(self):
        return f"{self.day} {self.domain} {self.result_type}: {self.sessions}"


class SourceHost(models.Model):
    """Reverse DNS of a source address: its PTR name and the sending service that name belongs to."""

    ip = models.CharField(max_length=45, unique=True)
    ptr = models.CharField(max_length=253, blank=True)
    service = models.CharField(max_length=100, blank=True)
    looked_up = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=255, blank=True, help_text="Why the last look-up gave no answer.")

    class Meta:
        ordering = ["ip"]

    def __str__(self):
        return f"{self.ip} {self.ptr or '-'} {self.service}".strip()


from dmarc_reports.models_mailbox import Mailbox  # noqa: E402,F401  (issue: hands-free ingestion)
