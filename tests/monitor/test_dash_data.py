"""Sample data for the dashboard tests (helpers only, no tests here): one organisation's reports,
roll-ups, TLS reports, listings, DNS verdicts and alerts, written straight into the tables."""

import gzip
from datetime import datetime, time, timedelta, timezone as dt_timezone

from django.utils import timezone

from dmarc_reports.models import (
    AggregateReport, DailyRollup, IncomingFile, ReportRow, SourceHost, TlsDailyRollup, TlsFailureDailyRollup,
    TlsFailureDetail, TlsPolicyResult, TlsReport,
)
from dmarc_reports import service_rollups
from dmarc_reports.rollups import add_domain_rollups
from monitor.models import Alert, AuditRun, DnsCheckResult, Pool, PoolMember
from monitor.models.blocklists import Blocklist, Listing

GOOGLE_IP, SES_IP, SPOOF_IP, MAILCHIMP_IP = "192.0.2.10", "198.51.100.7", "203.0.113.66", "198.51.100.20"


def at(day, hour=0):
    return datetime.combine(day, time(hour), tzinfo=dt_timezone.utc)


def today():
    return timezone.now().date()


def add_rollup(org, domain, ip, day, messages, dmarc_pass, dkim_pass=None, spf_pass=None, service="", **extra):
    """A source's roll-up for a day, added to its domain's and service's roll-ups too (as an import does)."""
    rollup = DailyRollup.objects.create(
        organization=org, domain=domain, source_ip=ip, day=day, service=service, messages=messages, dmarc_pass=dmarc_pass,
        dkim_pass=dmarc_pass if dkim_pass is None else dkim_pass, spf_pass=dmarc_pass if spf_pass is None else spf_pass,
        disposition_none=messages - extra.get("disposition_quarantine", 0) - extra.get("disposition_reject", 0), **extra,
    )
    add_domain_rollups([(org.pk, domain, day, [getattr(rollup, name) for name in DailyRollup.COUNTERS])])
    service_rollups.rebuild([(org.pk, domain, day)])
    return rollup


def add_report(org, domain, day, rows, reporter="google.com", report_id=None, p="none", name=None, raw=b"<feedback/>"):
    """A stored report with its rows; rows are (ip, count, dkim, spf, dkim_results)."""
    incoming = IncomingFile.objects.create(
        organization=org, name=name or f"{reporter}!{domain}!{day:%Y%m%d}.xml.gz", size=len(raw), sha256="0" * 64,
        via=IncomingFile.UPLOAD, status=IncomingFile.IMPORTED, raw=gzip.compress(raw), raw_encoding=IncomingFile.GZIPPED,
        received=at(day, 6), results=[{"report_id": report_id or f"{reporter}-{day}"}],
    )
    report = AggregateReport.objects.create(
        organization=org, incoming=incoming, org_name=reporter, report_id=report_id or f"{reporter}-{domain}-{day}",
        domain=domain, date_begin=at(day), date_end=at(day) + timedelta(days=1), p=p, records=len(rows),
        messages=sum(r[1] for r in rows),
    )
    ReportRow.objects.bulk_create([
        ReportRow(report=report, source_ip=ip, count=count, disposition="none", dkim=dkim, spf=spf, header_from=domain,
                  dkim_results=dkim_results, spf_results=[{"domain": domain, "scope": "mfrom", "result": spf}])
        for ip, count, dkim, spf, dkim_results in rows
    ])
    return report


