"""An authoritative DNS server for tests: zone files served on 127.0.0.1, UDP and TCP on one port.

    with DNSServer(zone_dir="tests/zones") as server:
        server.add_record("2.0.0.127.zen.test.", "A", "127.0.0.2")
        server.set_fault("dead.bl.test.", drop=True)        # never answers: clients time out
        server.set_fault("slow.bl.test.", latency=0.05)     # answers 50 ms late, concurrently
        answer = server.make_resolver().resolve("example.test.", "MX")

How answers are made from the zones is in ``dns_zones.py``. This module holds the network side:
the asyncio loop in a background thread, truncation (TC) of UDP answers larger than the client's
payload size, TCP with length-prefixed messages, and the faults tests inject per name suffix.

For benches, run it on its own (another process keeps the GIL free for the client):

    python -m tests.harness.dns_server --zones tests/zones --port 5353 --fault .:latency=0.05
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import functools
import signal
import socket
import struct
import sys
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import dns.flags
import dns.message
import dns.name
import dns.nameserver
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.resolver

from .dns_zones import DEFAULT_TTL, ZoneStore, to_name

ADDRESS = "127.0.0.1"
OUR_PAYLOAD = 1232  # the EDNS buffer size we advertise (DNS flag day 2020)
UDP_SIZE_WITHOUT_EDNS = 512
TCP_MAX_SIZE = 65535
TCP_IDLE_TIMEOUT = 10.0
QUERY_LOG_SIZE = 100_000
DEFAULT_ZONE_DIR = Path(__file__).resolve().parent.parent / "zones"


@dataclass(frozen=True)
class Fault:
    """What goes wrong for names under one suffix. ``latency`` combines with the others."""

    latency: float = 0.0
    drop: bool = False
    servfail: bool = False
    refused: bool = False


NO_FAULT = Fault()


class QueryRecord(NamedTuple):
    """One question the server received: lower-case name, type text, "udp" or "tcp"."""

    name: str
    type: str
    transport: str


class UDPProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: DNSServer):
        self.server = server
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        send = functools.partial(self.transport.sendto, addr=addr)
        self.server.handle_message(data, "udp", send)

    def error_received(self, exc):
        pass  # e.g. ICMP port unreachable from a client that gave up: nothing to do


class DNSServer:
    address = ADDRESS

    def __init__(self, zone_dir=None, port: int = 0):
        self.zone_dir = zone_dir
        self.port = port
        self.queries: collections.deque[QueryRecord] = collections.deque(maxlen=QUERY_LOG_SIZE)
        self.zones = self._load_zones()
        self._faults: dict[dns.name.Name, Fault] = {}
        self._zones_changed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # -- addresses clients use ------------------------------------------------------------------

    @property
    def host_port(self) -> str:
        """``"127.0.0.1:<port>"``: the format of the app's DNS_NAMESERVERS setting."""
        return f"{self.address}:{self.port}"

    @property
    def nameserver(self) -> dns.nameserver.Do53Nameserver:
        """The nameserver object dnspython and checkdmarc need for a port other than 53."""
        return dns.nameserver.Do53Nameserver(self.address, self.port)

    def make_resolver(self, timeout: float = 2.0) -> dns.resolver.Resolver:
        """A resolver asking only this server; a timeout raises ``dns.exception.Timeout``."""
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [self.nameserver]
        resolver.timeout = resolver.lifetime = timeout
        return resolver

    # -- zones and records ----------------------------------------------------------------------

    def add_zone_text(self, origin, text: str):
        """Serve a zone from master-file text (a missing SOA/NS/$TTL gets a default)."""
        self._zones_changed = True
        return self.zones.add_zone_text(origin, text)

    def add_record(self, name, rdtype, value: str, ttl: int = DEFAULT_TTL) -> None:
        """Add a record to the served zone holding ``name`` (raises ZoneError if none does)."""
        self._zones_changed = True
        self.zones.add_record(name, rdtype, value, ttl)

    def remove_records(self, name, rdtype=None) -> None:
        """Remove the records of one type, or all of them, at ``name``."""
        self._zones_changed = True
        self.zones.remove_records(name, rdtype)

    def _load_zones(self) -> ZoneStore:
        zones = ZoneStore()
        if self.zone_dir is not None:
            zones.load_dir(self.zone_dir)
        return zones

    # -- faults ---------------------------------------------------------------------------------

    def set_fault(self, suffix=".", *, latency=0.0, drop=False, servfail=False, refused=False) -> None:
        """Make questions for names at or under ``suffix`` ("." is every name) misbehave.

        The most specific suffix wins, so ``set_fault("ok.test.")`` with no arguments exempts a
        subtree from a fault set on a parent.
        """
        if drop + servfail + refused > 1:
            raise ValueError("choose one of drop, servfail, refused")
        if latency < 0:
            raise ValueError("latency must be >= 0")
        faults = dict(self._faults)
        faults[to_name(suffix)] = Fault(float(latency), drop, servfail, refused)
        self._faults = faults  # replaced whole: the server thread never sees a half-made dict

    def clear_fault(self, suffix) -> None:
        faults = dict(self._faults)
        faults.pop(to_name(suffix), None)
        self._faults = faults

    def clear_faults(self) -> None:
        self._faults = {}

    def fault_for(self, name: dns.name.Name) -> Fault:
        faults = self._faults
        if not faults:
            return NO_FAULT
        while True:
            fault = faults.get(name)
            if fault is not None:
                return fault
            if len(name) <= 1:
                return NO_FAULT
            name = name.parent()

    def reset(self) -> None:
        """Back to the zone files: no faults, no runtime records or zones, empty query log."""
        self.clear_faults()
        self.queries.clear()
        if self._zones_changed:
            self.zones = self._load_zones()
            self._zones_changed = False

    # -- answering ------------------------------------------------------------------------------

    def handle_message(self, data: bytes, transport: str, send) -> None:
        """Answer one DNS message; ``send(wire)`` delivers the answer (maybe later, maybe never)."""
        try:
            query = dns.message.from_wire(data)
        except Exception:
            self._send_format_error(data, send)
            return
        if query.flags & dns.flags.QR:
            return  # a response, not a question: never answer those
        if len(query.question) != 1:
            send(self._error_wire(query, dns.rcode.FORMERR))
            return
        question = query.question[0]
        self.queries.append(QueryRecord(question.name.to_text().lower(), dns.rdatatype.to_text(question.rdtype), transport))
        fault = self.fault_for(question.name)
        if fault.drop:
            return
        try:
            wire = self._answer_wire(query, fault, transport)
        except Exception:
            traceback.print_exc(file=sys.stderr)
            wire = self._error_wire(query, dns.rcode.SERVFAIL)
        if fault.latency:
            self._loop.call_later(fault.latency, send, wire)
        else:
            send(wire)

    def _answer_wire(self, query, fault: Fault, transport: str) -> bytes:
        question = query.question[0]
        response = dns.message.make_response(query, our_payload=OUR_PAYLOAD)
        if fault.servfail:
            response.set_rcode(dns.rcode.SERVFAIL)
        elif fault.refused:
            response.set_rcode(dns.rcode.REFUSED)
        elif query.opcode() != dns.opcode.QUERY:
            response.set_rcode(dns.rcode.NOTIMP)
        elif question.rdclass != dns.rdataclass.IN or self._is_unsupported_type(question.rdtype):
            response.set_rcode(dns.rcode.REFUSED)
        else:
            self.zones.answer(response, question.name, question.rdtype,
                              dnssec=query.edns >= 0 and bool(query.ednsflags & dns.flags.DO))
        return response.to_wire(max_size=self._max_size(query, transport), prefer_truncation=True)

    @staticmethod
    def _is_unsupported_type(rdtype) -> bool:
        return dns.rdatatype.is_metatype(rdtype) and rdtype != dns.rdatatype.ANY  # AXFR, OPT, ...

    @staticmethod
    def _max_size(query, transport: str) -> int:
        """UDP answers larger than this get TC set; the client then asks again over TCP."""
        if transport == "tcp":
            return TCP_MAX_SIZE
        if query.edns >= 0:
            return max(UDP_SIZE_WITHOUT_EDNS, query.payload)
        return UDP_SIZE_WITHOUT_EDNS

    @staticmethod
    def _error_wire(query, rcode) -> bytes:
        response = dns.message.make_response(query)
        response.set_rcode(rcode)
        return response.to_wire()

    @staticmethod
    def _send_format_error(data: bytes, send) -> None:
        """FORMERR for a message we cannot parse, if its header at least looks like a question."""
        if len(data) < 12:
            return
        query_id, flags = struct.unpack("!HH", data[:4])
        if flags & dns.flags.QR:
            return
        reply_flags = dns.flags.QR | (flags & 0x7800) | dns.rcode.FORMERR  # keep the opcode
        send(struct.pack("!HHHHHH", query_id, reply_flags, 0, 0, 0, 0))

    # -- TCP ------------------------------------------------------------------------------------

    async def serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Length-prefixed messages (RFC 7766); answers may go out of order when delayed."""
        send = functools.partial(self._send_tcp, writer)
        try:
            while True:
                prefix = await asyncio.wait_for(reader.readexactly(2), TCP_IDLE_TIMEOUT)
                (length,) = struct.unpack("!H", prefix)
                data = await asyncio.wait_for(reader.readexactly(length), TCP_IDLE_TIMEOUT)
                self.handle_message(data, "tcp", send)
        except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    @staticmethod
    def _send_tcp(writer: asyncio.StreamWriter, wire: bytes) -> None:
        if not writer.is_closing():
            writer.write(struct.pack("!H", len(wire)) + wire)

    # -- starting and stopping ------------------------------------------------------------------

    def start(self) -> DNSServer:
        """Listen (UDP and TCP, same port) from a background thread; returns once listening.

        After ``stop()``, ``start()`` listens on the same port again.
        """
        if self._thread is not None:
            raise RuntimeError("DNS server already running")
        udp, tcp = self._bind_sockets(self.port)
        self.port = udp.getsockname()[1]
        loop = self._loop = asyncio.new_event_loop()
        ready = threading.Event()
        errors = []
        self._thread = threading.Thread(
            target=self._run, args=(loop, udp, tcp, ready, errors), name=f"dns-server-{self.port}", daemon=True
        )
        self._thread.start()
        ready.wait()
        if errors:
            self._thread.join()
            self._thread = self._loop = None
            raise errors[0]
        return self

    def stop(self) -> None:
        if self._thread is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._thread = self._loop = None

    def __enter__(self) -> DNSServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _run(self, loop, udp, tcp, ready, errors) -> None:
        asyncio.set_event_loop(loop)
        try:
            udp_transport, _ = loop.run_until_complete(loop.create_datagram_endpoint(lambda: UDPProtocol(self), sock=udp))
            tcp_server = loop.run_until_complete(asyncio.start_server(self.serve_tcp, sock=tcp, backlog=512))
        except Exception as exc:
            errors.append(exc)
            udp.close()
            tcp.close()
            loop.close()
            ready.set()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            udp_transport.close()
            tcp_server.close()
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.run_until_complete(tcp_server.wait_closed())
            loop.close()

    @staticmethod
    def _bind_sockets(port: int) -> tuple[socket.socket, socket.socket]:
        """A UDP and a TCP socket on the same port: ``port``, or a free one if it is 0."""
        for _attempt in range(100):
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                udp.bind((ADDRESS, port))
                tcp.bind((ADDRESS, udp.getsockname()[1]))
            except OSError:
                udp.close()
                tcp.close()
                if port:
                    raise
                continue
            tcp.listen(512)
            udp.setblocking(False)
            tcp.setblocking(False)
            return udp, tcp
        raise OSError("found no port free for both UDP and TCP on 127.0.0.1")


# -- command line -------------------------------------------------------------------------------


def parse_fault(spec: str) -> tuple[str, dict]:
    """``SUFFIX:drop``, ``SUFFIX:servfail``, ``SUFFIX:refused`` or ``SUFFIX:latency=SECONDS``."""
    suffix, _, kind = spec.rpartition(":")
    if not suffix:
        raise argparse.ArgumentTypeError(f"bad fault {spec!r}: expected SUFFIX:KIND")
    if kind.startswith("latency="):
        return suffix, {"latency": float(kind.removeprefix("latency="))}
    if kind in ("drop", "servfail", "refused"):
        return suffix, {kind: True}
    raise argparse.ArgumentTypeError(f"bad fault kind {kind!r}: drop, servfail, refused or latency=SECONDS")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.harness.dns_server", description=__doc__.split("\n")[0])
    parser.add_argument("--zones", default=str(DEFAULT_ZONE_DIR), help="directory of *.zone files")
    parser.add_argument("--port", type=int, default=0, help="UDP and TCP port (default: a free one)")
    parser.add_argument("--fault", type=parse_fault, action="append", default=[], metavar="SUFFIX:KIND",
                        help="e.g. dead.bl.test.:drop, .:latency=0.05 (repeatable)")
    args = parser.parse_args(argv)

    server = DNSServer(zone_dir=args.zones, port=args.port)
    for suffix, fault in args.fault:
        server.set_fault(suffix, **fault)
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    with server:
        zones = " ".join(origin.to_text() for origin in server.zones.origins)
        print(f"serving {zones} on {server.host_port} (UDP and TCP)", flush=True)
        stopped.wait()


if __name__ == "__main__":
    main()
