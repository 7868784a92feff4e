"""From an upload to parsed reports: detect, unwrap, parse, validate.

``read_reports(source, name=None, limits=None)`` takes bytes, a path or a binary file and
yields, for every report inside it (a zip of many, an mbox of e-mails ...), either

- ``Parsed(member, report)``: ``report`` is an ``AggregateReport`` (``kind == "aggregate"``)
  or a ``TlsReport`` (``kind == "tls"``); or
- ``Failed(member, reason)``: that member was refused; ``reason`` is for a person.

One bad member never loses the good ones. Nothing raises except programming errors, with
one exception the storer must handle: an aggregate report's rows are parsed as
``report.rows`` is read, and a record can turn out unusable part-way (``Rejected``). Store
each report inside a transaction and roll it back on ``Rejected``::

    for item in read_reports(upload, name="reports.zip"):
        if isinstance(item, Failed):
            log(item.member, item.reason)
            continue
        try:
            with transaction.atomic():
                store(item.report)               # reads item.report.rows to the end
        except Rejected as error:
            log(item.member, str(error))
        item.records, item.messages              # rows (or TLS policies), messages (or sessions)

Read each report (rows included) before asking for the next item: the member's temporary
file is closed when the iterator moves on.
"""

import contextlib
import io
from pathlib import Path
from typing import BinaryIO, Iterator

from . import detect
from .aggregate import parse_aggregate
from .errors import Failed, Rejected
from .limits import Budget, Limits
from .reports import AggregateReport, Parsed
from .tls import TlsReport, parse_tls
from .unwrap import Member, copy_to_spool, unwrap


def read_reports(source, name: str | None = None, limits: Limits | None = None) -> Iterator[Parsed | Failed]:
    """Yield a ``Parsed`` or a ``Failed`` for every report in ``source`` (see module docstring)."""
    limits = limits or Limits()
    name = name or _name_of(source)
    budget = Budget(limits)
    with _open(source, budget) as stream:
        try:
            for item in unwrap(stream, name, limits, budget):
                if isinstance(item, Failed):
                    yield item
                    continue
                try:
                    report = parse_member(item, limits)
                except Rejected as error:
                    yield Failed(item.name, str(error))
                    continue
                yield Parsed(item.name, report)
        except Rejected as error:
            yield Failed(name, str(error))


def parse_member(member: Member, limits: Limits) -> AggregateReport | TlsReport:
    if member.kind == detect.JSON:
        return parse_tls(member.stream, limits)
    return parse_aggregate(member.stream, limits)


def _name_of(source) -> str:
    """A path's or an open file's base name (Django's UploadedFile has one), else "upload"."""
    name = source if isinstance(source, (str, Path)) else getattr(source, "name", None)
    return Path(name).name if isinstance(name, (str, Path)) and str(name) else "upload"


def _open(source, budget: Budget) -> BinaryIO:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(source))
    if isinstance(source, (str, Path)):
        return open(source, "rb")
    if source.seekable():
        return contextlib.nullcontext(source)  # the caller's stream: read in place, left open
    return copy_to_spool(source, budget)
