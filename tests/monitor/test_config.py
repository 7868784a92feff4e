import subprocess
import sys

import pytest

from monitor.config import parse_nameservers

BASE = {"PATH": "/usr/bin:/bin"}


def test_it_parses_nameservers():
    assert parse_nameservers("") == []
    assert parse_nameservers("127.0.0.1") == [("127.0.0.1", 53)]
    assert parse_nameservers("127.0.0.1:5353, ::1, [::1]:5300") == [("127.0.0.1", 5353), ("::1", 53), ("::1", 5300)]


@pytest.mark.parametrize("value", ["dns.example", "127.0.0.1:abc", "127.0.0.1:70000", "[::1]5353"])
def test_it_refuses_bad_nameservers(value):
    with pytest.raises(ValueError, match=r"127|dns|::1"):
        parse_nameservers(value)


def run_check(**env):
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        env={**BASE, "DJANGO_SETTINGS_MODULE": "monitor.settings", **env},
        capture_output=True,
        text=True,
    )


def test_it_reports_a_bad_nameserver_as_a_system_check():
    result = run_check(DNS_NAMESERVERS="127.0.0.1:notaport")
    assert result.returncode != 0
    assert "monitor.E001" in result.stderr and "DNS_NAMESERVERS" in result.stderr
    assert "Traceback" not in result.stderr


def test_it_reports_a_bad_database_url_as_a_system_check():
    result = run_check(DATABASE_URL="nosuchdb://somewhere/x")
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr and "Traceback" not in result.stderr


def test_it_reports_a_bad_redis_url_as_a_system_check():
    result = run_check(REDIS_URL="http://127.0.0.1:6379")
    assert result.returncode != 0
    assert "REDIS_URL" in result.stderr


def test_it_passes_the_check_with_a_good_configuration():
    result = run_check(DNS_NAMESERVERS="127.0.0.1:5353")
    assert result.returncode == 0, result.stderr


def test_it_reads_webhook_networks_and_reports_a_bad_one(monkeypatch):
    import ipaddress

    from monitor import config

    monkeypatch.setattr(config, "PROBLEMS", [])
    monkeypatch.setenv("WEBHOOK_ALLOW_NETWORKS", "10.0.0.0/8, 192.0.2.7 ,2001:db8::/32,")
    assert config.networks("WEBHOOK_ALLOW_NETWORKS") == [
        ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("192.0.2.7/32"), ipaddress.ip_network("2001:db8::/32")]
    monkeypatch.setenv("WEBHOOK_ALLOW_NETWORKS", "10.0.0.0/8,intranet")
    assert config.networks("WEBHOOK_ALLOW_NETWORKS") == [ipaddress.ip_network("10.0.0.0/8")]
    assert config.PROBLEMS == ["WEBHOOK_ALLOW_NETWORKS has a bad entry 'intranet': not an address or network "
                               "(e.g. 10.0.0.0/8)."]
