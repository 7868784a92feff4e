"""Dashboard filters: organisation, domain, pool and period, read from (and written back to) the URL.

Every filter state lives in the query string, so a view can be shared by copying its address:

    ?org=acme&domain=acme.example&pool=3&period=90
    ?from=2026-01-01&to=2026-01-31            (a custom period; both days included)
    &failing=1                                (the domain page's "failing only" switch)

``parse_filters`` never trusts the query string: an organisation or pool the viewer may not see is a
404 (its existence is not revealed); a malformed value falls back to the default and is reported in
``Filters.problems`` so the page can say what it ignored.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlencode

from django.http import Http404
from django.utils import timezone

from monitor.models import Pool
from monitor.models.pools import normalise_domain, normalise_ip_member

PERIODS = (7, 30, 90, 365)
DEFAULT_PERIOD = 30
# A custom period longer than this is cut to it (charts of several years of days help nobody).
MAX_CUSTOM_DAYS = 3 * 366
# The query-string keys the filter bar owns (everything else is left alone by Filters.url()).
KEYS = ("org", "domain", "pool", "period", "from", "to", "failing")


@dataclass
class Filters:
    orgs: list  # the organisations in scope: the chosen one, or every one the viewer may see
    org: object | None = None  # the chosen organisation, if any
    domain: str = ""
    pool: Pool | None = None
    period: str = str(DEFAULT_PERIOD)  # "7", "30", "90", "365" or "custom"
    start: date = None
    end: date = None  # included
    failing_only: bool = False
    problems: list = field(default_factory=list)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def org_ids(self) -> list[int]:
        return [org.pk for org in self.orgs]

    def day_list(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range(self.days)]

    def pool_domains(self) -> list[str] | None:
        """The domains the domain/pool filter narrows to, or None when it does not narrow domains."""
        if self.domain:
            return [self.domain]
        if self.pool is not None and self.pool.kind == Pool.DOMAIN:
            return self.pool.domains()
        return None

    def pool_addresses(self) -> list[str] | None:
        """The addresses an IP pool filter narrows sources and listings to, or None."""
        if self.pool is not None and self.pool.kind == Pool.IP:
            try:
                return self.pool.addresses()
            except ValueError:  # a range over the cap: its single members still count
                return [m.value for m in self.pool.members.all() if "/" not in m.value]
        return None

    def params(self, **changes) -> dict:
        """The filter state as query parameters, with ``changes`` applied (None or "" removes a key)."""
        values = {
            "org": self.org.slug if self.org else "",
            "domain": self.domain,
            "pool": str(self.pool.pk) if self.pool else "",
            "failing": "1" if self.failing_only else "",
        }
        if self.period == "custom":
            values.update({"from": self.start.isoformat(), "to": self.end.isoformat()})
        elif self.period != str(DEFAULT_PERIOD):
            values["period"] = self.period
        for key, value in changes.items():
            key = key.rstrip("_")  # from_= for the reserved word
            if key == "period":
                values.pop("from", None)
                values.pop("to", None)
            values[key] = "" if value is None else str(value)
        if values.get("period") == str(DEFAULT_PERIOD):
            values.pop("period")
        return {key: value for key, value in values.items() if value}

    def query(self, **changes) -> str:
        """``?org=...&period=...`` (or "" when every filter is at its default)."""
        params = self.params(**changes)
        return "?" + urlencode(params) if params else ""

    def describe(self) -> dict:
        """The filter state as plain data (for the JSON API and CSV file names)."""
        return {
            "organizations": [org.slug for org in self.orgs],
            "domain": self.domain or None,
            "pool": self.pool.name if self.pool else None,
            "period": self.period,
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "failing_only": self.failing_only,
        }


def today() -> date:
    return timezone.now().date()


def parse_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value.strip())
    except (ValueError, AttributeError):
        return None


def parse_period(params, problems: list, now: date | None = None) -> tuple[str, date, date]:
    """(period label, first day, last day) from ``period`` or ``from``/``to``."""
    end_of_today = now or today()
    raw_from, raw_to = params.get("from", "").strip(), params.get("to", "").strip()
    raw = params.get("period", "").strip()
    # A named period chosen in the form wins over date fields left filled in (the form without JavaScript).
    if (raw_from or raw_to) and raw in ("", "custom"):
        start, end = parse_date(raw_from) if raw_from else None, parse_date(raw_to) if raw_to else None
        if raw_from and start is None:
            problems.append(f"Ignored the start date {raw_from!r}: use YYYY-MM-DD.")
        if raw_to and end is None:
            problems.append(f"Ignored the end date {raw_to!r}: use YYYY-MM-DD.")
        if start is not None or end is not None:
            end = end or end_of_today
            start = start or end - timedelta(days=DEFAULT_PERIOD - 1)
            if start > end:
                problems.append("The start date was after the end date: swapped them.")
                start, end = end, start
            if (end - start).days + 1 > MAX_CUSTOM_DAYS:
                problems.append(f"Periods are at most {MAX_CUSTOM_DAYS} days: cut to the last {MAX_CUSTOM_DAYS}.")
                start = end - timedelta(days=MAX_CUSTOM_DAYS - 1)
            return "custom", start, end
    days = DEFAULT_PERIOD
    if raw and raw != "custom":
        if raw.isdigit() and int(raw) in PERIODS:
            days = int(raw)
        else:
            problems.append(f"Ignored the period {raw!r}: choose 7, 30, 90 or 365 days, or a start and end date.")
    return str(days), end_of_today - timedelta(days=days - 1), end_of_today


def parse_filters(params, orgs, now: date | None = None) -> Filters:
    """Filters from a query dict, within ``orgs`` (a queryset of the organisations the caller may see).

    Raises Http404 for an organisation or pool outside ``orgs``.
    """
    problems: list[str] = []
    visible = list(orgs)
    chosen = None
    slug = params.get("org", "").strip()
    if slug:
        chosen = next((org for org in visible if org.slug == slug), None)
        if chosen is None:
            raise Http404("No such organisation")
    in_scope = [chosen] if chosen else visible

    pool = None
    raw_pool = params.get("pool", "").strip()
    if raw_pool:
        if not raw_pool.isdigit():
            raise Http404("No such pool")
        pool = Pool.objects.filter(pk=int(raw_pool), organization__in=in_scope).select_related("organization").first()
        if pool is None:
            raise Http404("No such pool")

    domain = ""
    raw_domain = params.get("domain", "").strip()
    if raw_domain:
        try:
            domain = normalise_domain(raw_domain)
        except ValueError:
            problems.append(f"Ignored the domain {raw_domain!r}: not a domain name.")

    period, start, end = parse_period(params, problems, now)
    failing = params.get("failing", "") in ("1", "on", "true", "yes")
    return Filters(
        orgs=in_scope, org=chosen, domain=domain, pool=pool, period=period, start=start, end=end,
        failing_only=failing, problems=problems,
    )


def normalise_source(value: str) -> tuple[str, str]:
    """("ip", "192.0.2.1") for an address, ("service", "google.com") for anything else (a service name)."""
    text = value.strip()
    try:
        address = normalise_ip_member(text)
    except ValueError:
        return "service", text.lower()
    if "/" in address:
        return "service", text.lower()
    return "ip", address
