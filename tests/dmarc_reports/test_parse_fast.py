"""The fast way through a plain report (records cut out of the bytes, see records.py) gives exactly
what the general way gives: the same rows, warnings in the same order, the same refusal after the
same rows, whatever the chunk size, and gives up (to the general way) wherever it cannot be sure."""

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.make_report import write_aggregate_report
from dmarc_reports.ingest import Limits, Rejected, parse_aggregate
from dmarc_reports.ingest.aggregate import Reader, RecordReader
from dmarc_reports.ingest.records import PlainRecords

NAMESPACE = "urn:ietf:params:xml:ns:dmarc-2.0"
CHUNKS = [7, 61, 1000, PlainRecords.CHUNK]


def head(root="<feedback>", prefix="", org_name="r.example"):
    p = prefix
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n{root}<{p}version>1.0</{p}version>'
            f"<{p}report_metadata><{p}org_name>{org_name}</{p}org_name><{p}report_id>r-1</{p}report_id>"
            f"<{p}date_range><{p}begin>1700000000</{p}begin><{p}end>1700086399</{p}end></{p}date_range>"
            f"</{p}report_metadata><{p}policy_published><{p}domain>example.com</{p}domain><{p}p>reject</{p}p>"
            f"</{p}policy_published>\n")


def record(n=0, source_ip=None, count=None, header_from="example.com", dkim="pass", extra="", start="<record>",
           end="</record>", prefix="", indent=""):
    """A record; ``n`` varies its address, count and (every 7th) its shape."""
    p = prefix
    source_ip = f"192.0.2.{n % 250 + 1}" if source_ip is None else source_ip
    count = str(n % 13 + 1) if count is None else count
    spf_domain = f"fwd{n % 7}.example" if n % 3 == 0 else "example.com"
    i, j = (f"\n{indent}  ", f"\n{indent}") if indent else ("", "")
    return (f"{indent}{start}{i}<{p}row><{p}source_ip>{source_ip}</{p}source_ip><{p}count>{count}</{p}count>"
            f"<{p}policy_evaluated><{p}disposition>none</{p}disposition><{p}dkim>{dkim}</{p}dkim><{p}spf>fail</{p}spf>"
            f"</{p}policy_evaluated></{p}row>{i}<{p}identifiers><{p}header_from>{header_from}</{p}header_from>"
            f"</{p}identifiers>{i}<{p}auth_results><{p}spf><{p}domain>{spf_domain}</{p}domain><{p}result>fail"
            f"</{p}result></{p}spf>{extra}</{p}auth_results>{j}{end}\n")


def report(records, root="<feedback>", end="</feedback>\n", **head_options):
    return (head(root, **head_options) + "".join(records) + end).encode()


def records(count, **options):
    return [record(n, **options) for n in range(count)]


def outcome(document, limits=None):
    """(header, rows read, warnings, records/messages or the refusal): rows are read one by one,
    so a refusal part-way shows after which row it came."""
    try:
        report = parse_aggregate(io.BytesIO(document), limits)
    except Rejected as error:
        return ("refused", str(error))
    rows = []
    try:
        for row in report.rows:
            rows.append(row)
        ending = (report.records, report.messages)
    except Rejected as error:
        ending = ("refused", str(error))
    return (report.identity, report.policy, report.version, report.errors, rows, report.warnings, ending)


class Ways:
    """Reads a document the fast way (with a given chunk) and the general way; counts the fast
    way's records and how often it gave up."""

    def __init__(self, monkeypatch):
        self.monkeypatch = monkeypatch
        self.gave_up = 0
        self.fast_records = 0
        general, records_of = Reader._general_items, PlainRecords.records

        def general_items(reader, skip=0):
            self.gave_up += 1
            return general(reader, skip)

        def counted_records(plain):
            for item in records_of(plain):
                self.fast_records += 1
                yield item

        monkeypatch.setattr(Reader, "_general_items", general_items)
        monkeypatch.setattr(PlainRecords, "records", counted_records)

    def fast(self, document, chunk=PlainRecords.CHUNK, limits=None):
        self.gave_up = self.fast_records = 0
        with self.monkeypatch.context() as patch:
            patch.setattr(PlainRecords, "CHUNK", chunk)
            return outcome(document, limits)

    def general(self, document, limits=None):
        with self.monkeypatch.context() as patch:
            patch.setattr(Reader, "FAST", False)
            return outcome(document, limits)

    def same(self, document, chunks=CHUNKS, limits=None):
        """Assert both ways agree for every chunk size; return the general way's outcome."""
        expected = self.general(document, limits)
        for chunk in chunks:
            assert self.fast(document, chunk, limits) == expected, f"chunk {chunk}"
        return expected


