"""The upload page: editors upload many files (and zips), see per file what happened; others may not."""

import os

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from dmarc_reports.models import AggregateReport, IncomingFile, TlsReport
from tests.conftest import sign_in
from tests.dmarc_reports.builders import ReportSpec, aggregate_xml, gz, tls_json, zipped

URL = "/reports/upload/"


def files(*pairs):
    return [SimpleUploadedFile(name, data) for name, data in pairs]


def test_it_is_at_reports_upload():
    assert reverse("reports_upload") == URL


def test_it_lets_an_editor_upload_many_files_and_shows_each_outcome(editor_client, org, editor):
    report = aggregate_xml(ReportSpec(report_id="a"))
    response = editor_client.post(URL, {"org": org.slug, "files": files(
        ("a.xml", report),
        ("a.xml.gz", gz(report)),
        ("many.zip", zipped({"b.xml": aggregate_xml(ReportSpec(report_id="b")), "t.json": tls_json()})),
        ("notes.txt", b"just some words"),
    )})
    assert response.status_code == 200
    shown = [(o["name"], o["status"]) for o in response.context["outcomes"]]
    assert shown == [("a.xml", "imported"), ("a.xml.gz", "duplicate"), ("many.zip", "imported"),
                     ("notes.txt", "rejected")]
    page = response.content.decode()
    assert "Not a DMARC or TLS-RPT report" in page
    assert AggregateReport.objects.filter(organization=org).count() == 2
    assert TlsReport.objects.filter(organization=org).count() == 1
    assert set(IncomingFile.objects.values_list("via", "user__username").distinct()) == {("upload", "eddie")}


def test_it_refuses_a_viewer(viewer_client, org):
    assert viewer_client.get(URL).status_code == 403
    response = viewer_client.post(URL, {"org": org.slug, "files": files(("a.xml", aggregate_xml(ReportSpec())))})
    assert response.status_code == 403
    assert not IncomingFile.objects.exists()


def test_it_hides_another_organisation(editor_client, other_org):
    response = editor_client.post(URL, {"org": other_org.slug, "files": files(("a.xml", aggregate_xml(ReportSpec())))})
    assert response.status_code == 404
    assert not IncomingFile.objects.exists()


def test_it_lists_only_the_users_organisations_files(editor_client, org, other_org):
    from dmarc_reports.importing import import_file

    import_file(aggregate_xml(ReportSpec(report_id="theirs")), name="theirs.xml", org=other_org, via="command")
    import_file(aggregate_xml(ReportSpec(report_id="ours")), name="ours.xml", org=org, via="command")
    page = editor_client.get(URL).content.decode()
    assert "ours.xml" in page and "theirs.xml" not in page


def test_it_folds_a_file_of_many_reports_in_the_recent_list(editor_client, org, monkeypatch):
    from dmarc_reports import views
    from dmarc_reports.importing import import_file

    monkeypatch.setattr(views, "LISTED", 3)
    members = {f"r{n}.xml": aggregate_xml(ReportSpec(report_id=f"many-{n}")) for n in range(5)}
    import_file(zipped(members), name="first.zip", org=org, via="command")
    members["notes.txt"] = b"just some words"
    import_file(zipped(members), name="again.zip", org=org, via="command")
    response = editor_client.get(URL)
    page = response.content.decode()
    assert "<summary>5 found: 5 imported</summary>" in page
    assert "<summary>6 found: 5 duplicate, 1 rejected</summary>" in page
    assert page.count("and 2 more") == 2  # three of the five reports listed per file, not all of them
    assert page.count(">many-0<") == 2 and ">many-4<" not in page
    assert all("raw" in incoming.get_deferred_fields() for incoming, *_ in response.context["recent"])  # (bytes unread)


def test_it_asks_for_files_when_none_were_chosen(editor_client, org):
    response = editor_client.post(URL, {"org": org.slug})
    assert response.status_code == 400
    assert "Choose one or more report files" in response.content.decode()


