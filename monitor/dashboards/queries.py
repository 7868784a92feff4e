"""What the dashboards read. Every function takes ``Filters`` (whose organisations are already limited
to what the viewer may see) and returns plain rows.

DMARC and TLS-RPT numbers come from the daily roll-ups only, never from report rows, so a page costs
the same with ten thousand rows stored as with ten million. Blocklist, DNS and alert numbers come
from their own small tables (listing intervals, verdicts per run, alerts).
"""

from collections import defaultdict
from datetime import datetime, time, timedelta, timezone as dt_timezone

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDate

from monitor.models import Alert, AuditRun, DnsCheckResult, Pool
from monitor.models.blocklists import Blocklist, Listing

# How many recent DNS runs per organisation make up "the latest verdicts" (a run may re-check one target).
LATEST_DNS_RUNS = 10
MAX_TIMELINE = 300
MAX_DIFF_RUNS = 20
MAX_SOURCE_ROWS = 100_000  # report rows read for one source page's reporters (by the address index)


def day_start(day) -> datetime:
    return datetime.combine(day, time.min, tzinfo=dt_timezone.utc)


def period_bounds(filters) -> tuple[datetime, datetime]:
    """[start, end) as aware datetimes covering the filter's days."""
    return day_start(filters.start), day_start(filters.end + timedelta(days=1))


def pools(filters):
    return list(Pool.objects.filter(organization__in=filters.orgs).select_related("organization").prefetch_related("members"))


def narrow_targets(queryset, filters, field="target"):
    """Listings/verdicts narrowed to the chosen domain or pool (an IP pool: its addresses)."""
    domains = filters.pool_domains()
    addresses = filters.pool_addresses()
    if domains is not None:
        return queryset.filter(**{f"{field}__in": domains})
    if addresses is not None:
        return queryset.filter(**{f"{field}__in": addresses})
    return queryset


# --- Blocklists -------------------------------------------------------------------------------


def active_listings(filters):
    listings = Listing.objects.filter(organization__in=filters.orgs, cleared__isnull=True)
    return list(narrow_targets(listings, filters).select_related("blocklist", "organization").order_by("-first_seen"))


def listings_in_period(filters, limit=MAX_TIMELINE):
    start, end = period_bounds(filters)
    listings = Listing.objects.filter(organization__in=filters.orgs, first_seen__lt=end).filter(
        Q(cleared__isnull=True) | Q(cleared__gte=start)
    )
    listings = narrow_targets(listings, filters).select_related("blocklist").order_by("target", "blocklist__zone", "first_seen")
    return list(listings[:limit])


def listings_per_day(intervals, days) -> list[int]:
    """How many (target, list) pairs were listed at some time of each day."""
    counts = []
    for day in days:
        start, end = day_start(day), day_start(day + timedelta(days=1))
        counts.append(sum(1 for item in intervals if item.first_seen < end and (item.cleared is None or item.cleared >= start)))
    return counts


def blocklists():
    return list(Blocklist.objects.all().order_by("kind", "name"))


def open_listing_counts(filters) -> dict[tuple[int, str], int]:
    """{(organization id, target): open listings} for the organisations in scope."""
    rows = (
        Listing.objects.filter(organization__in=filters.orgs, cleared__isnull=True)
        .values("organization_id", "target")
        .annotate(n=Count("id"))
    )
    return {(row["organization_id"], row["target"]): row["n"] for row in rows}


# --- DNS audits --------------------------------------------------------------------------------


def latest_dns_verdicts(filters) -> list[DnsCheckResult]:
    """The newest verdict per (organisation, target, check) among each organisation's recent DNS runs."""
    run_ids = []
    for org in filters.orgs:
        run_ids += list(
            AuditRun.objects.filter(organization=org, kind=AuditRun.DNS).order_by("-started").values_list("id", flat=True)[:LATEST_DNS_RUNS]
        )
    results = narrow_targets(DnsCheckResult.objects.filter(run_id__in=run_ids), filters).select_related("organization")
    latest: dict[tuple, DnsCheckResult] = {}
    for result in results.order_by("-checked", "-id"):
        latest.setdefault((result.organization_id, result.target, result.check_name), result)
    return sorted(latest.values(), key=lambda r: (-DNS_SEVERITY.get(r.status, 0), r.target, r.check_name))


DNS_SEVERITY = {DnsCheckResult.FAIL: 3, DnsCheckResult.ERROR: 2, DnsCheckResult.WARN: 1, DnsCheckResult.OK: 0}


