"""Read a DMARC aggregate report (XML) as a stream.

``parse_aggregate(source, limits=None) -> AggregateReport`` reads the report's metadata and
published policy at once and returns; ``report.rows`` is an iterator that parses the records
as it is consumed (once), so a 200,000-row report stays flat in memory::

    report = parse_aggregate(stream)          # raises Rejected if the report is unusable
    save_header(report.org_name, report.report_id, report.policy.domain, ...)
    for batch in report.rows.batches(5000):   # may raise Rejected part-way: roll back
        save_rows(batch)
    report.records, report.messages           # counted while the rows went by
    report.warnings                           # complete only once the rows are read

``source`` is bytes, a path, or a binary file (read from its current position; it must be
seekable, as the pipeline's members are). Shapes read: RFC 7489 (no namespace), RFC 9990
(``urn:ietf:params:xml:ns:dmarc-2.0``: generator, np, testing, discovery_method, disposition
``pass``, ``policy_test_mode``; ``<extension>`` and foreign-namespace elements are ignored),
and older drafts. Salvaged, with a warning on the report: malformed XML and invalid UTF-8
(read again in libxml2's recovery mode), upper-case or unknown enumeration values (case
normalised; unknown values kept as sent), empty reasons, rows without aligned DKIM/SPF
results, a missing org_name (taken from the e-mail address), metadata after the records,
and rows whose source_ip is not an IP address (skipped, counted in the warning).
Refused with ``Rejected``: any DOCTYPE (so no entity is ever expanded and no file or URL
ever read), nesting deeper than ``limits.max_xml_depth``, a record with more than
``limits.max_elements_per_record`` elements, an XML document cut short, a document that is
not ``<feedback>``, and reports without report_id, policy domain, reporter or valid dates,
or with a count that is not a whole number.

Absent texts are ``""``; absent numbers (``pct``) are ``None``. Datetimes are aware UTC.
"""

import functools
import ipaddress
import itertools
import re
import socket
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO, Iterator, NamedTuple

from lxml import etree

from .detect import strip_bom
from .errors import Rejected
from .limits import Limits, check_period
from .records import GiveUp, PlainRecords, wrap
from .reports import AggregateReport, DkimResult, Policy, Reason, Row, RowStream, SpfResult

DISPOSITIONS = {"none", "quarantine", "reject", "pass"}
DKIM_RESULTS = {"none", "pass", "fail", "policy", "neutral", "temperror", "permerror"}
SPF_RESULTS = {"none", "neutral", "pass", "fail", "softfail", "temperror", "permerror", "policy"}
ALIGNED_RESULTS = {"pass", "fail"}
POLICIES = {"none", "quarantine", "reject"}
ALIGNMENTS = {"r", "s"}
TESTING = {"n", "y"}
DISCOVERY_METHODS = {"psl", "treewalk"}
SPF_SCOPES = {"mfrom", "helo"}
REASON_TYPES = {"forwarded", "sampled_out", "trusted_forwarder", "mailing_list", "local_policy",
                "other", "policy_test_mode"}
MAX_COUNT = 2**63 - 1
COUNT = re.compile(r"\+?\d{1,19}")
HEX_AND_COLONS = re.compile(r"[0-9A-Fa-f:]+")
MAX_WARNINGS = 100
PROLOG_LIMIT = 65536


class Notes:
    """Warnings for one report, each said once, and not without end."""

    def __init__(self, warnings: list[str]):
        self.warnings = warnings

    def add(self, message: str) -> None:
        if message in self.warnings:
            return
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(message)
        elif len(self.warnings) == MAX_WARNINGS:
            self.warnings.append("More warnings were left out")


# Step 1: refuse what must never reach the parser -----------------------------------------------

def check_prolog(stream: BinaryIO) -> None:
    """Refuse a DOCTYPE (or any other markup declaration) before the root element."""
    start = stream.tell()
    head = stream.read(PROLOG_LIMIT)
    stream.seek(start)
    body, encoding = strip_bom(head)
    text = body.decode(encoding or "latin-1", errors="ignore")
    position = 0
    while True:
        while position < len(text) and text[position] in " \t\r\n\x00":
            position += 1
        rest = text[position:position + 9]
        if rest.startswith("<?"):
            end = text.find("?>", position)
        elif rest.startswith("<!--"):
            end = text.find("-->", position)
        elif rest.lower().startswith("<!doctype") and text[position + 9:position + 15].strip().lower().startswith("html"):
            raise Rejected("Not a DMARC or TLS-RPT report: the file is an HTML page")
        elif rest.startswith("<!"):
            raise Rejected("XML with a DOCTYPE is refused (entities and external references are never read)")
        else:
            return  # the root element, or something the parser will refuse
        if end < 0:
            if len(head) < PROLOG_LIMIT:
                return  # unterminated: the parser says so
            raise Rejected("The XML prolog (before the first element) is longer than 64 KB")
        position = end + 2


