"""Take reports out of whatever they were delivered in.

``unwrap(stream, name, limits)`` yields, for every report found inside ``stream``, either a
``Member`` (its name, ``"xml"`` or ``"json"``, and a seekable binary stream positioned at 0)
or a ``Failed`` (its name and why it was refused). Wrappers it opens, to any mix and up to
``limits.max_depth`` deep:

- gzip, including concatenated members and trailing junk after the last member (Mimecast
  appends a CRLF to its gzip attachments);
- zip with one or many files (names with ``..`` or absolute paths are refused);
- an e-mail (RFC 5322, read by ``mail``), with the report as an attachment, inline in the body, or in a
  forwarded ``message/rfc822``; DMARC failure (forensic) reports are refused;
- an mbox file holding many e-mails.

What a wrapper is comes from its bytes (``detect.sniff``), never from its name.
Decompression is streamed: every byte produced is counted against one ``Budget`` for the
whole upload, and members are spooled to a temporary file once they pass a few megabytes,
so memory stays bounded. A ``Member``'s stream is closed when the generator moves on:
read it before asking for the next item.

A problem with the upload as a whole (not a zip, truncated, a bomb) raises ``Rejected``;
a problem with one member yields ``Failed`` for that member and carries on.
"""

import re
import shutil
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import BinaryIO, Iterator

from . import detect
from .errors import Failed, Rejected
from .limits import Budget, Limits

CHUNK = 64 * 1024


@dataclass
class Member:
    """One report found in the upload: where it was, what it is, and its bytes."""

    name: str
    kind: str  # detect.XML or detect.JSON
    stream: BinaryIO


def unwrap(stream: BinaryIO, name: str, limits: Limits | None = None,
           budget: Budget | None = None) -> Iterator[Member | Failed]:
    """Yield every report inside ``stream`` (see the module docstring)."""
    limits = limits or Limits()
    yield from _open(stream, name, 0, budget or Budget(limits))


def peek(stream: BinaryIO, size: int = detect.HEAD_SIZE) -> bytes:
    start = stream.tell()
    head = stream.read(size)
    stream.seek(start)
    return head


def _open(stream: BinaryIO, name: str, depth: int, budget: Budget) -> Iterator[Member | Failed]:
    kind = detect.sniff(peek(stream))
    if kind in (detect.XML, detect.JSON):
        yield Member(name, kind, stream)
        return
    if depth >= budget.limits.max_depth:
        raise Rejected(f"The reports are wrapped more than {budget.limits.max_depth} levels deep "
                       "(archives or e-mails inside each other)")
    opener = {detect.GZIP: _gunzip, detect.ZIP: _unzip, detect.EMAIL: _unmail, detect.MBOX: _unmbox}
    yield from opener[kind](stream, name, depth, budget)


def _descend(stream: BinaryIO, name: str, depth: int, budget: Budget) -> Iterator[Member | Failed]:
    """Open one member; if it is refused, say so for that member only."""
    try:
        yield from _open(stream, name, depth, budget)
    except Rejected as error:
        yield Failed(name, str(error))


# gzip ---------------------------------------------------------------------------------------

def _gunzip(stream, name, depth, budget):
    with _gunzip_to_spool(stream, budget) as inner:
        yield from _descend(inner, name, depth + 1, budget)


def _gunzip_to_spool(stream: BinaryIO, budget: Budget):
    out = budget.spool()
    try:
        _gunzip_into(stream, out, budget)
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return out


def _gunzip_into(stream: BinaryIO, out: BinaryIO, budget: Budget) -> None:
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    pending = b""
    at_end = False
    while True:
        if not pending and not at_end:
            pending = stream.read(CHUNK)
            at_end = not pending
        try:
            piece = inflater.decompress(pending, CHUNK)
        except zlib.error as error:
            raise Rejected(f"The gzip data is damaged and cannot be decompressed ({error})") from None
        if piece:
            budget.spend(len(piece))
            out.write(piece)
        if inflater.eof:
            rest = inflater.unused_data
            if len(rest) < 2 and not at_end:
                rest += stream.read(CHUNK)
            if rest[:2] != b"\x1f\x8b":
                return  # trailing junk after the last member is ignored, as gzip(1) does
            inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
            pending = rest
            continue
        pending = inflater.unconsumed_tail
        if at_end and not piece and not pending:
            raise Rejected("The gzip file is truncated: it ends before its compressed data does")


# zip ----------------------------------------------------------------------------------------

def _zip_entry_count(stream: BinaryIO) -> int | None:
    """Entries announced by the end-of-central-directory record, read before trusting zipfile."""
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(max(0, size - 65536 - 22))
    tail = stream.read()
    stream.seek(0)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 22:
        return None
    entries = struct.unpack("<H", tail[at + 10: at + 12])[0]
    return None if entries == 0xFFFF else entries


