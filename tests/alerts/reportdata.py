"""Real DMARC aggregate (XML) and TLS-RPT (JSON) reports for alert tests, imported through import_file."""

import itertools
import json
from datetime import date, datetime, time, timedelta, timezone

from dmarc_reports.importing import import_file

_ids = itertools.count(1)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    begin = datetime.combine(day, time(0, 0), tzinfo=timezone.utc)
    return begin, begin + timedelta(seconds=86399)


def aggregate_xml(domain: str, day: date, rows, reporter: str = "google.com") -> bytes:
    """``rows``: (source_ip, count, passes) tuples; a passing row is aligned DKIM and SPF, a failing one neither."""
    begin, end = day_bounds(day)
    records = []
    for source_ip, count, passes in rows:
        result = "pass" if passes else "fail"
        records.append(f"""
  <record>
    <row><source_ip>{source_ip}</source_ip><count>{count}</count>
      <policy_evaluated><disposition>{'none' if passes else 'reject'}</disposition><dkim>{result}</dkim><spf>{result}</spf></policy_evaluated>
    </row>
    <identifiers><header_from>{domain}</header_from></identifiers>
    <auth_results>
      <dkim><domain>{domain}</domain><selector>s1</selector><result>{result}</result></dkim>
      <spf><domain>{domain}</domain><result>{result}</result></spf>
    </auth_results>
  </record>""")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feedback>
  <report_metadata>
    <org_name>{reporter}</org_name><email>noreply-dmarc@{reporter}</email>
    <report_id>alerts-{next(_ids)}</report_id>
    <date_range><begin>{int(begin.timestamp())}</begin><end>{int(end.timestamp())}</end></date_range>
  </report_metadata>
  <policy_published><domain>{domain}</domain><adkim>r</adkim><aspf>r</aspf><p>reject</p><sp>reject</sp><pct>100</pct></policy_published>
  {''.join(records)}
</feedback>
""".encode()


def tls_json(domain: str, day: date, successful: int, failed: int, result_type: str = "certificate-expired") -> bytes:
    begin, end = day_bounds(day)
    failures = [{"result-type": result_type, "sending-mta-ip": "198.51.100.62",
                 "receiving-mx-hostname": f"mx1.{domain}", "failed-session-count": failed}] if failed else []
    return json.dumps({
        "organization-name": "Company-X", "contact-info": "sts-reporting@company-x.example",
        "report-id": f"tls-{next(_ids)}",
        "date-range": {"start-datetime": begin.strftime("%Y-%m-%dT%H:%M:%SZ"),
                       "end-datetime": end.strftime("%Y-%m-%dT%H:%M:%SZ")},
        "policies": [{
            "policy": {"policy-type": "sts", "policy-string": ["version: STSv1", "mode: enforce"],
                       "policy-domain": domain, "mx-host": f"*.{domain}"},
            "summary": {"total-successful-session-count": successful, "total-failure-session-count": failed},
            "failure-details": failures,
        }],
    }).encode()


def import_report(org, data: bytes, name: str = "report.xml"):
    outcome = import_file(data, name=name, org=org, via="command", enrich=False)
    assert outcome.status == "imported", outcome.as_json_lines(name)
    return [result.report for result in outcome.results]
