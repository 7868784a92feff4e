"""Hostile and broken input is refused with a reason, never read past the limits."""

import gzip
import io
import json
import zipfile
import zlib

import pytest

from dmarc_reports.ingest import Failed, Limits, Parsed, Rejected, parse_aggregate, parse_tls, read_reports
from dmarc_reports.ingest.aggregate import Notes, Reader

REPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<feedback>
  <report_metadata>
    <org_name>receiver.example</org_name>
    <email>dmarc@receiver.example</email>
    <report_id>r-1</report_id>
    <date_range><begin>1700000000</begin><end>1700086399</end></date_range>
  </report_metadata>
  <policy_published><domain>example.com</domain><p>reject</p></policy_published>
  <record>
    <row><source_ip>192.0.2.1</source_ip><count>3</count>
      <policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated></row>
    <identifiers><header_from>example.com</header_from></identifiers>
    <auth_results><spf><domain>example.com</domain><result>pass</result></spf></auth_results>
  </record>
  <record>
    <row><source_ip>2001:db8::1</source_ip><count>4</count>
      <policy_evaluated><disposition>reject</disposition><dkim>fail</dkim><spf>fail</spf></policy_evaluated></row>
    <identifiers><header_from>example.com</header_from></identifiers>
    <auth_results><spf><domain>spoof.example</domain><result>fail</result></spf></auth_results>
  </record>
</feedback>
"""


def outcomes(source, limits=None, name="upload"):
    """("aggregate"/"tls", records, messages) or ("failed", reason) for each item, rows read."""
    results = []
    for item in read_reports(source, name=name, limits=limits):
        if isinstance(item, Failed):
            assert item.reason.strip()
            results.append(("failed", item.reason))
            continue
        if item.kind == "aggregate":
            for _ in item.report.rows:
                pass
        results.append((item.kind, item.records, item.messages))
    return results


def refusal(source, limits=None):
    (result,) = outcomes(source, limits)
    assert result[0] == "failed", result
    return result[1]


def zip_bytes(members, compression=zipfile.ZIP_DEFLATED):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def test_it_reads_the_plain_report_used_below():
    assert outcomes(REPORT) == [("aggregate", 2, 7)]


# XML entities and DTDs -------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE feedback [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<feedback><report_metadata><org_name>&lol3;</org_name></report_metadata></feedback>
"""


def external_entity(path):
    return (f'<?xml version="1.0"?>\n<!DOCTYPE feedback [<!ENTITY secret SYSTEM "file://{path}">]>\n'
            "<feedback><report_metadata><org_name>&secret;</org_name><report_id>x</report_id>"
            "</report_metadata></feedback>").encode()


EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE feedback SYSTEM "http://attacker.example/evil.dtd">
<feedback/>
"""


@pytest.mark.parametrize("document", [BILLION_LAUGHS, EXTERNAL_DTD], ids=["billion-laughs", "external-dtd"])
def test_it_refuses_a_doctype(document):
    assert "DOCTYPE" in refusal(document)


def test_it_refuses_an_external_entity_without_reading_the_file(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER")
    reason = refusal(external_entity(secret))
    assert "DOCTYPE" in reason and "TOP-SECRET-MARKER" not in reason


def test_it_refuses_a_doctype_hidden_behind_a_bom_and_comments():
    document = b"\xef\xbb\xbf<?xml version='1.0'?>\n<!-- a comment -->\n" + EXTERNAL_DTD.split(b"\n", 1)[1]
    assert "DOCTYPE" in refusal(document)
    utf16 = EXTERNAL_DTD.decode().replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>')
    assert "DOCTYPE" in refusal(utf16.encode("utf-16"))


@pytest.mark.parametrize("document", [BILLION_LAUGHS, EXTERNAL_DTD], ids=["billion-laughs", "external-dtd"])
def test_it_refuses_a_doctype_even_past_the_prolog_check(document):
    """The parser's own check, should the prolog scan ever be bypassed."""
    reader = Reader(io.BytesIO(document), Limits(), Notes([]))
    with pytest.raises(Rejected, match="DOCTYPE"):
        list(reader.items())


