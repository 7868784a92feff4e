"""The blocklist audit against the loopback DNS server: every verdict, list health, IPv6, domain lists."""

import pytest

from monitor.blocklists.answers import query_name, reverse_ip
from monitor.blocklists.audit import run_blocklist_audit, without_key
from monitor.models import AuditRun
from monitor.models.blocklists import BlocklistResult, Listing, ListHealth

from tests.monitor.blocklist_fixtures import (  # noqa: F401 (fixtures)
    EVERYTHING,
    HIJACKED,
    PLAIN,
    REFUSING,
    Recorder,
    bl_settings,
    catalogue,
    make_list,
    make_pool,
    only,
    results_by_target,
)

pytestmark = pytest.mark.django_db


def test_it_names_questions_as_rfc5782_says():
    assert reverse_ip("192.0.2.10") == "10.2.0.192"
    assert query_name("192.0.2.10", "zen.spamhaus.org", "ip") == "10.2.0.192.zen.spamhaus.org."
    nibbles = reverse_ip("2001:db8::25")
    assert nibbles == "5.2.0.0." + "0.0.0.0." * 5 + "8.b.d.0.1.0.0.2"
    assert len(nibbles.split(".")) == 32
    assert query_name("::ffff:7f00:2", "z.test", "ip").startswith("2.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0")
    assert query_name("Spammy.Example.TEST.", "dbl.spamhaus.org", "domain") == "spammy.example.test.dbl.spamhaus.org."


def test_it_gives_every_ip_verdict_on_zen(bl_settings, catalogue, org):
    only("zen.spamhaus.org")
    make_pool(org, "ip", "192.0.2.10", "192.0.2.11", "192.0.2.12", "192.0.2.13", "192.0.2.14", "192.0.2.20",
              "2001:db8::25", "2001:db8::26")
    emitted = Recorder()

    run = run_blocklist_audit(org, trigger=AuditRun.COMMAND, emit=emitted)

    assert run.status == AuditRun.SUCCEEDED and run.trigger == AuditRun.COMMAND
    assert emitted.health() == {"zen.spamhaus.org": {"zone": "zen.spamhaus.org", "health": "ok", "reason": ""}}
    got = emitted.results()
    zen = "zen.spamhaus.org"
    sbl = got[("192.0.2.10", zen)]
    assert sbl == {"target": "192.0.2.10", "zone": zen, "status": "listed", "codes": ["127.0.0.2"],
                   "reason": "Listed in SBL, see https://check.spamhaus.org/sbl/query/SBL123"}
    assert got[("192.0.2.11", zen)]["status"] == "listed"
    assert got[("192.0.2.11", zen)]["codes"] == ["127.0.0.4", "127.0.0.10"]
    rewritten = got[("192.0.2.12", zen)]
    assert rewritten["status"] == "error" and "outside 127.0.0.0/8" in rewritten["reason"]
    refused = got[("192.0.2.13", zen)]
    assert refused["status"] == "error" and "public or open resolver" in refused["reason"]
    nodata = got[("192.0.2.14", zen)]
    assert nodata["status"] == "error" and "NODATA" in nodata["reason"]
    assert got[("192.0.2.20", zen)] == {"target": "192.0.2.20", "zone": zen, "status": "clean", "codes": [], "reason": ""}
    assert got[("2001:db8::25", zen)]["status"] == "listed" and got[("2001:db8::25", zen)]["codes"] == ["127.0.0.3"]
    assert got[("2001:db8::26", zen)]["status"] == "clean"

    stored = results_by_target(run)
    assert set(stored) == {(t, zen) for t in ("192.0.2.10", "192.0.2.11", "192.0.2.12", "192.0.2.13", "192.0.2.14",
                                             "2001:db8::25")}, "only listed and error results are stored"
    assert stored[("192.0.2.11", zen)].blocklist.meanings(["127.0.0.4", "127.0.0.10"])[1].startswith("PBL (ISP")
    assert run.counts["listed"] == 3 and run.counts["error"] == 3 and run.counts["clean"] == 2
    assert run.counts["targets"] == 8 and run.counts["newly_listed"] == 3 and run.counts["ipv6_not_asked"] == 0
    listings = set(Listing.objects.filter(organization=org).values_list("target", flat=True))
    assert listings == {"192.0.2.10", "192.0.2.11", "2001:db8::25"}
    questions = {q.name for q in bl_settings.queries}
    assert "2.0.0.0.0.0.f.7.f.f.f.f." + "0." * 20 + "zen.spamhaus.org." in questions, "IPv6 test point asked"
    assert "1.0.0.127.zen.spamhaus.org." in questions


