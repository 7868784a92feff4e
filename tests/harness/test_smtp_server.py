import smtplib
import threading
from email.message import EmailMessage

import pytest

from tests.harness.smtp_server import SMTPServer


def make_message(subject="Blocklist alert", body="127.0.0.2 is listed on zen.test.\n"):
    message = EmailMessage()
    message["From"] = "monitor@example.test"
    message["To"] = "alerts@acme.example"
    message["Subject"] = subject
    message.set_content(body)
    return message


def send(server, message, recipients=("alerts@acme.example",)):
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        client.send_message(message, to_addrs=list(recipients))


def test_it_records_received_messages(smtp_server):
    send(smtp_server, make_message(), recipients=["alerts@acme.example", "oncall@acme.example"])

    [received] = smtp_server.messages
    assert received.mail_from == "monitor@example.test"
    assert received.rcpt_tos == ("alerts@acme.example", "oncall@acme.example")
    assert received.message["Subject"] == "Blocklist alert"
    assert received.message.get_content() == "127.0.0.2 is listed on zen.test.\n"
    assert b"Subject: Blocklist alert" in received.raw


def test_it_decodes_non_ascii_messages(smtp_server):
    send(smtp_server, make_message(subject="Réputation dégradée", body="Liste noire: ünïcode\n"))

    [received] = smtp_server.messages
    assert received.message["Subject"] == "Réputation dégradée"
    assert received.message.get_content() == "Liste noire: ünïcode\n"


def test_it_forgets_messages_on_clear(smtp_server):
    send(smtp_server, make_message())

    smtp_server.clear()

    assert smtp_server.messages == []


def test_it_refuses_connections_while_stopped_and_comes_back_on_the_same_port(smtp_server):
    port = smtp_server.port
    smtp_server.stop()

    with pytest.raises(ConnectionRefusedError):
        send(smtp_server, make_message())

    smtp_server.start()
    send(smtp_server, make_message())
    assert smtp_server.port == port
    assert len(smtp_server.messages) == 1


def test_it_refuses_temporarily_with_451(smtp_server):
    smtp_server.refuse(451)

    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(smtp_server, make_message())

    assert refused.value.recipients["alerts@acme.example"][0] == 451
    assert smtp_server.messages == []
    assert smtp_server.refused == [("monitor@example.test", "alerts@acme.example", 451)]


def test_it_refuses_permanently_with_550_until_told_to_accept(smtp_server):
    smtp_server.refuse(550)
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(smtp_server, make_message())
    assert refused.value.recipients["alerts@acme.example"][0] == 550

    smtp_server.accept()
    send(smtp_server, make_message())

    assert len(smtp_server.messages) == 1


def test_it_only_knows_451_and_550(smtp_server):
    with pytest.raises(ValueError):
        smtp_server.refuse(250)


def test_it_waits_for_messages_sent_from_another_thread(smtp_server):
    sender = threading.Thread(target=send, args=(smtp_server, make_message()))
    sender.start()

    received = smtp_server.wait_for_messages(1, timeout=10)
    sender.join()

    assert received[0].message["Subject"] == "Blocklist alert"


def test_waiting_for_messages_that_never_come_times_out(smtp_server):
    with pytest.raises(TimeoutError, match="expected 1 message"):
        smtp_server.wait_for_messages(1, timeout=0.2)


def test_it_works_as_a_context_manager():
    with SMTPServer() as server:
        send(server, make_message())
        assert server.running
    assert not server.running
    assert len(server.messages) == 1
