"""Tell what a blob of bytes is by looking at it, never by its name.

``sniff(head)`` takes the first few kilobytes and returns one of ``GZIP``, ``ZIP``, ``XML``,
``JSON``, ``EMAIL`` or ``MBOX``; anything else raises ``Rejected`` naming what the file looks
like ("Not a DMARC or TLS-RPT report: the file is a PNG image").
"""

import re

from .errors import Rejected

GZIP, ZIP, XML, JSON, EMAIL, MBOX = "gzip", "zip", "xml", "json", "email", "mbox"
CONTAINERS = {GZIP, ZIP, EMAIL, MBOX}
HEAD_SIZE = 8192

BOMS = (b"\xef\xbb\xbf", b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff", b"\xff\xfe", b"\xfe\xff")

# Magic numbers of things people upload by mistake, to say what they uploaded.
OTHER_FORMATS = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x05\x06", "an empty zip archive"),
    (b"BZh", "bzip2-compressed data (reports come as gzip or zip)"),
    (b"\xfd7zXZ\x00", "xz-compressed data (reports come as gzip or zip)"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed data (reports come as gzip or zip)"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive (reports come as gzip or zip)"),
    (b"Rar!", "a RAR archive (reports come as gzip or zip)"),
    (b"\xd0\xcf\x11\xe0", "a Microsoft Office document"),
)

HEADER_LINE = re.compile(rb"^[!-9;-~]+:")
MAIL_HEADERS = {
    b"received", b"return-path", b"from", b"to", b"subject", b"date", b"message-id",
    b"mime-version", b"content-type", b"delivered-to", b"x-original-to", b"dkim-signature",
}


def strip_bom(data: bytes) -> tuple[bytes, str | None]:
    """Return ``data`` without a byte-order mark, and the BOM's encoding if there was one."""
    for bom, encoding in zip(BOMS, ("utf-8", "utf-32-le", "utf-32-be", "utf-16-le", "utf-16-be")):
        if data.startswith(bom):
            return data[len(bom):], encoding
    return data, None


def _first_char(head: bytes) -> str:
    body, encoding = strip_bom(head)
    if encoding and encoding != "utf-8":
        text = body[:400].decode(encoding, errors="ignore")
    else:
        text = body[:HEAD_SIZE].decode("latin-1")
    text = text.lstrip(" \t\r\n\x00")
    return text[:1]


def looks_like_email(head: bytes) -> bool:
    """True when ``head`` starts with an RFC 5322 header block that names mail headers."""
    lines = head.replace(b"\r\n", b"\n").split(b"\n")
    if not lines or not HEADER_LINE.match(lines[0]):
        return False
    known = False
    for line in lines[:-1]:  # the last line may be cut short
        if not line:
            break
        if line[:1] in (b" ", b"\t"):
            continue
        if not HEADER_LINE.match(line):
            return False
        known = known or line.split(b":", 1)[0].strip().lower() in MAIL_HEADERS
    return known


def describe(head: bytes) -> str:
    """A few words saying what an unrecognised file looks like."""
    for magic, what in OTHER_FORMATS:
        if head.startswith(magic):
            return what
    sample = head[:HEAD_SIZE]
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as error:
        text = sample[: error.start].decode("utf-8") if error.start > len(sample) - 4 else None
    if text is not None and sum(c.isprintable() or c in "\r\n\t" for c in text) >= 0.95 * len(text):
        return "plain text"
    return "binary data of an unknown kind"


def sniff(head: bytes) -> str:
    """Return the kind of data ``head`` (the first bytes of a file) starts, or refuse it."""
    if not head:
        raise Rejected("The file is empty")
    if head.startswith(b"\x1f\x8b"):
        return GZIP
    if head.startswith(b"PK\x03\x04"):
        return ZIP
    first = _first_char(head)
    if first == "<":
        return XML
    if first == "{":
        return JSON
    if not first and len(head) < HEAD_SIZE:
        raise Rejected("The file holds only blank space")
    if head.startswith(b"From "):
        return MBOX
    if looks_like_email(head):
        return EMAIL
    raise Rejected(f"Not a DMARC or TLS-RPT report: the file is {describe(head)}")
