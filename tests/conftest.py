"""Fixtures every test may use: organisations and users, and a real browser.

The real loopback services (DNS, SMTP) and the network guard come from ``tests.harness``.
"""

import os
import shutil

import pytest

from monitor.models import Membership, Organization

pytest_plugins = ["tests.harness.pytest_plugin"]

ARTIFACTS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "artifacts")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(autouse=True)
def _dns_on_loopback(settings, dns_server):
    """No test ever asks the system resolver: every DNS question goes to the loopback test server."""
    settings.DNS_NAMESERVERS = [(dns_server.address, dns_server.port)]


@pytest.fixture
def org(db):
    return Organization.objects.create(slug="acme", name="Acme Mail", alert_emails=["alerts@acme.example"])


@pytest.fixture
def other_org(db):
    return Organization.objects.create(slug="globex", name="Globex")


def make_member(org, username, role, password="s3cret-pass!"):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(username, f"{username}@example.test", password)
    Membership.objects.create(organization=org, user=user, role=role)
    return user


@pytest.fixture
def viewer(org):
    return make_member(org, "vera", Membership.VIEWER)


@pytest.fixture
def editor(org):
    return make_member(org, "eddie", Membership.EDITOR)


@pytest.fixture
def outsider(other_org):
    return make_member(other_org, "olga", Membership.ADMIN)


@pytest.fixture
def viewer_client(client, viewer):
    client.force_login(viewer)
    return client


@pytest.fixture
def editor_client(client, editor):
    client.force_login(editor)
    return client


@pytest.fixture(scope="session")
def chromium_path():
    path = shutil.which("chromium")
    if path is None:
        message = "Debian's chromium is not installed (apt-get install chromium)"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(message + " and REQUIRE_BROWSER=1")
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def browser(chromium_path):
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls in the same test
    # are still synchronous and safe.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_FLAGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(msg.text))
    page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
    yield page
    context.close()


def sign_in(page, username, password="s3cret-pass!"):
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


@pytest.fixture
def artifacts_dir():
    os.makedirs(ARTIFACTS, exist_ok=True)
    return ARTIFACTS
