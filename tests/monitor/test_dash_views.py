import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dmarc_reports.models import IncomingFile
from monitor.models import Pool, PoolMember
from tests.monitor.test_dash_data import GOOGLE_IP, MAILCHIMP_IP, SES_IP, SPOOF_IP, add_report, add_rollup, build, today

pytestmark = pytest.mark.django_db


def rows_of(response):
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_it_sums_every_domain_and_pool_on_the_overview(viewer_client, org):
    build(org)
    page = viewer_client.get(reverse("overview")).context["page"]
    (domain,) = page.context["domain_rows"]
    assert (domain["name"], domain["volume"], domain["pass_rate"], domain["policy"]) == ("acme.example", 12800, 87.5, "none")
    assert domain["dns_status"] == "fail" and domain["tls_rate"] == pytest.approx(94.74, abs=0.01)
    pools = {row["name"]: row for row in page.context["pool_rows"]}
    assert pools["outbound"]["volume"] == 2000 and pools["outbound"]["pass_rate"] == 50.0
    assert pools["outbound"]["listings"] == 1 and pools["outbound"]["alerts"] == 1
    assert pools["sending-domains"]["volume"] == 12800
    assert page.context["totals"]["listings"] == 1 and page.context["totals"]["alerts"] == 1


def test_it_puts_the_worst_first(viewer_client, org):
    build(org)
    pool = Pool.objects.get(name="sending-domains")
    PoolMember.objects.create(pool=pool, value="quiet.example")
    add_rollup(org, "good.example", GOOGLE_IP, today(), 5000, 5000)
    add_rollup(org, "bad.example", SPOOF_IP, today(), 10, 1)
    rows = viewer_client.get(reverse("overview")).context["domain_rows"]
    assert [r["name"] for r in rows] == ["bad.example", "acme.example", "good.example", "quiet.example"]
    assert [r["level"] for r in rows] == ["fail", "fail", "ok", "none"]


def test_it_follows_the_period_filter(viewer_client, org):
    build(org)
    week = viewer_client.get(reverse("overview") + "?period=7").context["totals"]
    assert week["volume"] == 7 * 1280
    day = today().isoformat()
    one_day = viewer_client.get(reverse("overview") + f"?from={day}&to={day}").context["totals"]
    assert one_day["volume"] == 1280


def test_it_narrows_the_overview_to_a_pool(viewer_client, org):
    data = build(org)
    add_rollup(org, "other.example", GOOGLE_IP, today(), 10, 10)
    page = viewer_client.get(reverse("overview") + f"?pool={data['ip_pool'].pk}").context["page"]
    assert [r["name"] for r in page.context["pool_rows"]] == ["outbound"]
    assert page.context["totals"]["volume"] == 2000


def test_it_redirects_the_filter_form_to_the_short_url(viewer_client, org):
    response = viewer_client.get(reverse("overview") + "?org=&domain=&pool=&period=7&from=2026-01-01&to=2026-01-02")
    assert response.status_code == 302 and response["Location"] == "/?period=7"
    assert viewer_client.get("/?period=7").status_code == 200


def test_it_exports_every_table_as_csv(viewer_client, org):
    build(org)
    response = viewer_client.get(reverse("overview") + "?csv=domains")
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    (row,) = rows_of(response)
    assert row["Name"] == "acme.example" and row["Messages"] == "12800" and row["DMARC pass"] == "87.50"
    chart_rows = rows_of(viewer_client.get(reverse("overview") + "?period=7&csv=dmarc-volume"))
    assert len(chart_rows) == 7 and chart_rows[-1] == {"Day": today().isoformat(), "DMARC pass": "1120", "DMARC fail": "160"}
    assert viewer_client.get(reverse("overview") + "?csv=nope").status_code == 404


def test_it_neutralises_formulas_in_csv(viewer_client, org):
    build(org)
    add_report(org, "acme.example", today(), [], reporter="=HYPERLINK(\"http://evil\")")
    rows = rows_of(viewer_client.get(reverse("dash_reports") + "?csv=aggregate"))
    assert any(row["Reporter"].startswith("'=HYPERLINK") for row in rows)