def test_it_requires_the_csrf_token(org, editor):
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    response = client.post(URL, {"org": org.slug, "files": files(("a.xml", aggregate_xml(ReportSpec())))})
    assert response.status_code == 403
    assert not IncomingFile.objects.exists()
    page = client.get(URL).content.decode()
    assert 'name="csrfmiddlewaretoken"' in page


def test_it_sends_anonymous_visitors_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.fixture
def staff_editor(editor):
    editor.is_staff = True
    editor.save()
    return editor


def test_it_shows_staff_only_their_organisations_reports_in_the_admin(client, staff_editor, org, other_org):
    from dmarc_reports.importing import import_file

    import_file(aggregate_xml(ReportSpec(report_id="theirs-1")), name="t.xml", org=other_org, via="command")
    import_file(aggregate_xml(ReportSpec(report_id="ours-1")), name="o.xml", org=org, via="command")
    client.force_login(staff_editor)
    page = client.get("/admin/dmarc_reports/aggregatereport/").content.decode()
    assert "ours-1" in page and "theirs-1" not in page
    theirs = AggregateReport.objects.get(report_id="theirs-1")
    assert client.get(f"/admin/dmarc_reports/aggregatereport/{theirs.pk}/change/").status_code in (302, 403, 404)
    files_page = client.get("/admin/dmarc_reports/incomingfile/").content.decode()
    assert URL in files_page and "o.xml" in files_page and "t.xml" not in files_page
    assert client.get("/admin/dmarc_reports/incomingfile/add/").status_code == 403


def test_it_shows_superusers_every_report_in_the_admin(client, org, other_org):
    from dmarc_reports.importing import import_file

    tls = import_file(tls_json(report_id="tls-theirs"), name="t.json", org=other_org, via="command")
    aggregate = import_file(aggregate_xml(ReportSpec()), name="a.xml", org=org, via="command")
    admin = get_user_model().objects.create_superuser("root", "root@example.test", "pw-for-root!")
    client.force_login(admin)
    assert "tls-theirs" in client.get("/admin/dmarc_reports/tlsreport/").content.decode()
    pages = [f"/admin/dmarc_reports/tlsreport/{tls.results[0].report.pk}/change/",
             f"/admin/dmarc_reports/aggregatereport/{aggregate.results[0].report.pk}/change/",
             f"/admin/dmarc_reports/incomingfile/{aggregate.incoming.pk}/change/"]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
    assert "acme.example" in client.get(pages[0]).content.decode()  # the policies, inline
    raw_url = reverse("dash_file_raw", args=[aggregate.incoming.pk])
    assert f'href="{raw_url}">download</a>' in client.get(pages[2]).content.decode()  # the file as received
    IncomingFile.objects.filter(pk=aggregate.incoming.pk).update(raw=None)
    assert "not kept" in client.get(pages[2]).content.decode()


@pytest.mark.django_db(transaction=True)
def test_it_uploads_in_a_browser_and_shows_what_happened(page, org, editor, tmp_path, artifacts_dir):
    paths = []
    for name, data in (("good.xml.gz", gz(aggregate_xml(ReportSpec(report_id="browser-1")))),
                       ("tls.json", tls_json(report_id="browser-tls")),
                       ("broken.xml", b"<feedback><report_metadata><org_name>x</org_name>")):
        path = tmp_path / name
        path.write_bytes(data)
        paths.append(str(path))
    sign_in(page, editor.username)
    page.goto(URL)
    page.set_input_files("#id_files", paths)
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#outcomes")
    page.screenshot(path=os.path.join(artifacts_dir, "upload-outcomes.png"), full_page=True)
    rows = page.locator("#outcomes tbody tr")
    assert rows.count() == 3
    statuses = {page.locator(f'#outcomes tr[data-file="{name}"]').get_attribute("data-status")
                for name in ("good.xml.gz", "tls.json")}
    assert statuses == {"imported"}
    broken = page.locator('#outcomes tr[data-file="broken.xml"]')
    assert broken.get_attribute("data-status") == "rejected"
    assert "incomplete" in broken.inner_text() or "damaged" in broken.inner_text()
    assert "browser-1" in page.locator("#recent").inner_text()  # the report is listed with the files received
    assert page.console_errors == []