@pytest.fixture
def ways(monkeypatch):
    return Ways(monkeypatch)


def test_it_reads_one_line_and_pretty_printed_reports_the_fast_way(ways):
    for document in (report(records(300)), report(records(300, indent="  "))):
        result = ways.same(document)
        assert len(result[4]) == 300 and result[6] == (300, sum(n % 13 + 1 for n in range(300)))
        assert ways.gave_up == 0 and ways.fast_records == 300


@pytest.mark.parametrize("rfc9990", [False, True])
def test_it_reads_generated_reports_the_fast_way_in_both_namespaces(ways, tmp_path, rfc9990):
    path = tmp_path / "report.xml"
    write_aggregate_report(path, 2000, gz=False, seed=11, rfc9990=rfc9990)
    result = ways.same(path.read_bytes(), chunks=[61, 4096, PlainRecords.CHUNK])
    assert len(result[4]) == 2000 and ways.gave_up == 0


def test_it_reads_a_prefixed_namespace_the_general_way(ways):
    root = f'<d:feedback xmlns:d="{NAMESPACE}">'
    document = report(records(50, prefix="d:", start="<d:record>", end="</d:record>"), root=root,
                      end="</d:feedback>", prefix="d:")
    assert len(ways.same(document)[4]) == 50 and ways.gave_up == 1
    # records in no namespace under a prefixed root: the fast way, as the general way reads them
    document = report(records(50), root=root, end="</d:feedback>", prefix="d:")
    assert len(ways.same(document)[4]) == 50 and ways.fast_records == 50


def test_it_reads_the_default_namespace_declared_with_other_attributes(ways):
    root = f"<feedback xmlns='{NAMESPACE}' xmlns:x=\"urn:x\" x:note=\"a > b\">"
    document = report(records(40, extra="<x:dkim><domain>ignored</domain></x:dkim>"), root=root)
    result = ways.same(document)
    assert len(result[4]) == 40 and ways.gave_up == 0 and result[4][0].spf_results[0].domain == "fwd0.example"


@pytest.mark.parametrize("odd", [
    "<comment>AT&amp;T &#x41;&#66;</comment>",  # entity and character references
    "<comment><![CDATA[a <b> & c]]></comment>",  # CDATA
    "<!-- a comment inside a record -->",
    "<?pi inside?>",
])
def test_it_gives_up_on_references_cdata_comments_and_instructions_inside_a_record(ways, odd):
    reason = f"<reason><type>other</type>{odd}</reason>"
    items = records(120)
    items[70] = items[70].replace("<spf>fail</spf>", "<spf>fail</spf>" + reason)
    result = ways.same(report(items))
    assert len(result[4]) == 120 and ways.gave_up == 1


def test_it_reads_references_in_the_header_the_fast_way(ways):
    document = report(records(20), org_name="AT&amp;T &#x26; Co")
    result = ways.same(document)
    assert result[0][0] == "AT&T & Co" and ways.gave_up == 0


@pytest.mark.parametrize("between", [
    "<!-- between records -->", "<?pi between?>", "<extension><x>1</x></extension>", "text",
    "<record_extra/>",
])
def test_it_gives_up_on_anything_but_whitespace_between_records(ways, between):
    items = records(100)
    items[60] = between + items[60]
    result = ways.same(report(items))
    assert len(result[4]) == 100 and ways.gave_up == 1


def test_it_gives_up_on_an_extension_or_metadata_after_the_records(ways):
    extension = "<extension><x>1</x></extension>\n"
    result = ways.same(report(records(100) + [extension]))
    assert len(result[4]) == 100 and ways.gave_up == 1
    metadata = head().split("<feedback>", 1)[1]
    document = ('<?xml version="1.0"?>\n<feedback>' + "".join(records(100)) + metadata + "</feedback>").encode()
    result = ways.same(document)
    assert len(result[4]) == 100 and "metadata comes after" in " ".join(result[5])


