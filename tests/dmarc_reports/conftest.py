"""Fixtures of the report tests.

Mailbox ingestion (issue: hands-free ingestion): ``imap_server`` is a real Dovecot on a loopback
port for the whole session (skipped without Dovecot, a failure with ``REQUIRE_IMAP=1``);
``imap_account`` is a fresh user on it per test; ``mailbox`` is a ``Mailbox`` of ``org`` reading it.
"""

import itertools
import os

import pytest

from tests.harness.dovecot import Dovecot, DovecotUnavailable

_accounts = itertools.count(1)


def start_dovecot(**options) -> Dovecot:
    try:
        return Dovecot(**options).start()
    except (DovecotUnavailable, OSError, KeyError) as exc:  # KeyError: no dovecot/dovenull user
        message = f"Dovecot cannot run here: {exc}"
        if os.environ.get("REQUIRE_IMAP") == "1":
            pytest.fail(message + " (and REQUIRE_IMAP=1)")
        pytest.skip(message)


@pytest.fixture(scope="session")
def imap_server():
    server = start_dovecot()
    yield server
    server.stop(cleanup=True)


class Account:
    def __init__(self, server: Dovecot, username: str, password: str):
        self.server, self.username, self.password = server, username, password

    def append(self, raw: bytes, folder: str = "INBOX"):
        self.server.append(self.username, raw, folder)

    def messages(self, folder: str = "INBOX") -> list[bytes]:
        return self.server.messages(self.username, folder)

    def folders(self) -> set[str]:
        return self.server.folders(self.username)


@pytest.fixture
def imap_account(imap_server):
    number = next(_accounts)
    return Account(imap_server, f"reports{number}", imap_server.password)


@pytest.fixture
def mailbox(org, imap_account):
    from dmarc_reports.models_mailbox import Mailbox

    return Mailbox.objects.create(
        organization=org, host=imap_account.server.address, port=imap_account.server.port,
        security=Mailbox.NONE, username=imap_account.username, password=imap_account.password,
    )
