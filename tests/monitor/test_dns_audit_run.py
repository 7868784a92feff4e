import pytest

from monitor.dns_audit import run_dns_audit
from monitor.models import AuditAlreadyRunning, AuditRun, DnsCheckResult, Pool, PoolMember, changes_in_run
from tests.monitor.dns_audit_helpers import audit_dns, d  # noqa: F401

DOMAIN_CHECKS = {"spf", "dmarc", "mx", "mta_sts", "tls_rpt", "bimi", "dnssec"}


@pytest.fixture
def pools(org):
    domains = Pool.objects.create(organization=org, name="brands", kind=Pool.DOMAIN)
    PoolMember.objects.create(pool=domains, value=d("good"), dkim_selectors=["s2048", "s1024"])
    PoolMember.objects.create(pool=domains, value=d("dmarc-none"))
    other = Pool.objects.create(organization=org, name="more brands", kind=Pool.DOMAIN)
    PoolMember.objects.create(pool=other, value=d("good"), dkim_selectors=["stest"])  # merged with the above
    addresses = Pool.objects.create(organization=org, name="outbound", kind=Pool.IP)
    PoolMember.objects.create(pool=addresses, value="203.0.113.10")
    PoolMember.objects.create(pool=addresses, value="203.0.113.12/31")  # .12 and .13
    return {"domains": domains, "other": other, "addresses": addresses}


def verdicts(run):
    return {(r.target, r.check_name): r.status for r in run.dns_results.all()}


def test_it_audits_every_domain_and_address(audit_dns, org, pools):
    events = []
    run = run_dns_audit(org, emit=events.append)
    assert (run.kind, run.status, run.trigger) == (AuditRun.DNS, AuditRun.SUCCEEDED, AuditRun.COMMAND)
    found = verdicts(run)
    good_checks = {check for target, check in found if target == d("good")}
    assert good_checks == DOMAIN_CHECKS | {"dkim:s2048", "dkim:s1024", "dkim:stest"}
    assert {check for target, check in found if target == d("dmarc-none")} == DOMAIN_CHECKS
    assert found[(d("good"), "spf")] == "ok"
    assert found[(d("good"), "dkim:s1024")] == "warn"
    assert found[(d("dmarc-none"), "dmarc")] == "warn"
    assert found[("203.0.113.10", "fcrdns")] == "ok"
    assert found[("203.0.113.12", "fcrdns")] == "fail"
    assert found[("203.0.113.13", "fcrdns")] == "warn"
    assert len(found) == 10 + 7 + 3
    assert sorted((e["target"], e["check"], e["status"]) for e in events) == sorted(
        (target, check, status) for (target, check), status in found.items()
    )
    assert all(set(e) == {"target", "check", "status", "message"} for e in events)
    kinds = {r.target: r.target_kind for r in run.dns_results.all()}
    assert kinds[d("good")] == "domain" and kinds["203.0.113.10"] == "address"
    assert run.counts["domains"] == 2 and run.counts["addresses"] == 3
    assert sum(run.counts[s] for s in ("ok", "warn", "fail", "error")) == 20


def test_it_audits_only_the_pools_asked_for(audit_dns, org, pools):
    run = run_dns_audit(org, pools=[pools["addresses"]], trigger=AuditRun.MANUAL)
    assert set(verdicts(run)) == {("203.0.113.10", "fcrdns"), ("203.0.113.12", "fcrdns"), ("203.0.113.13", "fcrdns")}
    assert run.trigger == AuditRun.MANUAL


def test_it_gives_every_check_of_a_domain_whose_servers_fail_an_error(audit_dns, org):
    pool = Pool.objects.create(organization=org, name="p", kind=Pool.DOMAIN)
    PoolMember.objects.create(pool=pool, value=d("servfail"), dkim_selectors=["s1"])
    audit_dns.set_fault(d("servfail") + ".", servfail=True)
    run = run_dns_audit(org)
    results = list(run.dns_results.all())
    assert {r.check_name for r in results} == DOMAIN_CHECKS | {"dkim:s1"}
    assert {r.status for r in results} == {"error"}
    assert all("did not answer (SERVFAIL)" in r.message for r in results)
    assert run.status == AuditRun.SUCCEEDED and run.counts["error"] == 8


def test_it_gives_errors_not_failures_when_a_domain_times_out(audit_dns, org):
    pool = Pool.objects.create(organization=org, name="p", kind=Pool.DOMAIN)
    PoolMember.objects.create(pool=pool, value=d("servfail"))
    audit_dns.set_fault(d("servfail") + ".", drop=True)
    run = run_dns_audit(org)
    assert {r.status for r in run.dns_results.all()} == {"error"}
    assert all("timed out" in r.message for r in run.dns_results.all())