def test_it_gives_up_on_attributes_on_a_record(ways):
    items = records(100)
    items[40] = items[40].replace("<record>", '<record id="41">')
    items[80] = items[80].replace("<record>", f'<record xmlns="{NAMESPACE}">')  # not the report's namespace
    result = ways.same(report(items))
    assert len(result[4]) == 99 and result[4][40].source_ip == "192.0.2.41" and ways.gave_up == 1


def test_it_gives_up_on_a_declared_encoding_other_than_utf8(ways):
    document = report(records(30)).replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"')
    document = document.replace(b"r.example", "r\xe9.example".encode("latin-1"))
    result = ways.same(document)
    assert result[0][0] == "r\xe9.example" and ways.gave_up == 1


def test_it_reads_crlf_and_spaced_texts_as_libxml2_does(ways):
    items = [r.replace("\n", "\r\n").replace("<count>", "<count>\r\n ").replace("</source_ip>", " </source_ip>")
             for r in records(60, indent="  ")]
    items[10] = items[10].replace("192.0.2.11", "::ffff:192.0.2.11")
    items[20] = items[20].replace("<count>", "<count>\r")
    result = ways.same(report(items))
    assert result[4][10].source_ip == "192.0.2.11" and ways.gave_up == 0


def test_it_reads_more_shapes_than_are_remembered(ways, monkeypatch):
    monkeypatch.setattr(RecordReader, "SHAPES", 16)
    items = [record(n, header_from=f"d{n % 50}.example") for n in range(400)]
    result = ways.same(report(items))
    assert len({row.header_from for row in result[4]}) == 50 and ways.gave_up == 0


def test_it_gives_up_on_a_record_longer_than_a_shape(ways):
    long_extra = "".join(f"<dkim><domain>d{n}.example</domain><result>pass</result></dkim>" for n in range(80))
    items = records(100)
    items[50] = record(50, extra=long_extra)
    assert len(items[50]) > PlainRecords.RECORD_SIZE
    result = ways.same(report(items))
    assert len(result[4]) == 100 and len(result[4][50].dkim_results) == 80 and ways.gave_up == 1


def test_it_warns_and_refuses_for_the_nth_record_as_the_general_way(ways):
    items = records(200)
    items[9] = record(9, source_ip="not-an-ip")
    items[30] = record(30, header_from="")
    items[31] = record(31, dkim="PASS")
    items[32] = record(32, dkim="odd")
    result = ways.same(report(items))
    assert len(result[4]) == 199 and result[5] == [
        "Record 10: source_ip 'not-an-ip' is not an IP address; the record (10 messages) was skipped",
        "Record 31 has no identifiers/header_from", "Unknown aligned DKIM result 'odd' kept as sent"]
    for bad in ("three", "-1", "99999999999999999999", ""):
        items[150] = record(150, count=bad)
        result = ways.same(report(items))
        assert len(result[4]) == 149 and result[6][0] == "refused" and "Record 151: the message count" in result[6][1]


def test_it_salvages_a_syntax_error_after_many_records_as_the_general_way(ways):
    items = records(400)
    items[300] = items[300].replace("</dkim>", "</dkimm>", 1)
    result = ways.same(report(items))
    assert any("recovery mode" in warning for warning in result[5]) and len(result[4]) >= 300
    items = records(400, header_from="")  # a warning per record: their order around the salvage shows
    items[300] = items[300].replace("<spf>fail</spf>", "<spf>fail<spf>", 1)
    ways.same(report(items))


@pytest.mark.parametrize("tag", ["<header_from'>", '<header_from x="1>', "<header_from\x0f'>", "<header_from x='1'\">"])
def test_it_gives_up_on_a_quote_left_open_in_a_tag_which_libxml2_reports_only_at_the_end(ways, tag):
    # (found by fuzzing: the push parser looked for the quote's end to the end of the document, so the
    # records after it were handed out as well-formed and the one holding it raised XMLSyntaxError)
    items = records(400)
    items[300] = items[300].replace("<header_from>", tag, 1)
    result = ways.same(report(items))
    assert any("recovery mode" in warning for warning in result[5]) and len(result[4]) >= 300
    ways.same(report(records(40, extra='<comment kind="x" at=\'y\'>a "b" \'c\'</comment>')))  # closed quotes
    assert ways.gave_up == 0


