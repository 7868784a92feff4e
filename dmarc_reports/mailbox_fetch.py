"""One pass over an IMAP mailbox: import every message, then file it away (issue: hands-free ingestion).

For each message of the polled folder, one at a time, in UID order:

1. fetch it (without marking it read);
2. hand its bytes to ``import_file`` (the upload pipeline, ``via="mailbox"``), which commits;
3. only then move it: to the processed folder when a report in it was imported or was known
   already (a duplicate), to the rejected folder when nothing in it was usable. Never deleted.

A pass killed between 2 and 3 leaves the message where it was; the next pass finds its reports
already stored (duplicates) and moves it to the processed folder, so nothing is lost or doubled.
A message the pipeline fails on (a bug, the database gone) stays in place and is tried again on the
next pass; the pass stops after ``MAX_ERRORS_IN_A_ROW`` such messages.

Connection, log-in and server errors end the pass and are recorded on the mailbox
(``consecutive_failures``, ``last_error``); a pass that finishes records its counts. Either way the
alerts hear of it (``monitor.alerts.evaluate.after_mailbox_pass``: an alert once ``Mailbox.failing``).
"""

import imaplib
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from django.conf import settings

from dmarc_reports.imap import ImapClient, ImapError, describe
from dmarc_reports.models_mailbox import Mailbox
from monitor import schedules

log = logging.getLogger(__name__)

MAX_ERRORS_IN_A_ROW = 3
CONNECTION_ERRORS = (ImapError, imaplib.IMAP4.error, OSError, EOFError)  # see ``imap.describe``


def max_message_bytes() -> int:
    return settings.MAILBOX_MAX_MESSAGE_BYTES


@dataclass
class PassResult:
    mailbox: Mailbox
    lines: list[dict] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)  # per message: imported, duplicate, rejected, error
    error: str = ""  # why the pass stopped early ("" when it went through the folder)

    @property
    def ok(self) -> bool:
        return not self.error


def fetch_mailbox(mailbox: Mailbox, *, on_line: Callable[[dict], None] | None = None) -> PassResult:
    """Run one pass; ``on_line`` is called with each JSON line as soon as its message is filed."""
    result = PassResult(mailbox)
    if not mailbox.claim():
        result.error = "another pass over this mailbox is running"  # not a failure of the mailbox
        return result
    try:
        _run(mailbox, result, on_line, _client_for(mailbox))
    except CONNECTION_ERRORS as exc:
        result.error = describe(exc)
    finally:
        mailbox.release()
    counts = dict(result.counts)
    if result.error:
        log.warning("mailbox %s: %s", mailbox.label(), result.error)
        mailbox.record_failure(result.error, counts)
    else:
        mailbox.record_success(counts)
    tell_alerts(mailbox, result)
    return result


def tell_alerts(mailbox: Mailbox, result: PassResult) -> None:
    """A failing mailbox opens an alert (its next good pass resolves it); new reports are evaluated at once."""
    from monitor.alerts import evaluate

    evaluate.after_mailbox_pass(mailbox)
    if result.counts["imported"]:
        evaluate.after_import(mailbox.organization)


def _client_for(mailbox: Mailbox) -> ImapClient:
    return ImapClient(mailbox.host, mailbox.effective_port, mailbox.security)


