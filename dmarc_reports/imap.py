"""A small IMAP client over the standard library's imaplib: what a mailbox pass needs, by UID.

    with ImapClient("imap.example.com", 993, "tls") as client:
        client.login("dmarc@example.com", "secret")
        client.select("INBOX")
        client.ensure_folder("Processed")
        for uid in client.uids():                     # not flagged \\Deleted, in UID order
            raw = client.fetch(uid)                   # None if the message went away meanwhile
            client.move(uid, "Processed")

Folder names use ``/`` for hierarchy ("Reports/Done"); it becomes the server's own separator
(Dovecot's maildir uses ``.``, Gmail and Exchange ``/``).

``move`` uses MOVE (RFC 6851) when the server offers it, else COPY, \\Deleted and (with UIDPLUS)
``UID EXPUNGE`` of that one UID: other messages flagged \\Deleted by someone else are never
expunged. Without UIDPLUS the copied message stays flagged \\Deleted and ``uids()`` skips it.

Everything that goes wrong is an ``ImapError`` with a sentence for a person;
``AuthenticationFailed`` when the server refused the user name or password.
"""

import imaplib
import re
import socket
import ssl

TIMEOUT = 30.0
SECURITIES = ("tls", "starttls", "none")

SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
DELIMITER = re.compile(rb'^\([^)]*\) (?:"((?:[^"\\]|\\.)*)"|NIL)')


class ImapError(Exception):
    pass


class AuthenticationFailed(ImapError):
    pass


def quote(name: str) -> str:
    """A folder name as an IMAP quoted string."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def describe(exc: BaseException) -> str:
    """A short text for an exception raised while talking to a server."""
    if isinstance(exc, ImapError):
        return str(exc)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {exc.reason or exc}"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "the server did not answer in time"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return f"host name not found ({exc.strerror})"
    if isinstance(exc, imaplib.IMAP4.abort):
        return f"the server closed the connection: {_text(exc)}"
    if isinstance(exc, imaplib.IMAP4.error):
        return f"the server refused a command: {_text(exc)}"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {exc}"


def _text(value) -> str:
    if isinstance(value, BaseException):
        value = value.args[0] if value.args else ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, list):
        return " ".join(_text(v) for v in value if v is not None)
    return str(value)


class ImapClient:
    def __init__(self, host: str, port: int, security: str, *, timeout: float = TIMEOUT,
                 ssl_context: ssl.SSLContext | None = None):
        if security not in SECURITIES:
            raise ValueError(f"security must be one of {', '.join(SECURITIES)}")
        self.host, self.port, self.security, self.timeout = host, port, security, timeout
        self.ssl_context = ssl_context
        self.conn: imaplib.IMAP4 | None = None
        self.capabilities: set[str] = set()
        self.delimiter = "/"

    # -- session --------------------------------------------------------------------------------

    def connect(self) -> "ImapClient":
        context = self.ssl_context or ssl.create_default_context()
        if self.security == "tls":
            self.conn = imaplib.IMAP4_SSL(self.host, self.port, ssl_context=context, timeout=self.timeout)
        else:
            self.conn = imaplib.IMAP4(self.host, self.port, timeout=self.timeout)
            if self.security == "starttls":
                if "STARTTLS" not in self.conn.capabilities:
                    self.close()
                    raise ImapError("the server does not offer STARTTLS")
                self.conn.starttls(ssl_context=context)
        self.capabilities = set(self.conn.capabilities)
        return self

    def __enter__(self):
        return self.connect() if self.conn is None else self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is None:
            return
        try:
            conn.logout()
        except (imaplib.IMAP4.error, OSError):
            try:
                conn.shutdown()
            except OSError:
                pass

    def login(self, username: str, password: str) -> None:
        try:
            if password.isascii() and username.isascii():
                self.conn.login(username, password)
            else:  # imaplib's LOGIN sends ASCII only; SASL PLAIN carries UTF-8
                self.conn.authenticate("PLAIN", lambda _: f"\0{username}\0{password}".encode())
        except imaplib.IMAP4.abort:
            raise
        except imaplib.IMAP4.error as exc:
            raise AuthenticationFailed(f"log-in refused for {username}: {_text(exc)}") from None
        typ, data = self.conn.capability()  # they may change once logged in
        self._check(typ, data, "CAPABILITY")
        self.capabilities = set(_text(data).upper().split())
        typ, data = self.conn.list('""', '""')  # the answer names the hierarchy separator
        if typ == "OK" and data and isinstance(data[0], bytes):
            match = DELIMITER.match(data[0])
            if match and match.group(1):
                self.delimiter = match.group(1).decode().replace("\\\\", "\\")

    # -- folders --------------------------------------------------------------------------------

    def name(self, folder: str) -> str:
        """The folder name as the server writes it, quoted."""
        return quote(folder.replace("/", self.delimiter) if self.delimiter != "/" else folder)

    def select(self, folder: str) -> None:
        typ, data = self.conn.select(self.name(folder))
        self._check(typ, data, f"cannot open the folder {folder!r}")

    def folder_exists(self, folder: str) -> bool:
        typ, data = self.conn.list('""', self.name(folder))
        self._check(typ, data, "LIST")
        return any(item for item in data if item)

    def ensure_folder(self, folder: str) -> bool:
        """Create the folder (and subscribe to it) if it is missing; True if it was created."""
        if self.folder_exists(folder):
            return False
        typ, data = self.conn.create(self.name(folder))
        if typ != "OK" and self.folder_exists(folder):  # created meanwhile by another client
            return False
        self._check(typ, data, f"cannot create the folder {folder!r}")
        self.conn.subscribe(self.name(folder))
        return True

    # -- messages -------------------------------------------------------------------------------

    def uids(self) -> list[int]:
        typ, data = self.conn.uid("SEARCH", "UNDELETED")
        self._check(typ, data, "SEARCH")
        return sorted(int(uid) for uid in _text(data).split())

    def size(self, uid: int) -> int | None:
        typ, data = self.conn.uid("FETCH", str(uid), "(RFC822.SIZE)")
        self._check(typ, data, "FETCH")
        for item in data:
            match = SIZE.search(item[0] if isinstance(item, tuple) else (item or b""))
            if match:
                return int(match.group(1))
        return None

    def fetch(self, uid: int) -> bytes | None:
        """The whole message, without setting \\Seen; None if there is no such UID (any more)."""
        typ, data = self.conn.uid("FETCH", str(uid), "(BODY.PEEK[])")
        self._check(typ, data, "FETCH")
        for item in data:
            if isinstance(item, tuple) and b"BODY[]" in item[0]:
                return item[1]
        return None

    def move(self, uid: int, folder: str) -> None:
        if "MOVE" in self.capabilities:
            typ, data = self.conn.uid("MOVE", str(uid), self.name(folder))
            self._check(typ, data, f"cannot move the message to {folder!r}")
            return
        typ, data = self.conn.uid("COPY", str(uid), self.name(folder))
        self._check(typ, data, f"cannot copy the message to {folder!r}")
        typ, data = self.conn.uid("STORE", str(uid), "+FLAGS.SILENT", r"(\Deleted)")
        self._check(typ, data, "cannot flag the message \\Deleted")
        if "UIDPLUS" in self.capabilities:
            typ, data = self.conn.uid("EXPUNGE", str(uid))
            self._check(typ, data, "cannot expunge the message")

    # -- helpers --------------------------------------------------------------------------------

    @staticmethod
    def _check(typ: str, data, what: str) -> None:
        if typ != "OK":
            raise ImapError(f"{what}: {_text(data) or typ}")
