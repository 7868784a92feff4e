"""Generated reports survive rendering and parsing; mutated real files never crash the parser."""

import gzip
import io
import json
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from xml.sax.saxutils import escape

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dmarc_reports.ingest import Failed, Rejected, parse_tls, read_reports

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
RFC9990 = "urn:ietf:params:xml:ns:dmarc-2.0"
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

texts = st.text(st.characters(categories=["L", "N", "P", "S", "Zs"]), min_size=1, max_size=30).filter(
    lambda value: value == value.strip() and value.strip())
domains = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\.[a-z]{2,6}){1,2}", fullmatch=True)
optional = lambda strategy: st.one_of(st.just(""), strategy)  # noqa: E731
timestamps = st.integers(0, 1_750_000_000)  # 1970 to 2025: a period beginning in the future is refused


def normalised(address) -> str:
    if address.version == 6 and address.ipv4_mapped:
        return str(address.ipv4_mapped)
    return str(address)


@st.composite
def aggregate_reports(draw):
    rfc9990 = draw(st.booleans())
    begin = draw(timestamps)
    report = {
        "rfc9990": rfc9990,
        "shout": draw(st.booleans()),  # write enumerations in upper case
        "org_name": draw(texts), "email": f"dmarc@{draw(domains)}",
        "extra_contact_info": draw(optional(texts)), "report_id": draw(texts),
        "begin": begin, "end": begin + draw(st.integers(0, 10 * 86400)),
        "errors": draw(st.lists(texts, max_size=2)),
        "generator": draw(optional(texts)) if rfc9990 else "",
        "domain": draw(domains), "p": draw(st.sampled_from(["none", "quarantine", "reject"])),
        "sp": draw(optional(st.sampled_from(["none", "quarantine", "reject"]))),
        "np": draw(optional(st.sampled_from(["none", "quarantine", "reject"]))) if rfc9990 else "",
        "adkim": draw(optional(st.sampled_from(["r", "s"]))), "aspf": draw(optional(st.sampled_from(["r", "s"]))),
        "pct": None if rfc9990 else draw(st.one_of(st.none(), st.integers(0, 100))),
        "fo": draw(optional(st.sampled_from(["0", "1", "d", "s", "0:1:d"]))),
        "testing": draw(optional(st.sampled_from(["n", "y"]))) if rfc9990 else "",
        "discovery_method": draw(optional(st.sampled_from(["psl", "treewalk"]))) if rfc9990 else "",
        "rows": draw(st.lists(rows(rfc9990), max_size=6)),
    }
    return report


@st.composite
def rows(draw, rfc9990):
    reasons = ["forwarded", "sampled_out", "trusted_forwarder", "mailing_list", "local_policy", "other"]
    if rfc9990:
        reasons = reasons[2:] + ["policy_test_mode"]
    return {
        "source_ip": draw(st.ip_addresses()),
        "count": draw(st.integers(0, 10**12)),
        "disposition": draw(st.sampled_from(["none", "quarantine", "reject"] + (["pass"] if rfc9990 else []))),
        "dkim": draw(optional(st.sampled_from(["pass", "fail"]))),
        "spf": draw(optional(st.sampled_from(["pass", "fail"]))),
        "reasons": draw(st.lists(st.tuples(st.sampled_from(reasons), optional(texts)), max_size=2)),
        "header_from": draw(domains), "envelope_from": draw(optional(domains)), "envelope_to": draw(optional(domains)),
        "dkim_results": draw(st.lists(st.tuples(
            domains, texts if rfc9990 else optional(texts),
            st.sampled_from(["none", "pass", "fail", "policy", "neutral", "temperror", "permerror"]),
            optional(texts)), max_size=3)),
        "spf_results": draw(st.lists(st.tuples(
            domains, st.just("mfrom") if rfc9990 else optional(st.sampled_from(["mfrom", "helo"])),
            st.sampled_from(["none", "neutral", "pass", "fail", "softfail", "temperror", "permerror"])),
            max_size=1 if rfc9990 else 2)),
    }