def ends_properly(stream: BinaryIO) -> bool:
    """Whether the document's last tag closes <feedback> (so it was not cut short)."""
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(max(0, size - 2048))
    tail = stream.read().rstrip(b" \t\r\n\x00")
    return re.search(rb"</\s*([\w.-]+:)?feedback\s*>(\s|<!--.*?-->)*$", tail, re.S) is not None


# Step 2: the top-level elements of <feedback>, each complete, one at a time ----------------------

class Reader:
    """Yields (local name, element) for report_metadata, policy_published, version and record.

    Each element is complete when yielded and cleared afterwards. Reads strictly first; on a
    syntax error that is not truncation or excessive depth, reads again in recovery mode,
    skipping what was already yielded, and notes a warning.

    An ordinary report is read the fast way first (``_parse_fast``, see records.py): its header
    parts as elements, then its records as their bytes (``read_record`` makes an element of one),
    with no tree built for the document. Where the fast way cannot be sure (``GiveUp``), the
    general way takes over from the start, leaving out as many items as the fast way handed out
    (``_general_items``); the fast way hands a record out only once libxml2 has read past the
    start of the next part, so the general way would have handed it out too before any error.

    The general way: a plain report (well-formed, ``<feedback>`` as its root) is read a chunk at a
    time, with no Python called for each element (``_parse_plain``); anything else, and recovery
    mode, is read element by element (``_parse_each``). Both enforce the
    limits: no part of the report with more than ``max_elements_per_record`` elements or deeper
    than ``max_xml_depth`` (``check_part``), and never more than one part (plus one chunk read)
    in memory. With ``check_records=False`` a plain report's records are handed out before
    ``check_part``: the caller checks them (``RecordReader`` does, once per shape of record). The
    fast way keeps the limits by leaving records longer than ``PlainRecords.RECORD_SIZE`` to the
    general way; the ones it reads are checked as elements, as the general way checks them.
    """

    WANTED = {"report_metadata", "policy_published", "version", "record"}
    FAST = True  # plain reports' records cut out of the bytes (see records.py); False: never
    CHUNK = 8192  # bytes fed to the parser at a time (see _parse_plain)
    PLAIN_WITHIN = 256 * 1024  # a plain report's <feedback> starts within this many bytes (else: general way)

    def __init__(self, stream: BinaryIO, limits: Limits, notes: Notes, check_records: bool = True):
        self.stream = stream
        self.limits = limits
        self.notes = notes
        self.check_records = check_records
        self.namespace_prefix = ""
        self.start = stream.tell()
        self._record_document = None  # record bytes (from the fast way) -> element, once the root is known

    def items(self):
        self.fast_handed = 0  # items the fast way handed out (it counts them)
        try:
            yield from self._parse_fast()
            return
        except GiveUp:
            self.stream.seek(self.start)
        yield from self._general_items(skip=self.fast_handed)

    def _general_items(self, skip: int = 0):
        """The items the general way, the first ``skip`` left out (the fast way handed them out)."""
        handed = 0
        try:
            for item in self._parse(recover=False):
                handed += 1
                if handed > skip:
                    yield item
            return
        except etree.XMLSyntaxError as error:
            self._refuse_unless_salvageable(error)
            self.notes.add(f"The XML is malformed ({_message(error)}); it was read in recovery mode, "
                           "so some values may be missing or cut short")
        self.stream.seek(self.start)
        handed = max(handed, skip)
        try:
            for index, item in enumerate(self._parse(recover=True)):
                if index >= handed:
                    yield item
        except etree.XMLSyntaxError as error:
            raise Rejected(f"The XML is too damaged to read ({_message(error)})") from None

    def _parse_fast(self):
        """The parts of a plain report the fast way (see records.py): the header parts from a
        document of their own, then each record as its bytes (``read_record`` makes an element of
        one). Raises GiveUp where the general way must take over."""
        if not self.FAST:
            raise GiveUp
        records = PlainRecords(self.stream)
        head, start_tag, end_tag = records.head()
        try:
            root = etree.fromstring(head + end_tag, self._head_parser())
        except etree.XMLSyntaxError:
            raise GiveUp from None
        if root.getroottree().docinfo.doctype or _split_tag(root.tag)[1] != "feedback":
            raise GiveUp
        namespace, _ = _split_tag(root.tag)
        self.namespace_prefix = f"{{{namespace}}}" if namespace else ""
        self._record_document = wrap(start_tag, end_tag)
        wanted = {tag: name for name in self.WANTED for tag in (name, self.namespace_prefix + name)}
        for part in root:
            name = wanted.get(part.tag)
            if name != "record" or self.check_records:
                self.check_part(part)
            if name is not None:
                self.fast_handed += 1
                yield name, part
        header_items = self.fast_handed
        try:
            yield from zip(itertools.repeat("record"), records.records())  # (no Python run per record here)
        finally:
            self.fast_handed = header_items + records.handed

    def read_record(self, record: bytes):
        """A record from the fast way as an element (in a document of its own). The fast way's
        libxml2 does not count levels: a record nested past libxml2's limit is refused here, as the
        general way refuses it when libxml2 gets there."""
        try:
            return self._record_document(record)
        except etree.XMLSyntaxError as error:
            if "Excessive depth" in str(error):
                raise self._too_deep() from None
            # Not reached: the fast way hands out well-formed records only. Should one slip through,
            # the report is refused (and nothing of it kept) rather than the import stopped.
            raise Rejected(f"A record of the report is malformed XML ({error.msg})") from None

    @staticmethod
    def _head_parser():
        return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                               remove_comments=True, remove_pis=True)

    def _refuse_unless_salvageable(self, error):
        if "Excessive depth" in str(error):
            raise self._too_deep() from None
        ends = ends_properly(self.stream)
        self.stream.seek(self.start)
        if not ends:
            raise Rejected("The XML is incomplete or damaged: it does not end with </feedback> "
                           f"({_message(error)})") from None

    def _too_deep(self):
        return Rejected(f"The XML nests elements more than {self.limits.max_xml_depth} levels deep; "
                        "a DMARC report needs about 5")

    def _parse(self, recover: bool):
        return self._parse_each(recover=True) if recover else self._parse_plain()

    def _parse_plain(self):
        """The parts of a plain report (``<feedback>`` at the top). libxml2 is fed CHUNK bytes at a
        time and reports nothing but where <feedback> starts; after each chunk, the children of
        <feedback> that another one follows are complete: each is checked, handed out if wanted and
        dropped, as ``_parse_each`` does. The part being read is counted, so a hostile part is
        refused before it grows large (a chunk holds at most CHUNK / 4 elements: ``<a/>``). Any
        other document is read by ``_parse_each`` from the start."""
        parser = etree.XMLPullParser(
            events=("start",), tag="{*}feedback", resolve_entities=False, no_network=True, load_dtd=False,
            huge_tree=False, recover=False, remove_comments=True, remove_pis=True,
        )
        events = parser.read_events()
        root = error = None
        fed = 0
        while True:
            chunk = self.stream.read(self.CHUNK)
            fed += len(chunk)
            try:
                if chunk:
                    parser.feed(chunk)
                else:
                    parser.close()
            except etree.XMLSyntaxError as syntax_error:
                error = syntax_error
            if root is None:
                first = next(events, None)
                if first is None and error is None and chunk and fed <= self.PLAIN_WITHIN:
                    continue  # <feedback> has not started yet
                if first is None or (root := self._plain_root(first[1])) is None:
                    self.stream.seek(self.start)  # nothing handed out yet: read it the general way
                    yield from self._parse_each(recover=False)
                    return
                wanted = {tag: name for name in self.WANTED for tag in (name, self.namespace_prefix + name)}
            for _ in events:  # <feedback>s deeper down: nothing to do
                pass
            parts = root[:]
            complete = parts if not (chunk or error) else parts[:-1]
            for part in complete:
                name = wanted.get(part.tag)
                if name != "record" or self.check_records:
                    self.check_part(part)
                if name is not None:
                    yield name, part
                part.clear()
                root.remove(part)
            if error is not None:
                raise error
            if not chunk:
                return
            if parts:
                self.check_part(parts[-1], depth=False)  # the part being read, as far as it goes

    def _plain_root(self, element):
        """The first <feedback> started, if it is the document's root (the document is plain), else None."""
        if element.getparent() is not None:
            return None
        if element.getroottree().docinfo.doctype:
            raise Rejected("XML with a DOCTYPE is refused (entities and external references are never read)")
        namespace, _ = _split_tag(element.tag)
        self.namespace_prefix = f"{{{namespace}}}" if namespace else ""
        return element

    def check_part(self, part, depth: bool = True) -> None:
        """Refuse a part of the report (a child of <feedback>, at depth 2) that is too big or too
        deep; its depth is only looked at when it holds enough elements to be too deep."""
        if not len(part):
            return
        max_elements = self.limits.max_elements_per_record
        elements = int(_count_descendants(part))
        if elements > max_elements:
            raise Rejected(f"A part of the report holds more than {max_elements} elements; "
                           "it is refused as hostile")
        levels = self.limits.max_xml_depth - 1  # an element this far below the part (at depth 2) is too deep
        if depth and elements >= levels and _deeper_than(levels)(part):
            raise self._too_deep()

    def _parse_each(self, recover: bool):
        """Top-level children are handed out once the next one starts (or the document ends):
        in recovery mode libxml2's end events can be missing, but the tree is always right."""
        events = etree.iterparse(
            self.stream, events=("start",), resolve_entities=False, no_network=True,
            load_dtd=False, huge_tree=False, recover=recover, remove_comments=True, remove_pis=True,
        )
        max_depth, max_elements = self.limits.max_xml_depth, self.limits.max_elements_per_record
        elements = 0
        root = wrapper = None
        for _, element in events:
            if root is None:
                root, wrapper = self._find_feedback(element, wrapper)
                continue
            parent = element.getparent()
            if parent is root:
                yield from self._finished_children(root, keep_last=True)
                elements = 0
                continue
            elements += 1
            if elements > max_elements:
                raise Rejected(f"A part of the report holds more than {max_elements} elements; "
                               "it is refused as hostile")
            if elements % 16 == 0:
                self._check_depth(element, max_depth)
        if root is not None:
            yield from self._finished_children(root, keep_last=False)
        elif wrapper is not None:
            outer = _split_tag(wrapper.tag)[1]
            raise Rejected(f"Not a DMARC aggregate report: the XML document is <{outer}>, not <feedback>")

    def _check_depth(self, element, max_depth: int) -> None:
        depth = 1
        for _ in element.iterancestors():
            depth += 1
            if depth > max_depth:
                raise self._too_deep()

    def _finished_children(self, root, keep_last: bool):
        prefix = self.namespace_prefix
        while len(root) > (1 if keep_last else 0):
            child = root[0]
            tag = child.tag
            if isinstance(tag, str):
                if prefix and tag.startswith(prefix):
                    tag = tag[len(prefix):]
                if tag in self.WANTED:
                    yield tag, child
            child.clear()
            del root[0]

    def _find_feedback(self, element, wrapper):
        """The <feedback> element: the document itself, or (seen in the wild) the first element
        inside a wrapper such as <xs:schema>. Returns (feedback or None, wrapper)."""
        if wrapper is None and element.getroottree().docinfo.doctype:
            raise Rejected("XML with a DOCTYPE is refused (entities and external references are never read)")
        namespace, name = _split_tag(element.tag)
        if name == "feedback":
            self.namespace_prefix = f"{{{namespace}}}" if namespace else ""
            if wrapper is not None:
                self.notes.add(f"The report is wrapped in <{_split_tag(wrapper.tag)[1]}>; the <feedback> inside was read")
            return element, wrapper
        if wrapper is None:
            return None, element
        outer = _split_tag(wrapper.tag)[1]
        raise Rejected(f"Not a DMARC aggregate report: the XML document is <{outer}>, not <feedback>")


