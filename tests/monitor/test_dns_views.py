import pytest
from django.urls import reverse

from monitor.dns_audit import run_dns_audit
from monitor.models import Pool, PoolMember
from tests.monitor.dns_audit_helpers import audit_dns, d  # noqa: F401


@pytest.fixture
def audited(audit_dns, org):
    domains = Pool.objects.create(organization=org, name="brands", kind=Pool.DOMAIN)
    PoolMember.objects.create(pool=domains, value=d("good"), dkim_selectors=["s2048"])
    addresses = Pool.objects.create(organization=org, name="outbound", kind=Pool.IP)
    PoolMember.objects.create(pool=addresses, value="203.0.113.11")
    first = run_dns_audit(org)
    audit_dns.remove_records(d("good"), "TXT")
    audit_dns.add_record(d("good"), "TXT", '"v=spf1 ip4:203.0.113.10 ip4:203.0.113.77 ~all"')
    second = run_dns_audit(org)
    return first, second


def test_it_shows_the_latest_verdicts_and_what_changed(viewer_client, org, audited):
    response = viewer_client.get(reverse("dns_audit", args=[org.slug]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "good.dnsaudit.test" in page and "203.0.113.11" in page
    assert "has no reverse DNS (PTR) record" in page  # the address's finding
    assert "Changed in the last run" in page
    assert "<ins>+ v=spf1 ip4:203.0.113.10 ip4:203.0.113.77 ~all</ins>" in page
    assert "<del>- v=spf1 ip4:203.0.113.10 include:i1.spfparts.dnsaudit.test -all</del>" in page


def test_it_shows_the_history_of_a_check_with_record_diffs(viewer_client, org, audited):
    url = reverse("dns_history", args=[org.slug])
    response = viewer_client.get(url, {"target": d("good"), "check": "spf"})
    assert response.status_code == 200
    rows = response.context["rows"]
    assert len(rows) == 2
    assert rows[0]["diff"] == [
        ("-", "v=spf1 ip4:203.0.113.10 include:i1.spfparts.dnsaudit.test -all"),
        ("+", "v=spf1 ip4:203.0.113.10 ip4:203.0.113.77 ~all"),
    ]
    assert rows[1]["diff"] is None  # the first run has nothing to compare with
    unchanged = viewer_client.get(url, {"target": d("good"), "check": "dkim:s2048"})
    assert [row["diff"] for row in unchanged.context["rows"]] == [None, None]


def test_it_hides_other_organisations(client, outsider, org, audited):
    client.force_login(outsider)
    assert client.get(reverse("dns_audit", args=[org.slug])).status_code == 404
    response = client.get(reverse("dns_history", args=[org.slug]), {"target": d("good"), "check": "spf"})
    assert response.status_code == 404


def test_it_sends_a_member_of_one_organisation_to_its_page(viewer_client, org):
    response = viewer_client.get(reverse("dns_index"))
    assert response.status_code == 302
    assert response["Location"] == reverse("dns_audit", args=[org.slug])


def test_it_needs_a_signed_in_user(client, org):
    response = client.get(reverse("dns_audit", args=[org.slug]))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_it_reads_the_page_in_a_bounded_number_of_queries(viewer_client, org, audited, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        viewer_client.get(reverse("dns_audit", args=[org.slug]))


def test_it_lists_verdicts_in_the_admin(admin_client, audited):
    response = admin_client.get(reverse("admin:monitor_dnscheckresult_changelist"), {"q": "203.0.113.11"})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 2  # the address, once per run
