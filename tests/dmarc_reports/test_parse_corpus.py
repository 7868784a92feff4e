"""Every file of the shared report corpus gives what EXPECTED.tsv says it must."""

import csv
from pathlib import Path

import pytest

from dmarc_reports.ingest import Failed, Parsed, read_reports

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"


def expected_lines():
    table = CORPUS / "EXPECTED.tsv"
    if not table.exists():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"the shared corpus is not at {CORPUS}"))]
    lines = (line for line in table.read_text().splitlines() if line and not line.startswith("#"))
    return [pytest.param(row, id=row["path"]) for row in csv.DictReader(lines, delimiter="\t")]


def read_all(path):
    """(kind, records, messages) per report, or ("failed", reason); rows read to the end."""
    results = []
    for item in read_reports(path):
        if isinstance(item, Failed):
            results.append(("failed", item.reason))
        else:
            if item.kind == "aggregate":
                for _ in item.report.rows:
                    pass
            results.append((item.kind, item.records, item.messages))
    return results


@pytest.mark.parametrize("line", expected_lines())
def test_it_reads_each_corpus_file_as_expected(line):
    results = read_all(CORPUS / line["path"])
    if line["outcome"] == "accept":
        assert results == [(line["kind"], int(line["records"]), int(line["messages"]))]
    elif line["outcome"] == "reject":
        assert results and all(kind == "failed" and reason.strip() for kind, *reason in results for reason in reason)
    else:
        assert results


def only_report(path):
    """The one report in ``path``, its aggregate rows read into ``report.row_list``."""
    items = []
    for item in read_reports(path):
        if isinstance(item, Parsed) and item.kind == "aggregate":
            item.report.row_list = list(item.report.rows)
        items.append(item)
    assert len(items) == 1 and isinstance(items[0], Parsed), items
    return items[0].report


@pytest.mark.skipif(not CORPUS.exists(), reason="the shared corpus is absent")
def test_it_sees_the_same_report_in_every_wrapping():
    folder = CORPUS / "parsedmarc" / "extract_report"
    identities = {only_report(folder / name).identity for name in ("nice-input.xml", "nice-input.xml.gz", "nice-input.xml.zip")}
    assert len(identities) == 1
    org_name, report_id, domain, begin, end = identities.pop()
    assert (org_name, report_id, domain) == ("google.com", "11038226378739404135", "example.com")
    assert begin.tzinfo is not None and begin < end


@pytest.mark.skipif(not CORPUS.exists(), reason="the shared corpus is absent")
def test_it_reads_every_rfc9990_element():
    report = only_report(CORPUS / "avvertix-dmarc-report-parser" / "fixtures" / "rfc9990-full.xml")
    rows = report.row_list
    assert report.generator == "Example DMARC Aggregate Reporter v1.2"
    assert report.errors == ["Multiple DMARC Policy Records found"]
    assert report.extra_contact_info == "https://example-reporter.com/contact"
    policy = report.policy
    assert (policy.domain, policy.p, policy.sp, policy.np, policy.adkim, policy.aspf, policy.fo) == (
        "a-domain.localhost", "reject", "quarantine", "reject", "s", "s", "0")
    assert (policy.testing, policy.discovery_method, policy.pct) == ("y", "treewalk", None)
    first, second = rows
    assert (first.source_ip, first.count, first.disposition, first.dkim, first.spf) == (
        "255.255.255.253", 7, "pass", "pass", "fail")
    assert first.reasons == (("policy_test_mode", "policy in testing mode"),)
    assert first.dkim_results == (
        ("a-domain.localhost", "selector1", "pass", "signature verified"),
        ("a-domain.localhost", "selector2", "fail", ""),
    )
    assert first.spf_results == ()
    assert second.spf_results == (("a-domain.localhost", "mfrom", "pass"),)
    assert report.warnings == []


@pytest.mark.skipif(not CORPUS.exists(), reason="the shared corpus is absent")
def test_it_keeps_unknown_enumerations_and_warns():
    report = only_report(CORPUS / "pmoscode-dmarc-analyzer" / "quirky" / "unknown_enums.xml")
    (row,) = report.row_list
    assert report.policy.p == "experimental-value"
    assert (row.disposition, row.dkim, row.spf) == ("unheard-of", "strange-result", "also-strange")
    assert any("unheard-of" in warning for warning in report.warnings)


@pytest.mark.skipif(not CORPUS.exists(), reason="the shared corpus is absent")
def test_it_normalises_upper_case_results():
    report = only_report(CORPUS / "parsedmarc" / "aggregate_invalid" / "report_with_upper_cased_pass.xml")
    (row,) = report.row_list
    assert "PASS" not in (row.dkim, row.spf) and [r.result for r in row.dkim_results + row.spf_results]
    assert all(r.result == r.result.lower() for r in row.dkim_results + row.spf_results)


@pytest.mark.skipif(not CORPUS.exists(), reason="the shared corpus is absent")
def test_it_salvages_malformed_xml_with_a_warning():
    report = only_report(CORPUS / "parsedmarc" / "aggregate" / "invalid_xml.xml")
    (row,) = report.row_list
    assert (report.report_id, report.policy.domain, row.source_ip) == (
        "sonexushealth.com:1530233361", "example.com", "199.230.200.36")
    assert any("recovery mode" in warning for warning in report.warnings)


@pytest.mark.skipif(not CORPUS.exists(), reason="the shared corpus is absent")
def test_it_reads_a_tls_report_in_full():
    report = only_report(CORPUS / "standards" / "rfc8460-example.json")
    (policy,) = report.policies
    assert (report.organization_name, report.report_id) == ("Company-X", "5065427c-23d3-47ca-b6e0-946ea0e8c4be")
    assert report.date_begin.isoformat() == "2016-04-01T00:00:00+00:00"
    assert (policy.policy_type, policy.policy_domain, policy.mx_hosts) == (
        "sts", "company-y.example", ("*.mail.company-y.example",))
    assert (policy.successful_sessions, policy.failed_sessions) == (5326, 303)
    assert policy.failures[1].result_type == "starttls-not-supported"
    assert policy.failures[1].receiving_ip == "203.0.113.56"
    assert policy.failures[1].failed_session_count == 200


@pytest.mark.skipif(not CORPUS.exists(), reason="the shared corpus is absent")
def test_it_refuses_failure_reports_with_a_reason():
    (item,) = read_reports(CORPUS / "parsedmarc" / "failure" / "dmarc_ruf_report_linkedin.eml")
    assert isinstance(item, Failed)
    assert "failure" in item.reason and "not supported" in item.reason
