"""pytest fixtures for the loopback services; load with ``pytest_plugins = ["tests.harness.pytest_plugin"]``.

- ``network_guard`` (session, autouse): non-loopback connections fail; a test during which one was
  attempted fails even if the code under test swallowed the exception.
- ``dns_server`` (session): a ``DNSServer`` serving ``tests/zones``. Runtime changes (faults,
  ``add_record``, ``add_zone_text``) and its query log are undone after each test.
- ``dns``: the same server under a shorter name (the reset is the same). Careful: a parameter
  named ``dns`` hides the dnspython package inside the test.
- ``smtp_server``: a fresh ``SMTPServer`` per test, stopped afterwards.
- ``dns_settings`` / ``smtp_settings`` (need pytest-django): the servers above, with Django's
  settings pointing at them (DNS_NAMESERVERS; the SMTP e-mail backend) for the test.
"""

from __future__ import annotations

import pytest

from . import network_guard as guard
from .dns_server import DEFAULT_ZONE_DIR, DNSServer
from .smtp_server import SMTPServer

_session_dns_servers: list[DNSServer] = []


@pytest.fixture(scope="session", autouse=True)
def network_guard():
    guard.install()
    yield guard
    guard.uninstall()


@pytest.fixture(autouse=True)
def _fail_on_blocked_network_access(network_guard):
    network_guard.pop_violations()
    yield
    blocked = network_guard.pop_violations()
    if blocked:
        pytest.fail("\n".join(blocked), pytrace=False)


@pytest.fixture(scope="session")
def dns_server():
    server = DNSServer(zone_dir=DEFAULT_ZONE_DIR).start()
    _session_dns_servers.append(server)
    yield server
    _session_dns_servers.remove(server)
    server.stop()


@pytest.fixture
def dns(dns_server):
    return dns_server


@pytest.fixture(autouse=True)
def _reset_dns_server():
    yield
    for server in _session_dns_servers:
        server.reset()


@pytest.fixture
def smtp_server():
    server = SMTPServer().start()
    yield server
    server.stop()


@pytest.fixture
def dns_settings(settings, dns_server):
    settings.DNS_NAMESERVERS = [(dns_server.address, dns_server.port)]
    return dns_server


@pytest.fixture
def smtp_settings(settings, smtp_server):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = smtp_server.host
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10
    return smtp_server
