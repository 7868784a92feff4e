"""Each dashboard page as data: its charts and tables, built from ``Filters``.

The HTML views, the CSV export and the JSON API all call these, so they show the same numbers.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from urllib.parse import quote, urlencode

from django.urls import reverse

from monitor.dashboards import charts, queries
from monitor.dashboards.exports import Column, Table
from monitor.models import Alert, DnsCheckResult


@dataclass
class Page:
    charts: list = field(default_factory=list)
    tables: list = field(default_factory=list)
    context: dict = field(default_factory=dict)

    def all_tables(self) -> list[Table]:
        return [chart.table for chart in self.charts] + list(self.tables)

    def chart(self, chart_id):
        return next(chart for chart in self.charts if chart.id == chart_id)

    def table(self, name):
        return next(table for table in self.all_tables() if table.name == name)


def source_url(address: str, filters=None) -> str:
    return reverse("dash_source", args=[address]) + (filters.query() if filters else "")


def domain_url(domain: str, filters=None) -> str:
    return reverse("dash_domain", args=[domain]) + (filters.query(domain=None, pool=None) if filters else "")


def is_address(target: str) -> bool:
    return ":" in target or target.replace(".", "").isdigit()


# --- Blocklists -------------------------------------------------------------------------------


def blocklists_page(filters) -> Page:
    active = queries.active_listings(filters)
    current = Table(
        "listings", "Current listings",
        [Column("organization", "Organisation"), Column("target", "Address or domain", "link", "target_url"),
         Column("list", "List"), Column("zone", "Zone"), Column("codes", "Codes"), Column("meaning", "Meaning"),
         Column("reason", "Reason"), Column("severity", "Severity", "status"), Column("since", "Listed since", "datetime"),
         Column("last_seen", "Last seen", "datetime"), Column("delist", "Delisting", "link", "delist_url")],
        empty="Nothing is listed right now.",
    )
    for listing in active:
        bl = listing.blocklist
        delist = bl.delist_link(listing.target)
        try:
            meaning = bl.meanings(listing.codes)
        except Exception:  # the catalogue helper's decoder; a code it cannot read is shown raw
            meaning = []
        current.rows.append({
            "organization": listing.organization.slug, "target": listing.target,
            "target_url": source_url(listing.target, filters) if is_address(listing.target) else domain_url(listing.target, filters),
            "list": bl.name, "zone": bl.zone, "codes": listing.codes, "meaning": meaning, "reason": listing.reason,
            "severity": bl.get_severity_display(), "since": listing.first_seen, "last_seen": listing.last_seen,
            "delist": "Delist request" if delist else "", "delist_url": delist,
        })

    intervals = queries.listings_in_period(filters)
    timeline = charts.timeline(
        "listing-timeline", "Listings per address and list",
        [{"lane": f"{item.target} · {item.blocklist.zone}", "first": item.first_seen, "last": item.cleared,
          "label": ", ".join(item.codes) or item.reason[:80]} for item in intervals],
        filters.start, filters.end, description="each bar is one stretch of time on one list",
    )
    if len(intervals) >= queries.MAX_TIMELINE:
        timeline.table.note = f"first {queries.MAX_TIMELINE} listings"
    days = filters.day_list()
    per_day = charts.stacked_daily(
        "listings-per-day", "Listed (address, list) pairs per day", days,
        {"listed": queries.listings_per_day(intervals, days)}, unit="listings",
    )
    health = Table(
        "list-health", "List health",
        [Column("name", "List"), Column("zone", "Zone"), Column("kind", "Kind"), Column("health", "Health", "status"),
         Column("reason", "Why"), Column("checked", "Checked", "datetime"), Column("enabled", "Enabled")],
        empty="No lists in the catalogue yet.",
    )
    for bl in queries.blocklists():
        health.rows.append({
            "name": bl.name, "zone": bl.zone, "kind": bl.get_kind_display(), "health": bl.health or "not checked",
            "reason": bl.health_reason, "checked": bl.health_checked, "enabled": "yes" if bl.enabled else "no",
        })
    return Page(charts=[per_day, timeline], tables=[current, health], context={"active_count": len(active)})


# --- DNS audits -------------------------------------------------------------------------------


def dns_page(filters) -> Page:
    verdicts = queries.latest_dns_verdicts(filters)
    latest = Table(
        "dns-latest", "Latest verdicts",
        [Column("organization", "Organisation"), Column("target", "Domain or address", "link", "target_url"),
         Column("check", "Check"), Column("status", "Verdict", "status"), Column("message", "Message"),
         Column("records", "Records"), Column("checked", "Checked", "datetime"), Column("history", "History", "link", "history_url")],
        empty="No DNS audit has run for these domains and addresses yet.",
    )
    for result in verdicts:
        latest.rows.append({
            "organization": result.organization.slug, "target": result.target,
            "target_url": source_url(result.target, filters) if result.target_kind == DnsCheckResult.ADDRESS else domain_url(result.target, filters),
            "check": result.check_name, "status": result.get_status_display(), "message": result.message,
            "records": result.records, "checked": result.checked, "history": "runs and diffs",
            "history_url": reverse("dns_history", args=[result.organization.slug]) + "?" + urlencode({"target": result.target, "check": result.check_name}),
        })
    history = queries.dns_history(filters)
    days = filters.day_list()
    by_status = {label: [0] * len(days) for _, label in DnsCheckResult.STATUSES}
    labels = dict(DnsCheckResult.STATUSES)
    index = {day: n for n, day in enumerate(days)}
    for row in history:
        if row["day"] in index:
            by_status[labels.get(row["status"], row["status"])][index[row["day"]]] += row["n"]
    history_chart = charts.stacked_daily("dns-history", "Verdicts per day", days, by_status, unit="checks")
    diffs = Table(
        "dns-changes", "Changes between runs",
        [Column("run", "Run", "datetime"), Column("organization", "Organisation"), Column("target", "Target"),
         Column("check", "Check"), Column("was", "Was", "status"), Column("now", "Now", "status"),
         Column("removed", "Records removed"), Column("added", "Records added")],
        empty="No DNS record or verdict changed in this period.",
    )
    for run, change in queries.dns_changes(filters):
        old, new = set(change.old_records or []), set(change.new_records or [])
        diffs.rows.append({
            "run": run.started, "organization": run.organization.slug, "target": change.target, "check": change.check,
            "was": change.old_status, "now": change.new_status,
            "removed": sorted(old - new) if change.records_changed else [],
            "added": sorted(new - old) if change.records_changed else [],
        })
    return Page(charts=[history_chart], tables=[latest, diffs])


# --- Alerts -----------------------------------------------------------------------------------


def alert_row(alert) -> dict:
    return {
        "organization": alert.organization.slug, "kind": alert.get_kind_display(), "title": alert.title,
        "url": reverse("alert", args=[alert.pk]), "status": alert.get_status_display(),
        "opened": alert.opened, "resolved": alert.resolved,
    }


ALERT_COLUMNS = [
    Column("organization", "Organisation"), Column("kind", "Kind"), Column("title", "Alert", "link", "url"),
    Column("status", "Status", "status"), Column("opened", "Opened", "datetime"), Column("resolved", "Resolved", "datetime"),
]


def alerts_page(filters) -> Page:
    open_table = Table("alerts-open", "Open alerts", ALERT_COLUMNS, [alert_row(a) for a in queries.open_alerts(filters)],
                       empty="No open alerts.")
    period = queries.alerts_in_period(filters)
    closed = [a for a in period if a.status == Alert.RESOLVED]
    resolved_table = Table("alerts-resolved", "Resolved alerts and events opened in the period", ALERT_COLUMNS,
                           [alert_row(a) for a in closed], empty="Nothing resolved in this period.")
    days = filters.day_list()
    index = {day: n for n, day in enumerate(days)}
    kinds = dict(Alert.KINDS)
    per_kind: dict[str, list[int]] = defaultdict(lambda: [0] * len(days))
    for alert in period:
        day = alert.opened.date()
        if day in index:
            per_kind[kinds.get(alert.kind, alert.kind)][index[day]] += 1
    chart = charts.stacked_daily("alerts-per-day", "Alerts opened per day, by kind", days, dict(per_kind) or {"alerts": [0] * len(days)}, unit="alerts")
    return Page(charts=[chart], tables=[open_table, resolved_table])


# --- Overview ---------------------------------------------------------------------------------

LEVELS = {"fail": 2, "warn": 1, "ok": 0, "none": -1}


def row_level(row, threshold: float) -> str:
    """fail: listed, a failing DNS check, DMARC below the organisation's threshold, or an open alert."""
    if row["listings"] or row["dns_status"] == DnsCheckResult.FAIL or row["alerts"]:
        return "fail"
    if row["pass_rate"] is not None and row["pass_rate"] < threshold:
        return "fail"
    if row["dns_status"] in (DnsCheckResult.WARN, DnsCheckResult.ERROR):
        return "warn"
    if row["tls_rate"] is not None and row["tls_rate"] < 100:
        return "warn"
    if row["volume"] or row["dns_status"] or row["tls_rate"] is not None:
        return "ok"
    return "none"


