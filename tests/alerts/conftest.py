import http.server
import ipaddress
import json
import threading

import pytest

from monitor.models import Pool, PoolMember
from monitor.models.blocklists import Blocklist


@pytest.fixture
def smtp(settings, smtp_settings):
    """The loopback SMTP server, with Django's mail settings pointing at it."""
    settings.SITE_URL = "https://monitor.example"
    return smtp_settings


class HookHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((self.path, self.headers["Content-Type"], json.loads(body)))
        self.server.hosts.append(self.headers["Host"])
        self.send_response(self.server.status)
        if self.server.location:
            self.send_header("Location", self.server.location)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook_server(settings):
    """A loopback HTTP server recording JSON POSTs; set ``.status`` to answer something else than 200. Webhooks
    go to public addresses only: loopback is allowed here (``WEBHOOK_ALLOW_NETWORKS``) for the test's server."""
    settings.WEBHOOK_ALLOW_NETWORKS = [ipaddress.ip_network("127.0.0.0/8")]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), HookHandler)
    server.received, server.hosts, server.status, server.location = [], [], 200, ""
    server.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def received_to(server, address):
    return [m for m in server.messages if address in m.rcpt_tos]


def text_part(message):
    return message.message.get_body(("plain",)).get_content()


def html_part(message):
    return message.message.get_body(("html",)).get_content()


@pytest.fixture(autouse=True)
def _evaluators_must_not_fail(caplog):
    """Evaluators log and swallow their errors (an audit must not fail for an alert): here they fail the test."""
    yield
    failures = [r for r in caplog.get_records("call") if r.name == "monitor.alerts.evaluate" and r.levelname == "ERROR"]
    if failures:
        pytest.fail("an evaluator failed:\n" + "\n".join(r.getMessage() + "\n" + (r.exc_text or "") for r in failures))


@pytest.fixture
def zen(db):
    return Blocklist.objects.create(
        zone="zen.spamhaus.org", name="Spamhaus ZEN", kind=Blocklist.IP, severity=Blocklist.HIGH,
        delist_url="https://check.spamhaus.org/listed/?searchterm={target}",
        codes={"127.0.0.2": "SBL: direct spam source", "127.0.0.4": "XBL: exploited host"},
    )


@pytest.fixture
def pool(org):
    pool = Pool.objects.create(organization=org, name="mta", kind=Pool.IP)
    for value in ("192.0.2.10", "192.0.2.20"):
        PoolMember.objects.create(pool=pool, value=value)
    return pool
