"""Dashboard response times with 10,000 and with 1,000,000 report rows stored.

Each size is 50 aggregate reports (10 per domain over 5 domains, one day each, in the last 30 days):
200 rows each (10,000 rows) and 20,000 rows each (1,000,000 rows). Rows go straight into the row
table by bulk inserts; the daily roll-ups (per source, per domain, per service) are summed from the very
same rows, as an import makes them.

Two shapes of data, because the roll-ups grow with distinct (domain, source, day), not with rows:
- "same senders": both sizes come from the same 200 source addresses per domain; the big reports
  have 100 rows per address (envelope recipients, DKIM selectors, results), as real large reports do.
- "more senders": the big reports also bring 10x the addresses (2,000 per domain and report), the
  harder case (forwarders, spoofers' long tail): 10x the roll-up rows.

Timed: the overview and a domain page (and the other pages, for information) with Django's test
Client in-process, server side, median of 15 requests after 2 warm-ups. SQLite always (a file, as in
production); PostgreSQL too when DATABASE_URL is set. Each database runs in its own process.
"""

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from datetime import datetime, time as dtime, timedelta, timezone as dt_timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REPORTS = 50
DOMAINS = [f"brand{n}.example" for n in range(5)]
SERVICES = ["Google", "Microsoft", "Amazon SES", "SendGrid", "Mailchimp", "Mailgun", "Salesforce", "Zendesk",
            "HubSpot", "Postmark", ""]
REPEATS = 15
WARMUP = 2
TARGET_MS = 300
RATIO = 1.5


def child_setup():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "monitor.settings")
    import django
    from django.apps import apps
    from django.conf import settings

    django.setup()
    # A fresh schema from the current models, whatever state the migrations are in.
    settings.MIGRATION_MODULES = {config.label: None for config in apps.get_app_configs()}
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    folder = tempfile.mkdtemp(prefix="bench-dash-")
    if connection.vendor == "sqlite":
        connection.settings_dict.setdefault("TEST", {})["NAME"] = os.path.join(folder, "bench.sqlite3")
    else:  # its own database, never the test suite's
        connection.settings_dict.setdefault("TEST", {})["NAME"] = "bench_dashboards"
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    return connection


def at(day):
    return datetime.combine(day, dtime.min, tzinfo=dt_timezone.utc)


def addresses_for(domain_index: int, count: int) -> list[str]:
    base = 10 + domain_index
    return [f"10.{base}.{n // 250}.{n % 250 + 1}" for n in range(count)]


def clear():
    from dmarc_reports.models import (
        AggregateReport, DailyRollup, DomainDailyRollup, IncomingFile, ServiceDailyRollup, SourceHost, TlsDailyRollup,
    )

    for model in (DailyRollup, DomainDailyRollup, ServiceDailyRollup, TlsDailyRollup, SourceHost, AggregateReport, IncomingFile):
        model.objects.all().delete()


