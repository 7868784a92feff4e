"""The domain page reads the service roll-ups (a few rows per day, however many addresses send); a
service's addresses are read only when it is opened (their own page, loaded in place by the script),
with the same filters."""

import csv
import io
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dmarc_reports.models import SourceHost
from tests.monitor.test_dash_data import GOOGLE_IP, MAILCHIMP_IP, SES_IP, SPOOF_IP, add_rollup, build, today

pytestmark = pytest.mark.django_db

DOMAIN_URL = reverse("dash_domain", args=["acme.example"])
ADDRESSES_URL = reverse("dash_domain_addresses", args=["acme.example"])


def add_senders(org, count, first=0):
    """``count`` more addresses: most of them SES, named by their roll-ups or only by reverse DNS, some unknown."""
    for n in range(first, first + count):
        ip = f"10.9.{n // 250}.{n % 250 + 1}"
        if n % 3 == 0:
            add_rollup(org, "acme.example", ip, today(), 10, 5, service="Amazon SES")
        elif n % 3 == 1:
            SourceHost.objects.create(ip=ip, ptr=f"a{n}.smtp-out.amazonses.com", service="Amazon SES")
            add_rollup(org, "acme.example", ip, today(), 10, 5)
        else:
            add_rollup(org, "acme.example", ip, today(), 10, 0)


def groups_by_address(sql: str) -> bool:
    grouping = re.split(r"\bGROUP BY\b", sql, maxsplit=1)
    return len(grouping) == 2 and "source_ip" in grouping[1]


def test_it_asks_the_same_queries_and_groups_no_address_on_the_domain_page_however_many_addresses(viewer_client, org):
    build(org)
    add_senders(org, 10)
    with CaptureQueriesContext(connection) as few:
        first = viewer_client.get(DOMAIN_URL).context["services"]
    add_senders(org, 600, first=10)
    with CaptureQueriesContext(connection) as many:
        services = {s["service"]: s for s in viewer_client.get(DOMAIN_URL).context["services"]}
    assert len(many) == len(few)
    assert len(services) == len(first) == 4
    assert not [q["sql"] for q in many if groups_by_address(q["sql"])]
    per_source = [q["sql"] for q in many if '"dmarc_reports_dailyrollup"' in q["sql"]]
    assert all("LIMIT 1" in sql for sql in per_source), per_source  # only "is the domain known?"
    assert [q for q in many if "servicedailyrollup" in q["sql"].lower()]
    assert not [q["sql"] for q in many if "reportrow" in q["sql"].lower()]
    assert services["Amazon SES"]["messages"] == 10 * 200 + 10 * 407  # its own, and those named by roll-up or by reverse DNS
    assert services["(no reverse DNS)"]["messages"] == 10 * 50 + 10 * 203


def test_it_lists_the_addresses_of_the_service_opened(viewer_client, org):
    build(org)
    add_senders(org, 3)
    services = {s["service"]: s for s in viewer_client.get(DOMAIN_URL).context["services"]}
    ses = viewer_client.get(services["Amazon SES"]["addresses_url"])
    assert ses.status_code == 200
    rows = ses.context["page"].table("addresses").rows
    assert [r["source_ip"] for r in rows] == [SES_IP, "10.9.0.1", "10.9.0.2"]
    assert {r["service"] for r in rows} == {"Amazon SES"}
    assert rows[0]["ptr"] == "a7.smtp-out.amazonses.com" and rows[0]["would_block"] == 1000 - 50
    unknown = viewer_client.get(services["(no reverse DNS)"]["addresses_url"]).context["page"].table("addresses").rows
    assert [r["source_ip"] for r in unknown] == [SPOOF_IP, "10.9.0.3"]
    everything = viewer_client.get(ADDRESSES_URL).context["page"].table("addresses").rows
    assert [r["source_ip"] for r in everything][:2] == [GOOGLE_IP, SES_IP] and len(everything) == 7