def element(name, value, attributes=""):
    return f"<{name}{attributes}>{escape(str(value))}</{name}>" if value not in ("", None) else ""


def render_aggregate(report) -> bytes:
    """The report as RFC 7489 (no namespace) or RFC 9990 XML."""
    case = str.upper if report["shout"] else str
    lang = ' lang="en"' if report["rfc9990"] else ""
    namespace = f' xmlns="{RFC9990}" xmlns:x="https://vendor.example/x"' if report["rfc9990"] else ""
    out = [f'<?xml version="1.0" encoding="UTF-8"?>\n<feedback{namespace}>', "<version>1.0</version>",
           "<report_metadata>", element("org_name", report["org_name"]), element("email", report["email"]),
           element("extra_contact_info", report["extra_contact_info"]), element("report_id", report["report_id"]),
           f"<date_range><begin>{report['begin']}</begin><end>{report['end']}</end></date_range>",
           *(element("error", error) for error in report["errors"]),
           element("generator", report["generator"]), "</report_metadata>",
           "<policy_published>", element("domain", report["domain"])]
    for key in ("discovery_method", "adkim", "aspf", "p", "sp", "np", "pct", "fo", "testing"):
        value = report[key]
        out.append(element(key, case(value) if key in ("p", "sp", "np") and value else value))
    out.append("</policy_published>")
    if report["rfc9990"]:
        out.append("<extension><x:thing>ignored <x:count>99</x:count></x:thing></extension>")
    for row in report["rows"]:
        out += ["<record><row>", element("source_ip", row["source_ip"]), element("count", row["count"]),
                "<policy_evaluated>", element("disposition", case(row["disposition"])),
                element("dkim", case(row["dkim"])), element("spf", case(row["spf"]))]
        for kind, comment in row["reasons"]:
            out.append(f"<reason>{element('type', kind)}{element('comment', comment)}</reason>")
        out += ["</policy_evaluated></row><identifiers>", element("envelope_to", row["envelope_to"]),
                element("envelope_from", row["envelope_from"]), element("header_from", row["header_from"]),
                "</identifiers><auth_results>"]
        for domain, selector, result, human in row["dkim_results"]:
            out.append(f"<dkim>{element('domain', domain)}{element('selector', selector)}"
                       f"{element('result', case(result))}{element('human_result', human, lang)}</dkim>")
        for domain, scope, result in row["spf_results"]:
            out.append(f"<spf>{element('domain', domain)}{element('scope', scope)}{element('result', case(result))}</spf>")
        out.append("</auth_results>")
        if report["rfc9990"]:
            out.append("<x:vendor-data>x</x:vendor-data>")
        out.append("</record>")
    out.append("</feedback>")
    return "\n".join(out).encode()


@FAST
@given(aggregate_reports(), st.sampled_from(["xml", "gzip", "zip"]))
def test_it_reads_back_generated_aggregate_reports(model, wrapping):
    data = render_aggregate(model)
    if wrapping == "gzip":
        data = gzip.compress(data)
    elif wrapping == "zip":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("report.xml", data)
        data = buffer.getvalue()
    (item,) = [(item, list(item.report.rows)) for item in read_reports(data)]
    parsed, parsed_rows = item
    report = parsed.report
    assert report.warnings == []
    assert (report.org_name, report.email, report.extra_contact_info, report.report_id) == (
        model["org_name"], model["email"], model["extra_contact_info"], model["report_id"])
    assert report.date_begin == datetime.fromtimestamp(model["begin"], timezone.utc)
    assert report.date_end - report.date_begin == timedelta(seconds=model["end"] - model["begin"])
    assert (report.errors, report.generator, report.version) == (model["errors"], model["generator"], "1.0")
    policy = report.policy
    assert [getattr(policy, key) for key in ("domain", "p", "sp", "np", "adkim", "aspf", "pct", "fo", "testing",
                                             "discovery_method")] == [
        model[key] for key in ("domain", "p", "sp", "np", "adkim", "aspf", "pct", "fo", "testing", "discovery_method")]
    assert len(parsed_rows) == len(model["rows"])
    for row, expected in zip(parsed_rows, model["rows"]):
        assert row.source_ip == normalised(expected["source_ip"])
        assert (row.count, row.disposition, row.dkim, row.spf) == (
            expected["count"], expected["disposition"], expected["dkim"], expected["spf"])
        assert [tuple(reason) for reason in row.reasons] == expected["reasons"]
        assert (row.header_from, row.envelope_from, row.envelope_to) == (
            expected["header_from"], expected["envelope_from"], expected["envelope_to"])
        assert [tuple(result) for result in row.dkim_results] == expected["dkim_results"]
        assert [tuple(result) for result in row.spf_results] == expected["spf_results"]
    assert (parsed.records, parsed.messages) == (len(model["rows"]), sum(row["count"] for row in model["rows"]))


