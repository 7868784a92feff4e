"""What a parsed aggregate report is: the values the XML parser (``aggregate``) makes and
``read_reports`` yields, apart from the parser, so a process that only stores reports read elsewhere
(``read_ahead``) loads neither it nor lxml. (A TLS report's values are beside their small JSON parser,
in ``tls``.)

An aggregate report's rows come as a ``RowStream`` (see ``aggregate``): read as they are parsed,
counted on the way.
"""

import itertools
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Iterator, NamedTuple

if TYPE_CHECKING:  # (a process that stores aggregate reports needs no TLS parser)
    from .tls import TlsReport


class Reason(NamedTuple):
    type: str
    comment: str


class DkimResult(NamedTuple):
    domain: str
    selector: str
    result: str
    human_result: str


class SpfResult(NamedTuple):
    domain: str
    scope: str
    result: str


class Row(NamedTuple):
    source_ip: str  # normalised (IPv4-mapped IPv6 becomes IPv4)
    count: int
    disposition: str
    dkim: str  # aligned DKIM result from policy_evaluated ("" when absent)
    spf: str  # aligned SPF result from policy_evaluated ("" when absent)
    reasons: tuple[Reason, ...]
    header_from: str
    envelope_from: str
    envelope_to: str
    dkim_results: tuple[DkimResult, ...]
    spf_results: tuple[SpfResult, ...]


@dataclass
class Policy:
    domain: str
    p: str = ""
    sp: str = ""
    np: str = ""
    adkim: str = ""
    aspf: str = ""
    pct: int | None = None
    fo: str = ""
    testing: str = ""
    discovery_method: str = ""


class RowStream:
    """The report's rows, parsed as they are read; counts them on the way."""

    def __init__(self, rows: Iterator[Row]):
        self._rows = rows
        self.records = 0
        self.messages = 0
        self.done = False

    def __iter__(self):
        return self

    def __next__(self) -> Row:
        try:
            row = next(self._rows)
        except StopIteration:
            self.done = True
            raise
        self.records += 1
        self.messages += row.count
        return row

    def batches(self, size: int = 5000) -> Iterator[list[Row]]:
        while batch := list(itertools.islice(self._rows, size)):
            self.records += len(batch)
            self.messages += sum(row.count for row in batch)
            yield batch
        self.done = True


@dataclass
class AggregateReport:
    org_name: str
    email: str
    extra_contact_info: str
    report_id: str
    date_begin: datetime
    date_end: datetime
    policy: Policy
    errors: list[str] = field(default_factory=list)
    generator: str = ""
    version: str = ""
    warnings: list[str] = field(default_factory=list)
    rows: RowStream = field(default_factory=lambda: RowStream(iter(())))

    kind = "aggregate"

    @property
    def identity(self) -> tuple:
        """What makes two uploads the same report: reporter, id, domain and period."""
        return (self.org_name, self.report_id, self.policy.domain, self.date_begin, self.date_end)

    @property
    def records(self) -> int:
        self._require_rows_read()
        return self.rows.records

    @property
    def messages(self) -> int:
        self._require_rows_read()
        return self.rows.messages

    def _require_rows_read(self):
        if not self.rows.done:
            raise RuntimeError("Read report.rows to the end first: records and messages are counted as the rows go by")


@dataclass
class Parsed:
    member: str
    report: "AggregateReport | TlsReport"

    @property
    def kind(self) -> str:
        return self.report.kind

    @property
    def records(self) -> int:
        """Aggregate rows, or TLS policies (for aggregate: once the rows are read)."""
        return self.report.records

    @property
    def messages(self) -> int:
        """Sum of the rows' counts, or TLS sessions successful + failed."""
        return self.report.messages
