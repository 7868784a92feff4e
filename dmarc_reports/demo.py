"""Demo history for `make run`: four months of DMARC aggregate and TLS reports for the demo organisation.

``load_report_history(org) -> str`` generates the reports receivers would have sent (Google,
Microsoft, Yahoo, a regional mailbox provider; one zip per week, as a bulk upload) and imports them
through ``import_file``, so the demo exercises the real pipeline. The stories the dashboards can
tell: steady own traffic, an e-mail service provider, forwarded and mailing-list mail (SPF broken,
DKIM mostly intact), spoofing let through under p=none, then quarantined, then rejected as the published
policy tightens (the DNS audits' story), a new service starting to send without DKIM six weeks ago,
and an expired MTA-STS certificate for a week. Idempotent: reports already there are not generated
again.
"""

import io
import json
import random
import zipfile
from datetime import date, datetime, time, timedelta, timezone

from django.utils import timezone as django_timezone

from dmarc_reports.enrichment import service_for
from dmarc_reports.importing import import_file
from dmarc_reports.models import AggregateReport, SourceHost
from monitor.dns_audit.demo import policy_days_ago

DAYS = 120
REPORTERS = [  # (org_name, e-mail, share of the traffic, report period in hours, domains)
    ("google.com", "noreply-dmarc-support@google.com", 0.45, 24, ("acme.example", "news.acme.example")),
    ("Outlook.com", "dmarcreport@microsoft.com", 0.30, 24, ("acme.example",)),
    ("Yahoo", "dmarchelp@yahooinc.com", 0.15, 48, ("acme.example",)),
    ("Mail.Ru", "dmarc_support@corp.mail.ru", 0.10, 24, ("acme.example",)),
]
OWN = [f"192.0.2.{n}" for n in range(1, 15)] + ["192.0.2.77", "2001:db8::25"]
ESP = [f"198.51.100.{n}" for n in (10, 11, 12, 13)]
NEW_SERVICE = ["198.51.100.200", "198.51.100.201"]
FORWARDERS = ["203.0.113.5", "203.0.113.6"]
SPOOFERS = [f"203.0.113.{n}" for n in range(100, 120)]
HOSTS = {  # reverse DNS of the demo addresses (documentation ranges have none of their own)
    **{address: f"mail{n}.acme.example" for n, address in enumerate(OWN)},
    **{address: f"o{n}.ptr{4200 + n}.sendgrid.net" for n, address in enumerate(ESP)},
    **{address: f"a{n}-7.smtp-out.amazonses.com" for n, address in enumerate(NEW_SERVICE)},
    "203.0.113.5": "mail-sor-f41.google.com",
    "203.0.113.6": "lists.example.org",
}


