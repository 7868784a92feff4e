"""Storing reports through import_file: the corpus figures, every field, duplicates, rejections."""

import csv
import gzip
import hashlib
from datetime import date
from pathlib import Path

import pytest
from django.db.models import Sum

from dmarc_reports import store
from dmarc_reports.importing import import_file
from dmarc_reports.models import (AggregateReport, DailyRollup, IncomingFile, ReportRow, TlsDailyRollup,
                                  TlsFailureDailyRollup, TlsFailureDetail, TlsPolicyResult, TlsReport)
from tests.dmarc_reports.builders import ReportSpec, RowSpec, aggregate_xml, gz, tls_json, zipped

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
needs_corpus = pytest.mark.skipif(not CORPUS.exists(), reason=f"the shared corpus is not at {CORPUS}")


def expected_lines():
    table = CORPUS / "EXPECTED.tsv"
    if not table.exists():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"the shared corpus is not at {CORPUS}"))]
    lines = (line for line in table.read_text().splitlines() if line and not line.startswith("#"))
    return [pytest.param(row, id=row["path"]) for row in csv.DictReader(lines, delimiter="\t")]


@pytest.mark.parametrize("line", expected_lines())
def test_it_stores_each_corpus_file_as_expected(org, line):
    path = CORPUS / line["path"]
    with open(path, "rb") as stream:
        outcome = import_file(stream, name=path.name, org=org, via="command")
    incoming = IncomingFile.objects.get()
    assert incoming.status == outcome.status and incoming.size == path.stat().st_size
    assert incoming.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    if line["outcome"] == "accept":
        assert outcome.status == "imported", outcome.results
        [result] = outcome.results
        assert (result.kind, result.records, result.messages) == (line["kind"], int(line["records"]),
                                                                   int(line["messages"]))
        if result.kind == "aggregate":
            report = AggregateReport.objects.get()
            assert report.incoming == incoming and report.organization == org
            assert report.rows.count() == report.records == int(line["records"])
            assert (report.rows.aggregate(n=Sum("count"))["n"] or 0) == int(line["messages"])
            assert (DailyRollup.objects.aggregate(n=Sum("messages"))["n"] or 0) == int(line["messages"])
        else:
            report = TlsReport.objects.get()
            assert report.policies.count() == int(line["records"])
            assert report.sessions == int(line["messages"])
            rolled = TlsDailyRollup.objects.aggregate(ok=Sum("successful"), failed=Sum("failed"))
            assert rolled["ok"] + rolled["failed"] == int(line["messages"])
    elif line["outcome"] == "reject":
        assert outcome.status == "rejected"
        assert all(result.error and result.error.strip() for result in outcome.results)
        assert incoming.reason.strip()
        assert not AggregateReport.objects.exists() and not TlsReport.objects.exists()
    else:
        assert outcome.status in ("imported", "rejected") and outcome.results


@needs_corpus
def test_it_stores_nice_input_once_however_wrapped(org):
    folder = CORPUS / "parsedmarc" / "extract_report"
    first = import_file((folder / "nice-input.xml").read_bytes(), name="nice-input.xml", org=org, via="upload")
    again = [import_file((folder / name).read_bytes(), name=name, org=org, via="upload")
             for name in ("nice-input.xml.gz", "nice-input.xml.zip", "nice-input.xml")]
    assert first.status == "imported"
    assert [outcome.status for outcome in again] == ["duplicate"] * 3
    assert all(outcome.results[0].report == first.results[0].report for outcome in again)
    assert again[0].results[0].records == 20 and again[0].results[0].messages == 3047
    assert AggregateReport.objects.count() == 1 and ReportRow.objects.count() == 20
    assert DailyRollup.objects.aggregate(n=Sum("messages"))["n"] == 3047  # duplicates add nothing
    assert list(IncomingFile.objects.order_by("pk").values_list("status", flat=True)) == [
        "imported", "duplicate", "duplicate", "duplicate"]