_count_descendants = etree.XPath("count(descendant::*)")


@functools.lru_cache(maxsize=8)
def _deeper_than(levels: int):
    """Whether an element has descendants ``levels`` levels below it (an XPath made once)."""
    return etree.XPath("boolean(" + "/".join(["*"] * max(levels, 1)) + ")")


def _split_tag(tag) -> tuple[str, str]:
    """(namespace, local name) of a tag, also for prefixes never declared (recovery mode)."""
    if not isinstance(tag, str):
        return "", ""
    if tag.startswith("{"):
        namespace, _, name = tag[1:].partition("}")
        return namespace, name
    return "", tag.rpartition(":")[2]


def _message(error: etree.XMLSyntaxError) -> str:
    return (error.msg or str(error)).strip()


# Step 3: elements to values -------------------------------------------------------------------

class LocalNames(dict):
    """Tag -> local name, for elements in the report's namespace or in none (None for any other:
    foreign namespaces, comments). A report uses a handful of tags: each is worked out once."""

    LIMIT = 1000  # a hostile report may invent many tags: beyond this they are not remembered

    def __init__(self, prefix: str):
        super().__init__()
        self.prefix = prefix

    def __missing__(self, tag):
        name = None
        if isinstance(tag, str):
            if tag[0] != "{":
                name = tag
            elif self.prefix and tag.startswith(self.prefix):
                name = tag[len(self.prefix):]
        if len(self) < self.LIMIT:
            self[tag] = name
        return name