def worst_first(rows):
    """Worst first: level, then the lowest pass rate, then the largest volume."""
    return sorted(rows, key=lambda r: (-LEVELS[r["level"]], r["pass_rate"] if r["pass_rate"] is not None else 101,
                                       -(r["volume"] or 0), r["name"]))


def rate(part, whole):
    return round(100.0 * part / whole, 2) if whole else None


def overview_page(filters) -> Page:
    days = filters.day_list()
    index = {day: n for n, day in enumerate(days)}
    domain_days = queries.dmarc_domain_days(filters)
    tls_days = queries.tls_by_domain_day(filters)
    pools = queries.pools(filters)
    orgs = {org.pk: org for org in filters.orgs}

    # Which domains: those in domain pools, and those with DMARC or TLS reports in the period.
    wanted = filters.pool_domains()
    keys: dict[tuple[int, str], None] = {}
    for pool in pools:
        if pool.kind == pool.DOMAIN:
            for value in pool.domains():
                if wanted is None or value in wanted:
                    keys[(pool.organization_id, value)] = None
    for row in domain_days:
        keys[(row["organization_id"], row["domain"])] = None
    for row in tls_days:
        if row["domain"] and (wanted is None or row["domain"] in wanted):
            keys[(row["organization_id"], row["domain"])] = None
    if filters.pool is not None and filters.pool.kind == filters.pool.IP:
        keys = {key: None for key in keys if any(r["organization_id"] == key[0] and r["domain"] == key[1] for r in domain_days)}

    volume = {key: [0] * len(days) for key in keys}
    passed = {key: [0] * len(days) for key in keys}
    total_volume, total_pass = [0] * len(days), [0] * len(days)
    for row in domain_days:
        key, n = (row["organization_id"], row["domain"]), index[row["day"]]
        volume[key][n] += row["messages"]
        passed[key][n] += row["dmarc_pass"]
        total_volume[n] += row["messages"]
        total_pass[n] += row["dmarc_pass"]
    tls = defaultdict(lambda: [0, 0])
    tls_daily = [[0, 0] for _ in days]
    for row in tls_days:
        tls[(row["organization_id"], row["domain"])][0] += row["successful"]
        tls[(row["organization_id"], row["domain"])][1] += row["failed"]
        tls_daily[index[row["day"]]][0] += row["successful"]
        tls_daily[index[row["day"]]][1] += row["failed"]

    listings = queries.open_listing_counts(filters)
    verdicts = queries.latest_dns_verdicts(filters)
    dns_status = queries.dns_status_by_target(verdicts)
    alerts = queries.open_alert_index(filters)
    policies = queries.latest_policies(filters, keys)

    domain_rows = []
    for key in keys:
        org_id, domain = key
        org = orgs[org_id]
        messages, ok = sum(volume[key]), sum(passed[key])
        tls_ok, tls_failed = tls.get(key, (0, 0))
        report = policies.get(key)
        row = {
            "kind": "domain", "organization": org.slug, "org_id": org_id, "name": domain,
            "url": reverse("dash_domain", args=[domain]) + filters.query(org=org.slug, domain=None, pool=None),
            "policy": report.p if report else "", "policy_testing": bool(report and report.testing == "y"),
            "volume": messages, "pass_rate": rate(ok, messages),
            "daily_volume": volume[key], "daily_rate": [rate(p, v) for p, v in zip(passed[key], volume[key])],
            "listings": listings.get((org_id, domain), 0), "dns_status": dns_status.get((org_id, domain), ""),
            "tls_rate": rate(tls_ok, tls_ok + tls_failed), "tls_sessions": tls_ok + tls_failed,
            "alerts": alerts.get((org_id, domain), 0),
        }
        row["level"] = row_level(row, org.dmarc_pass_threshold)
        row["trend"] = charts.sparkline(row["daily_rate"], label=f"DMARC pass rate per day, {domain}")
        row["volume_trend"] = charts.sparkline(row["daily_volume"], label=f"Messages per day, {domain}")
        domain_rows.append(row)
    domain_rows = worst_first(domain_rows)

    by_domain = {(r["org_id"], r["name"]): r for r in domain_rows}
    ip_addresses = []
    pool_addresses = {}
    for pool in pools:
        if filters.pool is not None and pool.pk != filters.pool.pk:
            continue
        if pool.kind == pool.IP:
            try:
                pool_addresses[pool.pk] = pool.addresses()
            except ValueError:
                pool_addresses[pool.pk] = [m.value for m in pool.members.all() if "/" not in m.value]
            ip_addresses += pool_addresses[pool.pk]
    sources = queries.dmarc_pool_sources(filters, ip_addresses)
    pool_rows = []
    for pool in pools:
        if filters.pool is not None and pool.pk != filters.pool.pk:
            continue
        org = orgs[pool.organization_id]
        if pool.kind == pool.DOMAIN:
            targets = pool.domains()
            members = [by_domain.get((org.pk, d)) for d in targets]
            members = [m for m in members if m]
            messages = sum(m["volume"] for m in members)
            ok = sum(m["volume"] * (m["pass_rate"] or 0) / 100 for m in members)
            tls_sessions = sum(m["tls_sessions"] for m in members)
            tls_ok = sum(m["tls_sessions"] * (m["tls_rate"] or 0) / 100 for m in members)
        else:
            targets = pool_addresses[pool.pk]
            messages = sum(sources.get((org.pk, a), {}).get("messages", 0) for a in targets)
            ok = sum(sources.get((org.pk, a), {}).get("dmarc_pass", 0) for a in targets)
            tls_sessions, tls_ok = 0, 0
        statuses = [dns_status.get((org.pk, t), "") for t in targets]
        worst = max((s for s in statuses if s), key=lambda s: queries.DNS_SEVERITY[s], default="")
        row = {
            "kind": pool.kind, "organization": org.slug, "name": pool.name, "pool_id": pool.pk,
            "url": reverse("overview") + filters.query(org=org.slug, pool=pool.pk, domain=None),
            "members": len(targets), "tags": pool.tags, "policy": "", "policy_testing": False,
            "volume": messages, "pass_rate": rate(ok, messages),
            "listings": sum(listings.get((org.pk, t), 0) for t in targets), "dns_status": worst,
            "tls_rate": rate(tls_ok, tls_sessions) if tls_sessions else None, "tls_sessions": tls_sessions,
            "alerts": sum(alerts.get((org.pk, t), 0) for t in targets),
        }
        row["level"] = row_level(row, org.dmarc_pass_threshold)
        pool_rows.append(row)
    pool_rows = worst_first(pool_rows)

    summary_columns = [
        Column("level", "State", "status"), Column("organization", "Organisation"), Column("name", "Name", "link", "url"),
        Column("policy", "DMARC policy"), Column("volume", "Messages", "int"), Column("pass_rate", "DMARC pass", "pct"),
        Column("listings", "Active listings", "int"), Column("dns_status", "DNS audit", "status"),
        Column("tls_rate", "TLS-RPT success", "pct"), Column("alerts", "Open alerts", "int"),
    ]
    domains_table = Table("domains", "Domains", summary_columns, domain_rows,
                          empty="No domains yet: add a domain pool, or import reports.")
    pools_table = Table("pools", "Pools", [summary_columns[0], summary_columns[1], summary_columns[2],
                                           Column("kind", "Kind"), Column("members", "Members", "int")] + summary_columns[4:],
                        pool_rows, empty="No pools yet.")
    volume_chart = charts.stacked_daily(
        "dmarc-volume", "Messages per day by DMARC result", days,
        {"DMARC pass": total_pass, "DMARC fail": [v - p for v, p in zip(total_volume, total_pass)]},
    )
    rate_chart = charts.rate_lines(
        "dmarc-rate", "DMARC pass rate per day", days, {"DMARC pass rate": [rate(p, v) for p, v in zip(total_pass, total_volume)]},
    )
    tls_chart = charts.rate_lines(
        "tls-rate", "TLS-RPT success rate per day", days, {"success rate": [rate(s, s + f) for s, f in tls_daily]},
    )
    totals = {
        "volume": sum(total_volume), "pass_rate": rate(sum(total_pass), sum(total_volume)),
        "listings": len(queries.active_listings(filters)),
        "alerts": len(queries.open_alerts(filters)),
        "tls_rate": rate(sum(s for s, _ in tls_daily), sum(s + f for s, f in tls_daily)),
    }
    return Page(
        charts=[volume_chart, rate_chart, tls_chart], tables=[domains_table, pools_table],
        context={"domain_rows": domain_rows, "pool_rows": pool_rows, "totals": totals,
                 "known_domains": sorted({r["name"] for r in domain_rows})},
    )


