"""Make tests fail loudly when code tries to reach the network beyond loopback.

``install()`` wraps ``socket.socket.connect``, ``connect_ex``, ``sendto`` and ``sendmsg`` (with
an address): asyncio's event loops, ``socket.create_connection``, smtplib, urllib, dnspython and
redis-py all go through them. Allowed: 127.0.0.0/8, ::1 (and ::ffff:127.x), unix sockets and other
non-IP families. Anything else raises ``NetworkAccessBlocked`` naming the address and is recorded in
``violations``, so that code which swallows the exception still fails the test (the pytest plugin
checks the record after each test). Host names are resolved (getaddrinfo stays allowed) and every
address they resolve to must be loopback.

C libraries that open sockets themselves (libpq in psycopg, chromium) are out of its reach.
"""

from __future__ import annotations

import functools
import ipaddress
import socket

INET_FAMILIES = (socket.AF_INET, socket.AF_INET6)

violations: list[str] = []
_originals: dict[str, object] = {}
_loopback_literals: set[str] = set()  # IP literals already found to be loopback


class NetworkAccessBlocked(RuntimeError):
    """Not an OSError on purpose: code handling network errors must not mistake it for one."""


def install() -> None:
    """Start blocking non-loopback traffic (idempotent)."""
    if _originals:
        return
    for name, guard in _GUARDS.items():
        _originals[name] = socket.socket.__dict__.get(name)
        setattr(socket.socket, name, guard(getattr(socket.socket, name)))


def uninstall() -> None:
    for name, original in _originals.items():
        if original is None:
            delattr(socket.socket, name)  # it was inherited from _socket.socket
        else:
            setattr(socket.socket, name, original)
    _originals.clear()


def is_installed() -> bool:
    return bool(_originals)


def pop_violations() -> list[str]:
    """The blocked attempts recorded so far, forgetting them."""
    found = list(violations)
    del violations[: len(found)]
    return found


def check(sock: socket.socket, address, operation: str) -> None:
    """Raise NetworkAccessBlocked if ``address`` is not on loopback for this socket's family."""
    if sock.family not in INET_FAMILIES or not isinstance(address, tuple) or not address:
        return
    host = address[0]
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if host in _loopback_literals:
        return
    outside = [ip for ip in _resolve(host, sock.family) if not is_loopback(ip)]
    if not outside:
        if _is_ip_literal(host):
            _loopback_literals.add(host)
        return
    port = address[1] if len(address) > 1 else "?"
    resolved = "" if outside == [host] else f" ({', '.join(outside)})"
    message = (
        f"network access outside loopback blocked: {operation} to {host}{resolved} port {port}. "
        "Tests may only talk to 127.0.0.0/8 and ::1 (use the harness's DNS and SMTP servers)."
    )
    violations.append(message)
    raise NetworkAccessBlocked(message)


def is_loopback(host: str) -> bool:
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])  # drop an IPv6 zone index
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _resolve(host: str, family) -> list[str]:
    """The addresses a connect to ``host`` may use; an unresolvable name is left to connect()."""
    if _is_ip_literal(host):
        return [host]
    if host == "":
        return ["0.0.0.0"]
    if host == "<broadcast>":
        return ["255.255.255.255"]
    try:
        infos = socket.getaddrinfo(host, None, family)
    except (OSError, UnicodeError):
        return []
    return sorted({info[4][0] for info in infos})


def _guard_connect(original):
    @functools.wraps(original)
    def connect(self, address):
        check(self, address, "connect")
        return original(self, address)

    return connect


def _guard_connect_ex(original):
    @functools.wraps(original)
    def connect_ex(self, address):
        check(self, address, "connect_ex")
        return original(self, address)

    return connect_ex


def _guard_sendto(original):
    @functools.wraps(original)
    def sendto(self, data, *args):
        if args:  # sendto(data, address) or sendto(data, flags, address)
            check(self, args[-1], "sendto")
        return original(self, data, *args)

    return sendto


def _guard_sendmsg(original):
    @functools.wraps(original)
    def sendmsg(self, buffers, *args):
        if len(args) >= 3 and args[2] is not None:  # sendmsg(buffers, ancdata, flags, address)
            check(self, args[2], "sendmsg")
        return original(self, buffers, *args)

    return sendmsg


_GUARDS = {
    "connect": _guard_connect,
    "connect_ex": _guard_connect_ex,
    "sendto": _guard_sendto,
    "sendmsg": _guard_sendmsg,
}