def _index(element, names: LocalNames) -> dict:
    """Children by local name (see ``LocalNames``), each name with its elements in order."""
    found = {}
    if element is None:
        return found
    for child in element:
        name = names[child.tag]
        if name is not None:
            elements = found.get(name)
            if elements is None:
                found[name] = [child]
            else:
                elements.append(child)
    return found


def _texts(element, names: LocalNames) -> dict:
    """Texts of an element's children by local name (the first child of each name), stripped."""
    found = {}
    if element is None:
        return found
    for child in element:
        name = names[child.tag]
        if name is not None and name not in found:
            text = child.text
            found[name] = text.strip() if text else ""
    return found


def _first(children: dict, name: str):
    elements = children.get(name)
    return elements[0] if elements else None


def _text(children: dict, name: str) -> str:
    elements = children.get(name)
    if not elements:
        return ""
    text = elements[0].text
    return text.strip() if text else ""


class Values:
    """Turns texts into checked values, noting what was odd on the report."""

    def __init__(self, notes: Notes):
        self.notes = notes

    def enum(self, value: str, known: set, what: str) -> str:
        if value in known:  # the usual case: sent as it should be
            return value
        lowered = value.lower()
        if lowered in known:
            return lowered
        if value:
            self.notes.add(f"Unknown {what} '{value[:100]}' kept as sent")
        return value

    def timestamp(self, value: str, what: str) -> datetime:
        if not value:
            raise Rejected(f"The report has no date_range {what}, so its period is unknown")
        try:
            seconds = float(value) if re.fullmatch(r"\d+(\.\d*)?", value) else None
            if seconds is None:
                raise ValueError
            return datetime.fromtimestamp(int(seconds), tz=timezone.utc)
        except (ValueError, OverflowError, OSError):
            raise Rejected(f"The report's date_range {what} '{value[:50]}' is not a Unix timestamp") from None

    def pct(self, value: str) -> int | None:
        if not value:
            return None
        if re.fullmatch(r"\d{1,3}", value) and int(value) <= 100:
            return int(value)
        written = re.fullmatch(r"(\d{1,3})(?:\.0*)?\s*%?", value)  # "100.0", "50%": salvaged
        if written and int(written[1]) <= 100:
            self.notes.add(f"policy_published pct '{value[:50]}' is not an integer; read as {int(written[1])}")
            return int(written[1])
        self.notes.add(f"policy_published pct '{value[:50]}' is not a percentage; ignored")
        return None


