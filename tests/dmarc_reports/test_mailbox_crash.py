"""A real crash: ``manage.py fetch_mailbox`` killed with SIGKILL mid-pass loses and doubles nothing.

The commands run as subprocesses on a database file of their own (the test's database lives in
this process), against the session's Dovecot. Where the kill lands is up to the scheduler (in
practice while a message is being read or stored); the exact state a kill between a commit and
its move leaves behind is set up deterministically in ``test_mailbox_fetch``.
"""

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from tests.dmarc_reports.mailbox_messages import EXPECTED, OTHER_MAILS, REPORT_MAILS, normalised

ROOT = Path(__file__).resolve().parents[2]
KILL_AFTER_LINES = 2

INVENTORY = """
[[organization]]
slug = "acme"
name = "Acme Mail"
[[mailbox]]
organization = "acme"
host = "127.0.0.1"
port = {port}
security = "none"
username = "{username}"
password_env = "TEST_IMAP_PASSWORD"
"""

COUNT = (
    "import json; from dmarc_reports.models import AggregateReport, TlsReport; "
    "print(json.dumps({'aggregate': AggregateReport.objects.count(), 'tls': TlsReport.objects.count(), "
    "'ids': sorted(AggregateReport.objects.values_list('report_id', flat=True)) "
    "+ sorted(TlsReport.objects.values_list('report_id', flat=True))}))"
)


def manage(env, *args, **options):
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, **options)


def test_it_loses_and_doubles_nothing_when_a_pass_is_killed(tmp_path, imap_account):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/crash.sqlite3", "REDIS_URL": "",
           "DJANGO_SETTINGS_MODULE": "tests.dmarc_reports.subprocess_settings",
           "TEST_IMAP_PASSWORD": imap_account.password, "PYTHONUNBUFFERED": "1"}
    done = manage(env, "migrate", "--run-syncdb", "-v0")
    assert done.returncode == 0, done.stderr
    inventory = tmp_path / "inventory.toml"
    inventory.write_text(INVENTORY.format(port=imap_account.server.port, username=imap_account.username))
    done = manage(env, "load_inventory", str(inventory))
    assert done.returncode == 0, done.stderr
    everything = REPORT_MAILS + OTHER_MAILS
    for _, raw in everything:
        imap_account.append(raw)

    first = subprocess.Popen([sys.executable, "manage.py", "fetch_mailbox", "--json"], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    first_lines = []
    try:
        for text in first.stdout:
            first_lines.append(json.loads(text))
            if len(first_lines) == KILL_AFTER_LINES:
                os.kill(first.pid, signal.SIGKILL)
                break
    finally:
        first.stdout.close()
        first.stderr.close()
        first.wait(timeout=60)
    assert first.returncode == -signal.SIGKILL
    left = imap_account.messages("INBOX")
    assert 0 < len(left) < len(everything), "the kill was meant to land mid-pass"

    second = manage(env, "fetch_mailbox", "--json")
    assert second.returncode == 0, second.stderr
    second_lines = [json.loads(text) for text in second.stdout.splitlines()]

    # Nothing lost: every message filed once, and the right way.
    assert imap_account.messages("INBOX") == []
    assert sorted(map(normalised, imap_account.messages("Processed"))) == sorted(normalised(m) for _, m in REPORT_MAILS)
    assert sorted(map(normalised, imap_account.messages("Rejected"))) == sorted(normalised(m) for _, m in OTHER_MAILS)
    # Nothing doubled: each report stored once, whatever the kill interrupted.
    counts = json.loads(manage(env, "shell", "-c", COUNT).stdout.splitlines()[-1])
    assert (counts["aggregate"], counts["tls"]) == (EXPECTED["aggregate"], EXPECTED["tls"])
    assert len(counts["ids"]) == len(set(counts["ids"]))
    # Every message reported once over both passes (one killed after its commit would say "duplicate").
    statuses = Counter(line["status"] for line in first_lines + second_lines)
    assert statuses["imported"] + statuses["duplicate"] == EXPECTED["imported"] + EXPECTED["duplicate"]
    assert statuses["rejected"] == EXPECTED["rejected"]
    # The second pass picked up where the first stopped, without reading filed messages again.
    assert {line["file"] for line in second_lines}.isdisjoint({line["file"] for line in first_lines})