def dns_status_by_target(verdicts) -> dict[tuple[int, str], str]:
    """The worst latest verdict per (organisation, target)."""
    worst: dict[tuple[int, str], str] = {}
    for result in verdicts:
        key = (result.organization_id, result.target)
        if key not in worst or DNS_SEVERITY[result.status] > DNS_SEVERITY[worst[key]]:
            worst[key] = result.status
    return worst


def dns_history(filters):
    """Verdicts per day and status in the period: [{day, status, n}]."""
    start, end = period_bounds(filters)
    results = DnsCheckResult.objects.filter(organization__in=filters.orgs, checked__gte=start, checked__lt=end)
    return list(
        narrow_targets(results, filters).annotate(day=TruncDate("checked")).values("day", "status").annotate(n=Count("id")).order_by("day")
    )


def dns_changes(filters, limit_runs=MAX_DIFF_RUNS):
    """Record and verdict changes made by the DNS runs of the period, newest run first."""
    from monitor.models import changes_in_run

    start, end = period_bounds(filters)
    runs = AuditRun.objects.filter(organization__in=filters.orgs, kind=AuditRun.DNS, started__gte=start, started__lt=end)
    targets = filters.pool_domains() or filters.pool_addresses()
    found = []
    for run in runs.select_related("organization").order_by("-started")[:limit_runs]:
        for change in changes_in_run(run):
            if targets is not None and change.target not in targets:
                continue
            found.append((run, change))
    return found


# --- Alerts ------------------------------------------------------------------------------------


def open_alerts(filters):
    alerts = Alert.objects.filter(organization__in=filters.orgs, status=Alert.OPEN).exclude(kind__in=Alert.EVENT_KINDS)
    return [a for a in alerts.select_related("organization").order_by("-opened") if alert_matches(a, filters)]


def alerts_in_period(filters):
    start, end = period_bounds(filters)
    alerts = Alert.objects.filter(organization__in=filters.orgs, opened__gte=start, opened__lt=end)
    return [a for a in alerts.select_related("organization").order_by("-opened")[:2000] if alert_matches(a, filters)]


def alert_targets(alert) -> set[str]:
    """The domains and addresses an alert is about (its key is "target|list" or "domain|check"...)."""
    return {part.strip().lower() for part in alert.key.split("|") if part.strip()}


def alert_matches(alert, filters) -> bool:
    domains = filters.pool_domains()
    addresses = filters.pool_addresses()
    if domains is None and addresses is None:
        return True
    wanted = set(domains or []) | set(addresses or [])
    return bool(alert_targets(alert) & wanted)


def open_alert_index(filters) -> dict[tuple[int, str], int]:
    """{(organization id, target): open alerts} (an alert about several targets counts for each)."""
    index: dict[tuple[int, str], int] = defaultdict(int)
    alerts = Alert.objects.filter(organization__in=filters.orgs, status=Alert.OPEN).exclude(kind__in=Alert.EVENT_KINDS)
    for alert in alerts.only("organization_id", "key"):
        for target in alert_targets(alert):
            index[(alert.organization_id, target)] += 1
    return index


# --- DMARC (daily roll-ups only) -----------------------------------------------------------------

def _dmarc_models():
    from dmarc_reports.models import DailyRollup

    return DailyRollup


def dmarc_rollups(filters, domain: str | None = None):
    """The roll-ups in scope: organisations, days, and the domain/pool filter (an IP pool narrows sources)."""
    DailyRollup = _dmarc_models()
    rollups = DailyRollup.objects.filter(organization__in=filters.org_ids, day__gte=filters.start, day__lte=filters.end)
    if domain:
        rollups = rollups.filter(domain=domain)
    else:
        domains = filters.pool_domains()
        if domains is not None:
            rollups = rollups.filter(domain__in=domains)
    addresses = filters.pool_addresses()
    if addresses is not None:
        rollups = rollups.filter(source_ip__in=addresses)
    return rollups


def dmarc_sums():
    DailyRollup = _dmarc_models()
    return {name: Sum(name) for name in DailyRollup.COUNTERS}


def dmarc_domain_rollups(filters, domain: str | None = None):
    """Per-domain totals of the scope: the domain roll-ups (one row per domain and day, however many
    sources), or the per-source roll-ups when an IP pool narrows the sources."""
    if filters.pool_addresses() is not None:
        return dmarc_rollups(filters, domain)
    from dmarc_reports.models import DomainDailyRollup

    rollups = DomainDailyRollup.objects.filter(organization__in=filters.org_ids, day__gte=filters.start, day__lte=filters.end)
    if domain:
        return rollups.filter(domain=domain)
    domains = filters.pool_domains()
    return rollups.filter(domain__in=domains) if domains is not None else rollups