def test_it_checks_domains_on_domain_lists(bl_settings, catalogue, org):
    only("dbl.spamhaus.org", "multi.surbl.org", "multi.uribl.com", "zen.spamhaus.org")
    make_pool(org, "domain", "spammy.example.test", "phish.example.test", "iponly.example.test", "bad.example.test",
              "grey.example.test", "refused.example.test", "clean.example.test")
    emitted = Recorder()

    run = run_blocklist_audit(org, emit=emitted)

    health = emitted.health()
    assert set(health) == {"dbl.spamhaus.org", "multi.surbl.org", "multi.uribl.com"}, "no domains on an IP list"
    assert all(h["health"] == "ok" for h in health.values())
    got = {key: (r["status"], tuple(r["codes"])) for key, r in emitted.results().items() if r["status"] != "clean"}
    assert got == {
        ("spammy.example.test", "dbl.spamhaus.org"): ("listed", ("127.0.1.2",)),
        ("phish.example.test", "dbl.spamhaus.org"): ("listed", ("127.0.1.4",)),
        ("iponly.example.test", "dbl.spamhaus.org"): ("error", ("127.0.1.255",)),
        ("bad.example.test", "multi.surbl.org"): ("listed", ("127.0.0.80",)),
        ("grey.example.test", "multi.uribl.com"): ("listed", ("127.0.0.4",)),
        ("refused.example.test", "multi.uribl.com"): ("error", ("127.0.0.1",)),
    }
    assert run.counts["clean"] == 7 * 3 - 6
    stored = results_by_target(run)
    surbl = stored[("bad.example.test", "multi.surbl.org")]
    assert surbl.blocklist.meanings(surbl.codes) == ["MW: malware + ABUSE: spam and other abuse"]
    assert stored[("phish.example.test", "dbl.spamhaus.org")].blocklist.meanings(["127.0.1.4"]) == ["Phishing domain"]
    assert "refused the query" in stored[("refused.example.test", "multi.uribl.com")].reason
    assert stored[("spammy.example.test", "dbl.spamhaus.org")].reason.startswith("https://www.spamhaus.org/query/domain")
    asked = {q.name for q in bl_settings.queries}
    assert {"dbltest.com.dbl.spamhaus.org.", "test.surbl.org.multi.surbl.org.", "test.uribl.com.multi.uribl.com."} <= asked, \
        "each list's documented test point"
    assert {"invalid.dbl.spamhaus.org.", "invalid.multi.surbl.org.", "invalid.multi.uribl.com."} <= asked


@pytest.mark.parametrize(
    "zone, health, words",
    [
        (EVERYTHING, "broken", "must not be listed"),
        (REFUSING, "unusable", "public or open resolver"),
        (HIJACKED, "broken", "outside 127.0.0.0/8"),
        ("unserved.bl.test", "dead", "127.0.0.2 is not listed"),  # NXDOMAIN from the parent zone
        ("bl.unserved.example", "dead", "REFUSED"),  # no zone at all: the server refuses
    ],
)
def test_it_flags_unhealthy_lists_and_counts_none_of_their_answers(bl_settings, org, zone, health, words):
    make_list(zone)
    make_pool(org, "ip", "192.0.2.10", "192.0.2.99")
    emitted = Recorder()

    run = run_blocklist_audit(org, emit=emitted)

    [record] = emitted.health().values()
    assert record["health"] == health and words in record["reason"]
    assert not emitted.results(), "no target is asked of an unhealthy list"
    assert not BlocklistResult.objects.exists() and not Listing.objects.exists()
    assert ListHealth.objects.get(run=run).health == health
    assert run.status == AuditRun.SUCCEEDED
    assert run.counts["lists_unhealthy"] == 1 and run.counts["skipped"] == 2 and run.counts["listed"] == 0


