"""The zones an authoritative test DNS server serves, and how it answers from them.

``ZoneStore`` holds several zones (dnspython ``Zone`` objects with absolute names) and fills in a
response for one question the way an authoritative server does:

- the most specific zone containing the name answers; no zone means REFUSED;
- answers carry the AA bit; NXDOMAIN and NODATA (NOERROR, empty answer) both put the zone's SOA
  in the authority section;
- empty non-terminals exist (NODATA, not NXDOMAIN) and block wildcards (RFC 4592);
- ``*.<closest encloser>`` synthesises answers for names that do not exist;
- a CNAME is put in the answer and followed, across the zones served, for a few hops;
- NS records below a zone apex are delegations: names at or below them get a referral.

It is thread-safe: tests add records from their own thread while the server answers from another.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import dns.exception
import dns.flags
import dns.name
import dns.node
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rrset
import dns.zone

DEFAULT_TTL = 60
MAX_CNAME_HOPS = 8
ZONE_FILE_SUFFIX = ".zone"

IN = dns.rdataclass.IN
SOA = dns.rdatatype.SOA
NS = dns.rdatatype.NS
CNAME = dns.rdatatype.CNAME
DS = dns.rdatatype.DS
ANY = dns.rdatatype.ANY
WILDCARD_LABEL = b"*"


class ZoneError(ValueError):
    """A zone or record a test asked for cannot be served."""


@dataclass
class Lookup:
    """What one zone says about one (name, type): the answer and the rest of the response."""

    rcode: int = dns.rcode.NOERROR
    answer: list = field(default_factory=list)
    authority: list = field(default_factory=list)
    additional: list = field(default_factory=list)
    cname_target: dns.name.Name | None = None
    referral: bool = False


@dataclass
class ZoneIndex:
    """Derived facts about a zone, rebuilt after it changes. Names are ``key()`` tuples."""

    names: set  # every name that exists, empty non-terminals included
    cuts: set  # delegation points (NS below the apex)
    negative: dns.rrset.RRset  # the SOA for NXDOMAIN/NODATA answers, TTL capped (RFC 2308)
    rrsets: dict = field(default_factory=dict)  # (name, type) -> RRset, filled as asked


def key(name: dns.name.Name) -> tuple:
    """A cheap dictionary key for a name: its lower-case labels (hashing Name objects is slow)."""
    return tuple(label.lower() for label in name.labels)


def to_name(value) -> dns.name.Name:
    if isinstance(value, dns.name.Name):
        return value
    return dns.name.from_text(value)


def rrset_at(owner: dns.name.Name, rdataset: dns.rdataset.Rdataset) -> dns.rrset.RRset:
    rrset = dns.rrset.RRset(owner, rdataset.rdclass, rdataset.rdtype, rdataset.covers)
    rrset.update(rdataset)
    return rrset


class ZoneStore:
    def __init__(self):
        self._zones: dict[tuple, dns.zone.Zone] = {}  # by key(origin)
        self._indexes: dict[tuple, ZoneIndex] = {}
        self._lock = threading.RLock()

    # -- loading and changing zones -------------------------------------------------------------

    @property
    def origins(self) -> list[dns.name.Name]:
        with self._lock:
            return sorted(zone.origin for zone in self._zones.values())

    def clear(self) -> None:
        with self._lock:
            self._zones.clear()
            self._indexes.clear()

    def load_dir(self, path) -> None:
        """Load every ``*.zone`` file of a directory."""
        for file in sorted(Path(path).glob("*" + ZONE_FILE_SUFFIX)):
            self.add_zone_file(file)

    def add_zone_file(self, path) -> dns.zone.Zone:
        """Load a master file; its origin is its first ``$ORIGIN``, else its file name."""
        path = Path(path)
        text = path.read_text()
        origin = None
        if not re.search(r"^\$ORIGIN\s", text, re.MULTILINE | re.IGNORECASE):
            origin = path.name.removesuffix(ZONE_FILE_SUFFIX).rstrip(".") + "."
        try:
            return self.add_zone_text(origin, text)
        except ZoneError as exc:
            raise ZoneError(f"{path}: {exc}") from None

    def add_zone_text(self, origin, text: str) -> dns.zone.Zone:
        """Add (or replace) a zone from master-file text.

        A missing ``$TTL`` defaults to 60 s; a missing SOA or NS at the apex gets a default one, so
        a test can write just the records it cares about.
        """
        try:
            zone = dns.zone.from_text(
                f"$TTL {DEFAULT_TTL}\n{text}",
                origin=None if origin is None else to_name(origin),
                relativize=False,
                check_origin=False,
            )
        except dns.exception.DNSException as exc:
            raise ZoneError(f"cannot parse zone {origin or ''}: {exc}") from None
        self._add_apex_defaults(zone)
        with self._lock:
            self._zones[key(zone.origin)] = zone
            self._indexes.pop(key(zone.origin), None)
        return zone

    def add_record(self, name, rdtype, value: str, ttl: int = DEFAULT_TTL) -> None:
        """Add one record (e.g. ``"2.0.0.127.zen.test.", "A", "127.0.0.2"``) to the zone holding it."""
        name = to_name(name)
        rdtype = dns.rdatatype.from_text(rdtype) if isinstance(rdtype, str) else rdtype
        with self._lock:
            zone = self.zone_for(name)
            if zone is None:
                raise ZoneError(f"no zone served holds {name}; add one with add_zone_text() first")
            rdata = dns.rdata.from_text(IN, rdtype, value, origin=zone.origin, relativize=False)
            zone.find_rdataset(name, rdtype, create=True).add(rdata, ttl)
            self._indexes.pop(key(zone.origin), None)

    def remove_records(self, name, rdtype=None) -> None:
        """Remove the records of one type (or all records) at a name."""
        name = to_name(name)
        with self._lock:
            zone = self.zone_for(name)
            if zone is None:
                return
            if rdtype is None:
                zone.delete_node(name)
            else:
                rdtype = dns.rdatatype.from_text(rdtype) if isinstance(rdtype, str) else rdtype
                zone.delete_rdataset(name, rdtype)
                node = zone.get_node(name)
                if node is not None and len(node) == 0:
                    zone.delete_node(name)
            self._indexes.pop(key(zone.origin), None)

    @staticmethod
    def _add_apex_defaults(zone: dns.zone.Zone) -> None:
        origin = zone.origin
        apex = zone.find_node(origin, create=True)
        ns_name = dns.name.from_text("ns", origin)
        if apex.get_rdataset(IN, SOA) is None:
            soa = f"{ns_name} hostmaster.{origin} 1 3600 600 86400 {DEFAULT_TTL}"
            zone.find_rdataset(origin, SOA, create=True).add(dns.rdata.from_text(IN, SOA, soa), 3600)
        if apex.get_rdataset(IN, NS) is None:
            zone.find_rdataset(origin, NS, create=True).add(dns.rdata.from_text(IN, NS, str(ns_name)), 3600)

    # -- finding things -------------------------------------------------------------------------

    def zone_for(self, name: dns.name.Name) -> dns.zone.Zone | None:
        """The most specific zone containing ``name``."""
        labels = key(name)
        with self._lock:
            for start in range(len(labels)):
                zone = self._zones.get(labels[start:])
                if zone is not None:
                    return zone
        return None

    def _index(self, zone: dns.zone.Zone) -> ZoneIndex:
        index = self._indexes.get(key(zone.origin))
        if index is None:
            index = self._indexes[key(zone.origin)] = self._build_index(zone)
        return index

    @staticmethod
    def _build_index(zone: dns.zone.Zone) -> ZoneIndex:
        origin = key(zone.origin)
        names, cuts = {origin}, set()
        for name, node in zone.nodes.items():
            if len(node) == 0:
                continue
            labels = key(name)
            if labels != origin and node.get_rdataset(IN, NS) is not None:
                cuts.add(labels)
            while labels not in names:
                names.add(labels)
                labels = labels[1:]
        soa = zone.get_rdataset(zone.origin, SOA)
        negative = rrset_at(zone.origin, soa)
        negative.ttl = min(soa.ttl, soa[0].minimum)
        return ZoneIndex(names, cuts, negative)

    # -- answering ------------------------------------------------------------------------------

    def answer(self, response, qname: dns.name.Name, qtype: int, dnssec: bool = False) -> None:
        """Fill ``response`` (made by ``dns.message.make_response``) for one question; ``dnssec`` (the
        query's DO bit): with the signatures (RRSIG) the zone holds over the answer's record sets."""
        self._answer(response, qname, qtype)
        if dnssec:
            with self._lock:
                for rrset in list(response.answer):
                    zone = self.zone_for(rrset.name)
                    node = zone.get_node(rrset.name) if zone is not None else None
                    signatures = node.get_rdataset(IN, dns.rdatatype.RRSIG, rrset.rdtype) if node else None
                    if signatures is not None:
                        response.answer.append(rrset_at(rrset.name, signatures))

    def _answer(self, response, qname: dns.name.Name, qtype: int) -> None:
        with self._lock:
            zone = self.zone_for(qname)
            if zone is None:
                response.set_rcode(dns.rcode.REFUSED)
                return
            response.flags |= dns.flags.AA
            seen = {qname}
            while True:
                lookup = self._lookup(zone, qname, qtype)
                response.answer.extend(lookup.answer)
                response.authority.extend(lookup.authority)
                response.additional.extend(lookup.additional)
                response.set_rcode(lookup.rcode)
                if lookup.referral and not response.answer:
                    response.flags &= ~dns.flags.AA
                qname = lookup.cname_target
                if qname is None or qname in seen or len(seen) > MAX_CNAME_HOPS:
                    return
                seen.add(qname)
                zone = self.zone_for(qname)
                if zone is None:
                    return

    def _lookup(self, zone, qname, qtype) -> Lookup:
        index = self._index(zone)
        labels = key(qname)
        cut = self._zone_cut(index, labels, qtype)
        if cut is not None:
            return self._referral(zone, dns.name.Name(cut))
        node = zone.get_node(qname)
        if node is not None and len(node) > 0:
            return self._from_node(index, node, qname, qtype, exact=True)
        if labels in index.names:  # an empty non-terminal
            return Lookup(authority=[index.negative])
        wildcard = self._wildcard_for(zone, index, labels)
        if wildcard is not None:
            return self._from_node(index, wildcard, qname, qtype, exact=False)
        return Lookup(rcode=dns.rcode.NXDOMAIN, authority=[index.negative])

    def _from_node(self, index, node: dns.node.Node, owner, qtype, exact: bool) -> Lookup:
        """Answer from a node; a wildcard node's records take the question's name as owner."""

        def rrset(rdataset):
            if not exact:
                return rrset_at(owner, rdataset)
            cache_key = (key(owner), rdataset.rdtype)
            if cache_key not in index.rrsets:
                index.rrsets[cache_key] = rrset_at(owner, rdataset)
            return index.rrsets[cache_key]

        if qtype == ANY:
            return Lookup(answer=[rrset(rdataset) for rdataset in node.rdatasets])
        rdataset = node.get_rdataset(IN, qtype)
        if rdataset is not None:
            return Lookup(answer=[rrset(rdataset)])
        cname = node.get_rdataset(IN, CNAME)
        if cname is not None:
            return Lookup(answer=[rrset(cname)], cname_target=cname[0].target)
        return Lookup(authority=[index.negative])

    @staticmethod
    def _wildcard_for(zone, index: ZoneIndex, labels: tuple) -> dns.node.Node | None:
        """The wildcard node at the closest encloser of a name that does not exist, if any."""
        encloser = labels[1:]
        while encloser not in index.names:
            encloser = encloser[1:]
        node = zone.get_node(dns.name.Name((WILDCARD_LABEL,) + encloser))
        if node is None or len(node) == 0:
            return None
        return node

    @staticmethod
    def _zone_cut(index: ZoneIndex, labels: tuple, qtype) -> tuple | None:
        """The highest delegation point at or above a name (DS at a cut belongs to the parent)."""
        if not index.cuts:
            return None
        found = None
        for start in range(len(labels)):
            suffix = labels[start:]
            if suffix in index.cuts and not (start == 0 and qtype == DS):
                found = suffix
        return found

    def _referral(self, zone, cut: dns.name.Name) -> Lookup:
        ns = zone.get_rdataset(cut, NS)
        glue = []
        for rdata in ns:
            if rdata.target.is_subdomain(cut):
                node = zone.get_node(rdata.target)
                if node is not None:
                    glue.extend(rrset_at(rdata.target, r) for r in node.rdatasets if r.rdtype in GLUE_TYPES)
        return Lookup(authority=[rrset_at(cut, ns)], additional=glue, referral=True)


GLUE_TYPES = (dns.rdatatype.A, dns.rdatatype.AAAA)
