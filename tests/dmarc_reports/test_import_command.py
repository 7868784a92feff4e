"""`manage.py import_reports`: files and folders, --json lines, --org, finding the organisation."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from dmarc_reports.models import AggregateReport, IncomingFile
from dmarc_reports.owners import Unresolved, organisational_domain, owner_of
from monitor.models import Organization, Pool, PoolMember
from tests.dmarc_reports.builders import ReportSpec, aggregate_xml, gz, tls_json, zipped

KEYS = {"file", "status", "kind", "org", "report_id", "domain", "records", "messages", "error"}


def run(*args) -> list[dict]:
    out = io.StringIO()
    call_command("import_reports", "--json", *args, stdout=out, stderr=io.StringIO())
    return [json.loads(line) for line in out.getvalue().splitlines()]


def pool(org, *domains):
    created = Pool.objects.create(organization=org, name=f"domains-{Pool.objects.count()}", kind=Pool.DOMAIN)
    for domain in domains:
        PoolMember.objects.create(pool=created, value=domain)
    return created


def test_it_prints_one_json_line_per_report_or_rejection(org, tmp_path):
    folder = tmp_path / "reports"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.xml").write_bytes(aggregate_xml(ReportSpec(report_id="a")))
    (folder / "sub" / "two.zip").write_bytes(zipped({
        "b.xml": aggregate_xml(ReportSpec(report_id="b")), "junk.txt": b"hello, this is not a report"}))
    (folder / "sub" / "t.json.gz").write_bytes(gz(tls_json()))
    (folder / ".hidden.xml").write_bytes(b"ignored")
    again = tmp_path / "a-again.xml.gz"
    again.write_bytes(gz(aggregate_xml(ReportSpec(report_id="a"))))

    lines = run(str(folder), str(again))

    assert all(set(line) == KEYS for line in lines)
    summary = [(line["file"], line["status"], line["kind"], line["report_id"]) for line in lines]
    assert summary == [
        (str(folder / "a.xml"), "imported", "aggregate", "a"),
        (str(folder / "sub" / "t.json.gz"), "imported", "tls", "t-1"),
        (str(folder / "sub" / "two.zip"), "imported", "aggregate", "b"),
        (str(folder / "sub" / "two.zip"), "rejected", None, None),
        (str(again), "duplicate", "aggregate", "a"),
    ]
    first = lines[0]
    assert (first["org"], first["domain"], first["records"], first["messages"], first["error"]) == (
        "acme", "acme.example", 1, 1, None)
    assert lines[1]["messages"] == 94 and lines[1]["records"] == 1
    assert lines[3]["error"] and lines[3]["status"] == "rejected"
    assert IncomingFile.objects.filter(via="command").count() == 4


def test_it_exits_zero_with_rejections_and_says_what_happened_without_json(org, tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"<feedback><report_metadata>")
    out = io.StringIO()
    call_command("import_reports", str(bad), stdout=out, stderr=io.StringIO())
    text = out.getvalue()
    assert f"{bad}: rejected: " in text
    assert "0 report(s) imported, 0 duplicate(s), 1 rejected" in text


def test_it_fails_for_a_missing_path_or_unknown_organisation(org, tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_reports", str(tmp_path / "nope.xml"), stdout=io.StringIO())
    with pytest.raises(CommandError, match="no organisation with the slug"):
        call_command("import_reports", "--org", "nobody", str(tmp_path), stdout=io.StringIO())


def test_it_imports_into_the_organisation_given(org, other_org, tmp_path):
    pool(org, "acme.example")
    path = tmp_path / "r.xml"
    path.write_bytes(aggregate_xml(ReportSpec()))
    [line] = run("--org", other_org.slug, str(path))
    assert line["org"] == other_org.slug
    assert AggregateReport.objects.get().organization == other_org


def test_it_finds_the_organisation_by_exact_domain_first(org, other_org, tmp_path):
    pool(org, "example.net", "mail.acme.example")
    pool(other_org, "acme.example")
    path = tmp_path / "r.xml"
    path.write_bytes(aggregate_xml(ReportSpec(domain="mail.acme.example")))
    assert run(str(path))[0]["org"] == org.slug


def test_it_finds_the_organisation_by_organisational_domain(org, other_org, tmp_path):
    pool(other_org, "globex.example")
    pool(org, "news.acme.co.uk")
    path = tmp_path / "r.xml"
    path.write_bytes(aggregate_xml(ReportSpec(domain="bounces.acme.co.uk")))
    assert run(str(path))[0]["org"] == org.slug


def test_it_rejects_a_report_no_organisation_claims(org, other_org, tmp_path):
    pool(org, "acme.example")
    path = tmp_path / "r.xml"
    path.write_bytes(aggregate_xml(ReportSpec(domain="stranger.example")))
    [line] = run(str(path))
    assert line["status"] == "rejected" and line["org"] is None
    assert "No organisation's domain pools hold stranger.example" in line["error"]
    assert not AggregateReport.objects.exists()


def test_it_rejects_a_domain_two_organisations_claim(org, other_org, tmp_path):
    pool(org, "acme.example")
    pool(other_org, "acme.example")
    path = tmp_path / "r.xml"
    path.write_bytes(aggregate_xml(ReportSpec()))
    [line] = run(str(path))
    assert line["status"] == "rejected" and "several organisations (acme, globex)" in line["error"]


def test_it_uses_the_only_organisation_when_no_pool_matches(org, tmp_path):
    path = tmp_path / "r.xml"
    path.write_bytes(aggregate_xml(ReportSpec(domain="anything.example")))
    assert run(str(path))[0]["org"] == org.slug


def test_it_finds_a_tls_reports_organisation_by_its_policy_domain(org, other_org):
    pool(other_org, "globex.example")
    assert owner_of(["globex.example"]) == other_org
    with pytest.raises(Unresolved, match="There is no organisation"):
        Organization.objects.all().delete()
        owner_of(["globex.example"])


def test_it_knows_organisational_domains():
    assert organisational_domain("a.b.acme.co.uk") == "acme.co.uk"
    assert organisational_domain("Mail.Example.COM.") == "example.com"


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_it_draws_a_progress_bar_only_on_a_terminal():
    from dmarc_reports.management.commands.import_reports import Progress

    terminal, pipe = Terminal(), io.StringIO()
    for stream in (terminal, pipe):
        progress = Progress(4, stream=stream)
        for done in range(5):
            progress.update(done, f"file-{done}.xml")
        progress.close()
    assert "[" + "#" * 30 + "] 4/4" in terminal.getvalue()
    assert pipe.getvalue() == ""
