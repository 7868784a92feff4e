import dns.resolver
import pytest
from django.core.mail import send_mail

from monitor import dns as monitor_dns


def test_it_points_the_apps_resolver_at_the_test_server(dns_settings):
    answer = monitor_dns.resolver().resolve("example.test.", "MX")

    assert sorted(rdata.to_text() for rdata in answer) == ["10 mx1.example.test.", "20 mx2.example.test."]
    assert dns_settings.queries[-1].name == "example.test."


def test_it_sends_djangos_mail_to_the_test_smtp_server(smtp_settings):
    send_mail("Blocklist alert", "127.0.0.2 is listed.", "monitor@example.test", ["alerts@acme.example"])

    [received] = smtp_settings.messages
    assert received.message["Subject"] == "Blocklist alert"
    assert received.rcpt_tos == ("alerts@acme.example",)


# The next two tests run in this order: the first changes the session DNS server, the second
# checks that the changes did not outlive the first.


def test_it_undoes_dns_server_changes_after_each_test__making_changes(dns_server):
    dns_server.add_record("changed.example.test.", "A", "127.0.0.99")
    dns_server.set_fault("mx1.example.test.", servfail=True)
    assert dns_server.make_resolver().resolve("changed.example.test.", "A")


def test_it_undoes_dns_server_changes_after_each_test__checking(dns_server):
    resolver = dns_server.make_resolver()

    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver.resolve("changed.example.test.", "A")
    assert resolver.resolve("mx1.example.test.", "A")
    assert [query.name for query in dns_server.queries] == ["changed.example.test.", "mx1.example.test."]


def test_its_dns_fixture_is_the_session_server(dns, dns_server):
    assert dns is dns_server
