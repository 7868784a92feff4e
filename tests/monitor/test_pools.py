import pytest

from monitor.models import Pool, PoolMember
from monitor.models.pools import normalise_domain, normalise_ip_member


def test_it_normalises_pool_members():
    assert normalise_ip_member(" 192.0.2.7/28 ") == "192.0.2.0/28"
    assert normalise_ip_member("192.0.2.7/32") == "192.0.2.7"
    assert normalise_ip_member("2001:DB8::0025") == "2001:db8::25"
    assert normalise_domain("News.Acme.Example.") == "news.acme.example"
    assert normalise_domain("bücher.example") == "xn--bcher-kva.example"
    for bad in ("999.0.0.1", "192.0.2.0/33", "not an ip"):
        with pytest.raises(ValueError):
            normalise_ip_member(bad)
    for bad in ("localhost", "a..b", "-a.example", "a b.example"):
        with pytest.raises(ValueError):
            normalise_domain(bad)


@pytest.mark.django_db
def test_it_expands_ranges_with_a_cap(org):
    pool = Pool.objects.create(organization=org, name="ips", kind="ip")
    PoolMember.objects.create(pool=pool, value="192.0.2.0/30")
    PoolMember.objects.create(pool=pool, value="192.0.2.1")
    PoolMember.objects.create(pool=pool, value="2001:db8::/127")
    assert pool.addresses() == ["192.0.2.1", "192.0.2.2", "2001:db8::", "2001:db8::1"]
    PoolMember.objects.create(pool=pool, value="198.51.100.0/21")
    with pytest.raises(ValueError, match="more than the cap"):
        pool.addresses(max_addresses=1024)