# --- Domain -----------------------------------------------------------------------------------

UNKNOWN_SERVICE = "(no reverse DNS)"
MAX_ADDRESSES = 1000


def sums_row(counters: dict) -> dict:
    messages = counters.get("messages") or 0
    failing = messages - (counters.get("dmarc_pass") or 0)
    overrides = (counters.get("forwarded") or 0) + (counters.get("mailing_list") or 0)
    return {
        "messages": messages, "failing": failing,
        "dmarc_rate": rate(counters.get("dmarc_pass") or 0, messages),
        "dkim_rate": rate(counters.get("dkim_pass") or 0, messages),
        "spf_rate": rate(counters.get("spf_pass") or 0, messages),
        "forwarded": counters.get("forwarded") or 0, "mailing_list": counters.get("mailing_list") or 0,
        "quarantined": counters.get("disposition_quarantine") or 0, "rejected": counters.get("disposition_reject") or 0,
        # Moving to p=quarantine/reject would hold back the failing mail receivers do not already override.
        "would_block": max(failing - overrides, 0),
    }


def reverse_dns(host) -> str:
    """What is known of an address's reverse DNS (``SourceHost`` or None): its PTR name, else why there
    is none, so that an address not looked up yet, or whose look-up failed, is not read as one without."""
    if host is not None and host.ptr:
        return host.ptr
    if host is None or host.looked_up is None:
        return "(not looked up yet)"
    if host.error:
        return f"(look-up failed: {host.error})"
    return "(none)"