def test_it_groups_a_domains_sources_by_service(viewer_client, org):
    build(org)
    response = viewer_client.get(reverse("dash_domain", args=["acme.example"]))
    services = {s["service"]: s for s in response.context["services"]}
    assert set(services) == {"Google", "Amazon SES", "(no reverse DNS)", "Mailchimp"}
    assert services["Amazon SES"]["dmarc_rate"] == 50.0 and services["Amazon SES"]["spf_rate"] == 20.0
    mailchimp = viewer_client.get(services["Mailchimp"]["addresses_url"]).context["page"].table("addresses").rows
    assert [(a["source_ip"], a["ptr"]) for a in mailchimp] == [(MAILCHIMP_IP, "mail20.mcsv.net")]  # named from reverse DNS
    total = response.context["total"]
    assert total["messages"] == 12800 and total["forwarded"] == 50 and total["mailing_list"] == 30
    readiness = {r["service"]: r for r in response.context["page"].table("readiness").rows}
    assert "Mailchimp" not in readiness
    assert readiness["Amazon SES"]["would_block"] == 1000 - 50 and readiness["Amazon SES"]["verdict"].startswith("yours?")
    assert readiness["(no reverse DNS)"]["verdict"].startswith("fails throughout")
    charts = {c.id: c for c in response.context["page"].charts}
    assert charts["dispositions"].table.rows[-1]["quarantine"] == 10
    assert charts["rates"].table.rows[-1]["spf_aligned_pass"] == pytest.approx(100 * (990 + 40 + 30) / 1280, abs=0.01)


def test_it_shows_failing_sources_only_when_asked(viewer_client, org):
    build(org)
    response = viewer_client.get(reverse("dash_domain", args=["acme.example"]) + "?failing=1")
    assert {s["service"] for s in response.context["services"]} == {"Google", "Amazon SES", "(no reverse DNS)"}
    assert MAILCHIMP_IP not in response.content.decode()


def test_it_draws_charts_from_the_rollups_and_never_from_report_rows(viewer_client, org):
    build(org)
    for name, url in [("overview", reverse("overview")), ("domain", reverse("dash_domain", args=["acme.example"]))]:
        with CaptureQueriesContext(connection) as queries:
            assert viewer_client.get(url).status_code == 200
        assert not [q["sql"] for q in queries if "reportrow" in q["sql"].lower()], name


def test_it_draws_domain_charts_from_the_domain_rollups(viewer_client, org):
    build(org)
    for name, url in [("overview", reverse("overview")), ("domain", reverse("dash_domain", args=["acme.example"]))]:
        with CaptureQueriesContext(connection) as queries:
            page = viewer_client.get(url).context["page"]
        assert [q for q in queries if "domaindailyrollup" in q["sql"].lower()], name
    assert page.context["total"]["messages"] == 12800


def test_it_asks_the_same_number_of_queries_however_many_reports(viewer_client, org):
    build(org)
    url = reverse("dash_domain", args=["acme.example"])
    with CaptureQueriesContext(connection) as before:
        viewer_client.get(url)
    for n in range(30):
        add_report(org, "acme.example", today() - timedelta(days=n % 5), [(f"192.0.2.{n}", 5, "pass", "pass", [])] * 20,
                   reporter=f"r{n}.example")
    with CaptureQueriesContext(connection) as after:
        viewer_client.get(url)
    assert len(after) == len(before)


def test_it_follows_one_source_across_reporters(viewer_client, org):
    build(org)
    response = viewer_client.get(reverse("dash_source", args=[GOOGLE_IP]))
    page = response.context["page"]
    assert response.context["host"].ptr == "mail-ot1.google.com"
    assert page.table("reporters").rows == [{"reporter": "google.com", "reports": 10, "messages": 10000, "dmarc_rate": 100.0}]
    assert len(page.table("reports").rows) == 10
    assert page.table("domains").rows[0]["messages"] == 10000
    service = viewer_client.get(reverse("dash_source", args=["Amazon SES"])).context["page"]
    assert [r["source_ip"] for r in service.table("addresses").rows] == [SES_IP]
    assert viewer_client.get(reverse("dash_source", args=["203.0.113.250"])).status_code == 404
    assert viewer_client.get(reverse("dash_source", args=["no such service"])).status_code == 404


