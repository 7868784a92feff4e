"""The demo report history goes through the real import path, tells its stories, and loads once."""

from datetime import date

from django.db.models import Max, Min, Sum

from dmarc_reports.demo import DAYS, load_report_history
from dmarc_reports.models import (AggregateReport, DailyRollup, IncomingFile, TlsFailureDailyRollup, TlsReport)

TODAY = date(2026, 6, 30)


def test_it_loads_months_of_reports_once(org):
    said = load_report_history(org, today=TODAY)
    reports = AggregateReport.objects.filter(organization=org).count()
    assert reports > DAYS * 3
    assert said == f"report history: {reports + DAYS} DMARC and TLS reports imported (0 DMARC reports were there)"
    assert TlsReport.objects.filter(organization=org).count() == DAYS
    assert not IncomingFile.objects.exclude(status="imported").exists()
    span = DailyRollup.objects.filter(organization=org).aggregate(first=Min("day"), last=Max("day"))
    assert (span["last"] - span["first"]).days >= DAYS - 1
    services = set(DailyRollup.objects.filter(organization=org).values_list("service", flat=True))
    assert {"SendGrid", "Amazon SES", ""} <= services
    rolled = DailyRollup.objects.filter(organization=org).aggregate(n=Sum("messages"), ok=Sum("dmarc_pass"),
                                                                    fwd=Sum("forwarded"), rej=Sum("disposition_reject"))
    assert rolled["n"] == AggregateReport.objects.aggregate(n=Sum("messages"))["n"]
    assert 0.8 < rolled["ok"] / rolled["n"] < 1 and rolled["fwd"] > 0 and rolled["rej"] > 0
    assert TlsFailureDailyRollup.objects.filter(result_type="certificate-expired").count() == 7
    # the published policy tightens as the DNS audits' history says: none, quarantine, reject
    by_policy = {p: AggregateReport.objects.filter(organization=org, p=p).aggregate(first=Min("date_begin"))["first"]
                 for p in ("none", "quarantine", "reject")}
    assert by_policy["none"] < by_policy["quarantine"] < by_policy["reject"]
    assert (TODAY - by_policy["reject"].date()).days == 3 * 7 and (TODAY - by_policy["quarantine"].date()).days == 7 * 7
    assert not AggregateReport.objects.filter(p="none", date_begin__gt=by_policy["quarantine"]).exists()

    again = load_report_history(org, today=TODAY)
    assert again == f"report history: 0 DMARC and TLS reports imported ({reports} DMARC reports were there)"
    assert AggregateReport.objects.filter(organization=org).count() == reports