def read_metadata(metadata: dict, name: str, element, names: LocalNames, notes: Notes) -> None:
    """Keep the texts of report_metadata, policy_published or version in ``metadata``."""
    if name in metadata:
        notes.add(f"The report has more than one <{name}>; the first one is used")
        return
    if name == "version":
        metadata[name] = (element.text or "").strip()
        return
    children = _index(element, names)
    texts = {key: _text(children, key) for key in children}
    if name == "report_metadata":
        dates = _index(_first(children, "date_range"), names)
        texts["begin"], texts["end"] = _text(dates, "begin"), _text(dates, "end")
        texts["error"] = [(e.text or "").strip() for e in children.get("error", []) if (e.text or "").strip()]
    metadata[name] = texts


def build_report(metadata: dict, values: Values, warnings: list[str]) -> AggregateReport:
    """The report's header from its metadata texts, or Rejected if it cannot be told apart."""
    info = metadata.get("report_metadata", {})
    published = metadata.get("policy_published", {})
    notes = values.notes
    if not info.get("report_id"):
        raise Rejected("The report has no report_metadata/report_id, so it cannot be told apart from others")
    if not published.get("domain"):
        raise Rejected("The report has no policy_published/domain: it does not say which domain it is about")
    org_name, email = info.get("org_name", ""), info.get("email", "")
    if not org_name:
        if not email:
            raise Rejected("The report does not say who sent it (no org_name and no email)")
        org_name = email.rpartition("@")[2] or email
        notes.add(f"The report has no org_name; the reporter is named after its e-mail address ({org_name})")
    begin = values.timestamp(info.get("begin", ""), "begin")
    end = values.timestamp(info.get("end", ""), "end")
    if not published.get("p"):
        notes.add("policy_published has no p (the domain's policy)")
    policy = Policy(
        domain=published["domain"].lower().rstrip("."),
        p=values.enum(published.get("p", ""), POLICIES, "policy p"),
        sp=values.enum(published.get("sp", ""), POLICIES, "policy sp"),
        np=values.enum(published.get("np", ""), POLICIES, "policy np"),
        adkim=values.enum(published.get("adkim", ""), ALIGNMENTS, "adkim alignment"),
        aspf=values.enum(published.get("aspf", ""), ALIGNMENTS, "aspf alignment"),
        pct=values.pct(published.get("pct", "")),
        fo=published.get("fo", ""),
        testing=values.enum(published.get("testing", ""), TESTING, "testing flag"),
        discovery_method=values.enum(published.get("discovery_method", ""), DISCOVERY_METHODS,
                                     "discovery method"),
    )
    return AggregateReport(
        org_name=org_name, email=email, extra_contact_info=info.get("extra_contact_info", ""),
        report_id=info["report_id"], date_begin=begin, date_end=end, policy=policy,
        errors=info.get("error", []), generator=info.get("generator", ""),
        version=metadata.get("version", ""), warnings=warnings,
    )


def source_ip(value: str) -> str | None:
    """The address normalised as ``ipaddress`` writes it; None when it is not an IP address."""
    # (Not remembered: worked out in about half a microsecond, about what an LRU cache's bookkeeping
    # costs, and the addresses of a big report are mostly distinct.)
    try:  # fast paths for the usual spellings, which the C library writes as ipaddress does
        if "." in value:
            if socket.inet_ntop(socket.AF_INET, socket.inet_pton(socket.AF_INET, value)) == value:
                return value
        elif HEX_AND_COLONS.fullmatch(value):
            written = socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, value))
            if "." not in written:  # (not an IPv4-mapped or -compatible address)
                return written
    except (OSError, ValueError):
        pass
    try:
        address = ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    elif address.version == 6 and address.scope_id is not None:  # a zone ("%eth0") means nothing off the reporter's host
        address = ipaddress.IPv6Address(int(address))
    return str(address)


