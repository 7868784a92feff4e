"""Turn uploaded bytes into parsed DMARC aggregate and TLS-RPT reports, without Django.

The steps, each in its own module, in the order they run:

1. ``detect``: what the bytes are (gzip, zip, XML, JSON, e-mail, mbox), never trusting names;
2. ``unwrap``: take the reports out of gzip, zip, e-mails and mbox files, streamed and capped
   (``limits``);
3. ``aggregate`` / ``tls``: parse and check one report;
4. ``pipeline``: ``read_reports`` ties it together, one ``Parsed`` or ``Failed`` per report.

Everything refused is refused with ``errors.Rejected`` and a reason a person understands.
"""

from .aggregate import AggregateReport, DkimResult, Policy, Reason, Row, SpfResult, parse_aggregate
from .errors import Failed, Rejected
from .limits import Limits
from .pipeline import Parsed, read_reports
from .tls import TlsFailure, TlsPolicy, TlsReport, parse_tls

__all__ = [
    "AggregateReport", "DkimResult", "Failed", "Limits", "Parsed", "Policy", "Reason", "Rejected",
    "Row", "SpfResult", "TlsFailure", "TlsPolicy", "TlsReport", "parse_aggregate", "parse_tls",
    "read_reports",
]
