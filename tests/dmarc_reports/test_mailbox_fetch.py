"""A pass over a real Dovecot mailbox: every report imported once, every message filed, none lost."""

import gzip
import re

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from dmarc_reports.importing import import_file
from dmarc_reports.mailbox_fetch import fetch_mailbox, poll_mailboxes
from dmarc_reports.models import AggregateReport, IncomingFile, TlsReport
from dmarc_reports.models_mailbox import Mailbox
from monitor.models import Alert
from tests.dmarc_reports.conftest import Account, start_dovecot
from tests.dmarc_reports.mailbox_messages import (
    AGGREGATE, EXPECTED, NICE, OTHER_MAILS, REPORT_MAILS, corpus, mail, normalised,
)
from tests.harness.dovecot import free_port


def stored(org):
    return {"aggregate": AggregateReport.objects.filter(organization=org).count(),
            "tls": TlsReport.objects.filter(organization=org).count()}


def message_statuses(result) -> dict:
    return {status: n for status, n in result.counts.items() if n}


def test_it_imports_every_wrapping_once_and_files_every_message(mailbox, imap_account, org):
    for _, raw in REPORT_MAILS + OTHER_MAILS:
        imap_account.append(raw)

    result = fetch_mailbox(mailbox)

    assert result.ok, result.error
    assert message_statuses(result) == {k: EXPECTED[k] for k in ("imported", "duplicate", "rejected")}
    assert stored(org) == {"aggregate": EXPECTED["aggregate"], "tls": EXPECTED["tls"]}
    assert imap_account.messages("INBOX") == []
    processed = sorted(map(normalised, imap_account.messages("Processed")))
    rejected = sorted(map(normalised, imap_account.messages("Rejected")))
    assert processed == sorted(normalised(raw) for _, raw in REPORT_MAILS)
    assert rejected == sorted(normalised(raw) for _, raw in OTHER_MAILS)
    # One JSON line per report found or message refused, named after the message.
    label = re.compile(rf"imap://{imap_account.username}@127\.0\.0\.1:\d+/INBOX;UID=\d+")
    assert all(label.fullmatch(line["file"]) for line in result.lines)
    imported = [line for line in result.lines if line["status"] == "imported"]
    assert len(imported) == EXPECTED["imported"] and {line["org"] for line in imported} == {"acme"}
    assert {line["kind"] for line in imported} == {"aggregate", "tls"}
    assert IncomingFile.objects.filter(via="mailbox").count() == len(REPORT_MAILS) + len(OTHER_MAILS)
    mailbox.refresh_from_db()
    assert mailbox.last_success is not None and mailbox.consecutive_failures == 0
    assert mailbox.last_counts == message_statuses(result)

    again = fetch_mailbox(mailbox)
    assert again.ok and again.lines == [] and not again.counts
    assert stored(org) == {"aggregate": EXPECTED["aggregate"], "tls": EXPECTED["tls"]}


def test_it_files_a_message_whose_reports_were_committed_before_a_crash_as_processed(mailbox, imap_account, org):
    """The state a pass killed between its commit and its move leaves behind: stored, still in INBOX."""
    first = mail("Report Domain: example.com, twice")  # a report beside a broken one
    first.add_attachment(corpus(AGGREGATE / "example.net!example.com!1529366400!1529452799.xml"),
                         maintype="text", subtype="xml", filename="example.net!example.com!1529366400!1529452799.xml")
    first.add_attachment(gzip.compress(corpus(NICE))[:80], maintype="application", subtype="gzip",
                         filename="nice-input.xml.gz")
    imap_account.append(first.as_bytes())
    imap_account.append(REPORT_MAILS[1][1])
    [fetched_first, _] = imap_account.messages("INBOX")
    assert import_file(fetched_first, name=mailbox.label(1), org=org, via="mailbox").status == "imported"
    assert stored(org)["aggregate"] == 1

    result = fetch_mailbox(mailbox)

    assert message_statuses(result) == {"duplicate": 1, "imported": 1}
    assert [line["status"] for line in result.lines[:2]] == ["duplicate", "rejected"]
    assert stored(org)["aggregate"] == 2
    assert imap_account.messages("INBOX") == []
    assert len(imap_account.messages("Processed")) == 2


def test_it_creates_the_folders_it_files_into_with_the_servers_separator(mailbox, imap_account):
    mailbox.processed_folder, mailbox.rejected_folder = "Reports/Done", "Reports/Not reports"
    mailbox.save()
    imap_account.append(REPORT_MAILS[2][1])
    imap_account.append(OTHER_MAILS[0][1])
    assert fetch_mailbox(mailbox).ok
    assert {"Reports.Done", "Reports.Not reports"} <= imap_account.folders()  # Dovecot's maildir separator
    assert len(imap_account.messages("Reports.Done")) == 1
    assert len(imap_account.messages("Reports.Not reports")) == 1