def test_it_lists_files_and_reports_with_status_and_reason(viewer_client, org):
    data = build(org)
    IncomingFile.objects.create(organization=org, name="junk.bin", size=3, sha256="1" * 64, via="upload",
                                status=IncomingFile.REJECTED, reason="Not a report: binary data")
    page = viewer_client.get(reverse("dash_reports")).context["page"]
    files = {f["name"]: f for f in page.table("files").rows}
    assert len(files) == 11
    assert files["junk.bin"]["status"] == "Rejected" and files["junk.bin"]["reason"] == "Not a report: binary data"
    assert len(page.table("aggregate").rows) == 10 and len(page.table("tls").rows) == 1
    rejected = viewer_client.get(reverse("dash_reports") + "?status=rejected").context["page"].table("files").rows
    assert [f["name"] for f in rejected] == ["junk.bin"]
    report = data["reports"][0]
    raw = viewer_client.get(reverse("dash_file_raw", args=[report.incoming_id]))
    assert b"".join(raw.streaming_content) == b"<feedback/>" and "attachment" in raw["Content-Disposition"]


def test_it_shows_a_reports_rows_with_every_dkim_signature(viewer_client, org):
    report = build(org)["reports"][0]
    response = viewer_client.get(reverse("dash_report", args=[report.pk]))
    rows = response.context["page"].table("rows").rows
    assert rows[0]["dkim_results"] == "acme.example/s1: pass; gappssmtp.com/20230601: pass"
    assert rows[1]["dmarc"] == "fail" and rows[1]["dkim_results"] == "evil.example/x: fail"
    failing = viewer_client.get(reverse("dash_report", args=[report.pk]) + "?failing=1").context["page"].table("rows").rows
    assert [r["source_ip"] for r in failing] == [SPOOF_IP]


def test_it_pages_a_large_reports_rows_and_exports_them_all(viewer_client, org):
    report = add_report(org, "acme.example", today(), [(f"10.0.{n // 256}.{n % 256}", 1, "pass", "pass", []) for n in range(1200)])
    url = reverse("dash_report", args=[report.pk])
    first = viewer_client.get(url).context
    assert len(first["page"].table("rows").rows) == 500 and first["next_offset"] == 500
    last = viewer_client.get(url + "?offset=1000").context
    assert len(last["page"].table("rows").rows) == 200 and last["next_offset"] is None
    assert len(rows_of(viewer_client.get(url + "?csv=rows"))) == 1200


def test_it_breaks_tls_failures_down(viewer_client, org):
    build(org)
    page = viewer_client.get(reverse("dash_tls")).context["page"]
    (domain,) = page.table("tls-domains").rows
    assert (domain["successful"], domain["failed"]) == (9000, 500)
    assert sum(r["certificate_expired"] for r in page.chart("tls-failure-types").table.rows) == 500
    assert page.chart("tls-reporters").table.rows == [{"label": "Microsoft Corporation", "successful": 900, "failed": 100}]
    assert page.chart("tls-mx").table.rows == [{"label": "mx1.acme.example", "certificate_expired": 100}]


def test_it_shows_listings_with_delisting_links_and_their_history(viewer_client, org):
    build(org)
    response = viewer_client.get(reverse("dash_blocklists"))
    page = response.context["page"]
    (current,) = page.table("listings").rows
    assert current["target"] == SES_IP and current["delist_url"].endswith(SES_IP)
    lanes = [r["lane"] for r in page.chart("listing-timeline").table.rows]
    assert lanes == ["192.0.2.99 · zen.spamhaus.org", f"{SES_IP} · zen.spamhaus.org"]
    assert page.chart("listings-per-day").table.rows[-1]["listed"] == 1
    assert page.table("list-health").rows[0]["health"] == "ok"