def read_count(raw: str, number: int) -> int:
    if not COUNT.fullmatch(raw) or int(raw) > MAX_COUNT:
        shown = f"'{raw[:50]}'" if raw else "missing"
        raise Rejected(f"Record {number}: the message count is {shown}, not a whole number")
    return int(raw)


def read_source(raw: str, number: int, count: int, notes: Notes) -> str | None:
    address = source_ip(raw)
    if address is None:
        shown = f"'{raw[:60]}' is not an IP address" if raw else "is missing"
        notes.add(f"Record {number}: source_ip {shown}; the record ({count} messages) was skipped")
    return address


_new_row = tuple.__new__  # Row._make without its checks


class RecordTexts(NamedTuple):
    """A record's texts, stripped, as they stand: what ``row_of`` makes a Row of ("" where absent)."""
    source_ip: str
    count: str
    disposition: str
    dkim: str
    spf: str
    reasons: tuple  # (type, comment) per <reason>
    header_from: str
    envelope_from: str
    envelope_to: str
    dkim_results: tuple  # (domain, selector, result, human_result) per <dkim>
    spf_results: tuple  # (domain, scope, result) per <spf>


def read_row(record, number: int, names: LocalNames, values: Values) -> Row | None:
    """One <record> as a Row; None (with a warning) when its source_ip is unusable."""
    return row_of(record_texts(record, names), number, values)


def record_texts(record, names: LocalNames) -> RecordTexts:
    """The texts of a <record> element that make its row, found where RFC 7489 and RFC 9990 put them
    (the first element of each name where one is expected)."""
    parts = _index(record, names)
    row = _index(_first(parts, "row"), names)
    evaluated = _index(_first(row, "policy_evaluated"), names)
    identifiers = _texts(_first(parts, "identifiers"), names)
    auth = _index(_first(parts, "auth_results"), names)
    reasons = [_texts(reason, names) for reason in evaluated.get("reason", ())]
    dkim = [_texts(result, names) for result in auth.get("dkim", ())]
    spf = [_texts(result, names) for result in auth.get("spf", ())]
    return RecordTexts(
        _text(row, "source_ip"), _text(row, "count"), _text(evaluated, "disposition"), _text(evaluated, "dkim"),
        _text(evaluated, "spf"), tuple((fields.get("type", ""), fields.get("comment", "")) for fields in reasons),
        identifiers.get("header_from", ""), identifiers.get("envelope_from", ""), identifiers.get("envelope_to", ""),
        tuple((fields.get("domain", ""), fields.get("selector", ""), fields.get("result", ""),
               fields.get("human_result", "")) for fields in dkim),
        tuple((fields.get("domain", ""), fields.get("scope", ""), fields.get("result", "")) for fields in spf),
    )


def row_of(texts: RecordTexts, number: int, values: Values) -> Row | None:
    """The Row the texts of the ``number``th record make (values checked, warnings noted); None
    (with a warning) when its source_ip is unusable."""
    notes, enum = values.notes, values.enum
    count = read_count(texts.count, number)
    address = read_source(texts.source_ip, number, count, notes)
    if address is None:
        return None
    reasons = tuple(Reason(enum(kind, REASON_TYPES, "reason type"), comment)
                    for kind, comment in texts.reasons if kind or comment)
    dkim_results = tuple(
        DkimResult(domain.lower(), selector, enum(result, DKIM_RESULTS, "DKIM result"), human_result)
        for domain, selector, result, human_result in texts.dkim_results)
    spf_results = tuple(
        SpfResult(domain.lower(), enum(scope, SPF_SCOPES, "SPF scope"), enum(result, SPF_RESULTS, "SPF result"))
        for domain, scope, result in texts.spf_results)
    header_from = texts.header_from.lower()
    if not header_from:
        notes.add(f"Record {number} has no identifiers/header_from")
    return _new_row(Row, (
        address, count, enum(texts.disposition, DISPOSITIONS, "disposition"),
        enum(texts.dkim, ALIGNED_RESULTS, "aligned DKIM result"), enum(texts.spf, ALIGNED_RESULTS, "aligned SPF result"),
        reasons, header_from, texts.envelope_from.lower(), texts.envelope_to.lower(), dkim_results, spf_results,
    ))