def test_it_refuses_the_report_should_a_malformed_record_ever_be_handed_out(monkeypatch):
    from dmarc_reports.ingest import records as fast

    monkeypatch.setattr(fast, "_first_uncertain", lambda data: len(data))  # the quote check (above) gone
    items = records(1500)  # (far more than a chunk after the broken one: it is handed out before libxml2 closes)
    items[100] = items[100].replace("<header_from>", "<header_from'>", 1)
    rows = parse_aggregate(io.BytesIO(report(items))).rows
    with pytest.raises(Rejected, match="A record of the report is malformed XML"):
        list(rows)


@pytest.mark.parametrize("damage", ["<<", "</record>", "</feedback>", "<record><row>", "&nope;", "\x01"])
def test_it_salvages_damage_right_after_a_record_as_the_general_way(ways, damage):
    items = records(300, header_from="")
    items[200] = items[200].rstrip("\n") + damage + "\n"
    ways.same(report(items))
    ways.same(report(records(300, header_from=""), end="</feedback>" + damage))


def test_it_refuses_a_report_cut_short_after_many_records_as_the_general_way(ways):
    document = report(records(500))
    middle = document.index(b"</record>", len(document) // 2) + len(b"</record>")
    for cut in (len(document) - 30, len(document) - 3, 3000, *range(middle - 3, middle + 12)):
        result = ways.same(document[:cut], chunks=[61, PlainRecords.CHUNK])
        assert result[-1][0] == "refused" and "incomplete" in result[-1][1]


def test_it_salvages_invalid_utf8_in_a_late_record_as_the_general_way(ways):
    items = records(300)
    items[280] = items[280].replace("example.com", "exa@@mple.com", 1)
    document = report(items).replace(b"@@", b"\xff")
    result = ways.same(document)
    assert any("recovery mode" in warning for warning in result[5])


def test_it_reads_the_records_whatever_the_chunk_boundaries(ways):
    document = report(records(60, indent="    "))
    end = document.index(b"</record>")
    result = ways.general(document)
    for chunk in list(range(end - 10, end + 12)) + [8, 9, 10, 17, 64, 333]:
        assert ways.fast(document, chunk) == result, chunk
        assert ways.gave_up == 0


def test_it_refuses_hostile_records_as_the_general_way(ways):
    endless = report(records(50)).replace(b"</feedback>", b"<record><row>" + b"<x/>" * 20000)
    assert ways.same(endless, chunks=[1000, PlainRecords.CHUNK])[-1][0] == "refused"
    many = record(50, extra="<x/>" * 40)
    result = ways.same(report(records(50) + [many]), limits=Limits(max_elements_per_record=30))
    assert "more than 30 elements" in result[-1][1] and len(result[4]) == 50
    deep = record(50, extra="<x>" * 300 + "</x>" * 300)
    result = ways.same(report(records(50) + [deep] + records(5)))
    assert "levels deep" in result[-1][1]
    shallow_deep = record(50, extra="<x>" * 70 + "</x>" * 70)
    assert "levels deep" in ways.same(report(records(50) + [shallow_deep]))[-1][1]
    assert "levels deep" in ways.same(report([shallow_deep] + records(5)))[-1]


def test_it_reads_a_report_without_records_or_with_one(ways):
    assert ways.same(report([]))[6] == (0, 0)
    assert ways.same(report(records(1)))[6] == (1, 1) and ways.gave_up == 0


SNIPPETS = [b"<!--c-->", b"&amp;", b"&#49;", b"\r\n", b" ", b"<x/>", b"</record>", b"<record>", b"\xff", b"<",
            b"<![CDATA[x]]>", b"<extension/>", b"<?pi x?>", b"<record a='1'>", b"\n<record></record>", b"9", b"'", b'"',
            b" a='1", b' b="2"']


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.floats(0, 1), st.sampled_from(SNIPPETS)), max_size=3), st.floats(0.5, 1.01),
       st.sampled_from([1, 13, 100, 997, 4096, PlainRecords.CHUNK]), st.booleans(),
       st.sampled_from(["<feedback>", f'<feedback xmlns="{NAMESPACE}">']), st.sampled_from(["\n", "\r\n"]))
def test_it_reads_damaged_and_odd_reports_as_the_general_way(insertions, kept, chunk, pretty, root, line_end):
    items = records(150, header_from="" if pretty else "example.com", indent="  " if pretty else "")
    document = report(items, root=root).replace(b"\n", line_end.encode())
    for where, snippet in insertions:
        at = int(where * len(document))
        document = document[:at] + snippet + document[at:]
    document = document[:int(kept * len(document))]
    with pytest.MonkeyPatch.context() as patch:
        ways = Ways(patch)
        ways.same(document, chunks=[chunk])


