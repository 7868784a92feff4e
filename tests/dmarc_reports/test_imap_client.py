"""The IMAP client against a real Dovecot: log-in, folders, fetching and moving by UID."""

import ssl

import pytest

from dmarc_reports.imap import AuthenticationFailed, ImapClient, ImapError, describe
from tests.dmarc_reports.conftest import Account, start_dovecot
from tests.harness.dovecot import free_port

MESSAGE = b"From: a@example.test\r\nTo: b@example.test\r\nSubject: %d\r\n\r\nbody %d\r\n"


def message(n: int) -> bytes:
    return MESSAGE % (n, n)


def client_for(account, **options) -> ImapClient:
    return ImapClient(account.server.address, account.server.port, "none", **options)


def test_it_logs_in_with_a_utf8_password_and_reads_without_marking_seen(imap_account):
    imap_account.append(message(1))
    imap_account.append(message(2))
    with client_for(imap_account) as client:
        client.login(imap_account.username, imap_account.password)
        client.select("INBOX")
        uids = client.uids()
        assert len(uids) == 2
        assert client.fetch(uids[1]) == message(2)
        assert client.size(uids[0]) == len(message(1))
        typ, data = client.conn.uid("FETCH", str(uids[1]), "(FLAGS)")
        assert b"\\Seen" not in data[0]
        assert client.fetch(uids[1] + 100) is None
        assert client.size(uids[1] + 100) is None


def test_it_refuses_a_wrong_password(imap_account):
    with client_for(imap_account) as client, pytest.raises(AuthenticationFailed, match="log-in refused"):
        client.login(imap_account.username, "wrong")


def test_it_creates_missing_folders_once(imap_account):
    with client_for(imap_account) as client:
        client.login(imap_account.username, imap_account.password)
        assert client.ensure_folder("Reports Processed") is True
        assert client.ensure_folder("Reports Processed") is False
    assert "Reports Processed" in imap_account.folders()


def test_it_moves_one_message_with_move(imap_account):
    for n in range(3):
        imap_account.append(message(n))
    with client_for(imap_account) as client:
        client.login(imap_account.username, imap_account.password)
        assert "MOVE" in client.capabilities
        client.ensure_folder("Processed")
        client.select("INBOX")
        client.move(client.uids()[1], "Processed")
        assert len(client.uids()) == 2
    assert imap_account.messages("Processed") == [message(1)]
    assert imap_account.messages("INBOX") == [message(0), message(2)]


@pytest.fixture(scope="module")
def imap_server_without_move():
    server = start_dovecot(capabilities="IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE UIDPLUS")
    yield server
    server.stop(cleanup=True)


def test_it_moves_by_copy_and_expunges_that_uid_only_without_move(imap_server_without_move):
    server = imap_server_without_move
    account = Account(server, "nomove", server.password)
    for n in range(3):
        account.append(message(n))
    with ImapClient(server.address, server.port, "none") as client:
        client.login("nomove", server.password)
        assert "MOVE" not in client.capabilities and "UIDPLUS" in client.capabilities
        client.ensure_folder("Processed")
        client.select("INBOX")
        first, second, third = client.uids()
        # Someone else's \Deleted message must survive our expunge.
        client.conn.uid("STORE", str(third), "+FLAGS.SILENT", r"(\Deleted)")
        client.move(second, "Processed")
        assert client.uids() == [first]
    assert account.messages("Processed") == [message(1)]
    assert server.messages("nomove", "INBOX", include_deleted=True) == [message(0), message(2)]


def test_it_explains_a_refused_connection():
    client = ImapClient("127.0.0.1", free_port(), "none", timeout=2)
    with pytest.raises(OSError) as caught:
        client.connect()
    assert describe(caught.value) == "connection refused"


@pytest.fixture(scope="module")
def tls_imap_server():
    server = start_dovecot(tls=True)  # needs openssl for its certificate (a dependency of dovecot-core)
    yield server
    server.stop(cleanup=True)


def test_it_speaks_tls_and_starttls_and_checks_the_certificate(tls_imap_server):
    server = tls_imap_server
    trusting = ssl.create_default_context(cafile=server.cert_file)
    with ImapClient(server.address, server.tls_port, "tls", ssl_context=trusting) as client:
        client.login("secure", server.password)
    with ImapClient(server.address, server.port, "starttls", ssl_context=trusting) as client:
        client.login("secure", server.password)
        assert isinstance(client.conn.sock, ssl.SSLSocket)
    with pytest.raises(ssl.SSLCertVerificationError) as caught:
        ImapClient(server.address, server.tls_port, "tls").connect()  # the system's CAs do not know it
    assert describe(caught.value).startswith("TLS certificate not trusted")


def test_it_refuses_starttls_when_the_server_does_not_offer_it(imap_account):
    client = ImapClient(imap_account.server.address, imap_account.server.port, "starttls")
    with pytest.raises(ImapError, match="does not offer STARTTLS"):
        client.connect()
