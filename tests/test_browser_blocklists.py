"""The blocklist page in a real browser: an editor runs an audit now and sees the listing and list health."""

import pytest
from django_q.conf import Conf

from tests.conftest import sign_in
from tests.monitor.blocklist_fixtures import PLAIN, REFUSING, bl_settings, make_list, make_pool  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_runs_an_audit_from_the_page_and_shows_the_results(page, bl_settings, editor, org, monkeypatch, artifacts_dir):
    monkeypatch.setattr(Conf, "SYNC", True)  # the worker runs the task inside the request
    make_list(PLAIN, delist_url="https://plain.bl.test/remove?ip={target}", codes={"127.0.0.2": "spam source"})
    make_list(REFUSING)
    make_pool(org, "ip", "192.0.2.10", "192.0.2.11")
    sign_in(page, "eddie")

    page.goto("/blocklists/acme/")
    assert "No current listings" in page.content()
    page.get_by_role("button", name="Run blocklist audit now").click()
    page.wait_for_load_state()

    assert "is queued" in page.content()
    row = page.locator("table.listings tbody tr").first
    assert "192.0.2.10" in row.inner_text() and "spam source" in row.inner_text()
    assert row.get_by_role("link", name="Request removal").get_attribute("href") == "https://plain.bl.test/remove?ip=192.0.2.10"
    health = page.locator("table.list-health").inner_text()
    assert "unusable" in health and "its answers were not used" in health
    assert "Run now" in page.locator("table.runs").inner_text()
    assert page.console_errors == []
    page.screenshot(path=f"{artifacts_dir}/blocklists-page.png", full_page=True)