def dmarc_daily(filters, domain: str | None = None) -> dict:
    """{day: {counter: sum}} for the scope."""
    rows = dmarc_domain_rollups(filters, domain).order_by().values("day").annotate(**dmarc_sums())
    return {row["day"]: row for row in rows}


def dmarc_domain_days(filters) -> list[dict]:
    """[{organization_id, domain, day, messages, dmarc_pass}] for the overview's rows and trend lines."""
    return list(
        dmarc_domain_rollups(filters).order_by().values("organization_id", "domain", "day")
        .annotate(messages=Sum("messages"), dmarc_pass=Sum("dmarc_pass"))
    )


def named_service():
    from dmarc_reports.service_rollups import named_service

    return named_service()


def dmarc_services(filters, domain: str) -> list[dict]:
    """[{service, counters...}] grouped by the service behind each source ("" when not named): from the
    service roll-ups (a few rows per day, however many addresses), or from the per-source roll-ups when
    an IP pool narrows the sources."""
    if filters.pool_addresses() is not None:
        rows = dmarc_rollups(filters, domain).annotate(named=named_service())
    else:
        from dmarc_reports.models import ServiceDailyRollup

        rows = ServiceDailyRollup.objects.filter(organization__in=filters.org_ids, domain=domain,
                                                 day__gte=filters.start, day__lte=filters.end).annotate(named=F("service"))
    rows = rows.order_by().values("named").annotate(**dmarc_sums())
    return [{"service": row.pop("named"), **row} for row in rows]


def dmarc_top_addresses(filters, domain: str, limit: int, failing_only=False, service=None) -> list[dict]:
    """The ``limit`` largest sources of the scope (of one service when ``service`` is given, "" for the
    unnamed), [{service, source_ip, counters...}], grouped in the database."""
    rollups = dmarc_rollups(filters, domain).annotate(named=named_service())
    if service is not None:
        rollups = rollups.filter(named=service)
    rows = rollups.order_by().values("named", "source_ip").annotate(**dmarc_sums())
    if failing_only:
        rows = rows.filter(messages__gt=F("dmarc_pass"))
    return [{"service": row.pop("named"), **row} for row in rows.order_by("-messages", "source_ip")[:limit]]


def dmarc_pool_sources(filters, addresses: list[str]) -> dict[tuple[int, str], dict]:
    """{(organization id, source ip): {messages, dmarc_pass}} for addresses of IP pools."""
    if not addresses:
        return {}
    DailyRollup = _dmarc_models()
    rows = (
        DailyRollup.objects.filter(organization__in=filters.org_ids, day__gte=filters.start, day__lte=filters.end,
                                   source_ip__in=addresses)
        .order_by().values("organization_id", "source_ip").annotate(messages=Sum("messages"), dmarc_pass=Sum("dmarc_pass"))
    )
    return {(r["organization_id"], r["source_ip"]): r for r in rows}


def domain_known(filters, domain: str) -> bool:
    """Whether any organisation in scope has this domain (in a pool, a roll-up, a report, a TLS roll-up)."""
    from dmarc_reports.models import AggregateReport, DailyRollup, TlsDailyRollup
    from monitor.models import PoolMember

    orgs = filters.org_ids
    return (
        PoolMember.objects.filter(pool__organization__in=orgs, pool__kind=Pool.DOMAIN, value=domain).exists()
        or DailyRollup.objects.filter(organization__in=orgs, domain=domain).exists()
        or AggregateReport.objects.filter(organization__in=orgs, domain=domain).exists()
        or TlsDailyRollup.objects.filter(organization__in=orgs, domain=domain).exists()
    )


def latest_policies(filters, keys) -> dict[tuple[int, str], object]:
    """{(organization id, domain): the newest aggregate report} (one indexed look-up per domain)."""
    from dmarc_reports.models import AggregateReport

    found = {}
    for org_id, domain in keys:
        report = (
            AggregateReport.objects.filter(organization_id=org_id, domain=domain)
            .order_by("-date_begin").only("p", "sp", "pct", "testing", "date_begin", "adkim", "aspf").first()
        )
        if report is not None:
            found[(org_id, domain)] = report
    return found


