"""Turn uploaded bytes into parsed DMARC aggregate and TLS-RPT reports, without Django.

The steps, each in its own module, in the order they run:

1. ``detect``: what the bytes are (gzip, zip, XML, JSON, e-mail, mbox), never trusting names;
2. ``unwrap``: take the reports out of gzip, zip, e-mails and mbox files, streamed and capped
   (``limits``);
3. ``aggregate`` / ``tls``: parse and check one report (``reports``: what a parsed report is);
4. ``pipeline``: ``read_reports`` ties it together, one ``Parsed`` or ``Failed`` per report.

Everything refused is refused with ``errors.Rejected`` and a reason a person understands.
"""

import importlib

# Each name loads its module when it is first used (PEP 562): a process that only stores reports read
# elsewhere (``read_ahead``) loads neither the XML parser nor lxml.
_MODULE_OF = {
    "AggregateReport": "reports", "DkimResult": "reports", "Parsed": "reports", "Policy": "reports",
    "Reason": "reports", "Row": "reports", "SpfResult": "reports", "Failed": "errors", "Rejected": "errors",
    "Limits": "limits", "parse_aggregate": "aggregate", "read_reports": "pipeline", "TlsFailure": "tls",
    "TlsPolicy": "tls", "TlsReport": "tls", "parse_tls": "tls",
}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = globals()[name] = getattr(importlib.import_module(f".{_MODULE_OF[name]}", __name__), name)
    return value


def __dir__():
    return sorted([*globals(), *__all__])
