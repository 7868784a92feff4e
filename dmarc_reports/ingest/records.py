"""The fast way through a plain DMARC aggregate report: its records cut out of the bytes, no tree.

An ordinary report is a <feedback> root with a few header parts and then thousands of
<record>s, one after the other. Building libxml2's tree for them and serialising each back
costs most of the parse, so ``PlainRecords`` does neither:

- libxml2 still reads every byte, but only to say whether the document is well-formed: the
  decompressed bytes are fed, ``CHUNK`` at a time, to a parser whose target has nothing but
  ``close()`` (``WellFormed``), so no tree is built and no Python is called per element.
- From the same bytes, the header (everything before the first ``<record>``) is returned whole
  (``head()``), to be read as a small document of its own; then the records are cut out at each
  ``</record>`` (``records()``) and handed out as bytes. The caller reads most of them by their
  shape (see ``RecordReader`` in aggregate.py) and the others as a one-record document made of the
  report's own root start tag, the record and the root's end tag (``wrap``).

A record is handed out only once libxml2 has read past the start of the part after it (the next
``<record>``, or the end of the document once the parser closed without error): by then the
record is known to be well-formed, and a parser reading the whole document (the general way,
see ``Reader`` in aggregate.py) would have handed it out too before reaching any error.
"Read past" means: more than ``CHUNK`` bytes were fed after it (a push parser may keep the last
bytes it was given for later, never a whole chunk of complete tags), or the parser closed.

``GiveUp`` is raised wherever the fast way could read something differently from the general way,
before anything uncertain is handed out; the caller then reads the report the general way from the
start, skipping what was already handed out. It gives up on: a syntax error (libxml2 said so: the
general way finds it again and does what it does today: recovery mode or a refusal), a document
whose first ``<record>`` is not within ``HEAD_WITHIN`` bytes, an encoding other than UTF-8
declared, a root start tag it cannot find, anything but whitespace between records (comments,
<extension>, metadata after the records, a record with attributes or a namespace prefix), and a
record with ``&`` (entity or character reference), a quote in a tag other than around a start
tag's attribute value (see ``_first_uncertain``), ``<!`` (comment, CDATA), ``<?``, another
``<record`` inside it, or more than ``RECORD_SIZE`` bytes (so a hostile record never grows in
memory here: the general way counts its elements and refuses it). Whatever it gives up on, it
holds at most a chunk, a record and the records waiting for libxml2 in memory.

Cutting at ``</record>`` is right because a record handed out holds no other ``<record``, no
comment, CDATA or processing instruction (where ``</record>`` could hide), and libxml2 found the
document well-formed up to past it. Texts are not looked at here: the shape of a record, its
source_ip and count are the caller's. libxml2 fed this way does not count nesting levels: the
caller refuses a record nested too deep when it reads it (as the general way does).
"""

import bisect
import math
import re
from typing import BinaryIO, Iterator

from lxml import etree

RECORD = b"<record>"
RECORD_END = b"</record>"
WHITESPACE = b" \t\r\n"
PROLOG = re.compile(rb"(?:\xef\xbb\xbf)?(?:[ \t\r\n]+|<\?.*?\?>|<!--.*?-->)*", re.S)
START_TAG = re.compile(  # a start tag and its attributes (values may hold ">", never "<")
    rb"<([A-Za-z_][^\s/>\"'<=]*)(?:[ \t\r\n]+[^\s=/>\"'<]+[ \t\r\n]*=[ \t\r\n]*(?:\"[^\"<]*\"|'[^'<]*'))*[ \t\r\n]*>")
DECLARED_ENCODING = re.compile(rb"(?:\xef\xbb\xbf)?<\?xml[^>]*?encoding[ \t\r\n]*=[ \t\r\n]*[\"']([^\"']*)[\"']")


class GiveUp(Exception):
    """The fast way cannot be sure to read what follows as the general way would."""


class WellFormed:
    """A parser target that takes no events: libxml2 checks the document and builds nothing."""

    def close(self):
        return None


