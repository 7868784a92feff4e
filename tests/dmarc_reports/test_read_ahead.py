"""Reading files in a second process (``read_ahead``) gives exactly what reading them here gives."""

import dataclasses
import fcntl
import os
import signal

import pytest

from dmarc_reports.ingest import Failed, Limits, Rejected, read_reports
from dmarc_reports.store import prepared_parts, rollups_per_batch
from dmarc_reports.read_ahead import AHEAD, ReadAhead, ReaderFailed

from .builders import ReportSpec, RowSpec, aggregate_xml, gz
from .test_parse_corpus import CORPUS


def outcome(items) -> list:
    """Everything a storer sees of the items: headers, rows (or the refusal that stopped them),
    counts and warnings once the rows are read, TLS reports whole, refusals."""
    seen = []
    for item in items:
        if isinstance(item, Failed):
            seen.append(("failed", item.member, item.reason))
        elif item.kind == "tls":
            seen.append(("tls", item.member, item.report))
        else:
            header = dataclasses.replace(item.report, rows=None, warnings=[])
            try:
                parts = list(prepared_parts(item.report))  # prepared by the reader, or here
            except Rejected as error:
                seen.append(("aggregate", item.member, header, "rejected", str(error)))
                continue
            seen.append(("aggregate", item.member, header, parts, item.records, item.messages,
                         list(item.report.warnings)))
    return seen


def read_here(path, limits=Limits()):
    return outcome(read_reports(str(path), limits=limits))


def corpus_files():
    if not CORPUS.exists():
        return []
    return sorted(path for path in CORPUS.rglob("*") if path.is_file() and path.name != "EXPECTED.tsv")


@pytest.mark.skipif(not CORPUS.exists(), reason="the shared corpus is absent")
def test_it_reads_every_corpus_file_as_reading_here_does():
    paths = corpus_files()
    with ReadAhead(paths, Limits(), rollups_per_batch()) as ahead:
        for path in paths:
            assert outcome(ahead.reports()) == read_here(path), path


def test_it_passes_rows_warnings_and_refusals_part_way(tmp_path):
    many = ReportSpec(rows=[RowSpec(source_ip=f"192.0.2.{n % 250 + 1}", count=n + 1) for n in range(2500)])
    bad_ip = ReportSpec(report_id="r-2", rows=[RowSpec(), RowSpec(source_ip="not-an-address"), RowSpec(count=3)])
    bad_count = ReportSpec(report_id="r-3", rows=[RowSpec() for _ in range(1500)], bad_count_at=1200)
    paths = [tmp_path / "many.xml.gz", tmp_path / "bad-ip.xml", tmp_path / "bad-count.xml", tmp_path / "junk.xml"]
    paths[0].write_bytes(gz(aggregate_xml(many)))
    paths[1].write_bytes(aggregate_xml(bad_ip))
    paths[2].write_bytes(aggregate_xml(bad_count))
    paths[3].write_bytes(b"\x00\x01 not a report")
    with ReadAhead(paths, Limits(), rollups_per_batch()) as ahead:
        seen = [outcome(ahead.reports()) for _ in paths]
    assert seen == [read_here(path) for path in paths]
    values = [row for part in seen[0][0][3] if hasattr(part, "values") for row in part.values]
    assert len(values) == 2500 and seen[0][0][5] == sum(range(1, 2501))
    assert len(seen[0][0][3][-1].sources) == 250  # the roll-ups by source follow the rows
    assert "was skipped" in seen[1][0][6][0]
    assert seen[2][0][3] == "rejected" and "Record 1201" in seen[2][0][4]
    assert seen[3][0][0] == "failed"


def test_it_skips_what_the_caller_does_not_read(tmp_path):
    paths = []
    for n in range(4):
        path = tmp_path / f"r{n}.xml"
        path.write_bytes(aggregate_xml(ReportSpec(report_id=f"r-{n}", rows=[RowSpec(count=n + 1)] * 1200)))
        paths.append(path)
    with ReadAhead(paths, Limits(), rollups_per_batch()) as ahead:
        ahead.reports()  # file 0: taken, never read (a file refused before reading)
        items = ahead.reports()  # file 1: the header only (a duplicate report: its rows are not read)
        first = next(items)
        assert first.report.report_id == "r-1"
        third = list(ahead.reports())  # file 2: its header, then file 3 read in full
        assert [item.report.report_id for item in third] == ["r-2"]
        assert outcome(ahead.reports()) == read_here(paths[3])


def test_it_leaves_unreadable_and_oversized_files_to_the_caller(tmp_path):
    good, big = tmp_path / "good.xml", tmp_path / "big.xml"
    good.write_bytes(aggregate_xml(ReportSpec()))
    big.write_bytes(aggregate_xml(ReportSpec(rows=[RowSpec()] * 50)))
    limits = Limits(max_total_bytes=big.stat().st_size - 1)
    with ReadAhead([tmp_path / "gone.xml", big, good], limits, rollups_per_batch()) as ahead:
        assert list(ahead.reports()) == []
        assert list(ahead.reports()) == []
        assert outcome(ahead.reports()) == read_here(good, limits)


def test_it_says_when_the_reader_stops(tmp_path):
    path = tmp_path / "r.xml"
    path.write_bytes(aggregate_xml(ReportSpec()))
    with ReadAhead([path], Limits(), rollups_per_batch()) as ahead:
        os.kill(ahead.process.pid, signal.SIGKILL)
        ahead.process.wait()
        with pytest.raises(ReaderFailed, match="stopped unexpectedly"):
            list(ahead.reports())


def test_it_reads_up_to_a_mebibyte_ahead(tmp_path):
    """The pipe holds what the reader prepares while Django loads in the storer (the system's 64 KiB
    would stop it after a few hundred rows)."""
    path = tmp_path / "r.xml"
    path.write_bytes(aggregate_xml(ReportSpec()))
    with ReadAhead([path], Limits(), rollups_per_batch()) as ahead:
        items = ahead.reports()
        next(items)  # (the reader is running: it set the size before it sent anything)
        assert fcntl.fcntl(ahead.process.stdout.fileno(), fcntl.F_GETPIPE_SZ) == AHEAD
        list(items)


def test_it_holds_what_the_pipe_cannot_take_yet_and_keeps_the_order(monkeypatch):
    import pickle
    import threading

    from dmarc_reports import read_ahead

    monkeypatch.setattr(read_ahead, "HELD", 3 * 1024 * 1024)
    readable, writable = os.pipe()
    messages = [("rows", os.urandom(100_000), n) for n in range(60)]  # 6 MB: past the pipe and HELD
    sender = read_ahead.Sender(writable)
    for message in messages[:25]:  # nobody reads yet: held, not waited for
        sender.send(message)
    assert 0 < sender.size <= 2_600_000
    received = []

    def read_all():
        with os.fdopen(readable, "rb") as stream:
            received.extend(pickle.load(stream) for _ in messages)

    reader = threading.Thread(target=read_all)
    reader.start()
    for message in messages[25:]:  # past HELD: waits for the reader
        sender.send(message)
        assert sender.size <= read_ahead.HELD
    sender.flush()
    os.close(writable)
    reader.join()
    assert received == messages and sender.size == 0
