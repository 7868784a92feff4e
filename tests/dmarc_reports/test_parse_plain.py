"""The fast way a plain report is read (chunks, records remembered by shape) gives what the
element-by-element way gives, and keeps the limits."""

import gzip
import io
import zlib

import pytest

from bench.make_report import write_aggregate_report
from dmarc_reports.ingest import Limits, Rejected, parse_aggregate
from dmarc_reports.ingest.aggregate import Reader, RecordReader, read_row

HEAD = (b"<feedback><report_metadata><org_name>r.example</org_name><report_id>r-1</report_id>"
        b"<date_range><begin>1700000000</begin><end>1700086399</end></date_range></report_metadata>"
        b"<policy_published><domain>example.com</domain><p>reject</p></policy_published>")


def record(source_ip="192.0.2.1", count="1", header_from="example.com", dkim="pass", extra=""):
    return (f"<record><row><source_ip>{source_ip}</source_ip><count>{count}</count><policy_evaluated>"
            f"<disposition>none</disposition><dkim>{dkim}</dkim><spf>fail</spf></policy_evaluated></row>"
            f"<identifiers><header_from>{header_from}</header_from></identifiers><auth_results>"
            f"<spf><domain>example.com</domain><result>fail</result></spf>{extra}</auth_results></record>").encode()


def everything(source, limits=None):
    """(header, rows, warnings) of a report, or the refusal."""
    try:
        report = parse_aggregate(source, limits)
        rows = list(report.rows)
    except Rejected as error:
        return str(error)
    return (report.identity, report.policy, rows, report.warnings)


def read_each_record(reader, record, number):
    reader.check(record)
    return read_row(record, number, reader.names, reader.values)


@pytest.mark.parametrize("rfc9990", [False, True])
@pytest.mark.parametrize("chunk", [61, 1000, Reader.CHUNK])
def test_it_reads_a_report_as_element_by_element_whatever_the_chunk(tmp_path, monkeypatch, rfc9990, chunk):
    path = tmp_path / "report.xml"
    write_aggregate_report(path, 400, gz=False, seed=7, rfc9990=rfc9990)
    monkeypatch.setattr(Reader, "CHUNK", chunk)
    fast = everything(path.read_bytes())
    with monkeypatch.context() as patch:  # element by element, every record read afresh
        patch.setattr(Reader, "FAST", False)
        patch.setattr(Reader, "_parse_plain", lambda reader: reader._parse_each(recover=False))
        patch.setattr(RecordReader, "__call__", read_each_record)
        slow = everything(path.read_bytes())
    assert fast == slow and len(fast[2]) == 400


def test_it_gives_records_of_one_shape_their_own_address_count_and_warnings():
    document = HEAD + record("192.0.2.1", "3", "") + record("192.0.2.2", " 4 ", "", "PASS") + record(
        "::ffff:192.0.2.3", "5", "") + record("not-an-ip", "6", "") + record("2001:DB8::1", "7", "") + record(
        "fe80::1%eth0", "8", "") + b"</feedback>"
    header, policy, rows, warnings = everything(document)
    assert [(row.source_ip, row.count, row.dkim) for row in rows] == [
        ("192.0.2.1", 3, "pass"), ("192.0.2.2", 4, "pass"), ("192.0.2.3", 5, "pass"), ("2001:db8::1", 7, "pass"),
        ("fe80::1", 8, "pass")]  # (a zone means nothing off the reporter's host)
    assert [w for w in warnings if "header_from" in w] == [
        f"Record {n} has no identifiers/header_from" for n in (1, 2, 3, 5, 6)]
    assert any("Record 4: source_ip 'not-an-ip'" in w for w in warnings)


def test_it_refuses_a_bad_count_in_a_record_shaped_like_a_good_one():
    report = parse_aggregate(HEAD + record(count="3") + record(count="three") + b"</feedback>")
    rows = iter(report.rows)
    assert next(rows).count == 3
    with pytest.raises(Rejected, match="Record 2: the message count is 'three'"):
        next(rows)


def test_it_refuses_a_record_too_deep_or_too_big_whatever_its_place():
    deep = record(extra="<x>" * 70 + "</x>" * 70)
    assert "levels deep" in everything(HEAD + record() + record("192.0.2.9") + deep + b"</feedback>")
    assert "levels deep" in everything(HEAD + deep + record() + b"</feedback>")
    big = record(extra="<x/>" * 40)
    refusal = everything(HEAD + record() + big + b"</feedback>", Limits(max_elements_per_record=30))
    assert "more than 30 elements" in refusal


def test_it_refuses_a_huge_part_having_read_little_of_it():
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    data = compressor.compress(HEAD + b"<extension>")
    for _ in range(40):  # 40 MB of <a/> once decompressed
        data += compressor.compress(b"<a/>" * 256 * 1024)
    data += compressor.compress(b"</extension></feedback>") + compressor.flush()
    stream = gzip.GzipFile(fileobj=io.BytesIO(data))
    with pytest.raises(Rejected, match="more than 10000 elements"):
        parse_aggregate(stream)
    assert stream.tell() < 1024 * 1024
