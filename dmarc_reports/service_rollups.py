"""``ServiceDailyRollup``: each (organisation, domain, day)'s ``DailyRollup`` rows summed by the service
behind each source: the roll-up's own service, else the one its reverse DNS names now, else "".

Rebuilt, never incremented, for the days that changed: at the end of each import (in its transaction,
once the sources already looked up are named) and when a reverse-DNS look-up names or renames sources
(``enrichment.name_rollups``). A rebuild first locks those days' ``DomainDailyRollup`` rows, which an
import holds from its upsert until it commits, so on PostgreSQL a rebuild never sums around an import
in flight (SQLite writes one transaction at a time anyway).
"""

from collections import defaultdict

from django.db import transaction
from django.db.models import OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce, NullIf

from dmarc_reports.models import DailyRollup, DomainDailyRollup, ServiceDailyRollup, SourceHost

DAYS_PER_QUERY = 400


def named_service(hosts=SourceHost):
    """A roll-up's service: its own, or (not copied into it yet) the one its address's reverse DNS names
    now, or "" (COALESCE stops at the first: the look-up runs for unnamed roll-ups only)."""
    host = hosts.objects.filter(ip=OuterRef("source_ip")).exclude(service="").values("service")[:1]
    return Coalesce(NullIf("service", Value("")), Subquery(host), Value(""))


def rebuild(keys) -> None:
    """Sum again the service roll-ups of these (organization id, domain, day)s from their DailyRollup rows."""
    days_of: dict[tuple, set] = defaultdict(set)
    for org_id, domain, day in keys:
        days_of[(org_id, domain)].add(day)
    sums = {name: Sum(name) for name in DailyRollup.COUNTERS}
    with transaction.atomic():
        for (org_id, domain), days in sorted(days_of.items()):
            days = sorted(days)
            for start in range(0, len(days), DAYS_PER_QUERY):
                chunk = days[start:start + DAYS_PER_QUERY]
                scope = {"organization_id": org_id, "domain": domain, "day__in": chunk}
                list(DomainDailyRollup.objects.select_for_update().filter(**scope).order_by("day").values_list("pk"))
                ServiceDailyRollup.objects.filter(**scope).delete()
                rows = (DailyRollup.objects.filter(**scope).annotate(named=named_service()).order_by()
                        .values("day", "named").annotate(**sums))
                ServiceDailyRollup.objects.bulk_create(
                    [ServiceDailyRollup(organization_id=org_id, domain=domain, day=row.pop("day"), service=row.pop("named"), **row)
                     for row in rows], batch_size=1000,
                )