def generate(org, rows_per_report: int, addresses_per_domain: int, seed: int = 7) -> dict:
    """Reports, rows (bulk inserts), and the roll-ups and source hosts that importing them gives."""
    from django.db import connection, transaction
    from django.utils import timezone

    from dmarc_reports.models import AggregateReport, DailyRollup, IncomingFile, ReportRow, SourceHost, TlsDailyRollup
    from dmarc_reports import service_rollups
    from dmarc_reports.rollups import add_domain_rollups

    rng = random.Random(seed)
    today = timezone.now().date()
    table = ReportRow._meta.db_table
    json_cast = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    insert = (
        f"INSERT INTO {table} (report_id, source_ip, count, disposition, dkim, spf, reasons, header_from, envelope_from, "
        f"envelope_to, dkim_results, spf_results) VALUES (%s, %s, %s, %s, %s, %s, {json_cast}, %s, %s, %s, {json_cast}, {json_cast})"
    )
    rollups: dict[tuple, list[int]] = {}
    hosts = {}
    started = time.perf_counter()
    stored_rows = 0
    for n in range(REPORTS):
        domain_index = n % len(DOMAINS)
        domain = DOMAINS[domain_index]
        day = today - timedelta(days=n // len(DOMAINS) * 2)
        pool = addresses_for(domain_index, addresses_per_domain)
        with transaction.atomic():
            incoming = IncomingFile.objects.create(
                organization=org, name=f"google.com!{domain}!{n}.xml.gz", size=1000, sha256=f"{n:064d}", via="command",
                status=IncomingFile.IMPORTED, received=at(day) + timedelta(hours=6), raw=b"x", raw_encoding="as-sent",
            )
            report = AggregateReport.objects.create(
                organization=org, incoming=incoming, org_name="google.com", report_id=f"bench-{n}", domain=domain,
                date_begin=at(day), date_end=at(day) + timedelta(days=1), p="quarantine", records=rows_per_report,
            )
            batch, messages = [], 0
            for r in range(rows_per_report):
                ip = pool[r % len(pool)]
                hosts.setdefault(ip, SERVICES[zlib.crc32(ip.encode()) % len(SERVICES)])
                count = rng.randint(1, 40)
                dkim = "pass" if rng.random() < 0.85 else "fail"
                spf = "pass" if rng.random() < 0.8 else "fail"
                disposition = "none" if dkim == "pass" or spf == "pass" else rng.choice(["none", "quarantine", "reject"])
                reasons = [{"type": "forwarded", "comment": ""}] if disposition == "none" and dkim == spf == "fail" else []
                signatures = [{"domain": domain, "selector": f"s{r % 3}", "result": dkim, "human_result": ""}]
                batch.append((report.pk, ip, count, disposition, dkim, spf, json.dumps(reasons), domain, domain,
                              f"rcpt{r % 97}.example", json.dumps(signatures),
                              json.dumps([{"domain": domain, "scope": "mfrom", "result": spf}])))
                messages += count
                key = (domain, ip, day)
                tally = rollups.setdefault(key, [0] * 9)
                dmarc = dkim == "pass" or spf == "pass"
                for index, value in enumerate((
                    count, count * dmarc, count * (dkim == "pass"), count * (spf == "pass"),
                    count * (disposition == "none"), count * (disposition == "quarantine"),
                    count * (disposition == "reject"), count * bool(reasons), 0,
                )):
                    tally[index] += value
                if len(batch) == 5000:
                    with connection.cursor() as cursor:
                        cursor.executemany(insert, batch)
                    batch = []
            if batch:
                with connection.cursor() as cursor:
                    cursor.executemany(insert, batch)
            AggregateReport.objects.filter(pk=report.pk).update(messages=messages)
        stored_rows += rows_per_report
    DailyRollup.objects.bulk_create(
        (DailyRollup(organization=org, domain=d, source_ip=ip, day=day, service=hosts[ip],
                     **dict(zip(DailyRollup.COUNTERS, values))) for (d, ip, day), values in rollups.items()),
        batch_size=5000,
    )
    add_domain_rollups((org.pk, d, day, values) for (d, ip, day), values in rollups.items())
    SourceHost.objects.bulk_create(
        (SourceHost(ip=ip, ptr=f"out-{ip.replace('.', '-')}.{(service or 'unknown').lower().replace(' ', '')}.example",
                    service=service) for ip, service in hosts.items()), batch_size=5000,
    )
    service_rollups.rebuild((org.pk, d, day) for (d, ip, day) in rollups)
    TlsDailyRollup.objects.bulk_create(
        TlsDailyRollup(organization=org, domain=d, day=today - timedelta(days=k), successful=1000, failed=k % 7)
        for d in DOMAINS for k in range(30)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # as a long-running database has its planner statistics
    return {"rows": stored_rows, "rollups": len(rollups), "seconds": time.perf_counter() - started}


def time_get(client, url) -> float:
    """Median wall-clock milliseconds of a request; the median CPU time of this process is kept in CPU[url]
    (on SQLite the database works in this process too, so it is the server's whole cost, whatever else runs)."""
    for _ in range(WARMUP):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    took, cpu = [], []
    for _ in range(REPEATS):
        started, started_cpu = time.perf_counter(), time.process_time()
        client.get(url)
        took.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    CPU[url] = statistics.median(cpu)
    return statistics.median(took)


CPU: dict[str, float] = {}


def measure(client) -> dict:
    from django.urls import reverse

    domain = DOMAINS[0]
    overview, domain_page = time_get(client, reverse("overview")), time_get(client, reverse("dash_domain", args=[domain]))
    return {
        "overview": overview,
        "domain": domain_page,
        "overview cpu": CPU[reverse("overview")],
        "domain cpu": CPU[reverse("dash_domain", args=[domain])],
        "domain 90 days": time_get(client, reverse("dash_domain", args=[domain]) + "?period=90"),
        "domain failing": time_get(client, reverse("dash_domain", args=[domain]) + "?failing=1"),
        "source (address)": time_get(client, reverse("dash_source", args=[addresses_for(0, 1)[0]])),
        "reports": time_get(client, reverse("dash_reports")),
        "tls": time_get(client, reverse("dash_tls")),
    }


def run_child():
    connection = child_setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from monitor.models import Membership, Organization, Pool, PoolMember

    label = "PostgreSQL" if connection.vendor == "postgresql" else "SQLite"
    org = Organization.objects.create(slug="bench", name="Bench")
    pool = Pool.objects.create(organization=org, name="domains", kind=Pool.DOMAIN)
    for domain in DOMAINS:
        PoolMember.objects.create(pool=pool, value=domain)
    user = get_user_model().objects.create_user("bench", "bench@example.test", "x")
    Membership.objects.create(organization=org, user=user, role=Membership.VIEWER)
    client = Client()
    client.force_login(user)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {org.api_token}")

    from django.urls import reverse

    results = {}
    try:
        for shape, small_addresses, big_addresses in (("same senders", 200, 200), ("more senders", 200, 2000)):
            for size, rows in (("10k", 200), ("1M", 20_000)):
                clear()
                made = generate(org, rows, small_addresses if size == "10k" else big_addresses)
                times = measure(client)
                times["api overview"] = time_get(api, reverse("api_overview"))
                results[(shape, size)] = times
                print(f"{label:10} {shape:12} {made['rows']:>9,} rows {made['rollups']:>7,} roll-ups "
                      f"(stored in {made['seconds']:.0f} s): " +
                      ", ".join(f"{name} {ms:.0f} ms" for name, ms in times.items()), flush=True)
            small, big = results[(shape, "10k")], results[(shape, "1M")]
            for page in ("overview", "domain", "overview cpu", "domain cpu"):
                verdict = "ok" if big[page] <= TARGET_MS and big[page] <= RATIO * small[page] else "OVER"
                print(f"{label:10} {shape:12} {page:12}: median {big[page]:.0f} ms with 1M rows, {small[page]:.0f} ms with 10k "
                      f"(x{big[page] / small[page]:.2f}; target <= {TARGET_MS} ms and <= x{RATIO}): {verdict}", flush=True)
            print(f"{label:10} load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    finally:
        connection.creation.destroy_test_db(connection.settings_dict["NAME"], verbosity=0)


def main():
    env = dict(os.environ)
    databases = [("SQLite", {k: v for k, v in env.items() if k != "DATABASE_URL"})]
    if env.get("DATABASE_URL"):
        databases.append(("DATABASE_URL", env))
    for label, child_env in databases:
        result = subprocess.run([sys.executable, "-m", "bench.dashboards", "--child"], cwd=ROOT, env=child_env)
        if result.returncode != 0:
            print(f"{label}: the dashboard benchmark failed (exit {result.returncode})")


if __name__ == "__main__":
    if "--child" in sys.argv:
        run_child()
    else:
        main()