def readiness_verdict(row) -> str:
    if not row["failing"]:
        return "ready: all of it passes"
    if (row["forwarded"] + row["mailing_list"]) * 2 >= row["failing"]:  # its failing mail, mostly overridden
        return "forwarding or lists: receivers override"
    if row["dmarc_rate"] is not None and row["dmarc_rate"] >= 50:
        return "yours? mostly passes: fix its DKIM/SPF first"
    return "fails throughout: spoofing or an unconfigured sender"


class UrlMaker:
    """Links to many source pages without one reverse() per row."""

    def __init__(self, filters):
        self.prefix = reverse("dash_source", args=["__source__"])
        self.query = filters.query()

    def __call__(self, source: str) -> str:
        return self.prefix.replace("__source__", quote(source, safe="")) + self.query


def addresses_url(domain: str, filters, service: str | None = None) -> str:
    """The domain's addresses (of one service when given): the page a service row opens."""
    return reverse("dash_domain_addresses", args=[domain]) + filters.query(service=service)


RATE_COLUMNS = [Column("messages", "Messages", "int"), Column("failing", "Failing DMARC", "int"),
                Column("dmarc_rate", "DMARC pass", "pct"), Column("dkim_rate", "DKIM aligned", "pct"),
                Column("spf_rate", "SPF aligned", "pct"), Column("forwarded", "Forwarded", "int"),
                Column("mailing_list", "Mailing list", "int")]