def test_it_calls_a_list_that_never_answers_dead_after_retrying(bl_settings, org):
    blocklist = make_list(PLAIN)
    make_list("other.bl.test")  # unserved: REFUSED
    bl_settings.set_fault(PLAIN + ".", drop=True)
    make_pool(org, "ip", "192.0.2.10")

    run = run_blocklist_audit(org)

    blocklist.refresh_from_db()
    assert blocklist.health == "dead" and "timeout" in blocklist.health_reason
    asked = [q.name for q in bl_settings.queries if q.name == "2.0.0.127.plain.bl.test."]
    assert len(asked) == 2, "a timeout is asked again before it counts"
    assert run.counts["retries"] >= 2


def test_it_calls_a_servfailing_list_dead(bl_settings, org):
    blocklist = make_list(PLAIN)
    bl_settings.set_fault(PLAIN + ".", servfail=True)
    make_pool(org, "ip", "192.0.2.10")

    run_blocklist_audit(org)

    blocklist.refresh_from_db()
    assert blocklist.health == "dead" and "SERVFAIL" in blocklist.health_reason


def test_it_calls_a_list_without_its_test_point_dead(bl_settings, org):
    blocklist = make_list("dbl.spamhaus.org")  # an IP list on a domain zone: 127.0.0.2 is NXDOMAIN there
    make_pool(org, "ip", "192.0.2.10")

    run_blocklist_audit(org)

    blocklist.refresh_from_db()
    assert blocklist.health == "dead" and "not listed" in blocklist.health_reason


def test_it_retries_a_timeout_then_calls_it_an_error_never_clean(bl_settings, org):
    make_list(PLAIN)
    bl_settings.set_fault("10.2.0.192." + PLAIN + ".", drop=True)
    bl_settings.set_fault("11.2.0.192." + PLAIN + ".", servfail=True)
    make_pool(org, "ip", "192.0.2.10", "192.0.2.11", "192.0.2.12")
    emitted = Recorder()

    run = run_blocklist_audit(org, emit=emitted)

    got = emitted.results()
    assert got[("192.0.2.10", PLAIN)]["status"] == "error" and "timeout" in got[("192.0.2.10", PLAIN)]["reason"]
    assert got[("192.0.2.11", PLAIN)]["status"] == "error" and "SERVFAIL" in got[("192.0.2.11", PLAIN)]["reason"]
    assert got[("192.0.2.12", PLAIN)]["status"] == "clean"
    assert [q.name for q in bl_settings.queries].count("10.2.0.192.plain.bl.test.") == 2
    assert run.counts["error"] == 2 and run.counts["clean"] == 1


def test_it_needs_a_key_for_keyed_lists_and_uses_the_keyed_zone(bl_settings, catalogue, org):
    only("combined.mail.abusix.zone", "zen.spamhaus.org")
    make_pool(org, "ip", "192.0.2.10")
    emitted = Recorder()

    run_blocklist_audit(org, emit=emitted)

    assert emitted.health()["combined.mail.abusix.zone"]["health"] == "unusable"
    assert "needs a key" in emitted.health()["combined.mail.abusix.zone"]["reason"]
    assert not any("abusix" in q.name for q in bl_settings.queries)

    zen = catalogue.get(zone="zen.spamhaus.org")
    zen.key = "s3cretkey"
    zen.save()
    bl_settings.add_zone_text("s3cretkey.zen.dq.spamhaus.net.", "2.0.0.127 A 127.0.0.2\n10.2.0.192 A 127.0.0.3\n")
    emitted = Recorder()
    run_blocklist_audit(org, emit=emitted)
    assert emitted.results()[("192.0.2.10", "zen.spamhaus.org")]["codes"] == ["127.0.0.3"]
    assert not any("s3cretkey" in str(record) for record in emitted), "the key never shows in output"
    quoted = "The DNS query name does not exist: 2.0.0.127.s3cretkey.zen.dq.spamhaus.net."
    assert without_key(zen, quoted) == "The DNS query name does not exist: 2.0.0.127.zen.spamhaus.org."