class PlainRecords:
    """A plain report's header and records, cut out of its bytes (see the module docstring).

    ``head()`` first: (the bytes before the first record, the root's start tag, its end tag);
    then ``records()``: each record's bytes, ``<record>`` to ``</record>``. Either may raise
    ``GiveUp``; nothing it has returned before is ever wrong.
    """

    CHUNK = 65536  # bytes fed to libxml2 at a time
    HEAD_WITHIN = 256 * 1024  # the first <record> starts within this many bytes (else: give up)
    RECORD_SIZE = 4096  # longer records (and gaps between them) are left to the general way

    def __init__(self, stream: BinaryIO):
        self.stream = stream
        self.validator = etree.XMLParser(
            target=WellFormed(), resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
        )
        self.fed = 0  # bytes given to libxml2 so far
        self.handed = 0  # records handed out
        self.closed = False  # the document ended and libxml2 found it well-formed
        self.data = b""  # bytes read and not yet cut; self.data[0] is byte self.offset of the document
        self.offset = 0
        self.end_tag = b""

    def head(self) -> tuple[bytes, bytes, bytes]:
        """(the document up to its first <record>, the root's start tag, the root's end tag)."""
        while (first := self.data.find(RECORD)) < 0:
            if self.closed or len(self.data) > self.HEAD_WITHIN:
                raise GiveUp
            self.data += self._read()
        head = self.data[:first]
        declared = DECLARED_ENCODING.match(head)
        if declared is not None and declared.group(1).lower() != b"utf-8":
            raise GiveUp
        start_tag = START_TAG.match(head, PROLOG.match(head).end())
        if start_tag is None:
            raise GiveUp
        self.end_tag = b"</" + start_tag.group(1) + b">"
        self.root_end = re.compile(rb"[ \t\r\n]*" + re.escape(self.end_tag[:-1]) + rb"[ \t\r\n]*>")
        self.data, self.offset = self.data[first:], first
        return head, start_tag.group(0), self.end_tag

    def records(self) -> Iterator[bytes]:
        """Each record's bytes, once libxml2 has read past it."""
        waiting: list[bytes] = []  # records cut, in order, not yet handed out ...
        until: list[float] = []  # ... each once libxml2 has read this many bytes (inf: once it closed well)
        position, ended = 0, False  # self.data[position:] starts with <record> until the root's end tag is cut
        while True:
            data = self.data
            if not ended:
                position, ended = self._cut(data, position, waiting, until)
            ready = len(waiting) if self.closed else bisect.bisect_right(until, self.fed - self.CHUNK)
            if ready:
                self.handed += ready  # (each one is taken before this generator runs on)
                yield from waiting[:ready]
                del waiting[:ready], until[:ready]
            if self.closed:
                if not ended:
                    raise GiveUp
                return
            if ended:
                position = len(data)  # nothing more to cut: keep no bytes
            self.data, self.offset = data[position:] + self._read(), self.offset + position
            position = 0

    def _cut(self, data: bytes, position: int, waiting: list, until: list) -> tuple[int, bool]:
        """Cut the records of ``data`` from ``position`` (where a <record> starts) into ``waiting``
        (and when to hand them out into ``until``). Returns where the next record starts (the
        rest is read on) and whether the root's end tag was reached; GiveUp on anything uncertain."""
        uncertain = _first_uncertain(data)
        start, cut = position, len(waiting)
        ended = False
        size, offset, keep, keep_until = self.RECORD_SIZE, self.offset, waiting.append, until.append
        while True:
            end = data.find(b"</record>", position + 8, position + size)
            if end < 0:
                if len(data) - position >= size:
                    raise GiveUp  # a long (or endless) record
                break  # read on
            after = end + 9
            if uncertain < after:
                raise GiveUp
            following = data.find(b"<record>", after)
            if following >= 0 and (following == after or not data[after:following].strip(WHITESPACE)):
                keep(data[position:after])
                keep_until(offset + following + 8)  # (past the next <record>)
                position = following
                continue
            found = self.root_end.match(data, after)
            if found is not None:
                keep(data[position:after])
                keep_until(math.inf)  # the last: handed out once the document closed well
                position, ended = found.end(), True
                break
            if following < 0 and self._may_follow(data[after:]):
                break  # read on
            raise GiveUp  # something other than a record follows
        if data.count(b"<record", start, position) != len(waiting) - cut:
            raise GiveUp  # a <record inside a record
        return position, ended

    def _may_follow(self, rest: bytes) -> bool:
        """Whether ``rest`` (what follows a record, up to the bytes read so far) may still turn out
        to be whitespace and a <record> or the root's end tag."""
        if self.closed or len(rest) > self.RECORD_SIZE:
            return False
        rest = rest.lstrip(WHITESPACE)
        return RECORD.startswith(rest) or self.end_tag[:-1].startswith(rest[:len(self.end_tag) - 1])

    def _read(self) -> bytes:
        """The next chunk, fed to libxml2 (which closes the document at its end); GiveUp on a
        syntax error."""
        chunk = self.stream.read(self.CHUNK)
        try:
            if chunk:
                self.validator.feed(chunk)
            else:
                self.validator.close()
                self.closed = True
        except etree.XMLSyntaxError:
            raise GiveUp from None
        self.fed += len(chunk)
        return chunk


def _first_uncertain(data: bytes) -> int:
    """Where the first ``&``, ``<!``, ``<?`` or tag with a quote that is not a start tag's attribute
    value is in ``data`` (its length if nowhere). (``!``, ``?`` and quotes are looked for alone: they
    are rare, and ``<`` is everywhere.)"""
    first = data.find(b"&")
    if first < 0:
        first = len(data)
    first = _open_quote(data, first)
    for mark in (b"!", b"?"):
        at = data.find(mark, 1, first)
        while at >= 0:
            if data[at - 1] == ord("<"):
                first = at - 1
                break
            at = data.find(mark, at + 1, first)
    return first


def _open_quote(data: bytes, end: int) -> int:
    """Where the first tag before ``end`` holding a quote other than around a start tag's attribute
    value starts (``end`` if none does). Such a quote may be an attribute value left open, which keeps
    libxml2's push parser looking for its end to the end of the document: its error comes only when
    the parser closes, long after the records behind it would have been handed out. Each byte is
    looked at a bounded number of times, however many quotes there are."""
    nearest = {quote: data.find(quote, 0, end) for quote in (b'"', b"'")}
    while True:
        at = min((position for position in nearest.values() if position >= 0), default=-1)
        if at < 0:
            return end
        opening = data.rfind(b"<", 0, at)
        if opening > data.rfind(b">", 0, at):  # in a tag
            tag = START_TAG.match(data, opening)
            if tag is None or tag.end() <= at:
                return opening
            resume = tag.end()
        else:  # in a text, which runs to the next tag
            resume = data.find(b"<", at, end)
            if resume < 0:
                return end
        for quote, position in nearest.items():
            if 0 <= position < resume:
                nearest[quote] = data.find(quote, resume, end)


def wrap(start_tag: bytes, end_tag: bytes):
    """A function reading one record's bytes as libxml2 reads it inside the report: in a document
    of its own whose root is the report's root (so the same namespaces are declared)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                             remove_comments=True, remove_pis=True)

    def read(record: bytes):
        return etree.fromstring(start_tag + record + end_tag, parser)[0]

    return read