def build(org, domain="acme.example", days=10):
    """Ten days of reports for ``domain``: Google (1% failing), SES (half failing), a spoofer (all failing),
    Mailchimp (all passing; its roll-up has no service name: it comes from SourceHost)."""
    SourceHost.objects.get_or_create(ip=GOOGLE_IP, defaults={"ptr": "mail-ot1.google.com", "service": "Google"})
    SourceHost.objects.get_or_create(ip=SES_IP, defaults={"ptr": "a7.smtp-out.amazonses.com", "service": "Amazon SES"})
    SourceHost.objects.get_or_create(ip=SPOOF_IP, defaults={"ptr": "", "service": ""})
    SourceHost.objects.get_or_create(ip=MAILCHIMP_IP, defaults={"ptr": "mail20.mcsv.net", "service": "Mailchimp"})
    pool = Pool.objects.create(organization=org, name="sending-domains", kind=Pool.DOMAIN)
    PoolMember.objects.create(pool=pool, value=domain)
    ip_pool = Pool.objects.create(organization=org, name="outbound", kind=Pool.IP, tags=["region:eu"])
    PoolMember.objects.create(pool=ip_pool, value=SES_IP)
    first = today() - timedelta(days=days - 1)
    reports = []
    for n in range(days):
        day = first + timedelta(days=n)
        add_rollup(org, domain, GOOGLE_IP, day, 1000, 990, service="Google")
        add_rollup(org, domain, SES_IP, day, 200, 100, dkim_pass=100, spf_pass=40, service="Amazon SES", forwarded=5)
        add_rollup(org, domain, SPOOF_IP, day, 50, 0, disposition_quarantine=10, mailing_list=3)
        add_rollup(org, domain, MAILCHIMP_IP, day, 30, 30)
        reports.append(add_report(org, domain, day, [
            (GOOGLE_IP, 1000, "pass", "pass", [{"domain": domain, "selector": "s1", "result": "pass"},
                                               {"domain": "gappssmtp.com", "selector": "20230601", "result": "pass"}]),
            (SPOOF_IP, 50, "fail", "fail", [{"domain": "evil.example", "selector": "x", "result": "fail"}]),
        ]))
        TlsDailyRollup.objects.create(organization=org, domain=domain, day=day, successful=900, failed=100 if n % 2 else 0)
        if n % 2:
            TlsFailureDailyRollup.objects.create(organization=org, domain=domain, day=day,
                                                 result_type="certificate-expired", sessions=100)
    tls = TlsReport.objects.create(organization=org, organization_name="Microsoft Corporation", report_id="tls-1",
                                   date_begin=at(first + timedelta(days=1)), date_end=at(first + timedelta(days=2)),
                                   policies_count=1, successful_sessions=900, failed_sessions=100)
    policy = TlsPolicyResult.objects.create(report=tls, policy_type="sts", policy_domain=domain, mx_hosts=["mx1." + domain],
                                            successful_sessions=900, failed_sessions=100)
    TlsFailureDetail.objects.create(policy=policy, result_type="certificate-expired", receiving_mx_hostname="mx1." + domain,
                                    failed_session_count=100)
    zen = Blocklist.objects.get_or_create(zone="zen.spamhaus.org", defaults={
        "name": "Spamhaus ZEN", "delist_url": "https://check.spamhaus.org/listed/?searchterm={target}",
        "codes": {"127.0.0.2": "SBL"}, "severity": Blocklist.HIGH, "health": "ok"})[0]
    Listing.objects.create(organization=org, blocklist=zen, target=SES_IP, first_seen=at(first + timedelta(days=2)),
                           last_seen=timezone.now(), codes=["127.0.0.2"], reason="Listed in SBL12345")
    Listing.objects.create(organization=org, blocklist=zen, target="192.0.2.99", first_seen=at(first),
                           last_seen=at(first + timedelta(days=3)), cleared=at(first + timedelta(days=4)), codes=["127.0.0.2"])
    old = AuditRun.objects.create(organization=org, kind=AuditRun.DNS, status=AuditRun.SUCCEEDED,
                                  started=timezone.now() - timedelta(days=2), finished=timezone.now() - timedelta(days=2))
    DnsCheckResult.objects.create(run=old, organization=org, target=domain, target_kind=DnsCheckResult.DOMAIN,
                                  check_name="dmarc", status="ok", message="DMARC record found",
                                  records=["v=DMARC1; p=none"], checked=old.started)
    new = AuditRun.objects.create(organization=org, kind=AuditRun.DNS, status=AuditRun.SUCCEEDED,
                                  started=timezone.now() - timedelta(hours=1), finished=timezone.now())
    DnsCheckResult.objects.create(run=new, organization=org, target=domain, target_kind=DnsCheckResult.DOMAIN,
                                  check_name="dmarc", status="warn", message="p=none: nothing is enforced",
                                  records=["v=DMARC1; p=none; rua=mailto:d@acme.example"], checked=new.started)
    DnsCheckResult.objects.create(run=new, organization=org, target=domain, target_kind=DnsCheckResult.DOMAIN,
                                  check_name="spf", status="fail", message="11/10 DNS lookups", records=["v=spf1 ..."],
                                  checked=new.started)
    alert = Alert.objects.create(organization=org, kind=Alert.LISTED, key=f"{SES_IP}|zen.spamhaus.org",
                                 title=f"{SES_IP} is listed on Spamhaus ZEN")
    return {"pool": pool, "ip_pool": ip_pool, "reports": reports, "alert": alert, "blocklist": zen, "tls": tls}
