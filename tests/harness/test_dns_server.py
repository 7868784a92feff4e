import signal
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from tests.harness.dns_server import DNSServer
from tests.harness.dns_zones import ZoneError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def server(dns_server):
    return dns_server  # named so that the dns package stays usable in tests


def ask(server, name, rdtype="A", **make_query_options):
    query = dns.message.make_query(name, rdtype, **make_query_options)
    return dns.query.udp(query, server.address, port=server.port, timeout=5)


def answer_texts(response, rdtype="A"):
    return sorted(rdata.to_text() for rrset in response.answer if rrset.rdtype == dns.rdatatype.from_text(rdtype) for rdata in rrset)


def test_it_answers_authoritatively(server):
    response = ask(server, "example.test.", "MX")

    assert response.rcode() == dns.rcode.NOERROR
    assert response.flags & dns.flags.AA
    assert answer_texts(response, "MX") == ["10 mx1.example.test.", "20 mx2.example.test."]


def test_it_gives_nxdomain_with_the_soa(server):
    response = ask(server, "nope.example.test.")

    assert response.rcode() == dns.rcode.NXDOMAIN
    assert response.flags & dns.flags.AA
    assert response.answer == []
    [soa] = response.authority
    assert soa.rdtype == dns.rdatatype.SOA
    assert soa.name.to_text() == "example.test."


def test_it_gives_nodata_when_the_name_has_other_types(server):
    response = ask(server, "mx1.example.test.", "AAAA")

    assert response.rcode() == dns.rcode.NOERROR
    assert response.flags & dns.flags.AA
    assert response.answer == []
    [soa] = response.authority
    assert soa.rdtype == dns.rdatatype.SOA
    assert soa.ttl == 300  # min(SOA TTL, SOA minimum), RFC 2308


def test_it_refuses_names_outside_its_zones(server):
    response = ask(server, "example.org.")

    assert response.rcode() == dns.rcode.REFUSED
    assert not response.flags & dns.flags.AA


def test_it_answers_from_the_most_specific_zone(server):
    server.add_zone_text("sub.example.test.", "www A 127.0.0.77\n")

    assert answer_texts(ask(server, "www.sub.example.test.")) == ["127.0.0.77"]
    response = ask(server, "nope.sub.example.test.")
    assert response.rcode() == dns.rcode.NXDOMAIN
    assert response.authority[0].name.to_text() == "sub.example.test."


def test_it_gives_the_parent_zones_nxdomain_for_unserved_test_domains(server):
    response = ask(server, "unknown-domain.test.", "MX")

    assert response.rcode() == dns.rcode.NXDOMAIN
    assert response.authority[0].name.to_text() == "test."


WILD_ZONE = """
*          A    127.0.0.2
*          TXT  "listed"
exists     TXT  "here"
a.b        A    127.0.0.3
"""


def test_it_synthesises_wildcard_answers_with_the_question_name(server):
    server.add_zone_text("wild.test.", WILD_ZONE)

    response = ask(server, "anything.wild.test.")
    assert response.rcode() == dns.rcode.NOERROR
    assert [rrset.name.to_text() for rrset in response.answer] == ["anything.wild.test."]
    assert answer_texts(response) == ["127.0.0.2"]
    assert answer_texts(ask(server, "two.labels.wild.test.")) == ["127.0.0.2"]
    assert answer_texts(ask(server, "x.wild.test.", "TXT"), "TXT") == ['"listed"']


def test_it_gives_nodata_from_a_wildcard_without_the_type(server):
    server.add_zone_text("wild.test.", WILD_ZONE)

    response = ask(server, "anything.wild.test.", "MX")

    assert response.rcode() == dns.rcode.NOERROR
    assert response.answer == []


def test_it_does_not_apply_wildcards_to_names_that_exist(server):
    server.add_zone_text("wild.test.", WILD_ZONE)

    response = ask(server, "exists.wild.test.", "A")

    assert response.rcode() == dns.rcode.NOERROR
    assert response.answer == []


def test_it_treats_empty_non_terminals_as_existing(server):
    server.add_zone_text("wild.test.", WILD_ZONE)

    empty_non_terminal = ask(server, "b.wild.test.")
    below_it = ask(server, "x.b.wild.test.")  # closest encloser b.wild.test. has no wildcard

    assert empty_non_terminal.rcode() == dns.rcode.NOERROR
    assert empty_non_terminal.answer == []
    assert below_it.rcode() == dns.rcode.NXDOMAIN


