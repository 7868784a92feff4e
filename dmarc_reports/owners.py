"""Which organisation a report belongs to, when the importer was not told.

In order: the organisation whose domain pools hold the report's policy domain exactly; else the
one whose pools hold a domain with the same organisational domain (``mail.acme.example`` and
``acme.example``, by the Public Suffix List); else the only organisation there is. Anything else
(none, or several at the same step) is ``Unresolved`` with a reason for a person.
"""

from functools import lru_cache

from monitor.models import Organization, Pool, PoolMember


class Unresolved(Exception):
    pass


@lru_cache(maxsize=1)
def _suffix_list():
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


def organisational_domain(domain: str) -> str:
    """``mail.acme.co.uk`` -> ``acme.co.uk``; a public suffix or unknown name is its own."""
    domain = domain.lower().rstrip(".")
    return _suffix_list().privatesuffix(domain) or domain


def owner_of(domains: list[str]) -> Organization:
    """The organisation for a report about ``domains`` (its policy domains); ``Unresolved`` if unclear."""
    domains = [d.lower().rstrip(".") for d in domains if d]
    pooled = list(PoolMember.objects.filter(pool__kind=Pool.DOMAIN).values_list("value", "pool__organization_id"))
    for label, matches in (
        ("", lambda value, domain: value == domain),
        (" (by organisational domain)",
         lambda value, domain: organisational_domain(value) == organisational_domain(domain)),
    ):
        for domain in domains:
            found = {org_id for value, org_id in pooled if matches(value, domain)}
            if len(found) == 1:
                return Organization.objects.get(pk=found.pop())
            if len(found) > 1:
                names = ", ".join(Organization.objects.filter(pk__in=found).order_by("slug").values_list("slug", flat=True))
                raise Unresolved(f"{domain} is in the domain pools of several organisations{label} ({names}); "
                                 "say which one (--org, or upload from the organisation's page)")
    everyone = list(Organization.objects.all()[:2])
    if len(everyone) == 1:
        return everyone[0]
    if not everyone:
        raise Unresolved("There is no organisation yet to import reports into; create one first")
    about = ", ".join(domains) or "no policy domain"
    raise Unresolved(f"No organisation's domain pools hold {about}; add the domain to a pool or import with --org")
