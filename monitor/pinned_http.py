"""HTTP and HTTPS connections to an address looked up beforehand, naming the host as usual (in the
request; for HTTPS, SNI and the certificate check): the address is the one our DNS servers gave
(``monitor.dns``), checked to be on the public internet (``public``) by the caller: webhooks
(``alerts.outbound``) and MTA-STS policies (``dns_audit.policy_fetch``) are never fetched from this
machine or its private networks on a domain owner's or a URL's say-so.

    if public("192.0.2.7", also=settings.MTA_STS_ALLOW_NETWORKS):
        connection = connection_to("https", "mta-sts.example.com", "192.0.2.7", 443, timeout=10, context=context)
"""

import http.client
import ipaddress
import socket
import ssl


def public(address: str, also=()) -> bool:
    """Whether ``address`` is on the public internet (an IPv4-mapped IPv6 address as its IPv4 one), or in
    one of the networks ``also`` allows (settings such as ``WEBHOOK_ALLOW_NETWORKS``, for tests)."""
    ip = ipaddress.ip_address(address)
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global or any(ip in network for network in also)


class HTTPConnectionTo(http.client.HTTPConnection):
    def __init__(self, host: str, address: str, port: int, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class HTTPSConnectionTo(http.client.HTTPSConnection):
    def __init__(self, host: str, address: str, port: int, timeout: float, context: ssl.SSLContext):
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def connection_to(scheme: str, host: str, address: str, port: int, timeout: float,
                  context: ssl.SSLContext | None = None) -> http.client.HTTPConnection:
    """An unopened connection to ``address`` for ``host`` (``context``: for https, default the system's CAs)."""
    if scheme == "https":
        return HTTPSConnectionTo(host, address, port, timeout, context or ssl.create_default_context())
    return HTTPConnectionTo(host, address, port, timeout)
