"""A real IMAP server for tests: Debian's Dovecot on a loopback port, from a configuration of its own.

    server = Dovecot().start()                      # DovecotUnavailable if it cannot run here
    server.append("dmarc", raw_message_bytes)       # into INBOX, or folder="Other"
    server.messages("dmarc", "Processed")           # [raw bytes, ...] in UID order
    server.folders("dmarc")                         # {"INBOX", "Processed", ...}
    server.stop(); server.start()                   # an outage, then back on the same port

Every user name logs in with ``server.password`` (a static passdb: a test makes a fresh user by
naming one; Dovecot re-reads a passwd-file only now and then, which made new users flaky).

``Dovecot(capabilities=...)`` advertises a capability list of its own (e.g. one without MOVE, so a
client takes its COPY + \\Deleted + UID EXPUNGE path). ``Dovecot(tls=True)`` also serves IMAPS and
STARTTLS with a self-signed certificate for 127.0.0.1 (``server.cert_file``; trust it with the
``SSL_CERT_FILE`` environment variable).

As root (the usual case in CI) Dovecot's login processes run as ``dovenull``, its internal ones as
``dovecot``, and mail belongs to ``dovecot``; as another user everything runs as that user (no
chroot: an unprivileged process cannot; tried as ``nobody``).
Each instance lives in a temporary directory removed by ``stop(cleanup=True)``.
"""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

ADDRESS = "127.0.0.1"
DOVECOT = shutil.which("dovecot") or ("/usr/sbin/dovecot" if os.path.exists("/usr/sbin/dovecot") else None)
START_TIMEOUT = 15.0

