import asyncio
import os
import socket
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.harness import aio, network_guard
from tests.harness.network_guard import NetworkAccessBlocked

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def blocked():
    """The blocked attempts of this test; taking them keeps the plugin from failing the test."""
    yield network_guard.violations
    network_guard.pop_violations()


def listening(family, host):
    server = socket.socket(family, socket.SOCK_STREAM)
    server.bind((host, 0))
    server.listen()
    return server


def test_it_blocks_tcp_connections_beyond_loopback(blocked):
    with socket.socket() as sock:
        with pytest.raises(NetworkAccessBlocked, match=r"connect to 192\.0\.2\.1 port 25"):
            sock.connect(("192.0.2.1", 25))

    assert len(blocked) == 1
    assert "192.0.2.1" in blocked[0]


def test_it_blocks_connect_ex(blocked):
    with socket.socket() as sock:
        with pytest.raises(NetworkAccessBlocked, match="10.0.0.1"):
            sock.connect_ex(("10.0.0.1", 443))


def test_it_blocks_create_connection(blocked):
    with pytest.raises(NetworkAccessBlocked, match="192.0.2.1"):
        socket.create_connection(("192.0.2.1", 25), timeout=1)


def test_it_blocks_udp_datagrams_beyond_loopback(blocked):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        with pytest.raises(NetworkAccessBlocked, match=r"sendto to 10\.0\.0\.1 port 53"):
            sock.sendto(b"query", ("10.0.0.1", 53))
        with pytest.raises(NetworkAccessBlocked, match="10.0.0.1"):
            sock.sendto(b"query", 0, ("10.0.0.1", 53))
        with pytest.raises(NetworkAccessBlocked, match="10.0.0.1"):
            sock.sendmsg([b"query"], [], 0, ("10.0.0.1", 53))


def test_it_blocks_ipv6_beyond_loopback(blocked):
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
        with pytest.raises(NetworkAccessBlocked, match="2001:db8::1"):
            sock.connect(("2001:db8::1", 53))


def test_it_blocks_asyncio_connections(blocked):
    async def connect():
        await asyncio.open_connection("192.0.2.1", 25)

    with pytest.raises(NetworkAccessBlocked, match="192.0.2.1"):
        aio.run(connect())


def test_it_blocks_asyncio_datagrams(blocked):
    async def send():
        transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(asyncio.DatagramProtocol, family=socket.AF_INET)
        try:
            transport.sendto(b"query", ("10.0.0.1", 53))
        finally:
            transport.close()

    aio.run(send())  # asyncio swallows and logs the error: the record is what fails the test

    assert len(blocked) == 1
    assert "10.0.0.1" in blocked[0]


def test_it_allows_ipv4_loopback():
    with listening(socket.AF_INET, "127.0.0.1") as server:
        with socket.create_connection(server.getsockname(), timeout=5):
            pass
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(b"ping", ("127.5.5.5", 9))


def test_it_allows_ipv6_loopback():
    with listening(socket.AF_INET6, "::1") as server:
        with socket.create_connection(server.getsockname()[:2], timeout=5):
            pass


def test_it_allows_ipv4_mapped_loopback():
    with listening(socket.AF_INET6, "::") as server:
        with socket.create_connection(("::ffff:127.0.0.1", server.getsockname()[1]), timeout=5):
            pass


def test_it_allows_localhost_by_name():
    with listening(socket.AF_INET, "127.0.0.1") as server:
        with socket.create_connection(("localhost", server.getsockname()[1]), timeout=5):
            pass


def test_it_allows_unix_sockets(tmp_path):
    path = str(tmp_path / "socket")
    with socket.socket(socket.AF_UNIX) as server, socket.socket(socket.AF_UNIX) as client:
        server.bind(path)
        server.listen()
        client.connect(path)


def test_it_restores_the_socket_methods_on_uninstall(blocked):
    network_guard.uninstall()
    try:
        assert not network_guard.is_installed()
        assert "connect" not in socket.socket.__dict__
    finally:
        network_guard.install()
    assert network_guard.is_installed()
    with socket.socket() as sock, pytest.raises(NetworkAccessBlocked):
        sock.connect(("192.0.2.1", 25))


def test_the_plugin_fails_a_test_that_swallowed_a_blocked_connection(tmp_path):
    (tmp_path / "test_swallow.py").write_text(textwrap.dedent("""
        import socket

        def test_swallows():
            try:
                socket.create_connection(("192.0.2.1", 80), timeout=1)
            except Exception:
                pass
    """))
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("DJANGO_SETTINGS_MODULE", None)

    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:django", "-p", "no:cacheprovider",
         "-p", "tests.harness.pytest_plugin", str(tmp_path / "test_swallow.py")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )

    assert result.returncode == 1, result.stdout + result.stderr
    assert "network access outside loopback blocked: connect to 192.0.2.1 port 80" in result.stdout
    assert "1 passed, 1 error" in result.stdout


def test_it_lets_the_django_live_server_answer(live_server):
    with pytest.raises(urllib.error.HTTPError) as not_found:
        urllib.request.urlopen(live_server.url + "/no-such-page-for-the-guard/", timeout=10)

    assert not_found.value.code == 404
