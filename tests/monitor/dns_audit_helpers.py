"""Fixtures for the DNS audit tests (tests/monitor/test_dns_*.py): the app pointed at the loopback
DNS server, and a loopback HTTPS server with its own CA for MTA-STS policies."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from monitor.dns_audit.lookups import Lookups
from monitor.dns_audit.runner import clear_checkdmarc_caches

DOMAIN = "dnsaudit.test"
POLICY_HOSTS = ["good", "sts-nopolicy", "sts-testing", "sts-mismatch", "sts-maxage", "sts-short"]


def d(name: str) -> str:
    """A scenario domain of tests/zones/dnsaudit.test.zone."""
    return f"{name}.{DOMAIN}"


@pytest.fixture
def audit_dns(settings, dns_server):
    """The app's DNS pointed at the loopback server, checkdmarc's caches empty."""
    settings.DNS_NAMESERVERS = [(dns_server.address, dns_server.port)]
    settings.DNS_TIMEOUT = 0.4
    clear_checkdmarc_caches()
    yield dns_server
    clear_checkdmarc_caches()


@pytest.fixture
def lookups(audit_dns):
    return Lookups()


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_ca_and_certificate(tmp_path, hosts):
    """A CA file and a server certificate/key for ``hosts`` (and 127.0.0.1), all in ``tmp_path``."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("DNS audit test CA"))
        .issuer_name(_name("DNS audit test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName(h) for h in hosts] + [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(hosts[0]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = tmp_path / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca_file, cert_file, key_file


class PolicyServer:
    """HTTPS on 127.0.0.1: ``policies[host or host + path] = (status, content_type, body)``; else 404."""

    def __init__(self, cert_file, key_file):
        self.policies: dict[str, tuple[int, str, str]] = {}
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                host = (self.headers.get("Host") or "").split(":")[0].lower()
                server.requests.append(f"{host}{self.path}")
                found = server.policies.get(f"{host}{self.path}") or server.policies.get(host)
                status, content_type, body = found or (404, "text/plain", "not found")
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def set_policy(self, domain, text, status=200, content_type="text/plain"):
        self.policies[f"mta-sts.{domain}"] = (status, content_type, text)

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def policy(mode="enforce", mx=("mx1.good.dnsaudit.test",), max_age=604800):
    lines = ["version: STSv1", f"mode: {mode}"] + [f"mx: {m}" for m in mx] + [f"max_age: {max_age}"]
    return "\r\n".join(lines) + "\r\n"


@pytest.fixture(scope="session")
def policy_tls(tmp_path_factory):
    hosts = [f"mta-sts.{d(h)}" for h in POLICY_HOSTS]
    return make_ca_and_certificate(tmp_path_factory.mktemp("mta-sts-tls"), hosts)


@pytest.fixture
def policy_server(policy_tls, settings, audit_dns):
    """The loopback HTTPS server, trusted through MTA_STS_CA_FILE, with each scenario's policy."""
    ca_file, cert_file, key_file = policy_tls
    server = PolicyServer(cert_file, key_file)
    settings.MTA_STS_PORT = server.port
    settings.MTA_STS_CA_FILE = str(ca_file)
    settings.MTA_STS_ALLOW_NETWORKS = [ipaddress.ip_network("127.0.0.0/8")]  # (only public ones otherwise)
    settings.MTA_STS_TIMEOUT = 2
    server.set_policy(d("good"), policy())
    server.set_policy(d("sts-testing"), policy(mode="testing"))
    server.set_policy(d("sts-mismatch"), policy(mx=("mail.elsewhere.test", "*.other.test")))
    server.set_policy(d("sts-maxage"), policy(max_age=99999999))
    server.set_policy(d("sts-short"), policy(max_age=3600))
    yield server
    server.stop()
