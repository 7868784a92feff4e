from datetime import date

import pytest
from django.http import Http404, QueryDict

from monitor.dashboards.filters import MAX_CUSTOM_DAYS, normalise_source, parse_filters
from monitor.models import Organization, Pool, PoolMember

pytestmark = pytest.mark.django_db
TODAY = date(2026, 3, 31)


def parse(query, orgs=None):
    return parse_filters(QueryDict(query), orgs if orgs is not None else Organization.objects.all(), now=TODAY)


def test_it_defaults_to_the_last_30_days_of_every_visible_organisation(org, other_org):
    filters = parse("")
    assert (filters.start, filters.end, filters.period, filters.days) == (date(2026, 3, 2), TODAY, "30", 30)
    assert {o.slug for o in filters.orgs} == {"acme", "globex"}
    assert filters.query() == "" and filters.problems == []


@pytest.mark.parametrize("days", [7, 30, 90, 365])
def test_it_reads_each_named_period(org, days):
    filters = parse(f"period={days}")
    assert filters.days == days and filters.end == TODAY


def test_it_reads_a_custom_period_and_writes_it_back(org):
    filters = parse("from=2026-01-01&to=2026-01-31")
    assert (filters.period, filters.start, filters.end, filters.days) == ("custom", date(2026, 1, 1), date(2026, 1, 31), 31)
    assert filters.query() == "?from=2026-01-01&to=2026-01-31"
    assert parse(filters.query()[1:]).start == date(2026, 1, 1)


def test_it_prefers_a_named_period_over_date_fields_left_in_the_form(org):
    filters = parse("period=7&from=2026-01-01&to=2026-01-31")
    assert filters.days == 7 and filters.end == TODAY


def test_it_reports_what_it_ignored(org):
    filters = parse("period=12&domain=not a domain")
    assert filters.days == 30 and filters.domain == ""
    assert len(filters.problems) == 2
    bad_date = parse("from=yesterday")
    assert bad_date.days == 30 and len(bad_date.problems) == 1
    swapped = parse("from=2026-02-10&to=2026-02-01")
    assert (swapped.start, swapped.end) == (date(2026, 2, 1), date(2026, 2, 10)) and swapped.problems
    long = parse("from=2000-01-01&to=2026-01-01")
    assert long.days == MAX_CUSTOM_DAYS and long.problems


def test_it_narrows_to_one_organisation_and_hides_the_others(org, other_org):
    filters = parse("org=acme")
    assert filters.orgs == [org] and filters.query() == "?org=acme"
    with pytest.raises(Http404):
        parse("org=globex", Organization.objects.filter(pk=org.pk))
    with pytest.raises(Http404):
        parse("org=nobody")


def test_it_reads_pools_only_of_visible_organisations(org, other_org):
    mine = Pool.objects.create(organization=org, name="domains", kind=Pool.DOMAIN)
    PoolMember.objects.create(pool=mine, value="acme.example")
    theirs = Pool.objects.create(organization=other_org, name="ips", kind=Pool.IP)
    filters = parse(f"pool={mine.pk}")
    assert filters.pool == mine and filters.pool_domains() == ["acme.example"] and filters.pool_addresses() is None
    with pytest.raises(Http404):
        parse(f"pool={theirs.pk}", Organization.objects.filter(pk=org.pk))
    with pytest.raises(Http404):
        parse("pool=abc")


def test_it_expands_ip_pools_to_addresses(org):
    pool = Pool.objects.create(organization=org, name="ips", kind=Pool.IP)
    PoolMember.objects.create(pool=pool, value="192.0.2.0/30")
    assert parse(f"pool={pool.pk}").pool_addresses() == ["192.0.2.1", "192.0.2.2"]


def test_it_normalises_domains_and_changes_single_values(org):
    filters = parse("domain=ACME.Example.&period=90&failing=1")
    assert filters.domain == "acme.example" and filters.failing_only
    assert filters.query(period=7) == "?domain=acme.example&failing=1&period=7"
    assert filters.query(domain=None, failing=None, period=30) == ""


def test_it_tells_addresses_from_services():
    assert normalise_source("2001:DB8::25") == ("ip", "2001:db8::25")
    assert normalise_source("192.0.2.1") == ("ip", "192.0.2.1")
    assert normalise_source("Amazon SES") == ("service", "amazon ses")
