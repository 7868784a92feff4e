"""The [[blocklist]] inventory section, blocklists_exclusive, and the shipped catalogue."""

import pytest

from monitor.blocklists.catalogue import catalogue_entries, clean_entry, load_catalogue, read_catalogue
from monitor.inventory import InventoryError, load_inventory
from monitor.models.blocklists import Blocklist

pytestmark = pytest.mark.django_db

INVENTORY = """
blocklists_exclusive = true

[[blocklist]]
zone = "zen.spamhaus.org"
key = "dqskey123"

[[blocklist]]
zone = "dbl.spamhaus.org"

[[blocklist]]
zone = "BL.Example.NET."
kind = "ip"
name = "Example BL"
delist_url = "https://example.net/remove?ip={target}"
codes = { "127.0.0.2" = "spam source", "127.0.0.3" = "open proxy" }
severity = "low"
rate = 20
"""


def write(tmp_path, text):
    path = tmp_path / "inventory.toml"
    path.write_text(text)
    return path


def test_it_ships_the_catalogue_and_loads_it_idempotently():
    assert load_catalogue() == (len(catalogue_entries()), 0)
    assert load_catalogue() == (0, 0), "loading again changes nothing"
    zones = set(Blocklist.objects.values_list("zone", flat=True))
    assert {"zen.spamhaus.org", "dbl.spamhaus.org", "bl.spamcop.net", "b.barracudacentral.org",
            "dnsbl-1.uceprotect.net", "dnsbl-2.uceprotect.net", "dnsbl-3.uceprotect.net", "psbl.surriel.com",
            "bl.mailspike.net", "dnsbl.dronebl.org", "all.s5h.net", "bl.0spam.org", "ips.backscatterer.org",
            "spam.spamrats.com", "multi.surbl.org", "multi.uribl.com"} <= zones
    dead_or_not_blocklists = {e["zone"] for e in read_catalogue()["retired"] + read_catalogue()["not_a_blocklist"]}
    assert not zones & dead_or_not_blocklists
    assert {"dnsbl.sorbs.net", "ix.dnsbl.manitu.net", "dnsbl.ahbl.org"} <= dead_or_not_blocklists
    zen = Blocklist.objects.get(zone="zen.spamhaus.org")
    assert zen.codes["127.0.0.10"].startswith("PBL") and zen.ipv6 and zen.severity == "high"
    assert "DQS" in zen.notes and zen.key_zone == "{key}.zen.dq.spamhaus.net"
    assert "registered" in Blocklist.objects.get(zone="b.barracudacentral.org").notes
    assert {b.severity for b in Blocklist.objects.filter(zone__in=["dnsbl-2.uceprotect.net", "dnsbl-3.uceprotect.net"])} == {"low"}
    assert Blocklist.objects.get(zone="multi.surbl.org").bitmask and Blocklist.objects.get(zone="multi.uribl.com").bitmask
    assert Blocklist.objects.get(zone="multi.uribl.com").error_codes == {
        "127.0.0.1": "refused: URIBL refused the query (use your own resolver)"}
    assert all(b.delist_url.startswith("https://") for b in Blocklist.objects.all())


def test_it_keeps_operator_choices_and_disables_retired_lists_on_reload():
    load_catalogue()
    Blocklist.objects.filter(zone="bl.spamcop.net").update(enabled=False, severity="low", codes={})
    Blocklist.objects.create(zone="dnsbl.sorbs.net", name="SORBS", kind="ip")

    load_catalogue()

    spamcop = Blocklist.objects.get(zone="bl.spamcop.net")
    assert not spamcop.enabled and spamcop.severity == "low", "operator choices kept"
    assert spamcop.codes == {"127.0.0.2": "Listed: reported as a spam source to SpamCop"}, "descriptions refreshed"
    assert not Blocklist.objects.get(zone="dnsbl.sorbs.net").enabled