def test_it_checks_only_the_pools_asked_for(bl_settings, org, other_org):
    make_list(PLAIN)
    make_pool(org, "ip", "192.0.2.10", name="outbound")
    chosen = make_pool(org, "ip", "192.0.2.99", name="transactional")
    make_pool(other_org, "ip", "192.0.2.50", name="theirs")
    emitted = Recorder()

    run = run_blocklist_audit(org, pools=[chosen], emit=emitted)

    assert set(emitted.results()) == {("192.0.2.99", PLAIN)}
    assert run.counts["targets"] == 1


def test_it_expands_ranges_and_refuses_ranges_over_the_cap(bl_settings, settings, org):
    settings.BLOCKLIST_MAX_ADDRESSES = 16
    make_list(PLAIN)
    make_pool(org, "ip", "192.0.2.8/29", "198.51.100.0/24")
    emitted = Recorder()

    run = run_blocklist_audit(org, emit=emitted)

    assert {t for t, _ in emitted.results()} == {f"192.0.2.{n}" for n in range(9, 15)}, "host addresses only"
    assert emitted.results()[("192.0.2.10", PLAIN)]["status"] == "listed"
    assert run.counts["targets"] == 6
    assert "198.51.100.0/24 holds 256 addresses" in run.counts["warnings"][0]


def test_it_gives_every_question_exactly_one_verdict_under_concurrency(bl_settings, settings, org):
    settings.DNS_TIMEOUT = 3  # 200 questions in flight queue up at the test server: no timeouts wanted here
    zones = [f"l{n}.bulk.bl.test" for n in range(3)]
    for number, zone in enumerate(zones):
        make_list(zone)
        listed = "\n".join(f"{n}.2.0.192 A 127.0.0.2" for n in range(number + 1, 250, 50))
        bl_settings.add_zone_text(zone + ".", "2.0.0.127 A 127.0.0.2\n" + listed + "\n")
    make_pool(org, "ip", "192.0.2.0/24")
    emitted = Recorder()

    run = run_blocklist_audit(org, emit=emitted)

    results = [r for r in emitted if "target" in r]
    assert len(results) == len({(r["target"], r["zone"]) for r in results}) == 254 * 3
    assert run.counts["planned"] == 254 * 3 == run.counts["listed"] + run.counts["clean"] + run.counts["error"]
    assert run.counts["listed"] == 15 == run.blocklist_results.filter(status="listed").count()
    assert {(r["target"], r["zone"]) for r in results if r["status"] == "listed"} == {
        (f"192.0.2.{n}", zone) for number, zone in enumerate(zones) for n in range(number + 1, 250, 50)}


def test_it_asks_ipv6_targets_only_of_lists_that_answer_ipv6(bl_settings, org):
    make_list(PLAIN)  # IPv4 only
    make_pool(org, "ip", "192.0.2.10", "2001:db8::25")
    emitted = Recorder()

    run = run_blocklist_audit(org, emit=emitted)

    assert set(emitted.results()) == {("192.0.2.10", PLAIN)}
    assert run.counts["ipv6_not_asked"] == 1
    assert not any("f.f.f.f" in q.name or "8.b.d.0" in q.name for q in bl_settings.queries)


def test_it_checks_a_domain_list_with_rfc5782_test_and_invalid(bl_settings, org):
    make_list("rhs.bl.test", kind="domain")
    make_list("silent-rhs.bl.test", kind="domain")
    bl_settings.add_zone_text("rhs.bl.test.", "test A 127.0.0.2\nspammy.example.test A 127.0.0.2\n")
    bl_settings.add_zone_text("silent-rhs.bl.test.", "spammy.example.test A 127.0.0.2\n")
    make_pool(org, "domain", "spammy.example.test", "clean.example.test")
    emitted = Recorder()

    run_blocklist_audit(org, emit=emitted)

    health = emitted.health()
    assert health["rhs.bl.test"]["health"] == "ok"
    assert health["silent-rhs.bl.test"] == {"zone": "silent-rhs.bl.test", "health": "dead",
                                            "reason": "test point test is not listed: the list is dead or refusing us"}
    assert {(t, z): r["status"] for (t, z), r in emitted.results().items()} == {
        ("spammy.example.test", "rhs.bl.test"): "listed", ("clean.example.test", "rhs.bl.test"): "clean"}
    assert {"test.rhs.bl.test.", "invalid.rhs.bl.test."} <= {q.name for q in bl_settings.queries}
