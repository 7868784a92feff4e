"""The one place that knows which DNS servers the product asks (setting DNS_NAMESERVERS)."""

import dns.asyncresolver
import dns.nameserver
import dns.resolver
from django.conf import settings


def nameserver_objects() -> list[dns.nameserver.Do53Nameserver]:
    """The configured servers as dnspython objects (checkdmarc needs these for a port other than 53)."""
    if settings.DNS_NAMESERVERS:
        return [dns.nameserver.Do53Nameserver(host, port) for host, port in settings.DNS_NAMESERVERS]
    system = dns.resolver.Resolver()
    return [dns.nameserver.Do53Nameserver(str(ns), 53) if isinstance(ns, str) else ns for ns in system.nameservers]


def _configure(resolver, timeout: float | None):
    if settings.DNS_NAMESERVERS:
        resolver.nameservers = nameserver_objects()
    resolver.timeout = resolver.lifetime = timeout or settings.DNS_TIMEOUT
    resolver.cache = None
    return resolver


def resolver(timeout: float | None = None) -> dns.resolver.Resolver:
    configure = not settings.DNS_NAMESERVERS
    return _configure(dns.resolver.Resolver(configure=configure), timeout)


def async_resolver(timeout: float | None = None) -> dns.asyncresolver.Resolver:
    configure = not settings.DNS_NAMESERVERS
    return _configure(dns.asyncresolver.Resolver(configure=configure), timeout)
