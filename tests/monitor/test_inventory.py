import pytest
from django.core.management import CommandError, call_command

from monitor.models import Membership, Organization, Pool

pytestmark = pytest.mark.django_db

GOOD = """
[[organization]]
slug = "acme"
name = "Acme Mail"
alert_emails = ["deliverability@acme.example"]
[[member]]
organization = "acme"
username = "dana"
email = "dana@acme.example"
role = "admin"
[[pool]]
organization = "acme"
name = "transactional-eu"
kind = "ip"
tags = ["brand:acme", "region:eu"]
members = ["192.0.2.0/28", "192.0.2.77", "2001:db8::25"]
[[pool]]
organization = "acme"
name = "sending-domains"
kind = "domain"
members = ["acme.example", "news.acme.example"]
dkim_selectors = { "acme.example" = ["s1", "s2"] }
"""


def write(tmp_path, text, name="inventory.toml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_it_loads_an_inventory(tmp_path, capsys):
    call_command("load_inventory", write(tmp_path, GOOD))
    org = Organization.objects.get(slug="acme")
    assert org.alert_emails == ["deliverability@acme.example"]
    assert Membership.objects.get(user__username="dana").role == "admin"
    ips = Pool.objects.get(name="transactional-eu")
    assert sorted(ips.members.values_list("value", flat=True)) == ["192.0.2.0/28", "192.0.2.77", "2001:db8::25"]
    domains = Pool.objects.get(name="sending-domains")
    assert domains.members.get(value="acme.example").dkim_selectors == ["s1", "s2"]
    assert "change(s) applied" in capsys.readouterr().out


def test_it_is_idempotent(tmp_path, capsys):
    path = write(tmp_path, GOOD)
    call_command("load_inventory", path)
    capsys.readouterr()
    call_command("load_inventory", path)
    assert "0 change(s) applied" in capsys.readouterr().out
    assert Pool.objects.count() == 2 and Membership.objects.count() == 1


def test_it_updates_and_removes_members(tmp_path):
    call_command("load_inventory", write(tmp_path, GOOD))
    changed = GOOD.replace('"192.0.2.77", ', "").replace('role = "admin"', 'role = "viewer"')
    call_command("load_inventory", write(tmp_path, changed))
    assert not Pool.objects.get(name="transactional-eu").members.filter(value="192.0.2.77").exists()
    assert Membership.objects.get(user__username="dana").role == "viewer"


@pytest.mark.parametrize(
    "change, message",
    [
        (('kind = "ip"', 'kind = "ip"\ncolour = "red"'), "unknown key(s) 'colour'"),
        (('"192.0.2.77"', '"192.0.2.777"'), "member '192.0.2.777' is not an IP address or CIDR range"),
        (('"192.0.2.0/28"', '"192.0.2.0/40"'), "'192.0.2.0/40' is not an IP address"),
        (('organization = "acme"\nname = "sending-domains"', 'organization = "nope"\nname = "sending-domains"'),
         "unknown organization 'nope'"),
        (('role = "admin"', 'role = "boss"'), "role 'boss' is not one of"),
        (('"acme.example" = ["s1", "s2"]', '"other.example" = ["s1"]'), "not a member of this pool"),
        (('name = "Acme Mail"', 'name = "Acme Mail"\nwebhook_url = "http://169.254.169.254/latest/"'),
         "webhook_url 'http://169.254.169.254/latest/': 169.254.169.254 is not a public address"),
    ],
)
def test_it_refuses_bad_input_naming_file_entry_and_problem_and_changes_nothing(tmp_path, change, message):
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(CommandError) as info:
        call_command("load_inventory", path)
    text = str(info.value)
    assert path in text and message in text and "[[" in text
    assert "Nothing was changed" in text
    assert Organization.objects.count() == 0 and Pool.objects.count() == 0


def test_it_refuses_invalid_toml_and_unknown_sections(tmp_path):
    with pytest.raises(CommandError, match="not valid TOML"):
        call_command("load_inventory", write(tmp_path, "[[pool]\n"))
    with pytest.raises(CommandError, match="unknown key 'pools'"):
        call_command("load_inventory", write(tmp_path, "[[pools]]\nname='x'\n"))