# Decompression bombs and archives ---------------------------------------------------------------

def gzip_bomb(size):
    """``size`` bytes of XML-looking zeros, gzip-compressed piece by piece (never all in memory)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    parts = [compressor.compress(b"<feedback>")]
    zeros = b"0" * (1024 * 1024)
    for _ in range(size // len(zeros)):
        parts.append(compressor.compress(zeros))
    parts.append(compressor.flush())
    return b"".join(parts)


def test_it_stops_a_gzip_bomb_at_the_limit():
    bomb = gzip_bomb(64 * 1024 * 1024)
    assert len(bomb) < 200_000
    reason = refusal(bomb, Limits(max_total_bytes=4 * 1024 * 1024))
    assert "bomb" in reason and "4 MB" in reason


def test_it_stops_a_zip_bomb_at_the_limit():
    archive = zip_bytes([("report.xml", b"<feedback>" + b"0" * (16 * 1024 * 1024))])
    results = outcomes(archive, Limits(max_total_bytes=1024 * 1024))
    assert [kind for kind, _ in results] == ["failed"] and "bomb" in results[0][1]


def test_it_counts_the_limit_over_all_members_together():
    archive = zip_bytes([(f"r{n}.xml.gz", gzip.compress(REPORT + b" " * 600_000)) for n in range(4)])
    results = outcomes(archive, Limits(max_total_bytes=2 * 1024 * 1024))
    assert [r[0] for r in results[:2]] == ["aggregate", "aggregate"]
    assert results[-1][0] == "failed" and "bomb" in results[-1][1]


def test_it_refuses_a_zip_with_too_many_members():
    archive = zip_bytes([(f"r{n}.xml", REPORT) for n in range(11)])
    assert "11 files" in refusal(archive, Limits(max_members=10))


def test_it_refuses_a_member_leaving_the_archive_but_reads_the_others():
    archive = zip_bytes([("../evil.xml", REPORT), ("/etc/evil.xml", REPORT), ("good.xml", REPORT)])
    results = outcomes(archive)
    assert results[2] == ("aggregate", 2, 7)
    assert [r[0] for r in results[:2]] == ["failed", "failed"] and "leaves the archive" in results[0][1]


def test_it_skips_the_files_an_operating_system_adds_to_a_zip():  # zipped in macOS's Finder, or on Windows
    archive = zip_bytes([("reports/r.xml", REPORT), ("__MACOSX/reports/._r.xml", b"\x00\x05\x16\x07 resource fork"),
                         ("reports/.DS_Store", b"\x00\x00\x00\x01Bud1"), ("reports/Thumbs.db", b"\xd0\xcf\x11\xe0")])
    assert outcomes(archive) == [("aggregate", 2, 7)]
    assert refusal(zip_bytes([("__MACOSX/._r.xml", b"\x00\x05\x16\x07")])) == "The zip file holds no report files"


def test_it_refuses_a_truncated_gzip():
    data = gzip.compress(REPORT * 50)
    assert "truncated" in refusal(data[: len(data) // 2])


def test_it_refuses_a_truncated_zip():
    data = zip_bytes([("report.xml", REPORT)])
    assert "truncated or damaged" in refusal(data[: len(data) - 30])


def test_it_refuses_a_zip_that_asks_for_a_newer_zip_version():  # (found by fuzzing: zipfile raised NotImplementedError)
    data = bytearray(zip_bytes([("report.xml", REPORT)]))
    directory = data.index(b"PK\x01\x02")
    data[directory + 6] = 236  # "version needed to extract": 23.6
    assert refusal(bytes(data)) == "The zip file needs zip version 23.6 to be read, which is not supported"


def test_it_refuses_a_zip_member_whose_name_is_empty():  # (found by fuzzing: zipfile's is_dir() raised IndexError)
    data = bytearray(zip_bytes([("report.xml", REPORT)]))
    directory = data.index(b"PK\x01\x02")
    data[directory + 46] = 0  # the name in the table of contents starts with NUL: zipfile reads ""
    assert "The zip member is truncated or damaged (File name in directory" in refusal(bytes(data))


def test_it_refuses_a_corrupt_gzip():
    data = bytearray(gzip.compress(REPORT))
    data[len(data) // 2] ^= 0xFF
    assert "gzip" in refusal(bytes(data))


def test_it_refuses_wrappers_nested_beyond_the_depth_limit():
    data = REPORT
    for level in range(7):
        data = zip_bytes([(f"level{level}.zip" if level else "report.xml", data)])
    assert "levels deep" in refusal(data)


def test_it_reads_wrappers_nested_within_the_depth_limit():
    data = gzip.compress(zip_bytes([("report.xml.gz", gzip.compress(REPORT))]))
    assert outcomes(data) == [("aggregate", 2, 7)]


def test_it_reads_concatenated_gzip_members_and_ignores_trailing_junk():
    half = len(REPORT) // 2
    data = gzip.compress(REPORT[:half]) + gzip.compress(REPORT[half:]) + b"\r\n"
    assert outcomes(data) == [("aggregate", 2, 7)]


# Deep nesting, junk, emptiness --------------------------------------------------------------------

def test_it_refuses_deeply_nested_xml():
    document = b"<feedback>" + b"<a>" * 100_000 + b"</a>" * 100_000 + b"</feedback>"
    assert "levels deep" in refusal(document)


def test_it_refuses_deeply_nested_xml_even_when_malformed():
    document = b"<feedback><record>" + b"<a>" * 100_000 + b"<!-- cut --></feedback>"
    assert "levels deep" in refusal(document)


def test_it_refuses_deeply_nested_json():
    document = b'{"report-id": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert "nested too deeply" in refusal(document)


def test_it_refuses_oversized_json():
    document = json.dumps({"report-id": "x", "policies": [], "padding": "p" * 5000}).encode()
    assert "over" in refusal(document, Limits(max_json_bytes=4096))


def test_it_refuses_a_record_with_too_many_elements():
    document = REPORT.replace(b"</auth_results>", b"<dkim/>" * 2000 + b"</auth_results>", 1)
    with pytest.raises(Rejected, match="more than 1000 elements"):
        list(parse_aggregate(document, Limits(max_elements_per_record=1000)).rows)


@pytest.mark.parametrize(("data", "words"), [
    (b"", "empty"),
    (b"   \n\t  ", "blank"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64), "PNG image"),
    (bytes(range(7, 256)) * 4, "binary data"),
    (b"Hello,\nthis is just some text someone uploaded.\n", "plain text"),
    (b"%PDF-1.7\n", "PDF"),
    (b"BZh91AY&SY", "bzip2"),
], ids=["empty", "blank", "png", "junk", "text", "pdf", "bzip2"])
def test_it_says_what_a_non_report_is(data, words):
    assert words in refusal(data)


def test_it_refuses_xml_that_is_not_a_report():
    assert "<html>" in refusal(b"<html><body><feedback/></body></html>")
    assert "HTML page" in refusal(b"<!DOCTYPE html>\n<html><body>Sign in</body></html>")


def test_it_refuses_json_that_is_not_a_report():
    assert "Not a TLS-RPT report" in refusal(b'{"hello": "world"}')


def test_it_refuses_a_cut_short_xml_report():
    assert "does not end with </feedback>" in refusal(REPORT[: REPORT.index(b"<record>", 400)])


# Bad values ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("change", "words"), [
    ((b"<report_id>r-1</report_id>", b""), "report_id"),
    ((b"<domain>example.com</domain><p>", b"<p>"), "policy_published/domain"),
    ((b"<begin>1700000000</begin>", b"<begin>yesterday</begin>"), "not a Unix timestamp"),
    ((b"<end>1700086399</end>", b"<end>1600000000</end>"), "ends"),
    ((b"<email>dmarc@receiver.example</email>", b"<org_name/>"), "who sent it"),
])
def test_it_refuses_a_report_missing_what_identifies_it(change, words):
    document = REPORT.replace(*change)
    if b"<org_name/>" in document:
        document = document.replace(b"<org_name>receiver.example</org_name>", b"")
    assert words in refusal(document)


def test_it_refuses_a_count_that_is_not_a_number_while_reading_rows():
    report = parse_aggregate(REPORT.replace(b"<count>4</count>", b"<count>four</count>"))
    rows = iter(report.rows)
    assert next(rows).count == 3
    with pytest.raises(Rejected, match="Record 2: the message count is 'four'"):
        next(rows)


def test_it_skips_a_row_whose_source_is_not_an_ip_address_and_says_so():
    report = parse_aggregate(REPORT.replace(b"192.0.2.1", b"not-an-ip"))
    assert [row.source_ip for row in report.rows] == ["2001:db8::1"]
    assert any("not-an-ip" in warning and "skipped" in warning for warning in report.warnings)


@pytest.mark.parametrize("written, read, warned", [("50", 50, None), ("100.0", 100, "read as 100"), ("50%", 50, "read as 50"),
                                                  ("150", None, "ignored"), ("half", None, "ignored")])
def test_it_salvages_a_pct_written_as_a_decimal_or_a_percentage(written, read, warned):
    report = parse_aggregate(REPORT.replace(b"<p>reject</p>", f"<p>reject</p><pct>{written}</pct>".encode()))
    warnings = [w for w in report.warnings if "pct" in w]
    assert report.policy.pct == read
    assert len(warnings) == (warned is not None) and all(warned in w and f"'{written}'" in w for w in warnings)


def test_it_reads_metadata_that_comes_after_the_records():
    head, records = REPORT.split(b"<record>", 1)
    metadata = head[head.index(b"<report_metadata>"):]
    document = b"<feedback>\n<record>" + records.replace(b"</feedback>", metadata + b"</feedback>")
    report = parse_aggregate(document)
    assert (report.report_id, [row.count for row in report.rows]) == ("r-1", [3, 4])
    assert any("after its records" in warning for warning in report.warnings)


def test_it_salvages_xml_broken_after_some_rows_without_repeating_them():
    document = REPORT.replace(b"<header_from>example.com</header_from></identifiers>\n    <auth_results><spf><domain>spoof",
                              b"<header_from>example<.com</header_from></identifiers>\n    <auth_results><spf><domain>spoof")
    report = parse_aggregate(document)
    assert [row.count for row in report.rows] == [3, 4]
    assert any("recovery mode" in warning for warning in report.warnings)


@pytest.mark.parametrize("end, refused", [
    ("1700086399", None), ("1705356000", None),  # a day; 62 days
    ("1705442400", "The report covers 63 days (2023-11-14 to 2024-01-16); reports cover a day or a few, and one of more "
                   "than 62 days is refused"),
    ("4102444800", "The report covers 27,806 days"),  # spread over its days: 27,806 days of roll-ups per source
    ("1699999999", "The report's period ends (2023-11-14 22:13) before it begins (2023-11-14 22:13)"),
])
def test_it_refuses_a_report_period_that_ends_before_it_begins_or_lasts_months(end, refused):
    document = REPORT.replace(b"<end>1700086399</end>", f"<end>{end}</end>".encode())
    if refused is None:
        assert outcomes(document)[0][0] == "aggregate"
    else:
        assert refusal(document).startswith(refused)
    tls = {"organization-name": "x", "report-id": "1", "policies": [],
           "date-range": {"start-datetime": "2024-01-01T00:00:00Z", "end-datetime": "2024-06-01T00:00:00Z"}}
    with pytest.raises(Rejected, match="The TLS report covers 152 days"):
        parse_tls(json.dumps(tls).encode())


def test_it_refuses_a_report_from_a_reporter_whose_clock_is_years_ahead():
    from datetime import datetime, timedelta, timezone

    def period(start):
        begin = int(start.timestamp())
        return REPORT.replace(b"<begin>1700000000</begin><end>1700086399</end>",
                              f"<begin>{begin}</begin><end>{begin + 86399}</end>".encode())

    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    assert outcomes(period(today))[0][0] == "aggregate"  # today's, sent early: a clock a little ahead
    assert refusal(period(datetime(2100, 1, 1, tzinfo=timezone.utc))) == (
        "The report's period begins in the future (2100-01-01 00:00 UTC): the reporter's clock is wrong")
    tls = {"organization-name": "x", "report-id": "1", "policies": [],
           "date-range": {"start-datetime": f"{today + timedelta(days=3):%Y-%m-%d}T00:00:00Z",
                          "end-datetime": f"{today + timedelta(days=4):%Y-%m-%d}T00:00:00Z"}}
    with pytest.raises(Rejected, match="The TLS report's period begins in the future"):
        parse_tls(json.dumps(tls).encode())


def test_it_refuses_tls_reports_with_bad_counts():
    document = {"organization-name": "x", "report-id": "1",
                "date-range": {"start-datetime": "2024-01-01T00:00:00Z", "end-datetime": "2024-01-02T00:00:00Z"},
                "policies": [{"policy": {"policy-type": "sts"},
                              "summary": {"total-successful-session-count": -5, "total-failure-session-count": 0}}]}
    with pytest.raises(Rejected, match="total-successful-session-count is -5"):
        parse_tls(json.dumps(document).encode())
    document["policies"][0]["summary"]["total-successful-session-count"] = "5 sessions"
    with pytest.raises(Rejected, match='total-successful-session-count is "5 sessions", not a whole number'):
        parse_tls(json.dumps(document).encode())


def test_it_salvages_tls_counts_written_as_texts_and_reads_lower_case_rfc_3339_datetimes():
    document = {"organization-name": "x", "report-id": "1",
                "date-range": {"start-datetime": "2024-01-01t00:00:00z", "end-datetime": "2024-01-02t01:00:00+01:00"},
                "policies": [{"policy": {"policy-type": "sts"},
                              "summary": {"total-successful-session-count": "5", "total-failure-session-count": 0}}]}
    report = parse_tls(json.dumps(document).encode())
    assert (report.date_begin.isoformat(), report.date_end.isoformat()) == ("2024-01-01T00:00:00+00:00", "2024-01-02T00:00:00+00:00")
    assert report.policies[0].successful_sessions == 5
    assert report.warnings == ['policies[0].summary.total-successful-session-count is written as a text, "5"; read as a number']


# Mixed uploads --------------------------------------------------------------------------------

def email_with(attachment, content_type, filename):
    import email.message

    message = email.message.EmailMessage()
    message["From"] = "dmarc@receiver.example"
    message["To"] = "rua@example.com"
    message["Subject"] = "Report domain: example.com"
    message.set_content("An aggregate report is attached.")
    maintype, subtype = content_type.split("/")
    message.add_attachment(attachment, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


def test_it_reads_the_good_e_mails_of_an_mbox_and_refuses_the_bad_one():
    good = email_with(gzip.compress(REPORT), "application/gzip", "r.xml.gz")
    bad = email_with(b"just words", "text/plain", "notes.txt")
    mbox = b"".join(b"From MAILER-DAEMON Thu Jan  1 00:00:00 2026\n" + m + b"\n" for m in (good, bad, good))
    results = outcomes(mbox, name="reports.mbox")
    assert results[0] == results[2] == ("aggregate", 2, 7)
    assert results[1][0] == "failed" and "no DMARC or TLS-RPT report" in results[1][1]


def test_it_reads_a_gzip_attachment_mislabelled_as_text_by_its_bytes():
    assert outcomes(email_with(gzip.compress(REPORT), "text/plain", "r.xml.gz")) == [("aggregate", 2, 7)]
    assert outcomes(email_with(gzip.compress(REPORT), "text/plain", "notes.txt"))[0][0] == "failed"  # not named a report


def test_it_reads_e_mail_headers_without_the_default_policys_parser(monkeypatch):
    # (found by fuzzing: that parser took 20 s over one malformed Content-Type of 280 KB, ms per KB)
    from email import headerregistry

    message = email_with(gzip.compress(REPORT), "application/gzip", "r.xml.gz")

    def never(*args):
        raise AssertionError("the default policy's header parser was used")

    for header in (headerregistry.ContentTypeHeader, headerregistry.ContentDispositionHeader):
        monkeypatch.setattr(header, "value_parser", staticmethod(never))
    assert outcomes(message) == [("aggregate", 2, 7)]


def test_it_refuses_an_e_mail_whose_content_headers_are_longer_than_any_real_one():
    # (the legacy parameter parser takes a time growing with the square of a header's semicolons in quotes)
    message = email_with(gzip.compress(REPORT), "application/gzip", "r.xml.gz")
    folded = b"".join(b"\r\n   <source_ip>12.20.121.13</source_ip>" for _ in range(7000))
    hostile = message.replace(b"Content-Type: application/gzip", b"Content-Type: application/gzip; x-mac-cre" + folded)
    assert refusal(hostile) == ("The e-mail is malformed and cannot be read (a Content-Type header of 266.6 KB, "
                                "where a few hundred bytes are usual)")
    semicolons = message.replace(b'filename="r.xml.gz"', b'filename="r' + b";" * 40_000 + b'.xml.gz"')
    assert "a Content-Disposition header of 39.1 KB" in refusal(semicolons)
    long_name = message.replace(b'filename="r.xml.gz"', b'filename="' + b"r" * 255 + b'.xml.gz"')
    assert outcomes(long_name) == [("aggregate", 2, 7)]
    part = b'--B\r\nContent-Type: text/plain; name="' + b"n" * 3000 + b'"\r\n\r\nwords\r\n'
    many = b'From: a@b\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="B"\r\n\r\n' + part * 100 + b"--B--\r\n"
    assert "more than 256 KB of Content-Type and Content-Disposition headers" in refusal(many)


def test_it_decodes_encoded_attachment_names():
    message = email_with(gzip.compress(REPORT), "application/octet-stream", "r.xml.gz")
    encoded = message.replace(b'filename="r.xml.gz"', b'filename="=?UTF-8?B?csOpcG9ydC54bWwuZ3o=?="')  # "réport.xml.gz"
    continued = message.replace(b'filename="r.xml.gz"', b"filename*=UTF-8''r%C3%A9port.xml.gz")
    for variant in (encoded, continued):
        assert variant != message
        [(member, _)] = [(item.member, item) for item in read_reports(variant, name="m.eml")]
        assert member == "m.eml/réport.xml.gz"


def test_it_reads_a_zip_of_e_mails_and_a_forwarded_e_mail():
    import email.message

    inner = email_with(zip_bytes([("r.xml", REPORT)]), "application/zip", "r.zip")
    forward = email.message.EmailMessage()
    forward["From"], forward["Subject"] = "colleague@example.com", "Fwd: report"
    forward.set_content("See the forwarded report.")
    forward.add_attachment(email.message_from_bytes(inner))
    archive = zip_bytes([("a.eml", inner), ("b.eml", forward.as_bytes())])
    assert outcomes(archive) == [("aggregate", 2, 7), ("aggregate", 2, 7)]


def test_it_reads_a_report_inline_in_the_body_and_a_tls_report_part():
    import email.message

    inline = email.message.EmailMessage()
    inline["From"], inline["Subject"] = "dmarc@receiver.example", "Report domain: example.com"
    inline.set_content(REPORT.decode(), subtype="plain")
    tls = json.dumps({"organization-name": "r", "report-id": "t-1",
                      "date-range": {"start-datetime": "2024-01-01T00:00:00Z", "end-datetime": "2024-01-01T23:59:59Z"},
                      "policies": [{"policy": {"policy-type": "sts", "policy-domain": "example.com"},
                                    "summary": {"total-successful-session-count": 9,
                                                "total-failure-session-count": 1}}]}).encode()
    archive = zip_bytes([("inline.eml", inline.as_bytes()),
                         ("tls.eml", email_with(tls, "application/tlsrpt+json", "r.json"))])
    assert outcomes(archive) == [("aggregate", 2, 7), ("tls", 1, 10)]


def test_it_reads_a_stream_that_cannot_seek():
    class Pipe(io.RawIOBase):
        def __init__(self, data):
            self.data = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, buffer):
            chunk = self.data.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    assert outcomes(Pipe(gzip.compress(REPORT))) == [("aggregate", 2, 7)]


def test_it_counts_figures_only_once_the_rows_are_read():
    (item,) = list(read_reports(REPORT))
    assert isinstance(item, Parsed)
    with pytest.raises(RuntimeError, match="Read report.rows to the end first"):
        item.records