CONFIG = """\
protocols = imap
listen = {address}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = {ssl}
{ssl_settings}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_login_user = {login_user}
default_internal_user = {internal_user}
default_internal_group = {internal_group}
first_valid_uid = {uid}
last_valid_uid = {uid}
mail_location = maildir:{root}/mail/%u
{capability}
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = {address}
    port = {port}
  }}
  inet_listener imaps {{
    address = {address}
    port = {tls_port}
  }}
}}
service anvil {{
  chroot =
  # no growing delay for the address after a wrong password: the next test would wait seconds
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


class DovecotUnavailable(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((ADDRESS, 0))
        return sock.getsockname()[1]


def quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Dovecot:
    address = ADDRESS

    def __init__(self, capabilities: str | None = None, tls: bool = False, password: str = "pass-é"):
        if DOVECOT is None:
            raise DovecotUnavailable("Dovecot is not installed (apt-get install dovecot-imapd)")
        self.capabilities = capabilities
        self.tls = tls
        self.root = Path(tempfile.mkdtemp(prefix="dovecot-test-"))
        os.chmod(self.root, 0o755)
        self.port = free_port()
        self.tls_port = free_port() if tls else 0
        self.cert_file = str(self.root / "cert.pem") if tls else None
        if not password or any(c.isspace() for c in password):
            raise ValueError("the password must be one word")
        self.password = password  # every user's: users exist as soon as they log in
        self.process: subprocess.Popen | None = None
        if os.geteuid() == 0:
            self.mail_user = pwd.getpwnam("dovecot")
            self.login_user = "dovenull"
        else:
            self.mail_user = pwd.getpwuid(os.geteuid())
            self.login_user = self.mail_user.pw_name
        (self.root / "mail").mkdir()
        os.chown(self.root / "mail", self.mail_user.pw_uid, self.mail_user.pw_gid)
        if tls:
            self._make_certificate()
        self._write_config()

    # -- life cycle -----------------------------------------------------------------------------

    def start(self) -> Dovecot:
        if self.process is not None:
            return self
        log = open(self.root / "stderr.log", "ab")
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.root / "dovecot.conf")], stdout=log, stderr=log, start_new_session=True
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.process = None
                raise DovecotUnavailable(f"Dovecot exited at start:\n{self.log_text()}")
            try:
                with socket.create_connection((self.address, self.port), timeout=1) as sock:
                    if sock.recv(100).startswith(b"* OK"):
                        return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise DovecotUnavailable(f"Dovecot did not answer within {START_TIMEOUT} s:\n{self.log_text()}")

    def stop(self, cleanup: bool = False) -> None:
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            self.process = None
        if cleanup:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop(cleanup=True)

    def log_text(self) -> str:
        parts = []
        for name in ("stderr.log", "dovecot.log"):
            path = self.root / name
            if path.exists():
                parts.append(path.read_text(errors="replace")[-4000:])
        return "\n".join(parts)

    # -- mail -------------------------------------------------------------------------

    def connect(self, username: str) -> imaplib.IMAP4:
        client = imaplib.IMAP4(self.address, self.port, timeout=10)
        secret = self.password
        client.authenticate("PLAIN", lambda _: f"\0{username}\0{secret}".encode())  # UTF-8 passwords too
        return client

    def append(self, username: str, raw: bytes, folder: str = "INBOX") -> None:
        client = self.connect(username)
        try:
            if folder != "INBOX":
                client.create(quote(folder))  # "NO [ALREADYEXISTS]" when it exists: fine
            typ, data = client.append(quote(folder), None, None, raw)
            if typ != "OK":
                raise RuntimeError(f"APPEND failed: {data!r}")
        finally:
            client.logout()

    def folders(self, username: str) -> set[str]:
        client = self.connect(username)
        try:
            typ, data = client.list()
        finally:
            client.logout()
        names = set()
        for line in data:
            # (\HasNoChildren) "." "Processed"  or  ... "." INBOX
            text = line.decode()
            name = text.rsplit(" ", 1)[1] if not text.endswith('"') else text[text.rindex('"', 0, -1) + 1:-1]
            names.add(name)
        return names

    def messages(self, username: str, folder: str = "INBOX", *, include_deleted: bool = False) -> list[bytes]:
        """Raw messages of a folder in UID order (those flagged \\Deleted left out unless asked for)."""
        client = self.connect(username)
        try:
            typ, _ = client.select(quote(folder), readonly=True)
            if typ != "OK":
                return []
            typ, data = client.uid("SEARCH", "ALL" if include_deleted else "UNDELETED")
            uids = data[0].split()
            found = []
            for uid in uids:
                typ, data = client.uid("FETCH", uid, "(BODY.PEEK[])")
                found.append(next(part[1] for part in data if isinstance(part, tuple)))
            return found
        finally:
            client.logout()

    def count(self, username: str, folder: str = "INBOX") -> int:
        return len(self.messages(username, folder))

    # -- configuration --------------------------------------------------------------------------

    def _write_config(self) -> None:
        ssl_settings = ""
        if self.tls:
            ssl_settings = f"ssl_cert = <{self.root}/cert.pem\nssl_key = <{self.root}/key.pem"
        capability = f"imap_capability = {self.capabilities}" if self.capabilities is not None else ""
        text = CONFIG.format(
            address=self.address,
            root=self.root,
            ssl="yes" if self.tls else "no",
            ssl_settings=ssl_settings,
            login_user=self.login_user,
            internal_user="dovecot" if os.geteuid() == 0 else self.login_user,
            internal_group="dovecot" if os.geteuid() == 0 else grp.getgrgid(os.getegid()).gr_name,
            uid=self.mail_user.pw_uid,
            gid=self.mail_user.pw_gid,
            password=self.password,
            capability=capability,
            port=self.port,
            tls_port=self.tls_port,
        )
        (self.root / "dovecot.conf").write_text(text)

    def _make_certificate(self) -> None:
        openssl = shutil.which("openssl")
        if openssl is None:
            raise DovecotUnavailable("openssl is needed to make the test server's certificate")
        subprocess.run(
            [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-keyout", str(self.root / "key.pem"), "-out", str(self.root / "cert.pem"),
             "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
            check=True, capture_output=True,
        )
        os.chmod(self.root / "key.pem", 0o600)
