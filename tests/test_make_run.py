"""`make run` as a newcomer runs it: set-up, demo data, admin login printed, server and worker up."""

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url, process, seconds=120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return None
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status, response.read().decode()
        except OSError:
            time.sleep(0.5)
    return None


@pytest.mark.skipif(not (ROOT / ".venv" / "bin" / "python").exists(), reason="needs the project's .venv (make install)")
def test_it_serves_the_sign_in_page_with_the_worker_running(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "DATABASE_URL": f"sqlite:///{tmp_path}/run.sqlite3",
        "REDIS_URL": "",
        "Q_WORKERS": "1",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    log = open(tmp_path / "make-run.log", "w+")
    process = subprocess.Popen(["make", "run"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        answer = wait_for(f"http://127.0.0.1:{port}/accounts/login/", process, seconds=300)
        log.seek(0)
        output = log.read()
        assert answer is not None, "make run did not serve the sign-in page:\n" + output[-3000:]
        status, body = answer
        assert status == 200 and "Sign in" in body
        assert "Admin login: admin / " in output
        workers = subprocess.run(["pgrep", "-f", "-s", str(process.pid), "qcluster"], capture_output=True, text=True)
        assert workers.stdout.strip(), "the django-q2 worker is not running:\n" + output[-3000:]
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError):  # whatever of the server and worker outlived make
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        log.close()
