"""An SMTP server for tests on 127.0.0.1 that keeps every message it accepts.

    server = SMTPServer().start()
    ...send mail to server.host:server.port...
    [message] = server.messages            # ReceivedMessage(mail_from, rcpt_tos, message, raw)
    server.refuse(451)                     # every RCPT now gets "451 4.3.0 ..." (550 for permanent)
    server.stop(); server.start()          # an outage, then back on the same port

Built on aiosmtpd's ``Controller``; each ``start()`` makes a new one (a stopped Controller's event
loop is closed) on the port chosen the first time.
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage

from aiosmtpd.controller import Controller

ADDRESS = "127.0.0.1"
REFUSALS = {
    451: "451 4.3.0 Temporary failure, try again later (test server)",
    550: "550 5.7.1 Delivery refused (test server)",
}


@dataclass(frozen=True)
class ReceivedMessage:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    raw: bytes


class RecordingHandler:
    """aiosmtpd handler: refuses recipients when told to, records accepted messages."""

    def __init__(self, server: SMTPServer):
        self.server = server

    async def handle_RCPT(self, smtp, session, envelope, address, rcpt_options):
        refusal = self.server.refusal
        if refusal is not None:
            self.server.refused.append((envelope.mail_from, address, refusal))
            return REFUSALS[refusal]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp, session, envelope):
        raw = envelope.original_content  # as on the wire: CRLF line ends
        message = email.message_from_bytes(raw.replace(b"\r\n", b"\n"), policy=email.policy.default)
        self.server.record(ReceivedMessage(envelope.mail_from, tuple(envelope.rcpt_tos), message, raw))
        return "250 Message accepted for delivery"


class SMTPServer:
    host = ADDRESS

    def __init__(self, port: int = 0):
        self.port = port
        self.messages: list[ReceivedMessage] = []
        self.refused: list[tuple[str, str, int]] = []  # (mail_from, rcpt, code) per refused RCPT
        self.refusal: int | None = None
        self._received = threading.Condition()
        self._controller: Controller | None = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> SMTPServer:
        """Listen on ``port`` (a free one chosen the first time); returns once listening."""
        if self._controller is not None:
            raise RuntimeError("SMTP server already running")
        if not self.port:
            self.port = free_tcp_port()
        controller = Controller(RecordingHandler(self), hostname=self.host, port=self.port)
        controller.start()
        self._controller = controller
        return self

    def stop(self) -> None:
        """Stop listening: connections are refused until ``start()`` (same port)."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SMTPServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def refuse(self, code: int | None) -> None:
        """Refuse every recipient with 451 (temporary) or 550 (permanent); None accepts again."""
        if code is not None and code not in REFUSALS:
            raise ValueError(f"refusal code must be one of {sorted(REFUSALS)}")
        self.refusal = code

    def accept(self) -> None:
        self.refuse(None)

    def clear(self) -> None:
        with self._received:
            self.messages.clear()
        self.refused.clear()

    def record(self, received: ReceivedMessage) -> None:
        with self._received:
            self.messages.append(received)
            self._received.notify_all()

    def wait_for_messages(self, count: int = 1, timeout: float = 5.0) -> list[ReceivedMessage]:
        """Wait until at least ``count`` messages arrived (for mail sent by another thread)."""
        deadline = time.monotonic() + timeout
        with self._received:
            while len(self.messages) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"expected {count} message(s), received {len(self.messages)}")
                self._received.wait(remaining)
            return list(self.messages)


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((ADDRESS, 0))
        return probe.getsockname()[1]
