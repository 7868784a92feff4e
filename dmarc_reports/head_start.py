"""A head start for ``import_reports``: its files are read from the moment Python starts.

``manage.py`` calls ``start(argv)`` for an ``import_reports`` command line, before Django loads: the
reader process (``read_ahead``), a fork of this one, starts on the files at once, with the ingest
limits the environment sets and the way roll-ups come for the database it names (``prepare``), and
reads and parses them while Django loads here. The command takes it over (``read_ahead.ReadAhead``,
through ``take``) when it reads the same files the same way; otherwise it is stopped and the command
starts a reader of its own, so a command line or environment this module misreads costs time, never
a wrong import.

Only the standard library here: this runs before anything else is loaded.
"""

import argparse
import atexit
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_started: tuple | None = None  # (paths, options, process) of the reader started early


def files_under(paths: list[str]):
    """(label, path) for every file: a file as given, a folder's files recursively in name order
    (hidden files and folders left out)."""
    for given in paths:
        path = Path(given)
        if path.is_dir():
            for folder, subfolders, names in os.walk(path):
                subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
                for name in sorted(names):
                    if not name.startswith("."):
                        yield os.path.join(folder, name), Path(folder) / name
        else:
            yield given, path


def options(limits: dict, rollups_per_batch: bool) -> dict:
    """What the reader is told besides the paths: the fields of ``ingest.Limits`` to set, and whether
    roll-ups come after each batch (``prepare_report``'s ``per_batch``)."""
    return {"limits": limits, "rollups_per_batch": rollups_per_batch}


def spawn(paths: list, reader_options: dict) -> subprocess.Popen:
    """The reader process (``python -m dmarc_reports.read_ahead``) for these files and ``options``,
    its items on its standard output."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.Popen(  # its own session: Ctrl-C reaches the storer, which stops it
        [sys.executable, "-m", "dmarc_reports.read_ahead", json.dumps(reader_options), *paths],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, env=env, start_new_session=True,
    )


def fork(paths: list, reader_options: dict) -> "Forked":
    """The reader for these files and ``options`` as a fork of this process, its items on a pipe. Only
    for a process that has loaded nothing yet (``manage.py``: no thread, no connection, a few modules of
    the standard library): the reader then needs no interpreter of its own to start, and reads from
    the first millisecond (a spawned one starts about 45 ms later)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the reader, until it exits here: it never returns to manage.py
        status = 1
        try:
            os.close(read_end)
            os.setsid()  # its own session, as a spawned reader's: Ctrl-C reaches the storer, which stops it
            from dmarc_reports import read_ahead

            status = read_ahead.run(write_end, paths, reader_options)
        except BaseException:
            import traceback

            traceback.print_exc()  # (on the terminal, as a spawned reader's would be)
            sys.stderr.flush()
        finally:
            os._exit(status)  # nothing of manage.py's to run or flush here
    os.close(write_end)
    return Forked(pid, open(read_end, "rb"))


class Forked:
    """A reader started by ``fork``, with what ``ReadAhead`` and ``stop`` use of a ``subprocess.Popen``."""

    def __init__(self, pid: int, stdout):
        self.pid, self.stdout, self.returncode = pid, stdout, None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self) -> int:
        if self.returncode is None:
            self.returncode = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        return self.returncode

    def terminate(self) -> None:
        if self.poll() is None:
            os.kill(self.pid, signal.SIGTERM)


def start(argv: list[str]) -> None:
    """Start the reader for the files of an ``import_reports`` command line (the arguments after the
    command's name); nothing when the line cannot be read or names no file."""
    global _started
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("paths", nargs="*")
    for option in ("--org", "--settings", "--pythonpath", "--verbosity"):
        parser.add_argument(option)
    parser.add_argument("-v", dest="verbosity")
    try:
        arguments, _ = parser.parse_known_intermixed_args(argv)
        limits = {"max_total_bytes": int(os.environ["INGEST_MAX_BYTES"])} if os.environ.get("INGEST_MAX_BYTES") else {}
        if os.environ.get("INGEST_MAX_MEMBERS"):
            limits["max_members"] = int(os.environ["INGEST_MAX_MEMBERS"])
        paths = [os.path.abspath(path) for _, path in files_under(arguments.paths)]
    except (SystemExit, ValueError, OSError):  # the command says what is wrong with its line
        return
    if paths:
        early = options(limits, rollups_per_batch=sqlite_named())
        process = fork(paths, early) if "django" not in sys.modules else spawn(paths, early)
        _started = (paths, early, process)
        atexit.register(stop, process)  # if the command never takes it


def sqlite_named() -> bool:
    """Whether the settings will use SQLite (``monitor.config.database``): no DATABASE_URL, or a
    sqlite:// one. (Only to start the reader early: the command checks what Django connects to.)"""
    url = os.environ.get("DATABASE_URL", "")
    return not url or url.startswith("sqlite:")


def take(paths: list[str]) -> tuple[dict, subprocess.Popen] | None:
    """The early reader's (options, process) if it reads exactly these files (absolute paths, in
    order); stopped otherwise. Only once."""
    global _started
    started, _started = _started, None
    if started is None:
        return None
    early_paths, early, process = started
    if early_paths != paths:
        stop(process)
        return None
    return early, process


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        process.wait()