def domain_page(filters, domain: str) -> Page | None:
    """Charts from the domain roll-ups; sources grouped by service in one query (one row per service,
    however many addresses): a service's addresses are read only when it is opened (``addresses_page``)."""
    if not queries.domain_known(filters, domain):
        return None
    days = filters.day_list()
    daily = queries.dmarc_daily(filters, domain)

    def series(name):
        return [(daily[day][name] or 0) if day in daily else 0 for day in days]

    messages, dmarc, dkim, spf = series("messages"), series("dmarc_pass"), series("dkim_pass"), series("spf_pass")
    volume_chart = charts.stacked_daily(
        "volume", "Messages per day by DMARC result", days,
        {"DMARC pass": dmarc, "DMARC fail": [m - p for m, p in zip(messages, dmarc)]},
        description="reports covering several days are spread over them",
    )
    rates_chart = charts.rate_lines(
        "rates", "Pass rates per day", days,
        {"DMARC pass": [rate(p, m) for p, m in zip(dmarc, messages)],
         "DKIM aligned pass": [rate(p, m) for p, m in zip(dkim, messages)],
         "SPF aligned pass": [rate(p, m) for p, m in zip(spf, messages)]},
    )
    disposition_chart = charts.stacked_daily(
        "dispositions", "What receivers did (disposition)", days,
        {"none": series("disposition_none"), "quarantine": series("disposition_quarantine"), "reject": series("disposition_reject")},
    )
    overrides_chart = charts.stacked_daily(
        "overrides", "Policy overrides: forwarded and mailing lists", days,
        {"forwarded": series("forwarded"), "mailing list": series("mailing_list")},
        description="receivers delivered this mail despite DMARC failing",
    )

    url_of = UrlMaker(filters)
    services = []
    for row in queries.dmarc_services(filters, domain):
        name = row["service"] or UNKNOWN_SERVICE
        service = {"service": name, "url": url_of(name) if row["service"] else "",
                   "addresses_url": addresses_url(domain, filters, name), **sums_row(row)}
        service["verdict"] = readiness_verdict(service)
        services.append(service)
    services.sort(key=lambda s: (-s["messages"], s["service"]))
    if filters.failing_only:
        services = [s for s in services if s["failing"]]
    services_table = Table("services", "Sources by service", [Column("service", "Service", "link", "url")] + RATE_COLUMNS,
                           services, empty="No failing sources in this period." if filters.failing_only else "No reports for this domain in this period.")
    readiness_rows = sorted((s for s in services if s["failing"]), key=lambda s: -s["would_block"])
    readiness_table = Table(
        "readiness", "Policy readiness: what p=quarantine or p=reject would hold back, by source",
        [Column("service", "Service", "link", "url"), Column("messages", "Messages", "int"), Column("failing", "Failing DMARC", "int"),
         Column("would_block", "Would be blocked", "int"), Column("dmarc_rate", "DMARC pass", "pct"), Column("verdict", "Reading"),
         Column("addresses", "Addresses", "link", "addresses_url")],
        [{**s, "addresses": "by address"} for s in readiness_rows],
        empty="Nothing fails DMARC: moving to p=reject would block nothing seen in this period.",
    )
    total = sums_row({key: sum(series(key)) for key in ("messages", "dmarc_pass", "dkim_pass", "spf_pass", "forwarded",
                                                          "mailing_list", "disposition_quarantine", "disposition_reject")})
    at_risk = sum(s["would_block"] for s in readiness_rows if s["dmarc_rate"] is not None and s["dmarc_rate"] >= 50)
    policies = queries.latest_policies(filters, [(org.pk, domain) for org in filters.orgs])
    return Page(
        charts=[volume_chart, rates_chart, disposition_chart, overrides_chart],
        tables=[services_table, readiness_table],
        context={"services": services, "total": total, "at_risk": at_risk,
                 "all_addresses_url": addresses_url(domain, filters),
                 "policies": [{"org": org, "report": policies[(org.pk, domain)]} for org in filters.orgs if (org.pk, domain) in policies]},
    )


def addresses_page(filters, domain: str, service: str = "") -> Page | None:
    """A domain's addresses, the largest first: those of one service (as the domain page names it,
    UNKNOWN_SERVICE for the unnamed) or, without one, all of them; with the same filters."""
    if not queries.domain_known(filters, domain):
        return None
    key = None if not service else "" if service == UNKNOWN_SERVICE else service
    rows = queries.dmarc_top_addresses(filters, domain, MAX_ADDRESSES, failing_only=filters.failing_only, service=key)
    hosts = queries.source_hosts(r["source_ip"] for r in rows)
    url_of = UrlMaker(filters)
    addresses = []
    for row in rows:
        host = hosts.get(row["source_ip"])
        address = {"source_ip": row["source_ip"], "url": url_of(row["source_ip"]), "ptr": reverse_dns(host),
                   "service": row["service"] or UNKNOWN_SERVICE, **sums_row(row)}
        address["verdict"] = readiness_verdict(address)
        addresses.append(address)
    table = Table(
        "addresses", f"Addresses of {service}" if service else "Sources by address",
        [Column("source_ip", "Address", "link", "url"), Column("ptr", "Reverse DNS"), Column("service", "Service")] + RATE_COLUMNS
        + [Column("would_block", "Would be blocked", "int"), Column("verdict", "Reading")],
        addresses,
        empty="No failing addresses in this period." if filters.failing_only else "No addresses in this period.",
        note=f"the {MAX_ADDRESSES:,} largest addresses" if len(addresses) >= MAX_ADDRESSES else "",
    )
    return Page(tables=[table], context={"service": service, "address_count": len(addresses)})