def test_it_shows_the_latest_dns_verdicts_and_what_changed(viewer_client, org):
    build(org)
    page = viewer_client.get(reverse("dash_dns")).context["page"]
    verdicts = {r["check"]: r["status"] for r in page.table("dns-latest").rows}
    assert verdicts == {"dmarc": "Warning", "spf": "Failed"}
    (change,) = page.table("dns-changes").rows
    assert change["removed"] == ["v=DMARC1; p=none"] and change["added"] == ["v=DMARC1; p=none; rua=mailto:d@acme.example"]


def test_it_lists_open_and_resolved_alerts(viewer_client, org):
    data = build(org)
    page = viewer_client.get(reverse("dash_alerts")).context["page"]
    assert [r["title"] for r in page.table("alerts-open").rows] == [data["alert"].title]
    data["alert"].status, data["alert"].resolved = "resolved", data["alert"].opened
    data["alert"].save()
    page = viewer_client.get(reverse("dash_alerts")).context["page"]
    assert page.table("alerts-open").rows == [] and len(page.table("alerts-resolved").rows) == 1
    assert sum(r["blocklist_listing"] for r in page.chart("alerts-per-day").table.rows) == 1


def test_it_keeps_other_organisations_out(client, org, other_org, outsider):
    data = build(org)
    client.force_login(outsider)
    overview = client.get(reverse("overview"))
    assert overview.context["domain_rows"] == [] and b"acme.example" not in overview.content
    assert client.get(reverse("overview") + "?org=acme").status_code == 404
    assert client.get(reverse("overview") + f"?pool={data['pool'].pk}").status_code == 404
    for url in [reverse("dash_domain", args=["acme.example"]), reverse("dash_source", args=[GOOGLE_IP]),
                reverse("dash_source", args=["Google"]), reverse("dash_report", args=[data["reports"][0].pk]),
                reverse("dash_file_raw", args=[data["reports"][0].incoming_id])]:
        assert client.get(url).status_code == 404, url
    for name in ["dash_reports", "dash_tls", "dash_blocklists", "dash_dns", "dash_alerts"]:
        body = client.get(reverse(name)).content.decode()
        assert "acme.example" not in body and SES_IP not in body, name


def test_it_exports_every_table_of_every_page(viewer_client, org):
    data = build(org)
    urls = [reverse("overview"), reverse("dash_domain", args=["acme.example"]), reverse("dash_source", args=[GOOGLE_IP]),
            reverse("dash_reports"), reverse("dash_report", args=[data["reports"][0].pk]), reverse("dash_tls"),
            reverse("dash_blocklists"), reverse("dash_dns"), reverse("dash_alerts")]
    exported = 0
    for url in urls:
        response = viewer_client.get(url)
        body = response.content.decode()
        for table in response.context["page"].all_tables():
            assert table.csv_url in body.replace("&amp;", "&"), (url, table.name)  # a link on the page
            export = viewer_client.get(table.csv_url)
            assert export.status_code == 200, (url, table.name)
            lines = export.content.decode().splitlines()
            assert lines[0].split(",")[0] == table.columns[0].label.split(",")[0]
            assert len(lines) == len(table.rows) + 1, (url, table.name)
            exported += 1
    assert exported >= 30


def test_it_reads_a_source_whose_failing_mail_receivers_override_as_forwarding():
    from monitor.dashboards.pages import readiness_verdict

    forwarder = {"failing": 274, "dmarc_rate": 81.6, "forwarded": 274, "mailing_list": 0}  # DKIM mostly survives
    assert readiness_verdict(forwarder) == "forwarding or lists: receivers override"
    assert readiness_verdict({**forwarder, "forwarded": 0}) == "yours? mostly passes: fix its DKIM/SPF first"
    assert readiness_verdict({**forwarder, "forwarded": 0, "dmarc_rate": 10.0}).startswith("fails throughout")
    assert readiness_verdict({**forwarder, "failing": 0}) == "ready: all of it passes"