class RecordReader:
    """``read_row`` with a memory: records of a report mostly differ only in their source_ip and
    count, so a record that serialises like one already read except for those two texts takes
    that one's other values (and was checked when that one was read: same tags, same texts).
    Only the first occurrence of a shape is read element by element.

    A record from the fast way (see records.py) comes as its bytes, which are its shape as they
    are (without source_ip and count); the first of each shape is read by its layout
    (``RecordLayouts``), or else made an element (``read_element``) and read."""

    SHAPES = 4096  # remembered at most (then forgotten all at once) ...
    SHAPE_SIZE = 4096  # ... of records of at most this many characters (usually 500 to 1,500)
    SOURCE_AND_COUNT = re.compile(  # the record's first child is <row>, whose first two are these
        r"<record(?:\s[^>]*)?>[^<]*<row>[^<]*<source_ip>([^<&]*)</source_ip>[^<]*<count>([^<&]*)</count>")
    RAW_SOURCE_AND_COUNT = re.compile(  # the same in a record's bytes (\r: libxml2 reads \r\n as \n)
        rb"<record>[^<]*<row>[^<]*<source_ip>([^<&\r]*)</source_ip>[^<]*<count>([^<&\r]*)</count>")

    def __init__(self, names: LocalNames, values: Values, check, read_element=None):
        self.names, self.values, self.check = names, values, check
        self.read_element = read_element
        self.shapes: dict = {}  # shape (str, or bytes from the fast way) -> the row's values after source_ip and count
        self.layouts = RecordLayouts(self._element_texts) if read_element is not None else None

    def __call__(self, record, number: int) -> Row | None:
        """The row of a record given as an element (for its bytes: ``read_bytes``)."""
        xml = etree.tostring(record, encoding=str, with_tail=False)
        found = self.SOURCE_AND_COUNT.match(xml) if len(xml) <= self.SHAPE_SIZE else None
        if found is None:
            self.check(record)
            return read_row(record, number, self.names, self.values)
        shape = xml[:found.start(1)] + xml[found.end(1):found.start(2)] + xml[found.end(2):]
        rest = self.shapes.get(shape)
        if rest is None:
            return self._read_new_shape(record, shape, number)
        return self._row_of_shape(rest, found.group(1).strip(), found.group(2).strip(), number)

    def read_bytes(self, record: bytes, number: int) -> Row | None:
        """The row of a record given as its bytes (from the fast way)."""
        found = self.RAW_SOURCE_AND_COUNT.match(record)
        if found is None:
            return row_of(self.layouts.texts(record), number, self.values)
        _, (ip_start, ip_end), (count_start, count_end) = found.regs
        if ip_start == 24 and count_start - ip_end == 19:  # <record><row><source_ip>, </source_ip><count>
            shape = record[count_end:]  # (the usual case: the rest is the shape)
        else:
            shape = record[:ip_start] + record[ip_end:count_start] + record[count_end:]
        rest = self.shapes.get(shape)
        if rest is None:
            return self._remember(shape, row_of(self.layouts.texts(record), number, self.values))
        raw_count = record[count_start:count_end]
        if raw_count.isdigit() and len(raw_count) < 19:  # the usual case (bytes: ASCII digits only)
            count = int(raw_count)
        else:
            count = read_count(raw_count.decode().strip(), number)
        raw_ip = record[ip_start:ip_end].decode().strip()
        address = source_ip(raw_ip) or read_source(raw_ip, number, count, self.values.notes)
        if address is None:
            return None
        if not rest[4]:  # header_from
            self.values.notes.add(f"Record {number} has no identifiers/header_from")
        return _new_row(Row, (address, count) + rest)

    def _read_new_shape(self, record, shape, number: int) -> Row | None:
        self.check(record)
        return self._remember(shape, read_row(record, number, self.names, self.values))

    def _remember(self, shape, row: Row | None) -> Row | None:
        if row is not None:
            if len(self.shapes) >= self.SHAPES:
                self.shapes.clear()
            self.shapes[shape] = row[2:]
        return row

    def _element_texts(self, record: bytes) -> RecordTexts:
        """The texts of a record's bytes read as an element (checked against the limits first)."""
        element = self.read_element(record)
        self.check(element)
        return record_texts(element, self.names)

    def _row_of_shape(self, rest: tuple, raw_ip: str, raw_count: str, number: int) -> Row | None:
        if raw_count.isascii() and raw_count.isdigit() and len(raw_count) < 19:  # the usual case
            count = int(raw_count)
        else:
            count = read_count(raw_count, number)
        address = source_ip(raw_ip) or read_source(raw_ip, number, count, self.values.notes)
        if address is None:
            return None
        if not rest[4]:  # header_from
            self.values.notes.add(f"Record {number} has no identifiers/header_from")
        return Row._make((address, count, *rest))


