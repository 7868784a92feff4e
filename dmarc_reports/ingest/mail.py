"""Reports inside an e-mail (RFC 5322): attached, inline in the body, or in a forwarded
``message/rfc822``, in any of the forms ``unwrap`` opens.

    message = read_message(stream, limits)   # Rejected: too big, malformed, a failure report
    for name, payload in report_parts(message, "upload.eml"):
        ...                                  # the bytes of each part that may hold a report
    why_no_report(message)                   # what to say when none did

Loaded by ``unwrap`` only when a file is an e-mail.
"""

import email.header
import email.policy
import email.utils
import re
from email.message import Message
from email.parser import BytesParser
from typing import BinaryIO, Iterator

from . import detect
from .errors import Rejected
from .limits import Limits, human_size

MAX_MIME_NESTING = 20
FAILURE_REPORT = (
    "DMARC failure (forensic) reports are not supported yet: only aggregate reports "
    "and TLS-RPT reports are read"
)
REPORT_FILE = re.compile(r"\.(xml|gz|gzip|zip|json|eml|mbox)$", re.IGNORECASE)
PARAMETER_HEADERS = ("content-type", "content-disposition")  # the headers whose parameters are read
MAX_PARAMETER_HEADER = 4 * 1024  # one of them (a few hundred bytes in practice, a long file name included)
MAX_PARAMETER_HEADERS = 256 * 1024  # all of them in one e-mail, its parts and forwarded e-mails included


class Headers(email.policy.Compat32):
    """compat32 (headers kept as sent, their parameters read by the legacy code: microseconds where the
    default policy's header parser takes milliseconds per kilobyte of a malformed Content-Type, 20 s
    for one of 280 KB, found by fuzzing), refusing Content-Type and Content-Disposition headers past
    the limits above: the legacy code reads parameters in a time that grows with the square of a
    header's length when its quotes hold many semicolons."""

    spent = None  # [bytes of such headers read so far]: one list per e-mail

    def header_source_parse(self, sourcelines):
        name, value = super().header_source_parse(sourcelines)
        if name.strip().lower() in PARAMETER_HEADERS:
            self.spent[0] += len(value)
            if len(value) > MAX_PARAMETER_HEADER:
                raise ValueError(f"a {name.strip()} header of {human_size(len(value))}, where a few hundred bytes are usual")
            if self.spent[0] > MAX_PARAMETER_HEADERS:
                raise ValueError(f"more than {human_size(MAX_PARAMETER_HEADERS)} of Content-Type and "
                                 "Content-Disposition headers")
        return name, value


def read_message(stream: BinaryIO, limits: Limits) -> Message:
    """The e-mail in ``stream`` (seekable); Rejected when it is too big, cannot be read, or is a
    DMARC failure report."""
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    if size > limits.max_email_bytes:
        raise Rejected(f"The e-mail is {human_size(size)}; e-mails over "
                       f"{human_size(limits.max_email_bytes)} are not read")
    try:
        message = BytesParser(policy=Headers(spent=[0])).parse(stream)
        failure_report = _is_failure_report(message)
    except (ValueError, TypeError, IndexError, AttributeError, LookupError) as error:
        raise Rejected(f"The e-mail is malformed and cannot be read ({error})") from None
    if failure_report:
        raise Rejected(FAILURE_REPORT)
    return message


def why_no_report(message: Message) -> str:
    subject = _header(message, "subject").lower()
    if "forensic" in subject or "failure report" in subject:
        return FAILURE_REPORT
    return "The e-mail holds no DMARC or TLS-RPT report (no XML, JSON, gzip or zip attachment)"


def report_parts(message: Message, name: str) -> Iterator[tuple[str, bytes]]:
    """(name, decoded bytes) of every part of ``message`` that may hold a report."""
    number = 0
    for part in _walk(message, 0):
        if part.is_multipart():
            continue
        number += 1
        content_type = part.get_content_type()
        if content_type.startswith(("image/", "audio/", "video/")) or content_type == "text/html":
            continue
        try:
            filename = decoded(part.get_filename() or "")
        except Exception:  # malformed parameters in a hostile header
            filename = ""
        try:
            payload = part.get_payload(decode=True) or b""
        except Exception:
            continue
        try:
            kind = detect.sniff(payload[: detect.HEAD_SIZE])
        except Rejected:
            continue
        # A text part is read when it holds XML or JSON, or, named like a report file, whatever its bytes
        # are (reporters label a gzip'd report text/plain).
        inline_text = content_type.startswith("text/") and content_type != "text/xml" and not REPORT_FILE.search(filename)
        if inline_text and kind not in (detect.XML, detect.JSON):
            continue
        if kind in (detect.EMAIL, detect.MBOX) and content_type != "message/rfc822" and not REPORT_FILE.search(filename):
            continue  # a text part that merely starts like a header block
        yield f"{name}/{filename or f'part-{number}'}", payload


def _header(message: Message, header: str) -> str:
    return decoded(message.get(header, ""))


def decoded(value, longest: int = 1000) -> str:
    """A header value or parameter with its RFC 2047 encoded words decoded (the first ``longest``
    characters: a file name or a subject), else as it is."""
    text = str(email.utils.collapse_rfc2231_value(value) if isinstance(value, tuple) else value or "")[:longest]
    try:
        return str(email.header.make_header(email.header.decode_header(text)))
    except Exception:  # (an unknown charset, a bad encoding: hostile or broken input)
        return text


def _is_failure_report(message: Message) -> bool:
    for part in _walk(message, 0):
        if part.get_content_type() == "message/feedback-report":
            return True
        if (part.get_content_type() == "multipart/report"
                and decoded(part.get_param("report-type", "")).lower() == "feedback-report"):
            return True
    return False


def _walk(message: Message, nesting: int):
    if nesting > MAX_MIME_NESTING:
        raise Rejected(f"The e-mail nests its parts more than {MAX_MIME_NESTING} levels deep")
    yield message
    if message.is_multipart():
        for part in message.get_payload():
            if isinstance(part, Message):
                yield from _walk(part, nesting + 1)
