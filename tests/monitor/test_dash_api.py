import pytest
from django.urls import reverse

from tests.monitor.test_dash_data import GOOGLE_IP, build

pytestmark = pytest.mark.django_db


def bearer(org):
    return {"HTTP_AUTHORIZATION": f"Bearer {org.api_token}"}


def test_it_refuses_requests_without_a_valid_token(client, org):
    for headers in [{}, {"HTTP_AUTHORIZATION": "Bearer nope"}, {"HTTP_AUTHORIZATION": f"Token {org.api_token}"},
                    {"HTTP_AUTHORIZATION": f"Bearer {org.api_token[:-1]}"}]:
        response = client.get(reverse("api_overview"), **headers)
        assert response.status_code == 401, headers
        assert response["WWW-Authenticate"].startswith("Bearer")
    assert client.get(reverse("api_index")).status_code == 401


def test_it_ignores_a_signed_in_session(viewer_client, org):
    assert viewer_client.get(reverse("api_overview")).status_code == 401


def test_it_answers_the_overview_for_the_tokens_organisation(client, org):
    build(org)
    response = client.get(reverse("api_overview") + "?period=7", **bearer(org))
    assert response.status_code == 200
    body = response.json()
    assert body["organization"] == "acme" and body["filters"]["period"] == "7"
    (domain,) = body["tables"]["domains"]
    assert domain == {"level": "fail", "organization": "acme", "name": "acme.example", "policy": "none", "volume": 8960,
                      "pass_rate": 87.5, "listings": 0, "dns_status": "fail", "tls_rate": domain["tls_rate"], "alerts": 0}
    assert len(body["tables"]["dmarc-volume"]) == 7


def test_it_answers_every_page(client, org):
    data = build(org)
    urls = [reverse("api_domain", args=["acme.example"]), reverse("api_source", args=[GOOGLE_IP]), reverse("api_reports"),
            reverse("api_report", args=[data["reports"][0].pk]), reverse("api_tls"), reverse("api_blocklists"),
            reverse("api_dns"), reverse("api_alerts")]
    for url in urls:
        response = client.get(url, **bearer(org))
        assert response.status_code == 200, url
        assert response.json()["tables"], url
    index = client.get(reverse("api_index"), **bearer(org)).json()
    assert reverse("api_overview") in index["endpoints"]


def test_it_keeps_one_table_when_asked(client, org):
    build(org)
    body = client.get(reverse("api_domain", args=["acme.example"]) + "?table=services", **bearer(org)).json()
    assert list(body["tables"]) == ["services"]
    assert {row["service"] for row in body["tables"]["services"]} == {"Google", "Amazon SES", "(no reverse DNS)", "Mailchimp"}
    assert client.get(reverse("api_tls") + "?table=nope", **bearer(org)).status_code == 404


def test_it_gives_a_token_only_its_own_organisations_data(client, org, other_org):
    data = build(org)
    assert client.get(reverse("api_overview"), **bearer(other_org)).json()["tables"]["domains"] == []
    assert client.get(reverse("api_overview") + "?org=acme", **bearer(other_org)).status_code == 404
    for url in [reverse("api_domain", args=["acme.example"]), reverse("api_source", args=[GOOGLE_IP]),
                reverse("api_report", args=[data["reports"][0].pk])]:
        assert client.get(url, **bearer(other_org)).status_code == 404, url
    body = client.get(reverse("api_blocklists"), **bearer(other_org)).json()
    assert body["tables"]["listings"] == []


def test_it_is_read_only(client, org):
    assert client.post(reverse("api_overview"), **bearer(org)).status_code == 405


def test_it_pages_a_reports_rows(client, org):
    from tests.monitor.test_dash_data import add_report, today

    report = add_report(org, "acme.example", today(), [(f"10.0.{n // 256}.{n % 256}", 1, "pass", "pass", []) for n in range(600)])
    url = reverse("api_report", args=[report.pk])
    first = client.get(url, **bearer(org)).json()
    assert len(first["tables"]["rows"]) == 500 and first["rows"] == {"rows_total": 600, "offset": 0, "limit": 500, "next_offset": 500}
    rest = client.get(url + "?offset=500", **bearer(org)).json()
    assert len(rest["tables"]["rows"]) == 100 and rest["rows"]["next_offset"] is None


def test_it_shows_the_token_to_the_organisations_admins_only(client, org, viewer, django_user_model):
    from monitor.models import Membership
    from tests.conftest import make_member

    admin = make_member(org, "ada", Membership.ADMIN)
    client.force_login(viewer)
    assert org.api_token not in client.get(reverse("dash_api")).content.decode()
    assert client.post(reverse("dash_api_rotate", args=[org.slug])).status_code == 403
    client.force_login(admin)
    assert org.api_token in client.get(reverse("dash_api")).content.decode()
    old = org.api_token
    assert client.post(reverse("dash_api_rotate", args=[org.slug])).status_code == 302
    org.refresh_from_db()
    assert org.api_token != old
    assert client.get(reverse("api_overview"), HTTP_AUTHORIZATION=f"Bearer {old}").status_code == 401
    assert client.get(reverse("api_overview"), **bearer(org)).status_code == 200