def test_it_puts_the_cname_and_its_target_in_the_answer(server):
    response = ask(server, "www.example.test.")

    assert [dns.rdatatype.to_text(rrset.rdtype) for rrset in response.answer] == ["CNAME", "A"]
    assert answer_texts(response) == ["127.0.0.10"]


def test_it_follows_cnames_across_its_zones(server):
    server.add_zone_text("alias.test.", "mail CNAME hop.alias.test.\nhop CNAME mx1.example.test.\n")

    response = ask(server, "mail.alias.test.")

    assert [dns.rdatatype.to_text(rrset.rdtype) for rrset in response.answer] == ["CNAME", "CNAME", "A"]
    assert answer_texts(response) == ["127.0.0.10"]


def test_it_reports_nxdomain_for_a_dangling_cname(server):
    server.add_zone_text("alias.test.", "dangling CNAME gone.example.test.\n")

    response = ask(server, "dangling.alias.test.")

    assert response.rcode() == dns.rcode.NXDOMAIN
    assert [dns.rdatatype.to_text(rrset.rdtype) for rrset in response.answer] == ["CNAME"]


def test_it_stops_following_a_cname_loop(server):
    server.add_zone_text("alias.test.", "a CNAME b\nb CNAME a\n")

    response = ask(server, "a.alias.test.")

    assert response.rcode() == dns.rcode.NOERROR
    assert len(response.answer) == 2


def test_it_answers_a_cname_question_with_the_cname_only(server):
    response = ask(server, "www.example.test.", "CNAME")

    assert [dns.rdatatype.to_text(rrset.rdtype) for rrset in response.answer] == ["CNAME"]


def test_it_refers_to_delegated_children(server):
    server.add_zone_text("parent.test.", "child NS ns.child\nns.child A 127.0.0.53\n")

    response = ask(server, "www.child.parent.test.")

    assert response.rcode() == dns.rcode.NOERROR
    assert not response.flags & dns.flags.AA
    assert response.answer == []
    assert [rdata.to_text() for rdata in response.authority[0]] == ["ns.child.parent.test."]
    assert [rdata.to_text() for rrset in response.additional for rdata in rrset] == ["127.0.0.53"]


def big_txt_zone(count=20, length=200):
    return "".join(f'big TXT "{index:03d}{"x" * length}"\n' for index in range(count))


def test_it_truncates_udp_answers_larger_than_512_bytes_without_edns(server):
    server.add_zone_text("large.test.", big_txt_zone())

    response = ask(server, "big.large.test.", "TXT")

    assert response.flags & dns.flags.TC


def test_it_truncates_udp_answers_larger_than_the_edns_payload(server):
    server.add_zone_text("large.test.", big_txt_zone())

    small = ask(server, "big.large.test.", "TXT", use_edns=0, payload=1232)
    large = ask(server, "big.large.test.", "TXT", use_edns=0, payload=8192)

    assert small.flags & dns.flags.TC
    assert not large.flags & dns.flags.TC
    assert len(answer_texts(large, "TXT")) == 20


def test_it_answers_in_full_over_tcp_after_truncation(server):
    server.add_zone_text("large.test.", big_txt_zone())
    query = dns.message.make_query("big.large.test.", "TXT")

    response, used_tcp = dns.query.udp_with_fallback(query, server.address, port=server.port, timeout=5)

    assert used_tcp
    assert not response.flags & dns.flags.TC
    assert len(answer_texts(response, "TXT")) == 20
    assert [(q.name, q.transport) for q in server.queries] == [("big.large.test.", "udp"), ("big.large.test.", "tcp")]


def test_its_resolver_falls_back_to_tcp(server):
    server.add_zone_text("large.test.", big_txt_zone())

    answer = server.make_resolver().resolve("big.large.test.", "TXT")

    assert len(answer.rrset) == 20


def test_it_answers_several_questions_on_one_tcp_connection(server):
    with socket.create_connection((server.address, server.port), timeout=5) as sock:
        for name in ("example.test.", "mx1.example.test."):
            dns.query.send_tcp(sock, dns.message.make_query(name, "A"))
            response, _ = dns.query.receive_tcp(sock, expiration=None)
            assert response.rcode() == dns.rcode.NOERROR
            assert response.answer


def test_it_adds_records_at_runtime(server):
    server.add_zone_text("zen.test.", "")
    server.add_record("2.0.0.127.zen.test.", "A", "127.0.0.2")
    server.add_record("2.0.0.127.zen.test.", "TXT", '"listed for testing"', ttl=30)

    response = ask(server, "2.0.0.127.zen.test.", "TXT")
    assert answer_texts(ask(server, "2.0.0.127.zen.test.")) == ["127.0.0.2"]
    assert response.answer[0].ttl == 30
    assert ask(server, "1.0.0.127.zen.test.").rcode() == dns.rcode.NXDOMAIN


