"""HTTP and HTTPS connections to an address looked up beforehand, naming the host as usual (in the
request; for HTTPS, SNI and the certificate check): the address is the one our DNS servers gave
(``monitor.dns``) and, where it was checked (``alerts.outbound``), the one that was checked.

    connection = connection_to("https", "mta-sts.example.com", "192.0.2.7", 443, timeout=10, context=context)
"""

import http.client
import socket
import ssl


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