# --- Source -----------------------------------------------------------------------------------

def source_page(filters, kind: str, key: str) -> Page | None:
    addresses = [key] if kind == "ip" else queries.service_addresses(key)
    if not queries.source_exists(filters, kind, key, addresses):
        return None
    rollups = queries.source_rollups(filters, kind, key, addresses)
    days = filters.day_list()
    daily = {r["day"]: r for r in rollups.order_by().values("day").annotate(**queries.dmarc_sums())}

    def series(name):
        return [(daily[day][name] or 0) if day in daily else 0 for day in days]

    messages, dmarc = series("messages"), series("dmarc_pass")
    volume_chart = charts.stacked_daily("volume", "Messages per day by DMARC result", days,
                                        {"DMARC pass": dmarc, "DMARC fail": [m - p for m, p in zip(messages, dmarc)]})
    rates_chart = charts.rate_lines(
        "rates", "Pass rates per day", days,
        {"DMARC pass": [rate(p, m) for p, m in zip(dmarc, messages)],
         "DKIM aligned pass": [rate(p, m) for p, m in zip(series("dkim_pass"), messages)],
         "SPF aligned pass": [rate(p, m) for p, m in zip(series("spf_pass"), messages)]},
    )
    by_domain = rollups.order_by().values("organization__slug", "domain").annotate(**queries.dmarc_sums())
    domains_table = Table(
        "domains", "Domains it sent for",
        [Column("organization", "Organisation"), Column("domain", "Domain", "link", "url"), Column("messages", "Messages", "int"),
         Column("failing", "Failing DMARC", "int"), Column("dmarc_rate", "DMARC pass", "pct"),
         Column("dkim_rate", "DKIM aligned", "pct"), Column("spf_rate", "SPF aligned", "pct")],
        sorted(({"organization": r["organization__slug"], "domain": r["domain"], "url": domain_url(r["domain"], filters), **sums_row(r)}
                for r in by_domain), key=lambda r: -r["messages"]),
        empty="No reports mention it in this period.",
    )
    if kind == "ip":
        seen = [key]
    else:
        seen = list(dict.fromkeys(addresses + list(rollups.order_by().values_list("source_ip", flat=True).distinct()[:900])))
    hosts = queries.source_hosts(seen)
    by_address = rollups.order_by().values("source_ip").annotate(**queries.dmarc_sums())
    addresses_table = Table(
        "addresses", "Addresses",
        [Column("source_ip", "Address", "link", "url"), Column("ptr", "Reverse DNS"), Column("service", "Service"),
         Column("messages", "Messages", "int"), Column("dmarc_rate", "DMARC pass", "pct")],
        sorted(({"source_ip": r["source_ip"], "url": source_url(r["source_ip"], filters),
                 "ptr": reverse_dns(hosts.get(r["source_ip"])), "service": getattr(hosts.get(r["source_ip"]), "service", ""),
                 **sums_row(r)} for r in by_address), key=lambda r: -r["messages"])[:MAX_ADDRESSES],
        empty="No reports mention it in this period.",
    )
    report_addresses = [r["source_ip"] for r in addresses_table.rows] or seen
    by_report = queries.source_rows_by_report(filters, report_addresses)
    reporters = queries.source_reporters(filters, by_report)
    reporters_table = Table(
        "reporters", "Reporters",
        [Column("reporter", "Reporter"), Column("reports", "Reports", "int"), Column("messages", "Messages", "int"),
         Column("dmarc_rate", "DMARC pass", "pct")],
        [{"reporter": r["report__org_name"], "reports": r["reports"], "messages": r["messages"],
          "dmarc_rate": rate(r["dmarc_pass"] or 0, r["messages"] or 0)} for r in reporters],
        empty="No report in this period mentions it.",
    )
    reports_table = Table(
        "reports", "Reports that mention it",
        [Column("begin", "From", "datetime"), Column("reporter", "Reporter"), Column("domain", "Domain"),
         Column("report_id", "Report id", "link", "url"), Column("messages", "Its messages", "int")],
        [{"begin": report.date_begin, "reporter": report.org_name, "domain": report.domain, "report_id": report.report_id,
          "url": reverse("dash_report", args=[report.pk]), "messages": n}
         for report, n in queries.source_reports(filters, by_report)],
        empty="No report in this period mentions it.",
    )
    if len(reports_table.rows) >= 100:
        reports_table.note = "the 100 newest"
    host = hosts.get(key) if kind == "ip" else None
    listings = [] if kind != "ip" else list(
        queries.Listing.objects.filter(organization__in=filters.orgs, target=key, cleared__isnull=True).select_related("blocklist")
    )
    return Page(
        charts=[volume_chart, rates_chart], tables=[domains_table, addresses_table, reporters_table, reports_table],
        context={"host": host, "reverse_dns": reverse_dns(host), "listings": listings,
                 "display_name": queries.service_name(key) if kind != "ip" else key,
                 "total": sums_row({k: sum(series(k)) for k in ("messages", "dmarc_pass", "dkim_pass", "spf_pass")})},
    )