# -- records of a new shape, read by their layout (RecordLayouts) -----------------------------------

TEXTS = st.one_of(  # what XML allows in text where the fast way reads (no <, &, CR; no "]]>")
    st.text(st.characters(blacklist_categories=["Cs", "Cc", "Cn"], blacklist_characters="<&]\r")
            | st.sampled_from([" ", "\t", "\n", ">"]), max_size=12),
    st.sampled_from(["", " pass ", "PASS", "Fail", "forwarded", "example.COM", "é\u2028"]))


def layout_record(n, texts):
    """A record whose every text (element texts and the whitespace between elements) comes from ``texts``."""
    t = iter(texts)
    return (f"<record>{next(t)}<row>{next(t)}<source_ip> 192.0.2.{n % 250 + 1} </source_ip>{next(t)}"
            f"<count>{n % 9 + 1}</count><policy_evaluated><disposition>{next(t)}</disposition><dkim>{next(t)}</dkim>"
            f"<spf>{next(t)}</spf><reason><type>{next(t)}</type><comment>{next(t)}<x>{next(t)}</x>{next(t)}</comment>"
            f"</reason><reason>{next(t)}</reason></policy_evaluated></row><identifiers><header_from>{next(t)}"
            f"</header_from><envelope_from>{next(t)}</envelope_from></identifiers><auth_results><dkim><domain>"
            f"{next(t)}</domain><selector>{next(t)}</selector><result>{next(t)}</result></dkim><dkim><domain>{next(t)}"
            f"</domain><domain>{next(t)}</domain></dkim><spf><scope>{next(t)}</scope><domain>{next(t)}</domain>"
            f"<result>{next(t)}</result></spf></auth_results>{next(t)}</record>\n")


class Counted:
    """Counts the records read as elements (not by their layout)."""

    def __init__(self, monkeypatch):
        self.as_elements = 0
        element_texts = RecordReader._element_texts

        def counted(reader, record):
            self.as_elements += 1
            return element_texts(reader, record)

        monkeypatch.setattr(RecordReader, "_element_texts", counted)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.lists(TEXTS, min_size=24, max_size=24), min_size=1, max_size=6))
def test_it_reads_records_by_their_layout_as_libxml2_reads_them(ways, monkeypatch, texts):
    counted = Counted(monkeypatch)
    items = [layout_record(n, texts[n % len(texts)]) for n in range(30)]
    result = ways.same(report(items), chunks=[61, PlainRecords.CHUNK])
    assert len(result[4]) == 30 and ways.gave_up == 0
    # one record read as an element per layout and chunk size, at most (its numbered copy)
    assert counted.as_elements <= 2


@pytest.mark.parametrize("odd", [
    '<comment kind="x">a</comment>', "<comment/>", "<d:comment xmlns:d='urn:d'>a</d:comment>", "<comment>\ra</comment>",
    "<comment>a<b/>c</comment>",
])
def test_it_reads_records_with_tags_it_cannot_lay_out_as_elements(ways, monkeypatch, odd):
    counted = Counted(monkeypatch)
    items = [record(n, header_from=f"d{n}.example", extra=f"<dkim><domain>x</domain>{odd}</dkim>") for n in range(40)]
    result = ways.same(report(items), chunks=[PlainRecords.CHUNK])
    assert len(result[4]) == 40 and ways.gave_up == 0 and counted.as_elements == 40


def test_it_refuses_a_layout_too_deep_with_its_first_record(ways):
    deep = "<x>" * 70 + "y" + "</x>" * 70
    items = records(60)
    items[30] = record(30, extra=f"<dkim>{deep}</dkim>")
    result = ways.same(report(items))
    assert result[6][0] == "refused" and "levels deep" in result[6][1] and len(result[4]) == 30


def test_it_forgets_layouts_beyond_what_it_remembers(ways, monkeypatch):
    from dmarc_reports.ingest.aggregate import RecordLayouts

    monkeypatch.setattr(RecordLayouts, "LAYOUTS", 3)
    items = [record(n, header_from=f"d{n}.example", extra="<dkim><domain>x</domain></dkim>" * (n % 7)) for n in range(80)]
    result = ways.same(report(items))
    assert len(result[4]) == 80 and {len(row.dkim_results) for row in result[4]} == set(range(7))
