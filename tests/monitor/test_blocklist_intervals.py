"""Listings as intervals: opened by "listed", kept open by "listed" again, closed by "clean";
an error neither opens nor closes one. And what the UI and alerts read from a run."""

import pytest

from monitor.blocklists.audit import run_blocklist_audit
from monitor.blocklists.status import run_changes
from monitor.models.blocklists import Blocklist, Listing

from tests.monitor.blocklist_fixtures import PLAIN, Recorder, bl_settings, make_list, make_pool  # noqa: F401

pytestmark = pytest.mark.django_db
LISTED_NAME = "10.2.0.192.plain.bl.test."


def test_it_opens_keeps_and_closes_a_listing(bl_settings, org):
    make_list(PLAIN)
    make_pool(org, "ip", "192.0.2.10", "192.0.2.30")

    first = run_blocklist_audit(org)
    [listing] = Listing.objects.all()
    assert (listing.target, listing.first_run, listing.last_run, listing.cleared) == ("192.0.2.10", first, first, None)
    assert listing.reason == "plain.bl.test lists 192.0.2.10" and listing.codes == ["127.0.0.2"]
    assert run_changes(first) == {"newly_listed": [listing], "still_listed": [], "cleared": [], "errors": []}

    second = run_blocklist_audit(org)
    [listing] = Listing.objects.all()
    assert listing.first_run == first and listing.last_run == second and listing.cleared is None
    assert listing.last_seen > listing.first_seen
    assert run_changes(second)["still_listed"] == [listing] and not run_changes(second)["newly_listed"]

    bl_settings.remove_records(LISTED_NAME)
    third = run_blocklist_audit(org)
    [listing] = Listing.objects.all()
    assert listing.cleared is not None and listing.cleared_run == third and listing.last_run == second
    assert run_changes(third)["cleared"] == [listing]
    assert third.counts["cleared"] == 1 and third.counts["clean"] == 2

    bl_settings.add_record(LISTED_NAME, "A", "127.0.0.2")
    fourth = run_blocklist_audit(org)
    assert Listing.objects.count() == 2, "listed again: a new interval, the old one stays closed"
    assert Listing.objects.get(cleared__isnull=True).first_run == fourth


def test_it_neither_opens_nor_closes_on_an_error(bl_settings, org):
    make_list(PLAIN)
    make_pool(org, "ip", "192.0.2.10", "192.0.2.30")
    first = run_blocklist_audit(org)
    [listing] = Listing.objects.all()

    bl_settings.set_fault(LISTED_NAME, drop=True)
    bl_settings.add_record("30.2.0.192.plain.bl.test.", "A", "127.255.255.255")
    erring = run_blocklist_audit(org)

    assert erring.counts["error"] == 2 and erring.counts["listed"] == 0
    [same] = Listing.objects.all()
    assert same.pk == listing.pk and same.cleared is None and same.last_run == first, "an error does not close"
    assert not Listing.objects.filter(target="192.0.2.30").exists(), "a refusal code does not open"
    changes = run_changes(erring)
    assert {(r.target, r.status) for r in changes["errors"]} == {("192.0.2.10", "error"), ("192.0.2.30", "error")}
    assert not changes["cleared"] and not changes["newly_listed"]


def test_it_keeps_intervals_per_organisation(bl_settings, org, other_org):
    make_list(PLAIN)
    make_pool(org, "ip", "192.0.2.10")
    make_pool(other_org, "ip", "192.0.2.10")
    run_blocklist_audit(org)
    run_blocklist_audit(other_org)
    assert Listing.objects.filter(target="192.0.2.10", cleared__isnull=True).count() == 2

    bl_settings.remove_records(LISTED_NAME)
    run_blocklist_audit(org)
    assert Listing.objects.get(organization=org).cleared is not None
    assert Listing.objects.get(organization=other_org).cleared is None, "only the audited organisation's closes"


def test_it_answers_when_and_how_long_a_target_was_listed(bl_settings, org):
    make_list(PLAIN)
    make_pool(org, "ip", "192.0.2.10")
    run_blocklist_audit(org)
    bl_settings.remove_records(LISTED_NAME)
    run_blocklist_audit(org)

    [listing] = Listing.objects.filter(organization=org, target="192.0.2.10", blocklist__zone=PLAIN)
    assert listing.cleared >= listing.first_seen
    assert listing.duration == listing.cleared - listing.first_seen


def test_it_loads_demo_history_once(org):
    from monitor.blocklists.demo import WEEKS, load_demo_history
    from monitor.blocklists.status import current_listings, last_health
    from monitor.models import AuditRun

    make_pool(org, "ip", "192.0.2.0/28", "192.0.2.77")
    make_pool(org, "domain", "acme.example")

    said = load_demo_history(org)

    assert said == f"blocklists: {WEEKS} weekly runs, 7 listing intervals"
    assert AuditRun.objects.filter(organization=org, kind="blocklist", status="succeeded").count() == WEEKS
    [still] = current_listings(org)
    assert still.blocklist.zone == "dnsbl-1.uceprotect.net" and still.target == "192.0.2.2"
    cleared = Listing.objects.filter(organization=org, cleared__isnull=False)
    assert cleared.count() == 6 and all(l.first_seen < l.last_seen or l.first_seen == l.last_seen for l in cleared)
    run, health = last_health(org)
    assert {h.blocklist.zone for h in health if h.health != "ok"} == {"b.barracudacentral.org"}
    catalogue = {b.zone: (b.health, b.health_checked) for b in Blocklist.objects.filter(enabled=True)}
    assert {zone for zone, (state, _) in catalogue.items() if state != "ok"} == {"b.barracudacentral.org"}
    assert {checked for _, checked in catalogue.values()} == {run.started}  # as the last run left the lists
    assert load_demo_history(org) == "blocklists: demo history already there"
    assert Listing.objects.count() == 7


def test_it_hands_each_run_to_the_alerts(bl_settings, org):
    from monitor.models import Alert

    make_list(PLAIN)
    make_list("everything.bl.test")
    make_pool(org, "ip", "192.0.2.10")

    run_blocklist_audit(org)

    listed = Alert.objects.get(organization=org, kind=Alert.LISTED)
    assert listed.key == "192.0.2.10|plain.bl.test" and listed.status == Alert.OPEN
    assert Alert.objects.get(organization=org, kind=Alert.LIST_HEALTH).key == "everything.bl.test"

    bl_settings.remove_records(LISTED_NAME)
    run_blocklist_audit(org)
    listed.refresh_from_db()
    assert listed.status == Alert.RESOLVED
