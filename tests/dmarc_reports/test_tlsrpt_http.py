"""TLS reports POSTed over HTTPS (RFC 8460 ``rua=https:``): stored once, hostile bodies refused."""

import gzip
import json
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import override_settings

from dmarc_reports import ratelimit
from monitor.models import Pool, PoolMember

CORPUS = Path("/work/shared/corpus")
if not CORPUS.exists():
    CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
RFC8460 = CORPUS / "parsedmarc/smtp_tls/rfc8460.json"  # policy-domain company-y.example
SMTP_TLS = CORPUS / "parsedmarc/smtp_tls/smtp_tls.json"  # policy-domain example.com
URL = "/tlsrpt/acme/"
GZIP, JSON = "application/tlsrpt+gzip", "application/tlsrpt+json"


@pytest.fixture(autouse=True)
def fresh_buckets(db):  # (the buckets are in the database cache, or in Redis)
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def monitored(org):
    pool = Pool.objects.create(organization=org, name="brands", kind=Pool.DOMAIN)
    for domain in ("company-y.example", "example.com"):
        PoolMember.objects.create(pool=pool, value=domain)
    return org


def post(client, body: bytes, content_type=GZIP, url=URL, **extra):
    return client.post(url, data=body, content_type=content_type, **extra)


def report_json(**changes) -> dict:
    data = json.loads(RFC8460.read_bytes())
    data.update(changes)
    return data


def tls_reports(org):
    from dmarc_reports.models import TlsReport

    return TlsReport.objects.filter(organization=org)


def test_it_stores_a_gzipped_report_once_and_answers_2xx_to_a_repeat(client, monitored):
    body = gzip.compress(RFC8460.read_bytes())
    first = post(client, body)
    assert first.status_code == 201, first.content
    assert first.json()["status"] == "imported"
    again = post(client, body)
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    [report] = tls_reports(monitored)
    assert report.report_id == "5065427c-23d3-47ca-b6e0-946ea0e8c4be"


def test_it_stores_a_json_report_without_signing_in_or_csrf(monitored):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = post(client, SMTP_TLS.read_bytes(), content_type=JSON)
    assert response.status_code == 201, response.content
    assert tls_reports(monitored).get().report_id == "2024-01-09T00:00:00Z_example.com"


def test_it_refuses_a_domain_the_organisation_does_not_monitor(client, monitored, other_org):
    body = gzip.compress(json.dumps(report_json(policies=[
        {"policy": {"policy-type": "no-policy-found", "policy-domain": "stranger.example"},
         "summary": {"total-successful-session-count": 1, "total-failure-session-count": 0}}
    ])).encode())
    response = post(client, body)
    assert response.status_code == 403
    assert "stranger.example" in response.json()["error"]
    # The right domain sent to another organisation's URL is refused the same way.
    assert post(client, gzip.compress(RFC8460.read_bytes()), url="/tlsrpt/globex/").status_code == 403
    assert not tls_reports(monitored).exists()


def test_it_refuses_an_unknown_organisation(client, monitored):
    response = post(client, gzip.compress(RFC8460.read_bytes()), url="/tlsrpt/nobody/")
    assert response.status_code == 404


def test_it_refuses_a_wrong_content_type_and_a_get(client, monitored):
    response = post(client, RFC8460.read_bytes(), content_type="application/json")
    assert response.status_code == 415
    assert "application/tlsrpt+gzip" in response.json()["error"]
    assert client.get(URL).status_code == 405


@override_settings(TLSRPT_MAX_JSON_BYTES=64 * 1024)
def test_it_refuses_a_gzip_bomb_without_inflating_it(client, monitored):
    bomb = gzip.compress(b"{" + b" " * (50 * 1024 * 1024) + b"}")  # 50 MB of spaces in 50 KB
    assert len(bomb) < 100 * 1024
    response = post(client, bomb)
    assert response.status_code == 413
    assert "decompresses to more than 64 KB" in response.json()["error"]


@override_settings(TLSRPT_MAX_BYTES=4096)
def test_it_refuses_an_oversize_body(client, monitored):
    response = post(client, b"{" + b" " * 5000 + b"}", content_type=JSON)
    assert response.status_code == 413
    assert "over 4 KB" in response.json()["error"]


def test_it_refuses_deep_json_and_garbage(client, monitored):
    deep = b"[" * 100_000 + b"]" * 100_000
    response = post(client, gzip.compress(deep))
    assert response.status_code in (400, 413)
    assert response.json()["status"] == "rejected"
    assert post(client, b"\x1f\x8bnot really gzip").status_code == 400
    assert post(client, gzip.compress(RFC8460.read_bytes())[:60]).status_code == 400  # cut short
    assert post(client, b'{"report-id": "x"}', content_type=JSON).status_code == 400
    assert not tls_reports(monitored).exists()


@override_settings(TLSRPT_RATE_BURST=3, TLSRPT_RATE_PER_HOUR=1)
def test_it_limits_requests_per_client_address(client, monitored):
    statuses = [post(client, b"{}", content_type=JSON).status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]
    refused = post(client, b"{}", content_type=JSON)
    assert int(refused["Retry-After"]) > 0
    other = post(client, b"{}", content_type=JSON, REMOTE_ADDR="127.0.0.9")
    assert other.status_code == 400  # another address has a bucket of its own
    statuses = [post(client, b"{}", content_type=JSON, REMOTE_ADDR=f"2001:db8::{n}").status_code for n in range(4)]
    assert statuses == [400, 400, 400, 429]  # one IPv6 /64 is one client


def test_it_keeps_the_buckets_where_every_web_process_sees_them(settings):
    from django.core.cache import caches
    from django.core.cache.backends.db import DatabaseCache
    from django.core.cache.backends.redis import RedisCache

    assert isinstance(caches["default"], RedisCache if settings.REDIS_URL else DatabaseCache)
    ratelimit.take("tlsrpt:192.0.2.1", capacity=1, per_hour=1)
    assert caches.create_connection("default").get("ratelimit:tlsrpt:192.0.2.1") is not None  # another process's view
    assert ratelimit.take("tlsrpt:192.0.2.1", capacity=1, per_hour=1)[0] is False


def test_it_answers_a_real_http_post(live_server, monitored):
    import urllib.error
    import urllib.request

    def send(body):
        request = urllib.request.Request(f"{live_server.url}{URL}", data=body, method="POST",
                                         headers={"Content-Type": GZIP})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    assert send(gzip.compress(RFC8460.read_bytes())) == (201, {"status": "imported",
                                                             "report_id": "5065427c-23d3-47ca-b6e0-946ea0e8c4be"})
    status, answer = send(gzip.compress(b"[" * 5000 + b"]" * 5000))
    assert status == 400 and answer["status"] == "rejected"
    from dmarc_reports.models import IncomingFile

    [incoming] = IncomingFile.objects.filter(via="api")
    assert incoming.name == "POST /tlsrpt/acme/ from 127.0.0.1" and incoming.organization == monitored