def source_hosts(addresses) -> dict[str, object]:
    from dmarc_reports.models import SourceHost

    addresses = list(addresses)
    found = {}
    for chunk in range(0, len(addresses), 900):
        for host in SourceHost.objects.filter(ip__in=addresses[chunk:chunk + 900]):
            found[host.ip] = host
    return found


def service_name(service: str) -> str:
    """The service as reverse DNS spells it ("Amazon SES" for "amazon ses")."""
    from dmarc_reports.models import SourceHost

    return SourceHost.objects.filter(service__iexact=service).values_list("service", flat=True).first() or service


def service_addresses(service: str) -> list[str]:
    from dmarc_reports.models import SourceHost

    return list(SourceHost.objects.filter(service__iexact=service).values_list("ip", flat=True)[:5000])


# --- TLS-RPT (daily roll-ups; reporters and MX from the small TLS report tables) -----------------

def tls_rollups(filters):
    from dmarc_reports.models import TlsDailyRollup

    rollups = TlsDailyRollup.objects.filter(organization__in=filters.org_ids, day__gte=filters.start, day__lte=filters.end)
    domains = filters.pool_domains()
    return rollups.filter(domain__in=domains) if domains is not None else rollups


def tls_by_domain_day(filters) -> list[dict]:
    return list(tls_rollups(filters).order_by().values("organization_id", "domain", "day")
                .annotate(successful=Sum("successful"), failed=Sum("failed")))


def tls_failures_by_type_day(filters) -> list[dict]:
    from dmarc_reports.models import TlsFailureDailyRollup

    rows = TlsFailureDailyRollup.objects.filter(organization__in=filters.org_ids, day__gte=filters.start, day__lte=filters.end)
    domains = filters.pool_domains()
    if domains is not None:
        rows = rows.filter(domain__in=domains)
    return list(rows.order_by().values("day", "result_type").annotate(sessions=Sum("sessions")))


def tls_policies_in_period(filters):
    """Policy results of the TLS reports that started in the period (reports are small: one per reporter and day)."""
    from dmarc_reports.models import TlsPolicyResult

    start, end = period_bounds(filters)
    policies = TlsPolicyResult.objects.filter(
        report__organization__in=filters.org_ids, report__date_begin__gte=start, report__date_begin__lt=end
    )
    domains = filters.pool_domains()
    if domains is not None:
        policies = policies.filter(policy_domain__in=domains)
    return policies


def tls_by_reporter(filters) -> list[dict]:
    rows = (tls_policies_in_period(filters).order_by().values("report__organization_name")
            .annotate(successful=Sum("successful_sessions"), failed=Sum("failed_sessions"), reports=Count("report", distinct=True)))
    return sorted(rows, key=lambda r: (-r["failed"], -r["successful"]))


def tls_failures_by_mx(filters) -> list[dict]:
    from dmarc_reports.models import TlsFailureDetail

    start, end = period_bounds(filters)
    details = TlsFailureDetail.objects.filter(
        policy__report__organization__in=filters.org_ids, policy__report__date_begin__gte=start,
        policy__report__date_begin__lt=end,
    )
    domains = filters.pool_domains()
    if domains is not None:
        details = details.filter(policy__policy_domain__in=domains)
    rows = (details.order_by().values("receiving_mx_hostname", "result_type")
            .annotate(sessions=Sum("failed_session_count")))
    return list(rows)


# --- Sources ---------------------------------------------------------------------------------------

def source_rollups(filters, kind: str, key: str, addresses=None):
    """Roll-ups of one address, or of every address of one service, in the period."""
    from dmarc_reports.models import DailyRollup

    rollups = DailyRollup.objects.filter(organization__in=filters.org_ids, day__gte=filters.start, day__lte=filters.end)
    if kind == "ip":
        return rollups.filter(source_ip=key)
    return rollups.filter(Q(service__iexact=key) | Q(source_ip__in=addresses or []))


def source_exists(filters, kind: str, key: str, addresses) -> bool:
    from dmarc_reports.models import DailyRollup

    rollups = DailyRollup.objects.filter(organization__in=filters.org_ids)
    if kind == "ip":
        if rollups.filter(source_ip=key).exists():
            return True
        return Listing.objects.filter(organization__in=filters.orgs, target=key).exists() or in_ip_pool(filters, key)
    return rollups.filter(Q(service__iexact=key) | Q(source_ip__in=addresses[:900])).exists()