def rfc3339(moment: datetime, style: int) -> str:
    if style == 0:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.astimezone(timezone(timedelta(hours=style))).isoformat()


@st.composite
def tls_reports(draw):
    begin = datetime(2016, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=draw(st.integers(0, 3 * 10**8)))  # to 2025
    failure = st.fixed_dictionaries({
        "result-type": st.sampled_from(["starttls-not-supported", "certificate-expired", "validation-failure",
                                        "sts-policy-fetch-error", "tlsa-invalid"]),
        "failed-session-count": st.integers(0, 10**9),
    }, optional={
        "sending-mta-ip": st.ip_addresses().map(str), "receiving-mx-hostname": domains,
        "receiving-mx-helo": domains, "receiving-ip": st.ip_addresses().map(str),
        "additional-information": texts, "failure-reason-code": texts,
    })
    policy = st.fixed_dictionaries({
        "policy": st.fixed_dictionaries({"policy-type": st.sampled_from(["tlsa", "sts", "no-policy-found"])}, optional={
            "policy-string": st.lists(texts, max_size=4), "policy-domain": domains,
            "mx-host": st.one_of(domains, st.lists(domains, min_size=1, max_size=3)),
        }),
        "summary": st.fixed_dictionaries({
            "total-successful-session-count": st.integers(0, 10**9),
            "total-failure-session-count": st.integers(0, 10**9),
        }),
    }, optional={"failure-details": st.lists(failure, max_size=3)})
    document = {
        "organization-name": draw(texts),
        "date-range": {"start-datetime": rfc3339(begin, draw(st.sampled_from([0, 2, -5]))),
                       "end-datetime": rfc3339(begin + timedelta(days=1), draw(st.sampled_from([0, 1])))},
        "report-id": draw(texts),
        "policies": draw(st.lists(policy, min_size=1, max_size=3)),
    }
    if draw(st.booleans()):
        document["contact-info"] = f"tls@{draw(domains)}"
    return document, begin


@FAST
@given(tls_reports(), st.booleans())
def test_it_reads_back_generated_tls_reports(generated, compress):
    document, begin = generated
    data = json.dumps(document, indent=None if compress else 2).encode()
    report = parse_tls(data) if not compress else next(iter(read_reports(gzip.compress(data)))).report
    assert report.warnings == []
    assert (report.organization_name, report.report_id, report.contact_info) == (
        document["organization-name"], document["report-id"], document.get("contact-info", ""))
    assert (report.date_begin, report.date_end) == (begin, begin + timedelta(days=1))
    assert report.date_begin.tzinfo == timezone.utc
    assert len(report.policies) == len(document["policies"])
    for policy, entry in zip(report.policies, document["policies"]):
        given_policy = entry["policy"]
        mx = given_policy.get("mx-host", [])
        assert (policy.policy_type, policy.policy_strings, policy.policy_domain, policy.mx_hosts) == (
            given_policy["policy-type"], tuple(given_policy.get("policy-string", [])),
            given_policy.get("policy-domain", ""), tuple([mx] if isinstance(mx, str) else mx))
        assert (policy.successful_sessions, policy.failed_sessions) == (
            entry["summary"]["total-successful-session-count"], entry["summary"]["total-failure-session-count"])
        for failure, detail in zip(policy.failures, entry.get("failure-details", []), strict=True):
            assert (failure.result_type, failure.failed_session_count, failure.sending_mta_ip,
                    failure.receiving_mx_hostname, failure.receiving_ip, failure.additional_information) == (
                detail["result-type"], detail["failed-session-count"], detail.get("sending-mta-ip", ""),
                detail.get("receiving-mx-hostname", ""), detail.get("receiving-ip", ""),
                detail.get("additional-information", ""))
    assert report.messages == sum(sum(entry["summary"].values()) for entry in document["policies"])


