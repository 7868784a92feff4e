import ipaddress

from django.core.exceptions import ValidationError
from django.db import models

from monitor.models.orgs import Organization

# A range larger than this is refused for checking (a /22 is 1,024 addresses).
DEFAULT_MAX_ADDRESSES = 1024


def normalise_ip_member(value: str) -> str:
    """An address or CIDR range in canonical form ("192.0.2.0/28", "2001:db8::25"); ValueError if invalid."""
    text = value.strip()
    if "/" in text:
        network = ipaddress.ip_network(text, strict=False)
        if network.num_addresses == 1:
            return str(network.network_address)
        return str(network)
    return str(ipaddress.ip_address(text))


def normalise_domain(value: str) -> str:
    """A domain in lower-case A-label form without a trailing dot; ValueError if it is not a host name."""
    text = value.strip().rstrip(".").lower()
    try:
        text = text.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(f"{value!r} is not a valid domain name") from None
    labels = text.split(".")
    if len(text) > 253 or len(labels) < 2 or not all(labels):
        raise ValueError(f"{value!r} is not a valid domain name")
    for label in labels:
        if len(label) > 63 or label.startswith("-") or label.endswith("-"):
            raise ValueError(f"{value!r} is not a valid domain name")
        if not all(c.isalnum() or c in "-_" for c in label):
            raise ValueError(f"{value!r} is not a valid domain name")
    return text


class Pool(models.Model):
    IP, DOMAIN = "ip", "domain"
    KINDS = [(IP, "IP addresses"), (DOMAIN, "Domains")]

    organization = models.ForeignKey(Organization, models.CASCADE, related_name="pools")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=KINDS)
    tags = models.JSONField(default=list, blank=True, help_text='e.g. ["brand:acme", "region:eu"]')
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization", "name"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="unique_pool_name")]

    def __str__(self):
        return f"{self.organization.slug}/{self.name}"

    def addresses(self, max_addresses: int = DEFAULT_MAX_ADDRESSES) -> list[str]:
        """Every address to check: ranges expanded (host addresses only), each range capped."""
        found: dict[str, None] = {}
        for member in self.members.all():
            for address in member.addresses(max_addresses):
                found[address] = None
        return list(found)

    def domains(self) -> list[str]:
        return [member.value for member in self.members.all()]


class PoolMember(models.Model):
    pool = models.ForeignKey(Pool, models.CASCADE, related_name="members")
    value = models.CharField(max_length=255, help_text="An address, a CIDR range, or a domain.")
    dkim_selectors = models.JSONField(default=list, blank=True, help_text="Domains only: DKIM selectors to check.")

    class Meta:
        ordering = ["pool", "value"]
        constraints = [models.UniqueConstraint(fields=["pool", "value"], name="unique_pool_member")]

    def __str__(self):
        return self.value

    def clean(self):
        try:
            if self.pool.kind == Pool.IP:
                self.value = normalise_ip_member(self.value)
                if self.dkim_selectors:
                    raise ValidationError({"dkim_selectors": "DKIM selectors belong to domains, not addresses."})
            else:
                self.value = normalise_domain(self.value)
        except ValueError as exc:
            raise ValidationError({"value": str(exc)}) from None

    def addresses(self, max_addresses: int = DEFAULT_MAX_ADDRESSES) -> list[str]:
        if self.pool.kind != Pool.IP:
            return []
        network = ipaddress.ip_network(self.value, strict=False)
        if network.num_addresses == 1:
            return [str(network.network_address)]
        if network.num_addresses > max_addresses:
            raise ValueError(
                f"{self.value} holds {network.num_addresses} addresses, more than the cap of {max_addresses}"
            )
        hosts = list(network.hosts()) if network.version == 4 and network.prefixlen < 31 else list(network)
        return [str(address) for address in hosts]