def in_ip_pool(filters, address: str) -> bool:
    import ipaddress

    from monitor.models import PoolMember

    ip = ipaddress.ip_address(address)
    members = PoolMember.objects.filter(pool__organization__in=filters.orgs, pool__kind=Pool.IP).values_list("value", flat=True)
    for value in members:
        try:
            if ip in ipaddress.ip_network(value, strict=False):
                return True
        except ValueError:
            continue
    return False


def source_rows_by_report(filters, addresses: list[str]) -> dict[int, dict]:
    """{report id: {messages, dmarc_pass}} of these addresses' rows in the period's reports.

    Report rows have no index on the address (it would slow every import), so the rows are read
    through the period's reports (the report index): bounded by the period, not by all history.
    Summed here rather than with GROUP BY, which can make the database walk the whole table.
    """
    from dmarc_reports.models import AggregateReport, ReportRow

    start, end = period_bounds(filters)
    report_ids = list(AggregateReport.objects.filter(
        organization__in=filters.org_ids, date_begin__gte=start, date_begin__lt=end
    ).values_list("pk", flat=True))
    found: dict[int, dict] = {}
    for chunk in range(0, len(report_ids), 500):
        rows = (ReportRow.objects.filter(report_id__in=report_ids[chunk:chunk + 500], source_ip__in=addresses[:900])
                .order_by().values_list("report_id", "count", "dkim", "spf")[:MAX_SOURCE_ROWS])
        for report_id, count, dkim, spf in rows:
            entry = found.setdefault(report_id, {"messages": 0, "dmarc_pass": 0})
            entry["messages"] += count
            if dkim == "pass" or spf == "pass":
                entry["dmarc_pass"] += count
    return found


def source_reporters(filters, by_report: dict[int, dict]) -> list[dict]:
    """Who reported the source in the period: reporter, reports, messages."""
    from dmarc_reports.models import AggregateReport

    reporters: dict[str, dict] = {}
    for pk, name in AggregateReport.objects.filter(pk__in=list(by_report)).values_list("pk", "org_name"):
        entry = reporters.setdefault(name, {"report__org_name": name, "reports": 0, "messages": 0, "dmarc_pass": 0})
        entry["reports"] += 1
        entry["messages"] += by_report[pk]["messages"]
        entry["dmarc_pass"] += by_report[pk]["dmarc_pass"]
    return sorted(reporters.values(), key=lambda r: -r["messages"])


def source_reports(filters, by_report: dict[int, dict], limit=100):
    from dmarc_reports.models import AggregateReport

    reports = AggregateReport.objects.filter(pk__in=list(by_report)).select_related("organization").order_by("-date_begin")[:limit]
    return [(report, by_report[report.pk]["messages"]) for report in reports]


# --- Reports (lists of files and reports; one report's rows, paged) -------------------------------

MAX_LIST = 200


def incoming_files(filters, status: str = ""):
    from dmarc_reports.models import IncomingFile

    start, end = period_bounds(filters)
    files = IncomingFile.objects.filter(organization__in=filters.org_ids, received__gte=start, received__lt=end)
    if status:
        files = files.filter(status=status)
    return files.select_related("organization").defer("raw").order_by("-received", "-pk")


def aggregate_reports(filters):
    from dmarc_reports.models import AggregateReport

    start, end = period_bounds(filters)
    reports = AggregateReport.objects.filter(organization__in=filters.org_ids, date_begin__gte=start, date_begin__lt=end)
    domains = filters.pool_domains()
    if domains is not None:
        reports = reports.filter(domain__in=domains)
    return reports.select_related("organization", "incoming").defer("incoming__raw").order_by("-date_begin", "-pk")


def tls_reports(filters):
    from dmarc_reports.models import TlsReport

    start, end = period_bounds(filters)
    reports = TlsReport.objects.filter(organization__in=filters.org_ids, date_begin__gte=start, date_begin__lt=end)
    domains = filters.pool_domains()
    if domains is not None:
        reports = reports.filter(policies__policy_domain__in=domains).distinct()
    return reports.select_related("organization").order_by("-date_begin", "-pk")


def report_in_scope(filters, pk: int):
    from dmarc_reports.models import AggregateReport

    return AggregateReport.objects.filter(pk=pk, organization__in=filters.org_ids).select_related("organization", "incoming").defer("incoming__raw").first()


def file_in_scope(orgs, pk: int):
    from dmarc_reports.models import IncomingFile

    return IncomingFile.objects.filter(pk=pk, organization__in=orgs).first()
