"""``ServiceDailyRollup``: each (organisation, domain, day)'s ``DailyRollup`` rows summed by the service
behind each source: the roll-up's own service, else the one its reverse DNS names now, else "".

Two ways keep it so:

- an import adds to it (``ServiceTally``, then an upsert that adds to the counters, in
  ``rollups.ReportRollups``): its messages by day, each source's under the service behind it, looked up
  for its own sources only (``named_sources``: a few indexed queries however busy the day), so an import
  costs the same on a quiet day as on a day of a million sources;
- a reverse-DNS look-up that names or renames sources rebuilds the days it changed (``rebuild``).

An import looks its sources' services up after it has added its part of the day's ``DomainDailyRollup``
rows, which it then holds until it commits; a rebuild first locks those same rows. So on PostgreSQL a
rebuild never sums around an import in flight, and an import never looks up services a rebuild is still
changing (SQLite writes one transaction at a time anyway).
"""

import json
from collections import defaultdict

from django.db import connection, transaction
from django.db.models import OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce, NullIf

from dmarc_reports.models import DailyRollup, DomainDailyRollup, ServiceDailyRollup, SourceHost

DAYS_PER_QUERY = 400


def named_service(hosts=SourceHost):
    """A roll-up's service: its own, or (not copied into it yet) the one its address's reverse DNS names
    now, or "" (COALESCE stops at the first: the look-up runs for unnamed roll-ups only)."""
    host = hosts.objects.filter(ip=OuterRef("source_ip")).exclude(service="").values("service")[:1]
    return Coalesce(NullIf("service", Value("")), Subquery(host), Value(""))


# -- an import --------------------------------------------------------------------------------------

def named_sources(org_id: int, domain: str, sources: list[tuple], new_days: set[str]) -> dict[tuple[str, str], str]:
    """The service behind each of these roll-up sources ((address, ISO day, ...), as in
    ``prepare.RollupValues.sources``) that has one, by (address, ISO day): the roll-up's own, else the
    one its address's reverse DNS names, which is then copied onto the roll-up. Sources with none are
    left out (usually all of them: the queries return nothing). ``new_days``: days that held no
    roll-ups of this domain before this import, so none of its own sources' roll-ups has a service of its
    own yet (only the reverse DNS is read for them, not the roll-ups). One query per day, its addresses
    passed as one list (``_address_table``) and looked up one by one in the indexes."""
    addresses_of: dict[str, list[str]] = defaultdict(list)
    for source in sources:
        addresses_of[source[1]].append(source[0])
    q = connection.ops.quote_name
    rollup, host = q(DailyRollup._meta.db_table), q(SourceHost._meta.db_table)
    named, to_copy = {}, defaultdict(list)
    with connection.cursor() as cursor:
        for day, addresses in addresses_of.items():
            listed_sql, listed = _address_table(addresses)
            if day in new_days:
                cursor.execute(f"SELECT h.{q('ip')}, '', h.{q('service')} FROM {listed_sql} CROSS JOIN {host} h "
                               f"WHERE h.{q('ip')} = a.value AND h.{q('service')} <> ''", [listed])
            else:
                cursor.execute(
                    f"SELECT r.{q('source_ip')}, r.{q('service')}, h.{q('service')} FROM {listed_sql} CROSS JOIN {rollup} r "
                    f"LEFT JOIN {host} h ON h.{q('ip')} = r.{q('source_ip')} WHERE r.{q('organization_id')} = %s "
                    f"AND r.{q('domain')} = %s AND r.{q('day')} = %s AND r.{q('source_ip')} = a.value "
                    f"AND (r.{q('service')} <> '' OR h.{q('service')} <> '')",
                    [listed, org_id, domain, day],
                )
            for address, own, looked_up in cursor.fetchall():
                named[(address, day)] = own or looked_up
                if not own:
                    to_copy[(day, looked_up)].append(address)
        for (day, service), addresses in to_copy.items():
            listed_sql, listed = _address_table(addresses)
            cursor.execute(
                f"UPDATE {rollup} SET {q('service')} = %s WHERE {q('organization_id')} = %s "
                f"AND {q('domain')} = %s AND {q('day')} = %s AND {q('service')} = '' "
                f"AND {q('source_ip')} IN (SELECT a.value FROM {listed_sql})",
                [service, org_id, domain, day, listed],
            )
    return named


def _address_table(addresses: list[str]) -> tuple[str, object]:
    """(SQL, parameter) of a table ``a`` of one column, ``value``: the addresses, passed as one parameter
    (a JSON array on SQLite, an array on PostgreSQL). Put first in a CROSS JOIN (which SQLite keeps in
    that order), each address is looked up in the other table's index; an IN list of parameters would
    first be sorted into a temporary index (three times the cost), and SQLite takes 999 at most."""
    if connection.vendor == "postgresql":
        return "unnest(%s::text[]) AS a(value)", list(addresses)
    return "json_each(%s) AS a", json.dumps(addresses)


def days_held(org_id: int, domain: str, days: list[str]) -> set[str]:
    """Which of these ISO days already have roll-ups of this domain."""
    return {day.isoformat() for day in DomainDailyRollup.objects.filter(
        organization_id=org_id, domain=domain, day__in=days).values_list("day", flat=True)}


class ServiceTally:
    """One import's messages by (ISO day, service), counter by counter (``DailyRollup.COUNTERS``):
    its roll-up values, each source's under the service behind it (``named_sources``)."""

    def __init__(self):
        self.figures: dict[tuple[str, str], list[int]] = {}

    def add(self, rollups, named: dict[tuple[str, str], str]) -> None:
        """Add a part of the import's roll-up values (``prepare.RollupValues``): all of each day's
        messages to the unnamed service, then those of the named sources moved to theirs."""
        for day, *figures in rollups.days:
            self._add((day, ""), figures)
        if named:
            for address, day, _, *figures in rollups.sources:
                service = named.get((address, day))
                if service:
                    self._add((day, ""), [-figure for figure in figures])
                    self._add((day, service), figures)

    def _add(self, key: tuple[str, str], figures: list[int]) -> None:
        before = self.figures.get(key)
        self.figures[key] = figures if before is None else [a + b for a, b in zip(before, figures)]

    def values(self) -> list[tuple]:
        """(ISO day, service, *counters) in that order, a day's service with no messages left out."""
        return [(day, service, *figures) for (day, service), figures in sorted(self.figures.items()) if any(figures)]


# -- a reverse-DNS look-up --------------------------------------------------------------------------

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
