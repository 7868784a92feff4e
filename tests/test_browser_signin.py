import pytest

from tests.conftest import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_signs_in_and_shows_the_overview(page, viewer, org, artifacts_dir):
    page.goto("/")
    assert "/accounts/login/" in page.url
    sign_in(page, "vera")
    assert "/accounts/login/" not in page.url
    assert page.locator("h1").inner_text() == "Overview"
    assert page.get_by_text("Acme Mail").first.is_visible()
    assert page.console_errors == []
    page.screenshot(path=f"{artifacts_dir}/signin-overview.png", full_page=True)


def test_it_refuses_a_wrong_password(page, viewer):
    sign_in(page, "vera", password="wrong")
    assert "did not match" in page.content()