def test_it_removes_records_at_runtime(server):
    server.remove_records("mx2.example.test.")
    server.remove_records("example.test.", "MX")

    assert ask(server, "mx2.example.test.").rcode() == dns.rcode.NXDOMAIN
    assert ask(server, "example.test.", "MX").answer == []


def test_it_refuses_to_add_records_outside_its_zones(server):
    with pytest.raises(ZoneError, match="no zone served holds www.example.org."):
        server.add_record("www.example.org.", "A", "127.0.0.1")


def test_reset_undoes_runtime_changes(server):
    server.add_zone_text("zen.test.", "2.0.0.127 A 127.0.0.2\n")
    server.add_record("new.example.test.", "A", "127.0.0.9")
    server.set_fault("example.test.", servfail=True)

    server.reset()

    assert ask(server, "2.0.0.127.zen.test.").rcode() == dns.rcode.NXDOMAIN  # from the test. zone
    assert ask(server, "new.example.test.").rcode() == dns.rcode.NXDOMAIN
    assert server.queries[-1].name == "new.example.test."


def test_it_answers_format_errors_to_garbage_and_keeps_serving(server):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        sock.sendto(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xff\xff", (server.address, server.port))
        reply = sock.recv(512)

    assert reply[:2] == b"\x12\x34"
    assert reply[3] & 0x0F == dns.rcode.FORMERR
    assert ask(server, "example.test.").answer


def test_it_loads_zone_files_named_after_their_origin(tmp_path):
    (tmp_path / "named.test.zone").write_text("@ SOA ns hostmaster 1 2 3 4 5\n@ NS ns\nns A 127.0.0.1\n")
    (tmp_path / "README.md").write_text("not a zone")

    with DNSServer(zone_dir=tmp_path) as server:
        assert [origin.to_text() for origin in server.zones.origins] == ["named.test."]
        assert answer_texts(ask(server, "ns.named.test.")) == ["127.0.0.1"]


def test_it_names_the_file_of_a_broken_zone(tmp_path):
    (tmp_path / "broken.test.zone").write_text("www IN A not-an-address\n")

    with pytest.raises(ZoneError, match="broken.test.zone"):
        DNSServer(zone_dir=tmp_path)


def test_it_listens_on_the_same_port_after_a_restart():
    server = DNSServer(zone_dir=None)
    server.add_zone_text("restart.test.", "www A 127.0.0.1\n")
    with server:
        port = server.port
    with server:
        assert server.port == port
        assert server.host_port == f"127.0.0.1:{port}"
        assert answer_texts(ask(server, "www.restart.test.")) == ["127.0.0.1"]


def test_it_survives_broken_tcp_clients(server):
    with socket.create_connection((server.address, server.port), timeout=5) as sock:
        sock.sendall(b"\x00\x40\x12\x34")  # announces 64 bytes, sends 2, hangs up
    with socket.create_connection((server.address, server.port), timeout=5) as sock:
        sock.sendall(b"\x00\x0e" + b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xff\xff")
        reply = sock.recv(512)

    assert reply[2:4] == b"\x12\x34"
    assert reply[5] & 0x0F == dns.rcode.FORMERR
    assert ask(server, "example.test.").answer


def test_it_ignores_messages_that_are_responses(server):
    response = dns.message.make_response(dns.message.make_query("example.test.", "A"))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.3)
        sock.sendto(response.to_wire(), (server.address, server.port))
        with pytest.raises(TimeoutError):
            sock.recv(512)


def test_it_runs_from_the_command_line(tmp_path):
    (tmp_path / "cli.test.zone").write_text("www A 127.0.0.8\n*.dead A 127.0.0.2\n")
    command = [sys.executable, "-m", "tests.harness.dns_server", "--zones", str(tmp_path), "--fault", "dead.cli.test.:servfail"]
    with subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True) as process:
        try:
            banner = process.stdout.readline()
            address, port = banner.split(" on ")[1].split()[0].split(":")
            cli_server = SimpleNamespace(address=address, port=int(port))

            assert banner.startswith("serving cli.test. on 127.0.0.1:")
            assert answer_texts(ask(cli_server, "www.cli.test.")) == ["127.0.0.8"]
            assert ask(cli_server, "x.dead.cli.test.").rcode() == dns.rcode.SERVFAIL
        finally:
            process.send_signal(signal.SIGTERM)
    assert process.returncode == 0