def unsafe_member_name(filename: str) -> bool:
    path = filename.replace("\\", "/")
    return (path.startswith("/") or re.match(r"^[A-Za-z]:", path) is not None
            or ".." in PurePosixPath(path).parts)


def system_metadata(filename: str) -> bool:
    """Files an operating system adds to a zip beside what was chosen (macOS's ``__MACOSX/`` folder of
    ``._`` resource forks, ``.DS_Store``; Windows's ``Thumbs.db``): skipped, neither read nor refused."""
    parts = PurePosixPath(filename.replace("\\", "/")).parts
    return bool(parts) and (parts[0] == "__MACOSX" or parts[-1].startswith("._")
                            or parts[-1] in (".DS_Store", "Thumbs.db", "desktop.ini"))


def _unzip(stream, name, depth, budget):
    limits = budget.limits
    announced = _zip_entry_count(stream)
    if announced is not None and announced > limits.max_members:
        raise Rejected(f"The zip file holds {announced} files; at most {limits.max_members} are read")
    try:
        archive = zipfile.ZipFile(stream)
        entries = [info for info in archive.infolist()  # files (is_dir() fails on ""), not an OS's own
                   if not info.filename.endswith("/") and not system_metadata(info.filename)]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise Rejected("The zip file is truncated or damaged: its table of contents cannot be read") from None
    except NotImplementedError as error:  # "zip file version 23.6": a version field beyond what zipfile reads
        version = str(error).removeprefix("zip file version ")
        raise Rejected(f"The zip file needs zip version {version} to be read, which is not supported") from None
    if len(entries) > limits.max_members:
        raise Rejected(f"The zip file holds {len(entries)} files; at most {limits.max_members} are read")
    if not entries:
        raise Rejected("The zip file holds no report files")
    with archive:
        for info in entries:
            member = f"{name}/{info.filename}"
            if unsafe_member_name(info.filename):
                yield Failed(member, "A zip member whose name leaves the archive (absolute or with '..') is refused")
                continue
            if info.flag_bits & 0x1:
                yield Failed(member, "The zip member is encrypted and cannot be read")
                continue
            try:
                inner = _unzip_member(archive, info, budget)
            except Rejected as error:
                yield Failed(member, str(error))
                continue
            with inner:
                yield from _descend(inner, member, depth + 1, budget)


def _unzip_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: Budget):
    out = budget.spool()
    try:
        with archive.open(info) as source:
            while chunk := source.read(CHUNK):
                budget.spend(len(chunk))
                out.write(chunk)
    except Rejected:
        out.close()
        raise
    except NotImplementedError:
        out.close()
        raise Rejected("The zip member uses a compression method that is not supported") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, RuntimeError) as error:
        out.close()
        raise Rejected(f"The zip member is truncated or damaged ({error})") from None
    out.seek(0)
    return out


# e-mail -------------------------------------------------------------------------------------

def _unmail(stream, name, depth, budget):
    from . import mail  # (loaded for e-mails only: the e-mail package is a good part of a reader's start-up)

    message = mail.read_message(stream, budget.limits)
    found = False
    for part_name, payload in mail.report_parts(message, name):
        found = True
        with budget.spool() as inner:
            inner.write(payload)
            inner.seek(0)
            del payload
            yield from _descend(inner, part_name, depth + 1, budget)
    if not found:
        raise Rejected(mail.why_no_report(message))


# mbox ---------------------------------------------------------------------------------------

def _unmbox(stream, name, depth, budget):
    limits = budget.limits
    number = 0
    current = None
    at_line_start = True
    try:
        while True:
            line = stream.readline(CHUNK)
            if not line:
                break
            if at_line_start and line.startswith(b"From "):
                if current is not None:
                    yield from _mbox_message(current, name, number, depth, budget)
                number += 1
                if number > limits.max_members:
                    raise Rejected(f"The mbox file holds more than {limits.max_members} e-mails")
                current = budget.spool()
            elif current is not None:
                if at_line_start and line.startswith(b">From "):
                    line = line[1:]
                current.write(line)
            at_line_start = line.endswith(b"\n")
        if current is not None:
            yield from _mbox_message(current, name, number, depth, budget)
            current = None
    finally:
        if current is not None:
            current.close()


def _mbox_message(spool, name, number, depth, budget):
    with spool:
        spool.seek(0)
        yield from _descend(spool, f"{name}/message-{number}", depth + 1, budget)


def copy_to_spool(source: BinaryIO, budget: Budget) -> BinaryIO:
    """A seekable copy of a stream that cannot seek (a socket, a pipe)."""
    out = budget.spool()
    shutil.copyfileobj(source, out, CHUNK)
    out.seek(0)
    return out