def load_report_history(org, today: date | None = None) -> str:
    today = today or django_timezone.now().date()
    first = today - timedelta(days=DAYS)
    have = set(AggregateReport.objects.filter(organization=org, report_id__startswith="demo-")
               .values_list("report_id", flat=True))
    remember_hosts()
    rng = random.Random(20260101)
    weeks: dict[date, dict[str, bytes]] = {}
    for offset in range(DAYS):
        day = first + timedelta(days=offset)
        week = day - timedelta(days=day.weekday())
        for reporter in REPORTERS:
            name, email, share, hours, domains = reporter
            if hours > 24 and offset % (hours // 24):
                continue
            for domain in domains:
                report_id = f"demo-{name.lower()}-{domain}-{day:%Y%m%d}"
                xml = aggregate_report(rng, reporter, domain, day, report_id, first, policy_days_ago((today - day).days))
                if report_id not in have:
                    weeks.setdefault(week, {})[f"{name.lower()}!{domain}!{day:%Y%m%d}.xml"] = xml
        tls_id = f"demo-tls-{day:%Y%m%d}"
        tls = tls_report(rng, day, tls_id, today)
        weeks.setdefault(week, {})[f"google.com!acme.example!{day:%Y%m%d}.json"] = tls
    imported = 0
    for week, files in sorted(weeks.items()):
        if not any(name.endswith(".xml") for name in files):
            continue
        outcome = import_file(zipped(files), name=f"demo-reports-{week:%Y-%m-%d}.zip", org=org, via="command",
                              enrich=False)
        imported += outcome.counts["imported"]
    return f"report history: {imported} DMARC and TLS reports imported ({len(have)} DMARC reports were there)"


def remember_hosts() -> None:
    now = django_timezone.now()
    SourceHost.objects.bulk_create(
        [SourceHost(ip=ip, ptr=ptr, service=service_for(ptr), looked_up=now) for ip, ptr in HOSTS.items()],
        update_conflicts=True, unique_fields=["ip"], update_fields=["ptr", "service", "looked_up", "error"],
    )


def aggregate_report(rng: random.Random, reporter, domain: str, day: date, report_id: str, first: date,
                     policy: str) -> bytes:
    """One receiver's report of a day; ``policy`` is the DMARC policy published then (and applied to
    the spoofed mail)."""
    name, email, share, hours, _ = reporter
    begin = datetime.combine(day, time(), tzinfo=timezone.utc)
    end = begin + timedelta(hours=hours) - (timedelta(seconds=1) if name != "Outlook.com" else timedelta())
    weekday_factor = 0.35 if day.weekday() >= 5 else 1.0
    volume = (3000 if domain == "acme.example" else 600) * share * weekday_factor
    records = []

    def add(ip, count, dkim, spf, disposition="none", reasons=(), dkim_domain=domain, spf_domain=domain):
        if count <= 0:
            return
        reason = "".join(f"<reason><type>{t}</type><comment>{c}</comment></reason>" for t, c in reasons)
        records.append(
            f"<record><row><source_ip>{ip}</source_ip><count>{count}</count><policy_evaluated>"
            f"<disposition>{disposition}</disposition><dkim>{dkim}</dkim><spf>{spf}</spf>{reason}</policy_evaluated>"
            f"</row><identifiers><header_from>{domain}</header_from><envelope_from>{spf_domain}</envelope_from>"
            f"</identifiers><auth_results><dkim><domain>{dkim_domain}</domain><selector>s1</selector>"
            f"<result>{'pass' if dkim == 'pass' else 'fail'}</result></dkim><spf><domain>{spf_domain}</domain>"
            f"<scope>mfrom</scope><result>{'pass' if spf == 'pass' else 'softfail'}</result></spf></auth_results></record>"
        )

    for ip in rng.sample(OWN, 6):
        add(ip, int(volume * rng.uniform(0.08, 0.14)), "pass", "pass")
    if domain == "news.acme.example":
        for ip in ESP:
            add(ip, int(volume * rng.uniform(0.2, 0.3)), "pass", "pass", spf_domain="em.news.acme.example")
    add(FORWARDERS[0], int(volume * 0.02 * rng.uniform(0.5, 1.5)), "pass", "fail", reasons=(("forwarded", ""),),
        spf_domain="forwarder.example")
    add(FORWARDERS[0], int(volume * 0.005 * rng.uniform(0.5, 1.5)), "fail", "fail", reasons=(("forwarded", ""),),
        spf_domain="forwarder.example")  # a footer added on the way broke DKIM too: the receiver overrides
    add(FORWARDERS[1], int(volume * 0.01 * rng.uniform(0.5, 1.5)), "fail", "fail",
        reasons=(("mailing_list", "lists.example.org"),), spf_domain="lists.example.org")
    if domain == "acme.example" and day >= first + timedelta(days=DAYS - 42):  # the new service, no DKIM yet
        for ip in NEW_SERVICE:
            add(ip, int(volume * 0.03 * rng.uniform(0.7, 1.3)), "fail", "pass", spf_domain="bounce.acme.example")
    for ip in rng.sample(SPOOFERS, rng.randint(0, 4)):
        add(ip, rng.randint(1, 40), "fail", "fail", policy,
            dkim_domain="spoof.example", spf_domain="spoof.example")
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><feedback><report_metadata><org_name>{name}</org_name>'
        f"<email>{email}</email><report_id>{report_id}</report_id><date_range><begin>{int(begin.timestamp())}"
        f"</begin><end>{int(end.timestamp())}</end></date_range></report_metadata><policy_published>"
        f"<domain>{domain}</domain><adkim>r</adkim><aspf>r</aspf><p>{policy}</p><sp>{policy}</sp><pct>100</pct>"
        f"</policy_published>{''.join(records)}</feedback>"
    ).encode()


def tls_report(rng: random.Random, day: date, report_id: str, today: date) -> bytes:
    expired = today - timedelta(days=30) <= day < today - timedelta(days=23)  # a week with an expired certificate
    failures = [{"result-type": "certificate-expired", "sending-mta-ip": "209.85.220.41",
                 "receiving-mx-hostname": "mx1.acme.example", "receiving-ip": "192.0.2.25",
                 "failed-session-count": rng.randint(40, 90)}] if expired else []
    if rng.random() < 0.15:
        failures.append({"result-type": "starttls-not-supported", "sending-mta-ip": "209.85.220.42",
                         "receiving-mx-hostname": "mx2.acme.example", "failed-session-count": rng.randint(1, 3)})
    return json.dumps({
        "organization-name": "Google Inc.", "contact-info": "smtp-tls-reporting@google.com", "report-id": report_id,
        "date-range": {"start-datetime": f"{day:%Y-%m-%d}T00:00:00Z", "end-datetime": f"{day:%Y-%m-%d}T23:59:59Z"},
        "policies": [{
            "policy": {"policy-type": "sts", "policy-string": ["version: STSv1", "mode: enforce",
                                                               "mx: mx1.acme.example", "max_age: 86400"],
                       "policy-domain": "acme.example", "mx-host": ["mx1.acme.example", "mx2.acme.example"]},
            "summary": {"total-successful-session-count": rng.randint(800, 1200),
                        "total-failure-session-count": sum(f["failed-session-count"] for f in failures)},
            "failure-details": failures,
        }],
    }).encode()


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted(files.items()):
            archive.writestr(name, data)
    return buffer.getvalue()
