"""Read report files in a second process, ahead of the one storing them.

``import_reports`` stores each report while the next rows (and the next files) are being read,
parsed and prepared: with two cores, that work costs (almost) no wall time of its own::

    with ReadAhead(paths, limits, rollups_per_batch) as ahead:
        for path in paths:
            for item in ahead.reports():   # what read_reports(path) yields, file by file, in order,
                ...                        # but an aggregate report's rows come prepared (``prepare``)

The reader is ``python -m dmarc_reports.read_ahead OPTIONS PATH...`` (``head_start.options``: the
ingest limits, and whether roll-ups come after each batch), or ``run`` in a fork of ``manage.py``
(``head_start``): it runs ``read_reports`` on each path in turn and writes every item to the
storer's pipe with pickle: an aggregate report's header first, then its rows already prepared for
storing (``prepare``: column values in batches, and roll-up figures; plain tuples that cost little
to send), then their end (the report's complete warnings) or the ``Rejected`` that stopped them. It
never touches Django. The storer starts it as a fresh interpreter (no fork of a process that may run
threads or hold a database connection), unless ``manage.py`` started it already, forked before it
loaded anything (``head_start``). The pipe between the two (``AHEAD``: about 9,000 prepared rows)
and what the reader holds besides (``HELD``, see ``Sender``) bound how far it runs ahead: far enough
to read a big report while Django loads in the storer, and memory stays flat on both sides. What the
caller does not read (a file refused before reading, the rows of a duplicate report) is skipped.

The pickles come from our own child, which builds them from plain values it parsed: nothing a
report sender writes is ever unpickled as code.
"""

import collections
import dataclasses
import fcntl
import gc
import json
import os
import pickle
import select
import stat
import sys
from pathlib import Path
from typing import Iterator

from dmarc_reports import ingest
from dmarc_reports.ingest import Failed, Limits, Parsed, Rejected
from dmarc_reports.ingest.reports import RowStream
from dmarc_reports.prepare import BATCH, RowValues, prepare_report

AHEAD = 1024 * 1024  # bytes the pipe to the storer holds (Linux's largest for an unprivileged process)
HELD = 16 * 1024 * 1024  # bytes of messages held besides when the pipe is full (about 140,000 rows; see Sender)


# -- the reader (the child process) -------------------------------------------------------------------

def read_files(paths: list[str], limits: Limits, send, rollups_per_batch: bool) -> None:
    """``send`` every item of every file as a message (see ``ReadAhead`` for what the messages are)."""
    for path in paths:
        try:
            if os.path.getsize(path) <= limits.max_total_bytes:  # larger files are refused unread by the storer
                for item in ingest.read_reports(path, name=Path(path).name, limits=limits):
                    send_item(item, send, rollups_per_batch)
        except OSError:
            pass  # the storer opens the file itself and says why it cannot be read
        send(("end of file",))


def send_item(item, send, rollups_per_batch: bool) -> None:
    if isinstance(item, Failed):
        send(("failed", item))
        return
    report = item.report
    if report.kind != "aggregate":
        send(("parsed", item))
        return
    send(("aggregate", Parsed(item.member, dataclasses.replace(report, rows=None))))  # its rows follow
    gc.disable()  # rows make tuples and strings by the thousand, in no reference cycle: nothing to collect
    try:
        for part in prepare_report(report.rows.batches(BATCH), report.date_begin, report.date_end,
                                   rollups_per_batch):
            send(("rows", part))
    except Rejected as error:
        send(("rows rejected", str(error)))
        return
    finally:
        gc.enable()
    send(("end of rows", report.warnings))


def main(argv: list[str]) -> int:
    """``python -m dmarc_reports.read_ahead OPTIONS PATH...``: the messages on standard output."""
    status = run(sys.stdout.fileno(), argv[1:], json.loads(argv[0]))
    if status:  # the storer stopped: nothing to say, nor to flush at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return status


def run(fd: int, paths: list[str], options: dict) -> int:
    """Read ``paths`` with ``options`` (``head_start.options``), the messages written to ``fd`` (the
    pipe to the storer): 0, or 1 when the storer stopped reading them."""
    try:  # (Linux only; elsewhere the system's size)
        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", None), AHEAD)
    except (OSError, TypeError):  # not a pipe (a file, a terminal), or the system allows less
        pass
    sender = Sender(fd)
    try:
        read_files(paths, Limits(**options["limits"]), sender.send, options["rollups_per_batch"])
        sender.flush()
    except BrokenPipeError:
        return 1
    return 0