def test_it_keeps_the_filters_when_a_service_is_opened(viewer_client, org):
    build(org)
    page = viewer_client.get(DOMAIN_URL + "?failing=1")
    services = {s["service"]: s for s in page.context["services"]}
    assert "failing=1" in services["Google"]["addresses_url"]
    assert viewer_client.get(ADDRESSES_URL + "?failing=1&service=Mailchimp").context["page"].table("addresses").rows == []
    week = viewer_client.get(ADDRESSES_URL + "?period=7&service=Google").context["page"].table("addresses").rows
    assert [(r["source_ip"], r["messages"]) for r in week] == [(GOOGLE_IP, 7000)]


def test_it_exports_a_services_addresses_as_csv(viewer_client, org):
    build(org)
    response = viewer_client.get(ADDRESSES_URL + "?service=Amazon+SES")
    csv_url = response.context["page"].table("addresses").csv_url
    assert "service=Amazon+SES" in csv_url and "csv=addresses" in csv_url
    exported = viewer_client.get(csv_url)
    assert exported["Content-Type"].startswith("text/csv") and "amazon-ses" in exported["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.content.decode())))
    assert [(r["Address"], r["Messages"]) for r in rows] == [(SES_IP, "2000")]
    everything = list(csv.DictReader(io.StringIO(viewer_client.get(ADDRESSES_URL + "?csv=addresses").content.decode())))
    assert [r["Address"] for r in everything] == [GOOGLE_IP, SES_IP, SPOOF_IP, MAILCHIMP_IP]


def test_it_links_each_service_to_its_addresses_without_a_script(viewer_client, org):
    build(org)
    body = viewer_client.get(DOMAIN_URL).content.decode()
    assert f'href="{ADDRESSES_URL}?service=Amazon+SES"' in body
    assert f'href="{ADDRESSES_URL}?service=%28no+reverse+DNS%29"' in body
    assert SES_IP not in body.split("Sources by service", 1)[1].split("Policy readiness", 1)[0]


def test_it_hides_one_organisations_addresses_from_another(org, other_org, outsider):
    build(org)
    stranger = Client()
    stranger.force_login(outsider)
    assert stranger.get(ADDRESSES_URL + "?service=Google").status_code == 404
    assert stranger.get(ADDRESSES_URL).status_code == 404
    assert Client().get(reverse("api_domain_addresses", args=["acme.example"]),
                        HTTP_AUTHORIZATION=f"Bearer {other_org.api_token}").status_code == 404


def test_it_answers_a_services_addresses_in_the_api(client, org):
    build(org)
    body = client.get(reverse("api_domain_addresses", args=["acme.example"]) + "?service=Google",
                      HTTP_AUTHORIZATION=f"Bearer {org.api_token}").json()
    assert [r["source_ip"] for r in body["tables"]["addresses"]] == [GOOGLE_IP]


def test_it_narrows_the_services_to_an_ip_pools_addresses(viewer_client, org):
    data = build(org)
    services = viewer_client.get(DOMAIN_URL + f"?pool={data['ip_pool'].pk}").context["services"]
    assert [(s["service"], s["messages"]) for s in services] == [("Amazon SES", 2000)]


def test_it_says_why_an_address_has_no_reverse_dns_name(viewer_client, org):
    from django.utils import timezone

    build(org)
    SourceHost.objects.filter(ip=SPOOF_IP).update(looked_up=timezone.now())  # looked up: no PTR record
    SourceHost.objects.create(ip="10.9.0.1", looked_up=timezone.now(), error="timed out")
    for ip in ("10.9.0.1", "10.9.0.2"):  # 10.9.0.2 has never been looked up
        add_rollup(org, "acme.example", ip, today(), 10, 0)
    services = {s["service"]: s for s in viewer_client.get(DOMAIN_URL).context["services"]}
    rows = viewer_client.get(services["(no reverse DNS)"]["addresses_url"]).context["page"].table("addresses").rows
    assert {r["source_ip"]: r["ptr"] for r in rows} == {
        SPOOF_IP: "(none)", "10.9.0.1": "(look-up failed: timed out)", "10.9.0.2": "(not looked up yet)"}
    for ip, said in ((SPOOF_IP, "Reverse DNS: (none)"), ("10.9.0.1", "Reverse DNS: (look-up failed: timed out)"),
                     ("10.9.0.2", "Reverse DNS: (not looked up yet)"), (GOOGLE_IP, "Reverse DNS: mail-ot1.google.com")):
        assert said in viewer_client.get(reverse("dash_source", args=[ip])).content.decode()
