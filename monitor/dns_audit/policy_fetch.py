"""Fetch an MTA-STS policy (RFC 8461 section 3.3) the way a sending server does, but resolving
``mta-sts.<domain>`` through our own DNS servers (``monitor.dns``) instead of the system resolver.

The connection goes to the resolved address with SNI and certificate checks for the host name. Only
public addresses are fetched from (``pinned_http.public``): what a domain's DNS says must not make us
call into this machine or our own networks. A policy host on a private address is not fetched, and not
judged either (the DNS servers we ask may give an internal view). Tests point the whole thing at a
loopback HTTPS server. Settings: ``MTA_STS_ALLOW_NETWORKS`` (networks allowed besides public
addresses), ``MTA_STS_PORT`` (default 443), ``MTA_STS_CA_FILE`` (default: the system's trusted CAs)
and ``MTA_STS_TIMEOUT`` seconds (default 10).
"""

from __future__ import annotations

import http.client
import socket
import ssl
from dataclasses import dataclass

from django.conf import settings

from monitor.dns_audit.lookups import Lookups
from monitor.pinned_http import connection_to, public

MAX_POLICY_BYTES = 64 * 1024  # RFC 8461 section 3.3 lets senders cap the size; real policies are tiny
POLICY_PATH = "/.well-known/mta-sts.txt"


class PolicyFetchError(Exception):
    """The policy could not be fetched. ``conclusive`` False: we could not tell (timeout, DNS)."""

    def __init__(self, message: str, conclusive: bool = True):
        super().__init__(message)
        self.conclusive = conclusive


@dataclass
class FetchedPolicy:
    url: str
    text: str
    content_type: str


def tls_context() -> ssl.SSLContext:
    cafile = settings.MTA_STS_CA_FILE
    context = ssl.create_default_context(cafile=cafile)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def fetch_policy(domain: str, lookups: Lookups) -> FetchedPolicy:
    host = f"mta-sts.{domain}"
    port = settings.MTA_STS_PORT
    timeout = settings.MTA_STS_TIMEOUT
    url = f"https://{host}{POLICY_PATH}"
    addresses, answers = lookups.addresses(host)
    failed = [a for a in answers if not a.ok]
    if not addresses:
        if failed:
            raise PolicyFetchError(f"Could not look up {host} ({failed[0].error}).", conclusive=False)
        raise PolicyFetchError(f"{host} does not resolve to an address, so senders cannot fetch the policy at {url}.")
    reachable = [address for address in addresses if public(address, also=settings.MTA_STS_ALLOW_NETWORKS)]
    if not reachable:
        # Not a verdict on the domain: the DNS servers we ask may give an internal view (split horizon).
        raise PolicyFetchError(
            f"{host} resolves to {', '.join(addresses)}, not a public address, so the policy at {url} was not "
            "fetched (we never fetch from private networks). If the DNS servers this monitor asks "
            "(DNS_NAMESERVERS) give an internal view, point it at public resolvers; if not, senders on the "
            "internet cannot reach the policy either.", conclusive=False,
        )

    context = tls_context()
    last_error: PolicyFetchError | None = None
    for address in reachable:
        connection = connection_to("https", host, address, port, timeout, context)
        try:
            connection.request("GET", POLICY_PATH, headers={"User-Agent": "reputation-monitor MTA-STS check"})
            response = connection.getresponse()
            body = response.read(MAX_POLICY_BYTES + 1)
        except ssl.SSLCertVerificationError as exc:
            raise PolicyFetchError(
                f"The certificate of {host} is not valid for senders ({exc.verify_message or exc}); "
                "RFC 8461 requires a certificate for that name from a trusted CA."
            ) from None
        except (TimeoutError, socket.timeout):
            last_error = PolicyFetchError(f"{url} did not answer within {timeout:g} s.", conclusive=False)
            continue
        except (ssl.SSLError, OSError, http.client.HTTPException) as exc:
            last_error = PolicyFetchError(f"Could not fetch {url} from {address}: {exc}.")
            continue
        finally:
            connection.close()
        if response.status != 200:
            raise PolicyFetchError(
                f"{url} answered HTTP {response.status}; senders need HTTP 200 with the policy "
                "(redirects are not followed, RFC 8461 section 3.3)."
            )
        if len(body) > MAX_POLICY_BYTES:
            raise PolicyFetchError(f"The policy at {url} is larger than {MAX_POLICY_BYTES} bytes.")
        content_type = (response.getheader("Content-Type") or "").split(";")[0].strip().lower()
        return FetchedPolicy(url, body.decode("utf-8", "replace"), content_type)
    raise last_error