class Sender:
    """Writes messages (pickled) to the storer without waiting for it while it cannot read yet (Django
    still loading): what the pipe cannot take is held here, up to ``HELD`` bytes, and written as the
    pipe empties; past that, it waits. So the reader reads on, and the storer finds the rows prepared."""

    def __init__(self, fd: int):
        self.fd = fd
        self.held: collections.deque[memoryview] = collections.deque()
        self.size = 0
        if stat.S_ISFIFO(os.fstat(fd).st_mode):  # (only the storer's pipe: a file or terminal is left as it is)
            os.set_blocking(fd, False)

    def send(self, message) -> None:
        data = memoryview(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))
        self.held.append(data)
        self.size += len(data)
        self._write(wait=self.size > HELD)

    def flush(self) -> None:
        self._write(wait=True)

    def _write(self, wait: bool) -> None:
        while self.held:
            try:
                written = os.write(self.fd, self.held[0])
            except BlockingIOError:
                if not wait:
                    return
                select.select([], [self.fd], [])
                continue
            self.size -= written
            if written == len(self.held[0]):
                self.held.popleft()
            else:
                self.held[0] = self.held[0][written:]


# -- the storer's side ----------------------------------------------------------------------------------

class ReaderFailed(RuntimeError):
    """The reader process stopped before it had read everything (a bug: its traceback is on stderr)."""


class ReadAhead:
    """The reader process for ``paths`` (see the module docstring); ``reports()`` once per path, in order.
    ``rollups_per_batch``: whether the storer takes roll-ups after each batch (``store.rollups_per_batch``)."""

    def __init__(self, paths, limits: Limits, rollups_per_batch: bool):
        from dmarc_reports import head_start  # (the storer's side only: the reader starts faster without it)

        self.paths = [os.path.abspath(path) for path in paths]
        wanted = head_start.options(dataclasses.asdict(limits), rollups_per_batch)
        taken = head_start.take(self.paths)  # the reader manage.py started, if it reads the same
        if taken is not None and _in_full(taken[0]) == wanted:
            self.process = taken[1]
        else:
            if taken is not None:
                head_start.stop(taken[1])
            self.process = head_start.spawn(self.paths, wanted)
        self.requested = 0  # files asked for with reports()
        self.finished = 0  # files read to their end in the pipe
        self.rows: RowsFromReader | None = None  # the rows being read, if any

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self) -> None:
        self.process.stdout.close()
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait()

    def reports(self) -> Iterator[Parsed | Failed]:
        """The items of the next file, as ``read_reports`` yields them (the file is taken now, even if
        the items are never read)."""
        index, self.requested = self.requested, self.requested + 1
        return self._items(index)

    def _items(self, index: int) -> Iterator[Parsed | Failed]:
        while self.finished < index:  # what the caller left unread of earlier files
            self._skip_to_end_of_file()
        while True:
            self._skip_rows()
            message = self.receive()
            if message[0] == "end of file":
                self.finished += 1
                return
            item = message[1]
            if message[0] == "aggregate":
                self.rows = item.report.rows = RowsFromReader(self, item.report)
            yield item

    def receive(self) -> tuple:
        try:
            return pickle.load(self.process.stdout)
        except EOFError:
            status = self.process.wait()
            raise ReaderFailed(f"The report reader stopped unexpectedly (exit status {status})") from None

    def _skip_rows(self) -> None:
        if self.rows is not None:
            self.rows.skip()
            self.rows = None

    def _skip_to_end_of_file(self) -> None:
        self._skip_rows()
        while (message := self.receive())[0] != "end of file":
            if message[0] == "aggregate":
                RowsFromReader(self, message[1].report).skip()
        self.finished += 1


def _in_full(options: dict) -> dict:
    """Reader options with every limit spelled out (the head start names only those the environment sets)."""
    return {**options, "limits": dataclasses.asdict(Limits(**options["limits"]))}


class RowsFromReader(RowStream):
    """An aggregate report's rows as the reader sends them, prepared: a ``RowStream`` whose batches
    are ``RowValues`` and ``RollupValues`` (``prepare``; records, messages and done as usual)."""

    prepared = True

    def __init__(self, ahead: ReadAhead, report):
        super().__init__(iter(()))
        self.ahead, self.report = ahead, report

    def __iter__(self):
        raise TypeError("the rows come prepared, in batches: read them with batches()")

    def batches(self, size: int = BATCH):
        """The parts as the reader prepared them (``size`` is not used)."""
        while not self.done:
            message = self.ahead.receive()
            if message[0] == "rows":
                part = message[1]
                if isinstance(part, RowValues):
                    self.records += part.records
                    self.messages += part.messages
                yield part
                continue
            self.done = True
            if message[0] == "rows rejected":
                raise Rejected(message[1])
            self.report.warnings[:] = message[1]  # complete now that the rows are read

    def skip(self) -> None:
        try:
            for _ in self.batches():
                pass
        except Rejected:
            pass


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