class RecordLayouts:
    """The texts of a record from the fast way, read from its bytes by its layout (the sequence of its
    tags) without libxml2: records of a report come in a handful of layouts, so only the first record
    of each is read as an element (``element_texts``), and then with a number in place of each of its
    texts, so that ``record_texts`` says which place holds which text; the next records of that layout
    take their texts from those places. Texts so taken are what libxml2 reads: the fast way hands out
    well-formed records with no reference, comment, CDATA or processing instruction, and a layout is
    used only when every tag is a plain name (no attribute, namespace prefix or empty-element tag) and
    the record holds no carriage return (libxml2 reads CR LF as LF). Any other record is read as an
    element. A layout that nests too deep or holds too many elements is refused with its first
    record, as that record itself would be: its numbered copy has the same elements, and
    ``element_texts`` checks them."""

    LAYOUTS = 1024  # remembered at most (then forgotten all at once)
    PARTS = re.compile(rb"(<[^>]*>)")  # splits a record into its texts and its tags, in turn
    PLAIN_TAG = re.compile(rb"</?[A-Za-z_][A-Za-z0-9_.-]*>")

    def __init__(self, element_texts):
        self.element_texts = element_texts  # a record's bytes -> its RecordTexts, read as an element
        self.layouts: dict[bytes, RecordTexts | None] = {}  # tags -> the place of each text (None: not plain)

    def texts(self, record: bytes) -> RecordTexts:
        if b"\r" in record:
            return self.element_texts(record)
        parts = self.PARTS.split(record)  # text, tag, text, tag ... text: the text after tag i is parts[2 * i + 2]
        tags = parts[1::2]
        key = b"".join(tags)
        layout = self.layouts.get(key, self)
        if layout is self:
            layout = self._layout(tags)
            if len(self.layouts) >= self.LAYOUTS:
                self.layouts.clear()
            self.layouts[key] = layout
        if layout is None:
            return self.element_texts(record)
        return map_texts(layout, lambda place: parts[place].decode().strip() if place else "")

    def _layout(self, tags: list[bytes]) -> RecordTexts | None:
        """Where each text of records with these tags is (the index in their ``PARTS`` split; None
        where there is none); None when a tag is not plain."""
        if not all(self.PLAIN_TAG.fullmatch(tag) for tag in tags):
            return None
        numbered = b"".join(tag + b"%d" % (2 * index + 2) for index, tag in enumerate(tags[:-1])) + tags[-1]
        return map_texts(self.element_texts(numbered), lambda text: int(text) if text else None)


def map_texts(texts: RecordTexts, function) -> RecordTexts:
    """``texts`` with ``function`` applied to each text (those in tuples too)."""
    return RecordTexts._make(tuple(tuple(map(function, item)) for item in field) if type(field) is tuple
                             else function(field) for field in texts)


# The whole: metadata first, then rows as they are asked for -------------------------------------

def open_source(source) -> BinaryIO:
    import io

    if isinstance(source, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(source))
    if isinstance(source, (str, Path)):
        return open(source, "rb")
    return source


def parse_aggregate(source, limits: Limits | None = None) -> AggregateReport:
    """Parse the report's header now; its rows as ``report.rows`` is read (see module docstring)."""
    limits = limits or Limits()
    stream = open_source(source)
    if stream is not source and isinstance(source, (str, Path)):
        try:
            report = _parse(stream, limits)
        except BaseException:
            stream.close()
            raise
        report.rows = RowStream(_closing(report.rows, stream))
        return report
    return _parse(stream, limits)


def _closing(rows, stream):
    with stream:
        yield from rows


def _parse(stream: BinaryIO, limits: Limits) -> AggregateReport:
    check_prolog(stream)
    warnings: list[str] = []
    notes = Notes(warnings)
    values = Values(notes)
    reader = Reader(stream, limits, notes, check_records=False)  # RecordReader checks them
    items = reader.items()
    metadata: dict = {}
    pending = None
    for name, element in items:
        if name == "record":
            # refused now, before the report is taken on, as the parts before it
            reader.check_part(reader.read_record(element) if type(element) is bytes else element)
            pending = element
            break
        read_metadata(metadata, name, element, LocalNames(reader.namespace_prefix), notes)
    if pending is not None and not {"report_metadata", "policy_published"} <= metadata.keys():
        # Malformed order: read on for the metadata, then read the records in a second pass.
        notes.add("The report's metadata comes after its records; the file was read twice")
        for name, element in items:
            if name != "record":
                read_metadata(metadata, name, element, LocalNames(reader.namespace_prefix), notes)
        stream.seek(reader.start)
        reader = Reader(stream, limits, Notes([]), check_records=False)
        items, pending = reader.items(), None
    report = build_report(metadata, values, warnings)
    check_period(report.date_begin, report.date_end, limits)
    report.rows = RowStream(_rows(pending, items, reader, values))
    return report


def _rows(pending, items, reader: Reader, values: Values) -> Iterator[Row]:
    read = None
    number = 0
    first = [("record", pending)] if pending is not None else []
    for name, record in itertools.chain(first, items):
        if name != "record":
            continue
        if read is None or read.names.prefix != reader.namespace_prefix:  # (read again in recovery mode)
            read = RecordReader(LocalNames(reader.namespace_prefix), values, reader.check_part, reader.read_record)
        number += 1
        row = read.read_bytes(record, number) if type(record) is bytes else read(record, number)
        if row is not None:
            yield row