@override_settings(MAILBOX_MAX_MESSAGE_BYTES=20_000)
def test_it_rejects_an_oversize_message_without_reading_it(mailbox, imap_account, org):
    imap_account.append(with_big_attachment := REPORT_MAILS[0][1] + b"\n" + b"x" * 30_000)
    result = fetch_mailbox(mailbox)
    [line] = result.lines
    assert line["status"] == "rejected" and "over the 20000-byte limit" in line["error"]
    assert [normalised(m) for m in imap_account.messages("Rejected")] == [normalised(with_big_attachment)]
    assert not IncomingFile.objects.exists()


def test_it_records_log_in_failures_and_leaves_the_mail_alone(mailbox, imap_account):
    imap_account.append(REPORT_MAILS[2][1])
    mailbox.password = "wrong"
    mailbox.save()
    for attempt in (1, 2, 3):
        result = fetch_mailbox(mailbox)
        assert "log-in refused" in result.error
        mailbox.refresh_from_db()
        assert mailbox.consecutive_failures == attempt
    assert mailbox.failing and "log-in refused" in mailbox.last_error and mailbox.last_success is None
    assert len(imap_account.messages("INBOX")) == 1
    [alert] = Alert.objects.filter(kind=Alert.MAILBOX_FAILING)  # the pass told the alerts
    assert alert.status == Alert.OPEN and alert.key == f"mailbox:{mailbox.pk}"

    mailbox.password = imap_account.password
    mailbox.save()
    assert fetch_mailbox(mailbox).ok
    mailbox.refresh_from_db()
    assert (mailbox.consecutive_failures, mailbox.failing, mailbox.last_error) == (0, False, "")
    alert.refresh_from_db()
    assert alert.status == Alert.RESOLVED


def test_it_records_a_server_that_does_not_answer(org):
    mailbox = Mailbox.objects.create(organization=org, host="127.0.0.1", port=free_port(), security=Mailbox.NONE,
                                     username="u", password="p")
    result = fetch_mailbox(mailbox)
    assert result.error == "connection refused"
    mailbox.refresh_from_db()
    assert mailbox.consecutive_failures == 1 and mailbox.last_error == "connection refused"


def test_it_records_a_missing_password_variable(mailbox, monkeypatch):
    monkeypatch.delenv("NO_SUCH_IMAP_PASSWORD", raising=False)
    mailbox.password, mailbox.password_env = "", "NO_SUCH_IMAP_PASSWORD"
    mailbox.save()
    assert "NO_SUCH_IMAP_PASSWORD" in fetch_mailbox(mailbox).error


def test_it_files_by_copy_and_expunge_on_a_server_without_move(org):
    server = start_dovecot(capabilities="IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE UIDPLUS")
    try:
        account = Account(server, "nomove", server.password)
        account.append(REPORT_MAILS[2][1])
        account.append(OTHER_MAILS[0][1])
        mailbox = Mailbox.objects.create(organization=org, host=server.address, port=server.port,
                                         security=Mailbox.NONE, username="nomove", password=server.password)
        assert message_statuses(fetch_mailbox(mailbox)) == {"imported": 1, "rejected": 1}
        assert server.messages("nomove", "INBOX", include_deleted=True) == []
        assert len(account.messages("Processed")) == 1 and len(account.messages("Rejected")) == 1
    finally:
        server.stop(cleanup=True)


def test_the_schedule_task_polls_the_organisations_mailboxes(mailbox, imap_account, org):
    imap_account.append(REPORT_MAILS[2][1])
    summary = poll_mailboxes(org.pk)
    assert summary == f"{mailbox.label()}: 1 imported"
    assert stored(org)["aggregate"] == 1


def test_the_command_prints_json_lines_and_fails_on_a_broken_mailbox(mailbox, imap_account, capsys, org):
    imap_account.append(REPORT_MAILS[2][1])
    call_command("fetch_mailbox", "--org", "acme", "--json")
    out = capsys.readouterr().out
    import json

    [line] = [json.loads(text) for text in out.splitlines()]
    assert line["status"] == "imported" and line["file"].startswith(f"imap://{imap_account.username}@")
    assert set(line) == {"file", "status", "kind", "org", "report_id", "domain", "records", "messages", "error"}

    imap_account.append(OTHER_MAILS[0][1])
    call_command("fetch_mailbox")
    out = capsys.readouterr().out
    assert "INBOX;UID=" in out and ": rejected (The e-mail holds no DMARC or TLS-RPT report" in out
    assert f"imap://{imap_account.username}@127.0.0.1:{imap_account.server.port}/INBOX: 1 rejected." in out

    mailbox.password = "wrong"
    mailbox.save()
    with pytest.raises(CommandError, match="log-in refused"):
        call_command("fetch_mailbox")
    with pytest.raises(CommandError, match="No organisation 'nope'"):
        call_command("fetch_mailbox", "--org", "nope")