# --- Reports ----------------------------------------------------------------------------------

ROWS_PER_PAGE = 500


def file_links(incoming) -> dict:
    if incoming is None:
        return {"file": "", "file_url": ""}
    return {"file": incoming.name, "file_url": reverse("dash_file_raw", args=[incoming.pk])}


def reports_page(filters, params) -> Page:
    from dmarc_reports.models import IncomingFile

    status = params.get("status", "")
    if status not in dict(IncomingFile.STATUSES):
        status = ""
    files = queries.incoming_files(filters, status)
    file_count = files.count()
    files_table = Table(
        "files", "Files received",
        [Column("received", "Received", "datetime"), Column("organization", "Organisation"), Column("name", "File", "link", "file_url"),
         Column("via", "Via"), Column("size", "Bytes", "int"), Column("status", "Status", "status"), Column("reason", "Reason"),
         Column("reports", "Reports found", "int")],
        [{"received": f.received, "organization": f.organization.slug if f.organization else "", "name": f.name,
          "file_url": reverse("dash_file_raw", args=[f.pk]), "via": f.get_via_display(), "size": f.size,
          "status": f.get_status_display(), "reason": f.reason, "reports": len(f.results or [])}
         for f in files[:queries.MAX_LIST]],
        empty="No file received in this period.",
        note=f"the {queries.MAX_LIST} newest of {file_count:,}" if file_count > queries.MAX_LIST else "",
    )
    reports = queries.aggregate_reports(filters)
    report_count = reports.count()
    reports_table = Table(
        "aggregate", "DMARC aggregate reports",
        [Column("begin", "From", "datetime"), Column("end", "To", "datetime"), Column("organization", "Organisation"),
         Column("reporter", "Reporter"), Column("domain", "Domain"), Column("report_id", "Report id", "link", "url"),
         Column("policy", "Policy"), Column("records", "Rows", "int"), Column("messages", "Messages", "int"),
         Column("warnings", "Warnings", "int"), Column("file", "Raw file", "link", "file_url")],
        [{"begin": r.date_begin, "end": r.date_end, "organization": r.organization.slug, "reporter": r.org_name,
          "domain": r.domain, "report_id": r.report_id, "url": reverse("dash_report", args=[r.pk]), "policy": f"p={r.p}" if r.p else "",
          "records": r.records, "messages": r.messages, "warnings": len(r.warnings or []), **file_links(r.incoming)}
         for r in reports[:queries.MAX_LIST]],
        empty="No aggregate report in this period.",
        note=f"the {queries.MAX_LIST} newest of {report_count:,}" if report_count > queries.MAX_LIST else "",
    )
    tls = queries.tls_reports(filters)
    tls_table = Table(
        "tls", "TLS reports",
        [Column("begin", "From", "datetime"), Column("organization", "Organisation"), Column("reporter", "Reporter"),
         Column("report_id", "Report id"), Column("policies", "Policies", "int"), Column("successful", "Successful", "int"),
         Column("failed", "Failed", "int"), Column("warnings", "Warnings", "int")],
        [{"begin": r.date_begin, "organization": r.organization.slug, "reporter": r.organization_name, "report_id": r.report_id,
          "policies": r.policies_count, "successful": r.successful_sessions, "failed": r.failed_sessions,
          "warnings": len(r.warnings or [])} for r in tls[:queries.MAX_LIST]],
        empty="No TLS report in this period.",
    )
    return Page(tables=[files_table, reports_table, tls_table],
                context={"status": status, "statuses": IncomingFile.STATUSES})


def dkim_detail(results) -> str:
    """Every DKIM signature of a row: "example.com/s1: pass; other.example/s2: fail"."""
    parts = []
    for r in results or []:
        label = r.get("domain", "?") + (f"/{r['selector']}" if r.get("selector") else "")
        text = f"{label}: {r.get('result', '?')}"
        if r.get("human_result"):
            text += f" ({r['human_result']})"
        parts.append(text)
    return "; ".join(parts)


def spf_detail(results) -> str:
    return "; ".join(f"{r.get('domain', '?')} ({r.get('scope') or 'mfrom'}): {r.get('result', '?')}" for r in results or [])