# Fuzzing: mutated real files give a report or a refusal, nothing else ---------------------------------

def seed_files() -> list[bytes]:
    sample = render_aggregate({
        "rfc9990": True, "shout": False, "org_name": "r", "email": "d@r.example", "extra_contact_info": "",
        "report_id": "1", "begin": 1, "end": 2, "errors": [], "generator": "g", "domain": "example.com",
        "p": "reject", "sp": "", "np": "", "adkim": "", "aspf": "", "pct": None, "fo": "", "testing": "n",
        "discovery_method": "", "rows": [],
    })
    seeds = [sample, gzip.compress(sample)]
    names = ["parsedmarc/aggregate/twilight.eml", "parsedmarc/smtp_tls/smtp_tls.json",
             "parsedmarc/extract_report/nice-input.xml.zip", "parsedmarc/aggregate/invalid_xml.xml",
             "parsedmarc/aggregate/mimecast-weird-gzip.eml", "standards/rfc9990-appendix-sample.xml",
             "parsedmarc/aggregate/fastmail.com!example.com!1516060800!1516147199!102675056.xml.gz"]
    seeds += [(CORPUS / name).read_bytes() for name in names if (CORPUS / name).exists()]
    return seeds


SEEDS = seed_files()
mutations = st.lists(st.tuples(st.sampled_from(["flip", "cut", "insert", "delete"]), st.floats(0, 1),
                               st.binary(min_size=1, max_size=4)), min_size=1, max_size=4)


def mutate(data: bytes, changes) -> bytes:
    for change, where, noise in changes:
        at = int(where * len(data)) if data else 0
        if change == "flip" and data:
            at = min(at, len(data) - 1)
            data = data[:at] + bytes([data[at] ^ noise[0]]) + data[at + 1:]
        elif change == "cut":
            data = data[:at]
        elif change == "insert":
            data = data[:at] + noise + data[at:]
        else:
            data = data[:at] + data[at + len(noise):]
    return data


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(range(len(SEEDS))), mutations)
def test_it_gives_a_report_or_a_refusal_for_mutated_files(seed, changes):
    data = mutate(SEEDS[seed], changes)
    for item in read_reports(data):
        if isinstance(item, Failed):
            assert item.reason.strip()
            continue
        try:
            if item.kind == "aggregate":
                for _ in item.report.rows:
                    pass
            assert item.records >= 0 and item.messages >= 0
        except Rejected as error:
            assert str(error).strip()


def test_it_reads_an_old_draft_namespace_and_ignores_foreign_elements():
    document = (
        '<feedback xmlns="http://dmarc.org/dmarc-xml/0.1" xmlns:v="https://vendor.example/">'
        "<report_metadata><org_name>old.example</org_name><email>d@old.example</email><report_id>7</report_id>"
        "<date_range><begin>1335571200</begin><end>1335657599</end></date_range></report_metadata>"
        "<policy_published><domain>Example.COM.</domain><p>none</p><v:p>reject</v:p></policy_published>"
        "<record><row><source_ip>::ffff:192.0.2.9</source_ip><count>2</count><v:count>9</v:count>"
        "<policy_evaluated><disposition>none</disposition></policy_evaluated></row>"
        "<identifiers><header_from>example.com</header_from></identifiers></record></feedback>"
    ).encode()
    (item,) = [(item.report, list(item.report.rows)) for item in read_reports(document)]
    report, rows = item
    assert (report.policy.domain, report.policy.p) == ("example.com", "none")
    assert [(row.source_ip, row.count, row.dkim, row.spf) for row in rows] == [("192.0.2.9", 2, "", "")]
    assert report.warnings == []