def _run(mailbox: Mailbox, result: PassResult, on_line, client: ImapClient) -> None:
    try:
        password = mailbox.secret()
    except ValueError as exc:
        raise ImapError(str(exc)) from None
    with client:
        client.login(mailbox.username, password)
        client.select(mailbox.folder)
        client.ensure_folder(mailbox.processed_folder)
        client.ensure_folder(mailbox.rejected_folder)
        errors_in_a_row = 0
        for uid in client.uids():
            mailbox.renew()
            try:
                status, lines = file_message(mailbox, client, uid)
            except CONNECTION_ERRORS:
                raise
            except Exception as exc:
                status = "error"
                log.exception("mailbox %s: message UID %s could not be imported", mailbox.label(), uid)
                lines = [_line(mailbox.label(uid), "error", f"left in the mailbox, tried again next pass: {exc}")]
                errors_in_a_row += 1
            else:
                errors_in_a_row = 0
            if status is None:
                continue  # the message went away meanwhile
            result.counts[status] += 1
            for line in lines:
                result.lines.append(line)
                if on_line is not None:
                    on_line(line)
            if errors_in_a_row >= MAX_ERRORS_IN_A_ROW:
                result.error = (f"stopped after {errors_in_a_row} messages in a row could not be imported; "
                                f"the last: {lines[-1]['error']}")
                return
        if result.counts["error"]:
            result.error = (f"{result.counts['error']} message(s) could not be imported "
                            f"and were left in {mailbox.folder}")


def file_message(mailbox: Mailbox, client: ImapClient, uid: int) -> tuple[str | None, list[dict]]:
    """Import one message and move it; returns (message status, JSON lines) or (None, []) if it vanished."""
    from dmarc_reports.importing import import_file  # the pipeline: imported late, it needs the app registry

    label = mailbox.label(uid)
    size = client.size(uid)
    if size is None:
        return None, []
    limit = max_message_bytes()
    if size > limit:
        client.move(uid, mailbox.rejected_folder)
        return "rejected", [_line(label, "rejected", f"The message is {size} bytes, over the {limit}-byte limit")]
    raw = client.fetch(uid)
    if raw is None:
        return None, []
    outcome = import_file(raw, name=label, org=mailbox.organization, via="mailbox")
    # The reports are committed: only now may the message leave the folder.
    status = message_status(outcome)
    client.move(uid, mailbox.rejected_folder if status == "rejected" else mailbox.processed_folder)
    return status, outcome.as_json_lines(label)


def message_status(outcome) -> str:
    """"imported" if a report in the message was new, "duplicate" if a report was known already, else
    "rejected". (A known report beside a junk attachment is "duplicate": a message whose report was
    stored by a pass that died before moving it must still end up in the processed folder.)"""
    statuses = {result.status for result in outcome.results}
    for status in ("imported", "duplicate"):
        if status in statuses:
            return status
    return "rejected"


def _line(label: str, status: str, error: str) -> dict:
    return {"file": label, "status": status, "kind": None, "org": None, "report_id": None, "domain": None,
            "records": None, "messages": None, "error": error}


# -- the schedule ---------------------------------------------------------------------------------


def poll_mailboxes(org_id: int) -> str:
    """django-q2 task: one pass over each enabled mailbox of an organisation."""
    summaries = []
    for mailbox in Mailbox.objects.filter(organization_id=org_id, enabled=True).select_related("organization"):
        result = fetch_mailbox(mailbox)
        counts = ", ".join(f"{n} {status}" for status, n in sorted(result.counts.items())) or "no messages"
        summaries.append(f"{mailbox.label()}: {counts}" + (f" ({result.error})" if result.error else ""))
    return "; ".join(summaries) or "no mailboxes"


def mailbox_schedules(org):
    """One schedule per organisation that has an enabled mailbox (none otherwise: no idle tasks)."""
    if org.mailboxes.filter(enabled=True).exists():
        cron = settings.MAILBOX_POLL_CRON
        yield f"mailboxes:{org.slug}", "dmarc_reports.mailbox_fetch.poll_mailboxes", cron, {"org_id": org.pk}


def sync_mailbox_schedule(org) -> None:
    """Bring this organisation's polling schedule in line at once (a mailbox was saved or deleted)."""
    from django_q.models import Schedule

    wanted = list(mailbox_schedules(org))
    name = schedules.PREFIX + f"mailboxes:{org.slug}"
    if not wanted:
        Schedule.objects.filter(name=name).delete()
        return
    [(_, func, cron, kwargs)] = wanted
    Schedule.objects.update_or_create(
        name=name,
        defaults={"func": func, "schedule_type": Schedule.CRON, "cron": cron, "kwargs": kwargs, "repeats": -1},
    )