def test_it_refuses_to_overlap_a_running_audit(audit_dns, org, pools):
    AuditRun.start(org, AuditRun.DNS)
    with pytest.raises(AuditAlreadyRunning):
        run_dns_audit(org)


def _replace(server, name, rdtype, value):
    server.remove_records(name, rdtype)
    server.add_record(name, rdtype, value)


def test_it_shows_a_changed_record_as_a_change_of_the_run(audit_dns, org, pools):
    first = run_dns_audit(org, pools=[pools["domains"]])
    assert changes_in_run(first) == []  # nothing to compare with yet
    _replace(audit_dns, f"_dmarc.{d('good')}", "TXT", '"v=DMARC1; p=none; rua=mailto:dmarc@dnsaudit.test"')
    second = run_dns_audit(org, pools=[pools["domains"]])

    changes = changes_in_run(second)
    assert [(c.target, c.check) for c in changes] == [(d("good"), "dmarc")]
    change = changes[0]
    assert (change.old_status, change.new_status, change.records_changed) == ("ok", "warn", True)
    assert change.old_records == ["v=DMARC1; p=reject; sp=reject; adkim=s; aspf=s; rua=mailto:dmarc@dnsaudit.test"]
    assert change.new_records == ["v=DMARC1; p=none; rua=mailto:dmarc@dnsaudit.test"]
    assert change.got_worse and not change.got_better

    latest = second.dns_results.get(target=d("good"), check_name="dmarc")
    assert latest.previous().run == first
    assert latest.previous_records() == change.old_records
    assert [r.run_id for r in latest.history()] == [second.pk, first.pk]


def test_it_does_not_mistake_an_unanswered_run_for_removed_records(audit_dns, org, pools):
    run_dns_audit(org, pools=[pools["domains"]])
    audit_dns.set_fault(f"_smtp._tls.{d('good')}.", servfail=True)
    failing = run_dns_audit(org, pools=[pools["domains"]])
    [change] = changes_in_run(failing)
    assert (change.check, change.old_status, change.new_status, change.records_changed) == ("tls_rpt", "ok", "error", False)
    assert not change.got_worse and not change.got_better

    audit_dns.clear_faults()
    recovered = run_dns_audit(org, pools=[pools["domains"]])
    [change] = changes_in_run(recovered)
    assert (change.old_status, change.new_status, change.records_changed) == ("error", "ok", False)
    result = recovered.dns_results.get(target=d("good"), check_name="tls_rpt")
    assert result.previous().status == "error"
    assert result.previous(conclusive=True).status == "ok"


def test_it_lists_changes_in_a_fixed_number_of_queries(audit_dns, org, pools, django_assert_num_queries):
    run_dns_audit(org)
    _replace(audit_dns, d("good"), "TXT", '"v=spf1 ip4:203.0.113.10 +all"')
    run = run_dns_audit(org)
    with django_assert_num_queries(3):
        changes = changes_in_run(run)
    assert [(c.check, c.old_status, c.new_status) for c in changes] == [("spf", "ok", "fail")]


def test_it_keeps_the_checks_of_other_organisations_apart(audit_dns, org, other_org, pools):
    pool = Pool.objects.create(organization=other_org, name="p", kind=Pool.DOMAIN)
    PoolMember.objects.create(pool=pool, value=d("good"))
    mine = run_dns_audit(org)
    theirs = run_dns_audit(other_org)
    assert changes_in_run(theirs) == []
    result = theirs.dns_results.get(target=d("good"), check_name="spf")
    assert result.previous() is None
    assert DnsCheckResult.objects.filter(organization=org).count() == mine.dns_results.count()


def test_it_loads_a_demo_history_once(org, pools):
    from monitor.dns_audit.demo import WEEKS, load_dns_history

    said = load_dns_history(org)
    assert said.startswith(f"DNS audits: {WEEKS} weekly runs")
    runs = list(AuditRun.objects.filter(organization=org, kind=AuditRun.DNS).order_by("started"))
    assert len(runs) == WEEKS
    changed = {(c.target, c.check) for run in runs for c in changes_in_run(run)}
    assert (d("good"), "dmarc") in changed and (d("good"), "spf") in changed
    assert load_dns_history(org) == "DNS audits: history already there"
    assert AuditRun.objects.filter(organization=org, kind=AuditRun.DNS).count() == WEEKS
