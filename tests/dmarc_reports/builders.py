"""Small report files for the storing, import and upload tests: the exact rows we want, as XML or JSON."""

import gzip
import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from xml.sax.saxutils import escape


@dataclass
class RowSpec:
    source_ip: str = "192.0.2.10"
    count: int = 1
    disposition: str = "none"
    dkim: str = "pass"
    spf: str = "pass"
    reasons: tuple = ()  # (type, comment) pairs
    header_from: str = "acme.example"
    dkim_results: tuple = (("acme.example", "s1", "pass"),)
    spf_results: tuple = (("acme.example", "mfrom", "pass"),)


@dataclass
class ReportSpec:
    rows: list = field(default_factory=lambda: [RowSpec()])
    domain: str = "acme.example"
    org_name: str = "Receiver Inc"
    report_id: str = "r-1"
    begin: datetime = datetime(2026, 3, 1, tzinfo=timezone.utc)
    end: datetime = datetime(2026, 3, 1, 23, 59, 59, tzinfo=timezone.utc)
    bad_count_at: int | None = None  # a record with this index gets a count that is not a number


def aggregate_xml(spec: ReportSpec) -> bytes:
    records = []
    for index, row in enumerate(spec.rows):
        count = "many" if index == spec.bad_count_at else str(row.count)
        reasons = "".join(f"<reason><type>{t}</type><comment>{escape(c)}</comment></reason>" for t, c in row.reasons)
        dkim = "".join(f"<dkim><domain>{d}</domain><selector>{s}</selector><result>{r}</result></dkim>"
                       for d, s, r in row.dkim_results)
        spf = "".join(f"<spf><domain>{d}</domain><scope>{s}</scope><result>{r}</result></spf>"
                      for d, s, r in row.spf_results)
        records.append(
            f"<record><row><source_ip>{row.source_ip}</source_ip><count>{count}</count><policy_evaluated>"
            f"<disposition>{row.disposition}</disposition><dkim>{row.dkim}</dkim><spf>{row.spf}</spf>{reasons}"
            f"</policy_evaluated></row><identifiers><header_from>{row.header_from}</header_from></identifiers>"
            f"<auth_results>{dkim}{spf}</auth_results></record>"
        )
    return (
        f'<?xml version="1.0"?><feedback><report_metadata><org_name>{escape(spec.org_name)}</org_name>'
        f"<email>dmarc@receiver.example</email><report_id>{escape(spec.report_id)}</report_id>"
        f"<date_range><begin>{int(spec.begin.timestamp())}</begin><end>{int(spec.end.timestamp())}</end>"
        f"</date_range></report_metadata><policy_published><domain>{spec.domain}</domain><adkim>r</adkim>"
        f"<aspf>r</aspf><p>reject</p><sp>quarantine</sp><pct>100</pct></policy_published>"
        + "".join(records) + "</feedback>"
    ).encode()


def gz(data: bytes) -> bytes:
    return gzip.compress(data)


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def tls_json(report_id="t-1", domain="acme.example", successful=90, failures=(("certificate-expired", 4),),
             start="2026-03-01T00:00:00Z", end="2026-03-01T23:59:59Z") -> bytes:
    return json.dumps({
        "organization-name": "Receiver Inc", "contact-info": "tls@receiver.example", "report-id": report_id,
        "date-range": {"start-datetime": start, "end-datetime": end},
        "policies": [{
            "policy": {"policy-type": "sts", "policy-string": ["version: STSv1", "mode: enforce"],
                       "policy-domain": domain, "mx-host": ["mx1.acme.example"]},
            "summary": {"total-successful-session-count": successful,
                        "total-failure-session-count": sum(n for _, n in failures)},
            "failure-details": [{"result-type": kind, "sending-mta-ip": "198.51.100.7",
                                 "receiving-mx-hostname": "mx1.acme.example", "receiving-ip": "203.0.113.25",
                                 "failed-session-count": n, "failure-reason-code": "X509_V_ERR"}
                                for kind, n in failures],
        }],
    }).encode()