def report_page(filters, pk: int, offset: int = 0, limit: int | None = ROWS_PER_PAGE) -> Page | None:
    report = queries.report_in_scope(filters, pk)
    if report is None:
        return None
    rows = report.rows.order_by("pk")
    if filters.failing_only:
        rows = rows.exclude(dkim="pass").exclude(spf="pass")
    total = rows.count()
    window = rows[offset:offset + limit] if limit else rows[offset:]
    hosts = {}
    table_rows = []
    for row in window:
        table_rows.append({
            "source_ip": row.source_ip, "url": source_url(row.source_ip), "count": row.count, "disposition": row.disposition,
            "dkim": row.dkim, "spf": row.spf, "dmarc": "pass" if row.dmarc_pass else "fail",
            "header_from": row.header_from, "envelope_from": row.envelope_from, "envelope_to": row.envelope_to,
            "dkim_results": dkim_detail(row.dkim_results), "spf_results": spf_detail(row.spf_results),
            "reasons": "; ".join(r.get("type", "") + (f" ({r['comment']})" if r.get("comment") else "") for r in row.reasons or []),
        })
    hosts = queries.source_hosts({r["source_ip"] for r in table_rows})
    for r in table_rows:
        r["ptr"] = reverse_dns(hosts.get(r["source_ip"]))
    shown = f"rows {offset + 1:,}–{offset + len(table_rows):,} of {total:,}" if total > len(table_rows) else ""
    rows_table = Table(
        "rows", "Rows",
        [Column("source_ip", "Source", "link", "url"), Column("ptr", "Reverse DNS"), Column("count", "Messages", "int"),
         Column("dmarc", "DMARC", "status"), Column("disposition", "Disposition"), Column("dkim", "DKIM aligned", "status"),
         Column("spf", "SPF aligned", "status"), Column("dkim_results", "DKIM signatures"), Column("spf_results", "SPF results"),
         Column("reasons", "Override reasons"), Column("header_from", "Header from"), Column("envelope_from", "Envelope from"),
         Column("envelope_to", "Envelope to")],
        table_rows, empty="This report has no rows." if not filters.failing_only else "No failing rows.", note=shown,
    )
    return Page(tables=[rows_table], context={
        "report": report, "rows_total": total, "offset": offset, "limit": limit,
        "next_offset": offset + limit if limit and offset + limit < total else None,
        "prev_offset": max(offset - limit, 0) if limit and offset > 0 else None,
        **file_links(report.incoming),
    })


# --- TLS-RPT ----------------------------------------------------------------------------------

def tls_page(filters) -> Page:
    days = filters.day_list()
    index = {day: n for n, day in enumerate(days)}
    per_domain: dict[str, list] = defaultdict(lambda: [[0, 0] for _ in days])
    for row in queries.tls_by_domain_day(filters):
        cell = per_domain[row["domain"] or "(no policy domain)"][index[row["day"]]]
        cell[0] += row["successful"]
        cell[1] += row["failed"]
    success_chart = charts.rate_lines(
        "tls-success", "Success rate per day, by policy domain", days,
        {domain: [rate(s, s + f) for s, f in cells] for domain, cells in sorted(per_domain.items())} or {"success rate": [None] * len(days)},
    )
    by_type: dict[str, list[int]] = defaultdict(lambda: [0] * len(days))
    for row in queries.tls_failures_by_type_day(filters):
        by_type[row["result_type"]][index[row["day"]]] += row["sessions"]
    types_chart = charts.stacked_daily("tls-failure-types", "Failed sessions per day, by result type", days,
                                       dict(sorted(by_type.items())) or {"failed": [0] * len(days)}, unit="sessions")
    reporters = queries.tls_by_reporter(filters)
    reporters_chart = charts.category_bars(
        "tls-reporters", "Sessions by reporter", [r["report__organization_name"] for r in reporters[:30]],
        {"successful": [r["successful"] for r in reporters[:30]], "failed": [r["failed"] for r in reporters[:30]]},
        label_title="Reporter", unit="sessions",
    )
    mx: dict[str, dict] = {}
    for row in queries.tls_failures_by_mx(filters):
        name = row["receiving_mx_hostname"] or "(not given)"
        entry = mx.setdefault(name, {"mx": name, "sessions": 0, "types": defaultdict(int)})
        entry["sessions"] += row["sessions"] or 0
        entry["types"][row["result_type"]] += row["sessions"] or 0
    mx_rows = sorted(mx.values(), key=lambda e: -e["sessions"])[:30]
    result_types = sorted({t for e in mx_rows for t in e["types"]})
    mx_chart = charts.category_bars(
        "tls-mx", "Failed sessions by MX host", [e["mx"] for e in mx_rows],
        {t: [e["types"].get(t, 0) for e in mx_rows] for t in result_types} or {"failed": []},
        label_title="MX host", unit="sessions",
    )
    domains_table = Table(
        "tls-domains", "Policy domains",
        [Column("domain", "Policy domain", "link", "url"), Column("successful", "Successful", "int"),
         Column("failed", "Failed", "int"), Column("success_rate", "Success rate", "pct")],
        [{"domain": domain, "url": domain_url(domain, filters) if not domain.startswith("(") else "",
          "successful": sum(s for s, _ in cells), "failed": sum(f for _, f in cells),
          "success_rate": rate(sum(s for s, _ in cells), sum(s + f for s, f in cells))}
         for domain, cells in sorted(per_domain.items())],
        empty="No TLS report in this period.",
    )
    return Page(charts=[success_chart, types_chart, reporters_chart, mx_chart], tables=[domains_table])
