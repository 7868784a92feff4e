"""What the ingestion pipeline says when it will not read something.

``Rejected`` is the only exception the pipeline raises on purpose. Its message is written
for a person (shown in the import log and the upload page), e.g.::

    The file is a decompression bomb: it expands past the 256 MB limit
    XML with a DOCTYPE is refused (entities and external references are never read)
    Not a DMARC or TLS-RPT report: the file is plain text

``Failed`` is the record of one refused member of a larger upload (a bad file in a zip of
many, one broken e-mail in an mbox): ``read_reports`` yields it instead of raising, so the
good members are still read.
"""

from dataclasses import dataclass


class Rejected(Exception):
    """The input is refused; ``str(error)`` is a sentence a person understands."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


@dataclass(frozen=True)
class Failed:
    """One member of an upload that was refused, and why."""

    member: str
    reason: str

    kind = "failed"
