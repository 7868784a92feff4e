"""POSTing to an organisation's webhook: only to addresses on the public internet.

A webhook URL is set by an organisation's admin, and the worker that posts to it sits inside our
network: a URL naming 127.0.0.1, 10.x, or 169.254.169.254 (a cloud's metadata service), or a host
name resolving there, would make it a way into what only the server can reach. So the host is
resolved first (``monitor.dns``: the DNS servers the product asks), every address it has must be
public (``ipaddress``'s ``is_global``) or inside ``WEBHOOK_ALLOW_NETWORKS``, and the connection goes
to the address that was checked (a second look-up could answer otherwise), with the URL's host name
in the request and for TLS. Redirects are not followed and no proxy is used.

    status, reason = post_json("https://hooks.example.com/T0/B0", b'{"text": "..."}', timeout=10)
"""

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings

from monitor.pinned_http import connection_to, public


PUBLIC_ONLY = "webhooks go to the public internet only; WEBHOOK_ALLOW_NETWORKS names other networks to allow"


class Refused(Exception):
    """The URL may not be posted to: its scheme, its port, or where its host is."""


def allowed(address: str) -> bool:
    return public(address, also=settings.WEBHOOK_ALLOW_NETWORKS)


def problem(url: str) -> str:
    """What is wrong with a webhook URL that can be told without resolving its host ("" if nothing)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"not an http(s) URL: {url[:200]}"
    try:
        parts.port
    except ValueError:
        return f"not a port number in {url[:200]}"
    host = parts.hostname
    if host == "localhost" or host.endswith(".localhost"):
        return f"{host} is this machine, not a public address ({PUBLIC_ONLY})"
    try:
        if not allowed(host):
            return f"{host} is not a public address ({PUBLIC_ONLY})"
    except ValueError:
        pass  # a host name: its addresses are checked when posting
    return ""


def addresses_of(host: str, timeout: float) -> list[str]:
    """The host's addresses (an IP literal is its own); OSError when the name cannot be resolved now."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    import dns.exception  # (dnspython only to post: the settings form and the inventory check without it)
    import dns.resolver

    from monitor.dns import resolver

    found = []
    ask = resolver(timeout)
    for rdtype in ("A", "AAAA"):
        try:
            answer = ask.resolve(host, rdtype, search=False, raise_on_no_answer=False)
        except dns.resolver.NXDOMAIN:
            raise OSError(f"{host}: no such host (NXDOMAIN)") from None
        except dns.exception.DNSException as exc:
            raise OSError(f"{host}: DNS {type(exc).__name__}") from None
        found += [record.address for record in answer.rrset or ()]
    if not found:
        raise OSError(f"{host}: no address (no A or AAAA record)")
    return found


def checked_address(host: str, timeout: float) -> str:
    """The address to connect to, once every address of the host is found allowed."""
    found = addresses_of(host, timeout)
    refused = [address for address in found if not allowed(address)]
    if refused:
        raise Refused(f"{host} is at {', '.join(refused)}, not a public address ({PUBLIC_ONLY})")
    return found[0]


def post_json(url: str, body: bytes, timeout: float) -> tuple[int, str]:
    """POST ``body`` as JSON to ``url``; the answer's (status, reason). Refused for a URL that is not
    http(s) or whose host is not public; OSError (and http.client's errors) when it cannot be reached."""
    if why := problem(url):
        raise Refused(why)
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = checked_address(parts.hostname, timeout)
    connection = connection_to(parts.scheme, parts.hostname, address, port, timeout)
    try:
        connection.request("POST", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""), body=body,
                           headers={"Content-Type": "application/json", "User-Agent": "reputation-monitor"})
        response = connection.getresponse()
        response.read(1024)
        return response.status, response.reason
    finally:
        connection.close()
