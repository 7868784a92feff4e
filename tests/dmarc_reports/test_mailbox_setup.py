"""Configuring mailboxes: the inventory, the admin (write-only passwords), the status page, the schedule."""

import ast
import socket
import subprocess
import sys
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_q.models import Schedule

from dmarc_reports.models_mailbox import Mailbox
from monitor.schedules import sync_schedules

INVENTORY = """
[[organization]]
slug = "acme"
name = "Acme Mail"
[[mailbox]]
organization = "acme"
host = "imap.acme.example"
username = "dmarc@acme.example"
password_env = "ACME_IMAP_PASSWORD"
processed_folder = "Reports/Done"
[[mailbox]]
organization = "acme"
host = "127.0.0.1"
port = 1143
security = "none"
username = "tls-reports"
password = "in-the-file"
folder = "TLS"
"""


def load(tmp_path, text, capsys=None):
    path = tmp_path / "inventory.toml"
    path.write_text(text)
    call_command("load_inventory", str(path))
    return capsys.readouterr().out if capsys else None


@pytest.mark.django_db
def test_it_loads_mailboxes_from_the_inventory_idempotently(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ACME_IMAP_PASSWORD", "from-the-environment")
    out = load(tmp_path, INVENTORY, capsys)
    assert out.count("mailbox acme/") == 2
    first = Mailbox.objects.get(username="dmarc@acme.example")
    assert (first.security, first.effective_port, first.folder) == ("tls", 993, "INBOX")
    assert first.processed_folder == "Reports/Done" and first.rejected_folder == "Rejected"
    assert first.password == "" and first.secret() == "from-the-environment"
    second = Mailbox.objects.get(username="tls-reports")
    assert second.secret() == "in-the-file" and second.label(7) == "imap://tls-reports@127.0.0.1:1143/TLS;UID=7"
    assert "0 change(s) applied" in load(tmp_path, INVENTORY, capsys)
    changed = load(tmp_path, INVENTORY.replace("in-the-file", "rotated"), capsys)
    assert "updated password (not shown)" in changed and "rotated" not in changed
    assert Mailbox.objects.get(username="tls-reports").password == "rotated"


@pytest.mark.django_db
@pytest.mark.parametrize("change, problem", [
    (('password_env = "ACME_IMAP_PASSWORD"', 'password_env = "X"\npassword = "y"'), "not both"),
    (('password_env = "ACME_IMAP_PASSWORD"\n', ""), "'password_env'"),
    (('host = "imap.acme.example"', 'host = "imap.acme.example"\nsecurity = "none"'), "only for loopback hosts"),
    (('host = "imap.acme.example"', 'host = "imap.acme.example"\nsecurity = "ssl"'), "not one of tls, starttls"),
    (('processed_folder = "Reports/Done"', 'processed_folder = "INBOX"'), "Must differ from the folder"),
    (('port = 1143', 'port = "1143"'), "'port' must be a number"),
    (('password_env = "ACME_IMAP_PASSWORD"', 'password_env = "$ACME"'), "An environment variable name"),
    (('folder = "TLS"', 'folder = "Rapports reçus"'), "printable ASCII"),
    (('host = "imap.acme.example"', 'host = "imap.acme.example"\nfolders = "x"'), "unknown key(s) 'folders'"),
])
def test_it_refuses_bad_mailbox_entries_and_changes_nothing(tmp_path, change, problem):
    old, new = change
    assert old in INVENTORY
    with pytest.raises(CommandError) as caught:
        load(tmp_path, INVENTORY.replace(old, new, 1))
    assert problem in str(caught.value) and "[[mailbox]]" in str(caught.value)
    assert not Mailbox.objects.exists()


@pytest.mark.django_db
def test_it_says_when_the_password_variable_is_missing(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("ACME_IMAP_PASSWORD", raising=False)
    assert "$ACME_IMAP_PASSWORD is not set here" in load(tmp_path, INVENTORY, capsys)
    with pytest.raises(ValueError, match="ACME_IMAP_PASSWORD"):
        Mailbox.objects.get(username="dmarc@acme.example").secret()


def test_it_allows_no_tls_only_on_loopback(org):
    mailbox = Mailbox(organization=org, host="imap.example.com", security=Mailbox.NONE, username="u", password="p")
    with pytest.raises(ValidationError, match="loopback"):
        mailbox.full_clean()
    for host in ("127.0.0.1", "localhost", "::1"):
        mailbox.host = host
        mailbox.full_clean()


@pytest.fixture
def admin_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.test", "s3cret-pass!")
    client.force_login(admin)
    return client


def test_it_never_shows_a_password_in_the_admin_and_keeps_it_when_left_empty(admin_client, org):
    mailbox = Mailbox.objects.create(organization=org, host="imap.acme.example", username="u", password="hunter2-secret")
    url = f"/admin/dmarc_reports/mailbox/{mailbox.pk}/change/"
    page = admin_client.get(url)
    assert page.status_code == 200
    assert b"hunter2-secret" not in page.content
    form = {
        "organization": org.pk, "host": "imap2.acme.example", "port": "", "security": "tls", "username": "u",
        "password": "", "password_env": "", "folder": "INBOX", "processed_folder": "Processed",
        "rejected_folder": "Rejected", "enabled": "on",
    }
    response = admin_client.post(url, form)
    assert response.status_code == 302, response.content
    mailbox.refresh_from_db()
    assert (mailbox.host, mailbox.password) == ("imap2.acme.example", "hunter2-secret")
    admin_client.post(url, {**form, "password": "new-one"})
    mailbox.refresh_from_db()
    assert mailbox.password == "new-one"
    admin_client.post(url, {**form, "password_env": "ACME_PW"})
    mailbox.refresh_from_db()
    assert (mailbox.password, mailbox.password_env) == ("", "ACME_PW")


def test_it_needs_a_password_for_a_new_mailbox_in_the_admin(admin_client, org):
    response = admin_client.post("/admin/dmarc_reports/mailbox/add/", {
        "organization": org.pk, "host": "imap.acme.example", "port": "", "security": "tls", "username": "u",
        "password": "", "password_env": "", "folder": "INBOX", "processed_folder": "Processed",
        "rejected_folder": "Rejected", "enabled": "on",
    })
    assert response.status_code == 200
    assert b"A password (or the name of an environment variable holding it) is needed." in response.content
    assert not Mailbox.objects.exists()


def test_it_shows_members_their_mailboxes_status_but_no_password(viewer_client, org, other_org):
    ours = Mailbox.objects.create(organization=org, host="imap.acme.example", username="reports", password="pw-acme-1")
    ours.record_failure("connection refused")
    ours.record_failure("connection refused")
    ours.record_failure("log-in refused for reports: [AUTHENTICATIONFAILED] Authentication failed.")
    assert ours.failing and ours.consecutive_failures == 3
    Mailbox.objects.create(organization=other_org, host="imap.globex.example", username="theirs", password="pw-globex")
    page = viewer_client.get("/mailboxes/")
    text = page.content.decode()
    assert "imap://reports@imap.acme.example/INBOX" in text
    assert "failing" in text and "AUTHENTICATIONFAILED" in text
    assert "theirs" not in text and "pw-acme-1" not in text


def test_it_clears_the_failure_count_after_a_good_pass(org):
    mailbox = Mailbox.objects.create(organization=org, host="imap.acme.example", username="u", password="p")
    for _ in range(4):
        mailbox.record_failure("connection refused")
    mailbox.record_success({"imported": 2})
    mailbox.refresh_from_db()
    assert (mailbox.consecutive_failures, mailbox.failing, mailbox.last_error) == (0, False, "")
    assert mailbox.last_counts == {"imported": 2} and mailbox.last_success is not None


def test_it_lets_one_pass_hold_a_mailbox_at_a_time(org):
    mailbox = Mailbox.objects.create(organization=org, host="imap.acme.example", username="u", password="p")
    assert mailbox.claim()
    assert not Mailbox.objects.get(pk=mailbox.pk).claim()
    mailbox.release()
    assert mailbox.claim()


def test_it_takes_over_a_mailbox_from_a_pass_that_died_on_this_machine(org):
    mailbox = Mailbox.objects.create(organization=org, host="imap.acme.example", username="u", password="p")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    Mailbox.objects.filter(pk=mailbox.pk).update(
        busy_until=timezone.now() + timedelta(minutes=10), busy_by=f"{socket.gethostname()}:{dead.stdout.strip()}"
    )
    assert mailbox.claim()
    Mailbox.objects.filter(pk=mailbox.pk).update(busy_by="another-host:1")  # alive as far as we can tell
    assert not mailbox.claim()


def test_it_schedules_polling_for_organisations_with_enabled_mailboxes(org, other_org):
    assert not Schedule.objects.filter(name="monitor:mailboxes:acme").exists()
    mailbox = Mailbox.objects.create(organization=org, host="imap.acme.example", username="u", password="p")
    schedule = Schedule.objects.get(name="monitor:mailboxes:acme")
    assert schedule.func == "dmarc_reports.mailbox_fetch.poll_mailboxes"
    assert ast.literal_eval(schedule.kwargs) == {"org_id": org.pk}  # django-q2 keeps kwargs as text
    assert schedule.cron == "*/15 * * * *"
    sync_schedules()
    assert Schedule.objects.filter(name="monitor:mailboxes:acme").count() == 1
    assert not Schedule.objects.filter(name="monitor:mailboxes:globex").exists()
    mailbox.enabled = False
    mailbox.save()
    assert not Schedule.objects.filter(name="monitor:mailboxes:acme").exists()