def test_it_applies_blocklist_entries_and_exclusive(tmp_path):
    load_catalogue()

    changes = load_inventory(write(tmp_path, INVENTORY))

    zen = Blocklist.objects.get(zone="zen.spamhaus.org")
    assert zen.key == "dqskey123" and zen.query_zone == "dqskey123.zen.dq.spamhaus.net"
    assert zen.name == "Spamhaus ZEN", "name and kind come from the catalogue when left out"
    example = Blocklist.objects.get(zone="bl.example.net")
    assert (example.name, example.kind, example.severity, example.rate, example.source) == (
        "Example BL", "ip", "low", 20, "inventory")
    assert example.delist_link("192.0.2.1") == "https://example.net/remove?ip=192.0.2.1"
    assert example.meanings(["127.0.0.3"]) == ["open proxy"]
    enabled = set(Blocklist.objects.filter(enabled=True).values_list("zone", flat=True))
    assert enabled == {"zen.spamhaus.org", "dbl.spamhaus.org", "bl.example.net"}
    assert "blocklist bl.example.net: created" in changes
    assert any(c.startswith("blocklists_exclusive:") for c in changes)
    assert not any("dqskey123" in c for c in changes), "the key is not echoed"

    assert load_inventory(write(tmp_path, INVENTORY)) == [], "loading again changes nothing"


def test_it_leaves_other_lists_alone_without_exclusive(tmp_path):
    load_catalogue()
    before = Blocklist.objects.filter(enabled=True).count()
    load_inventory(write(tmp_path, INVENTORY.replace("blocklists_exclusive = true", "blocklists_exclusive = false")))
    assert Blocklist.objects.filter(enabled=True).count() == before + 1


@pytest.mark.parametrize(
    "entry, problem",
    [
        ('zone = "bl.example.net"\nname = "X"', "'kind' is required"),
        ('zone = "bl.example.net"\nname = "X"\nkind = "asn"', "kind 'asn' is not"),
        ('zone = "bl.example.net"\nname = "X"\nkind = "ip"\ncodes = { "spam" = "x" }', "'spam' is not an IPv4 address"),
        ('zone = "bl.example.net"\nname = "X"\nkind = "ip"\nseverity = "urgent"', "severity 'urgent'"),
        ('zone = "bl.example.net"\nname = "X"\nkind = "ip"\ndelist_url = "ftp://x/{target}"', "must be an http(s) URL"),
        ('zone = "bl.example.net"\nname = "X"\nkind = "ip"\nkey_zone = "dq.example.net"', "must contain {key}"),
        ('zone = "bl.example.net"\nname = "X"\nkind = "domain"\nbitmask = true\ncodes = { "127.0.0.6" = "x" }',
         "not a single bit"),
        ('zone = "bl.example.net"\nname = "X"\nkind = "ip"\nrate = -1', "'rate' must be a number >= 0"),
        ('zone = "bl.example.net"\nname = "X"\nkind = "ip"\nlisted = true', "unknown key(s) 'listed'"),
        ('zone = "rep.mailspike.net"\nname = "X"\nkind = "ip"', "not a blocklist"),
        ('zone = "white.uribl.com"\nname = "X"\nkind = "domain"', "allow-list"),
        ('zone = "not a zone"\nname = "X"\nkind = "ip"', "is not a DNS zone name"),
    ],
)
def test_it_refuses_bad_entries_and_changes_nothing(tmp_path, entry, problem):
    text = '[[blocklist]]\nzone = "ok.example.net"\nname = "OK"\nkind = "ip"\n\n[[blocklist]]\n' + entry + "\n"
    with pytest.raises(InventoryError) as error:
        load_inventory(write(tmp_path, text))
    assert problem in str(error.value) and "[[blocklist]] #2" in str(error.value)
    assert not Blocklist.objects.exists(), "nothing was applied"


def test_it_refuses_a_non_boolean_exclusive(tmp_path):
    with pytest.raises(InventoryError, match="must be true or false"):
        load_inventory(write(tmp_path, 'blocklists_exclusive = "yes"\n'))


def test_it_warns_about_a_retired_list_but_lets_health_checks_judge_it(tmp_path):
    changes = load_inventory(write(tmp_path, '[[blocklist]]\nzone = "ix.dnsbl.manitu.net"\nname = "NiX"\nkind = "ip"\n'))
    assert any("NiX Spam closed" in c for c in changes)
    assert Blocklist.objects.get(zone="ix.dnsbl.manitu.net").enabled


def test_it_validates_every_shipped_entry():
    for entry in read_catalogue()["blocklist"]:
        fields = clean_entry(entry)
        assert fields["codes"], f"{entry['zone']} documents its return codes"
        assert fields["kind"] in ("ip", "domain")