def test_it_stores_the_same_report_again_for_another_organisation(org, other_org):
    data = aggregate_xml(ReportSpec())
    assert import_file(data, name="a.xml", org=org, via="upload").status == "imported"
    assert import_file(data, name="a.xml", org=other_org, via="upload").status == "imported"
    assert AggregateReport.objects.filter(organization=other_org).count() == 1


def test_it_keeps_the_raw_file_to_download(org):
    xml = aggregate_xml(ReportSpec())
    plain = import_file(xml, name="r.xml", org=org, via="upload").incoming
    packed = import_file(gz(xml), name="r.xml.gz", org=org, via="upload").incoming
    plain.refresh_from_db()
    packed.refresh_from_db()
    assert plain.raw_encoding == IncomingFile.GZIPPED and gzip.decompress(bytes(plain.raw)) == xml
    assert plain.raw_bytes() == xml and b"".join(plain.raw_chunks(size=100)) == xml
    assert packed.raw_encoding == IncomingFile.AS_SENT and packed.raw_bytes() == gz(xml)


def test_it_leaves_nothing_of_a_report_rejected_part_way(org, monkeypatch):
    monkeypatch.setattr(store, "BATCH", 2)  # rows 0-3 are inserted before record 5 turns out unusable
    rows = [RowSpec(source_ip=f"192.0.2.{n}", count=n + 1) for n in range(6)]
    good = aggregate_xml(ReportSpec(report_id="good", rows=rows[:2]))
    bad = aggregate_xml(ReportSpec(report_id="bad", rows=rows, bad_count_at=5))
    outcome = import_file(zipped({"good.xml": good, "bad.xml": bad}), name="two.zip", org=org, via="upload")
    assert outcome.status == "imported"
    by_id = {result.report_id: result for result in outcome.results}
    assert by_id["good"].status == "imported"
    assert by_id["bad"].status == "rejected"
    assert "Record 6" in by_id["bad"].error and "nothing of this report was stored" in by_id["bad"].error
    assert list(AggregateReport.objects.values_list("report_id", flat=True)) == ["good"]
    assert ReportRow.objects.count() == 2
    assert DailyRollup.objects.aggregate(n=Sum("messages"))["n"] == 3
    incoming = IncomingFile.objects.get()
    assert "Record 6" in incoming.reason
    assert [entry["status"] for entry in incoming.results] == ["imported", "rejected"]


def test_it_stores_every_field_of_a_report(org):
    spec = ReportSpec(rows=[
        RowSpec(source_ip="2001:db8::25", count=7, disposition="quarantine", dkim="fail", spf="pass",
                reasons=(("forwarded", "via list"), ("mailing_list", "")), header_from="acme.example",
                dkim_results=(("acme.example", "s1", "fail"), ("esp.example", "k2", "pass")),
                spf_results=(("bounce.acme.example", "mfrom", "pass"),)),
    ])
    import_file(aggregate_xml(spec), name="r.xml", org=org, via="api")
    report = AggregateReport.objects.get()
    assert (report.org_name, report.email, report.report_id, report.domain) == (
        "Receiver Inc", "dmarc@receiver.example", "r-1", "acme.example")
    assert (report.p, report.sp, report.adkim, report.aspf, report.pct) == ("reject", "quarantine", "r", "r", 100)
    assert (report.date_begin, report.date_end) == (spec.begin, spec.end)
    row = report.rows.get()
    assert (row.source_ip, row.count, row.disposition, row.dkim, row.spf) == ("2001:db8::25", 7, "quarantine",
                                                                              "fail", "pass")
    assert row.reasons == [{"type": "forwarded", "comment": "via list"}, {"type": "mailing_list", "comment": ""}]
    assert row.dkim_results == [
        {"domain": "acme.example", "selector": "s1", "result": "fail", "human_result": ""},
        {"domain": "esp.example", "selector": "k2", "result": "pass", "human_result": ""}]
    assert row.spf_results == [{"domain": "bounce.acme.example", "scope": "mfrom", "result": "pass"}]
    rollup = DailyRollup.objects.get()
    assert (rollup.day, rollup.source_ip, rollup.messages, rollup.dmarc_pass, rollup.dkim_pass, rollup.spf_pass,
            rollup.disposition_quarantine, rollup.forwarded, rollup.mailing_list) == (
        date(2026, 3, 1), "2001:db8::25", 7, 7, 0, 7, 7, 0, 0)  # (it passes: its reasons override nothing)


