"""The dashboards in headless Chromium: charts drawn, filters in the URL, drilling down, CSV export."""

import csv
import io

import pytest

from tests.conftest import sign_in
from tests.monitor.test_dash_data import GOOGLE_IP, SPOOF_IP, build

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for_charts(page, count=None):
    page.wait_for_selector(".chart-plot[data-drawn='yes'] svg.main-svg")
    plots = page.locator(".chart-plot")
    total = plots.count() if count is None else count
    page.wait_for_function(
        "n => document.querySelectorAll(\".chart-plot[data-drawn='yes'] svg.main-svg\").length >= n", arg=total
    )
    return total


def card(page, label):
    return page.locator(".card", has_text=label).locator(".value").inner_text()


def test_it_draws_the_overview_and_filters_it(page, viewer, org, artifacts_dir):
    build(org)
    page.goto("/")
    sign_in(page, "vera")
    assert page.locator("h1").inner_text() == "Overview"
    drawn = wait_for_charts(page)
    assert drawn == 3
    assert page.locator("table[data-table='domains'] tbody tr").first.locator("td a").first.inner_text() == "acme.example"
    assert page.locator("svg.spark").count() >= 2
    page.screenshot(path=f"{artifacts_dir}/dash-overview.png", full_page=True)
    thirty_days = card(page, "messages reported")

    page.select_option("select[name='period']", "7")
    page.click(".filters button[type=submit]")
    page.wait_for_load_state()
    assert "period=7" in page.url
    wait_for_charts(page)
    assert card(page, "messages reported") != thirty_days
    assert page.locator(".period-note").inner_text().count("-") == 4

    page.select_option("select[name='period']", "custom")
    assert page.locator("input[name='from']").is_visible()
    page.fill("input[name='from']", page.locator("input[name='to']").input_value())
    page.click(".filters button[type=submit]")
    page.wait_for_load_state()
    assert "from=" in page.url and "to=" in page.url and "period" not in page.url
    assert card(page, "messages reported") == "1,280"
    assert page.console_errors == []


def test_it_drills_from_the_overview_into_a_domain_and_a_source(page, viewer, org, artifacts_dir):
    build(org)
    sign_in(page, "vera")
    page.click("table[data-table='domains'] a:text('acme.example')")
    page.wait_for_load_state()
    assert "/dash/domains/acme.example/" in page.url
    assert wait_for_charts(page) == 4
    services = page.locator("table[data-table='services'] > tbody > tr")
    assert services.count() == 4
    page.screenshot(path=f"{artifacts_dir}/dash-domain.png", full_page=True)

    page.click("text=Show failing only")
    page.wait_for_load_state()
    assert "failing=1" in page.url
    assert services.count() == 3  # Mailchimp passes throughout
    page.locator("summary", has_text="(no reverse DNS)").click()
    page.click(f"a:text('{SPOOF_IP}')")
    page.wait_for_load_state()
    assert f"/dash/sources/{SPOOF_IP}/" in page.url
    assert page.locator("h1").inner_text() == f"Source {SPOOF_IP}"
    wait_for_charts(page, 2)
    assert "google.com" in page.locator("table[data-table='reporters']").inner_text()
    assert page.console_errors == []


def test_it_exports_a_table_as_csv(page, viewer, org):
    build(org)
    sign_in(page, "vera")
    page.goto("/dash/domains/acme.example/")
    with page.expect_download() as download_info:
        page.click("text=CSV (addresses)")
    download = download_info.value
    assert download.suggested_filename.endswith("-addresses.csv")
    rows = list(csv.reader(io.StringIO(open(download.path(), encoding="utf-8").read())))
    assert rows[0][:3] == ["Address", "Reverse DNS", "Service"]
    assert rows[1][0] == GOOGLE_IP and rows[1][3] == "10000"


def test_it_shows_each_charts_data_as_a_table_one_click_away(page, viewer, org):
    build(org)
    sign_in(page, "vera")
    page.goto("/dash/tls/")
    wait_for_charts(page)
    details = page.locator("figure.chart", has_text="Failed sessions by MX host").locator("details")
    assert not details.locator("table").is_visible()
    details.locator("summary").click()
    assert "mx1.acme.example" in details.locator("table").inner_text()
    assert page.console_errors == []


def test_it_draws_every_dashboard_page_without_errors(page, viewer, org, artifacts_dir):
    data = build(org)
    sign_in(page, "vera")
    pages = {
        "source-service": "/dash/sources/Amazon%20SES/",
        "reports": "/dash/reports/",
        "report": f"/dash/reports/{data['reports'][0].pk}/",
        "tls": "/dash/tls/",
        "blocklists": "/dash/blocklists/",
        "dns": "/dash/dns/",
        "alerts": "/dash/alerts/",
    }
    for name, url in pages.items():
        page.goto(url)
        page.wait_for_load_state()
        assert page.locator("h1").count() == 1, name
        charts = page.locator(".chart-plot").count()
        if charts:
            wait_for_charts(page)
        page.screenshot(path=f"{artifacts_dir}/dash-{name}.png", full_page=True)
    assert page.console_errors == []


def test_it_draws_charts_under_a_strict_content_security_policy(page, viewer, org):
    """No inline script anywhere: the charts draw with script-src 'self' (violations are console errors)."""
    build(org)
    sign_in(page, "vera")
    policy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:"

    def with_policy(route):
        response = route.fetch()
        route.fulfill(response=response, headers={**response.headers, "content-security-policy": policy})

    page.route("**/*", with_policy)
    page.goto("/dash/domains/acme.example/")
    assert wait_for_charts(page) == 4
    assert page.console_errors == []
