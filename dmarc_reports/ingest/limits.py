"""Limits that keep hostile input from exhausting memory, disk or time.

``Limits`` holds the configurable caps; ``Budget`` counts decompressed bytes for one upload,
across every nested wrapper, so a zip of gzip bombs is caught as surely as a single bomb.
"""

import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from .errors import Rejected

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    max_total_bytes: int = 256 * MB  # everything decompressed from one upload, all members together
    max_members: int = 1000  # files in one zip, messages in one mbox
    max_depth: int = 5  # wrappers inside wrappers (zip in e-mail in mbox ...)
    max_email_bytes: int = 64 * MB  # one e-mail is parsed in memory by the stdlib
    max_json_bytes: int = 32 * MB  # a TLS-RPT report is read whole; real ones are kilobytes
    max_xml_depth: int = 64  # a DMARC report nests 5 levels; extensions a few more
    max_elements_per_record: int = 10_000  # RFC 9990 allows 100 DKIM results per row
    spool_in_memory: int = 4 * MB  # members larger than this are spooled to a temporary file
    max_period_days: int = 62  # a report covers a day (RFC 7489's default interval, RFC 8460's), now and then a week


def human_size(size: int) -> str:
    if size >= MB:
        return f"{round(size / MB, 1):g} MB"
    if size >= 1024:
        return f"{round(size / 1024, 1):g} KB"
    return f"{size} bytes"


def check_period(begin: datetime, end: datetime, limits: Limits, subject: str = "The report", now=None) -> None:
    """Rejected when a report's period ends before it begins, begins after tomorrow (a reporter's clock
    gone wrong: kept, it would stand as the domain's newest report for years), or covers more than
    ``limits.max_period_days`` days: its counts are spread over every day it covers, and one "from
    1970 to 2100" would be 47,000 days of roll-ups per source."""
    if end < begin:
        raise Rejected(f"{subject}'s period ends ({end:%Y-%m-%d %H:%M}) before it begins ({begin:%Y-%m-%d %H:%M})")
    if begin > (now or datetime.now(timezone.utc)) + timedelta(days=1):
        raise Rejected(f"{subject}'s period begins in the future ({begin:%Y-%m-%d %H:%M} UTC): the reporter's clock is wrong")
    days = (end - begin).total_seconds() / 86400
    if days > limits.max_period_days:
        raise Rejected(f"{subject} covers {days:,.0f} days ({begin:%Y-%m-%d} to {end:%Y-%m-%d}); reports cover a day or "
                       f"a few, and one of more than {limits.max_period_days} days is refused")


class Budget:
    """Decompressed bytes spent so far for one upload."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.spent = 0

    def spend(self, size: int) -> None:
        self.spent += size
        if self.spent > self.limits.max_total_bytes:
            raise Rejected(
                "The file is a decompression bomb: it expands past the "
                f"{human_size(self.limits.max_total_bytes)} limit"
            )

    def spool(self):
        """A file to hold one decompressed member: in memory while small, on disk after."""
        return tempfile.SpooledTemporaryFile(max_size=self.limits.spool_in_memory)