def test_it_stores_a_tls_report_with_its_failure_details(org):
    data = tls_json(failures=(("certificate-expired", 4), ("starttls-not-supported", 2)))
    outcome = import_file(data, name="tls.json", org=org, via="mailbox")
    assert outcome.status == "imported"
    assert outcome.as_json_lines("tls.json")[0]["messages"] == 96
    report = TlsReport.objects.get()
    assert (report.organization_name, report.contact_info, report.successful_sessions, report.failed_sessions) == (
        "Receiver Inc", "tls@receiver.example", 90, 6)
    policy = TlsPolicyResult.objects.get()
    assert (policy.policy_type, policy.policy_domain, policy.mx_hosts) == ("sts", "acme.example", ["mx1.acme.example"])
    assert policy.policy_strings == ["version: STSv1", "mode: enforce"]
    detail = TlsFailureDetail.objects.get(result_type="certificate-expired")
    assert (detail.sending_mta_ip, detail.receiving_mx_hostname, detail.receiving_ip, detail.failed_session_count,
            detail.failure_reason_code) == ("198.51.100.7", "mx1.acme.example", "203.0.113.25", 4, "X509_V_ERR")
    day = TlsDailyRollup.objects.get()
    assert (day.domain, day.successful, day.failed) == ("acme.example", 90, 6)
    assert dict(TlsFailureDailyRollup.objects.values_list("result_type", "sessions")) == {
        "certificate-expired": 4, "starttls-not-supported": 2}
    assert import_file(gz(data), name="tls.json.gz", org=org, via="mailbox").status == "duplicate"
    assert TlsDailyRollup.objects.get().successful == 90


def test_it_refuses_a_file_over_the_ingest_limit_unread(org, settings):
    settings.INGEST_MAX_BYTES = 1000
    outcome = import_file(b"<feedback>" + b" " * 2000, name="big.xml", org=org, via="upload")
    assert outcome.status == "rejected"
    assert "larger than" in outcome.results[0].error
    assert IncomingFile.objects.get().status == "rejected"


def test_it_rejects_a_file_with_no_report_and_says_why(org):
    outcome = import_file(zipped({}), name="empty.zip", org=org, via="upload")
    assert outcome.status == "rejected"
    assert outcome.results[0].error
    line = outcome.as_json_lines("empty.zip")[0]
    assert line["status"] == "rejected" and line["file"] == "empty.zip" and line["error"]


def test_it_reads_a_file_object_in_place(org, tmp_path):
    path = tmp_path / "r.xml.gz"
    path.write_bytes(gz(aggregate_xml(ReportSpec())))
    with open(path, "rb") as stream:
        outcome = import_file(stream, name=path.name, org=org, via="command")
        assert not stream.closed  # the caller's file is left to the caller
    assert outcome.status == "imported"


def test_it_records_an_unexpected_failure_before_raising_it(org, monkeypatch):
    from dmarc_reports import importing

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(importing, "store_report", broken)  # stands in for a bug or a lost database
    with pytest.raises(RuntimeError):
        import_file(aggregate_xml(ReportSpec()), name="r.xml", org=org, via="upload")
    incoming = IncomingFile.objects.get()
    assert incoming.status == "rejected" and "unexpected error" in incoming.reason
