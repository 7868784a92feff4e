"""Write realistic DMARC aggregate reports of any size, for benchmarks.

``write_aggregate_report(path, rows, gz=True, seed=0, domain="example.com", ...)`` streams
the XML straight to the file (gzip-compressed by default), so a 200,000-row report never
sits in memory. Rows vary like real traffic: source IPs from a few hundred networks (IPv4 and
IPv6), mostly passing with some forwarding and spoofing, one or two DKIM signatures, one SPF
result. Returns the number of messages (sum of the rows' counts).
"""

import gzip
import random
from datetime import datetime, timezone
from pathlib import Path
from xml.sax.saxutils import escape

RFC9990_NAMESPACE = "urn:ietf:params:xml:ns:dmarc-2.0"


def _source_ip(rng: random.Random) -> str:
    if rng.random() < 0.15:
        return f"2001:db8:{rng.randrange(1, 400):x}::{rng.randrange(1, 65535):x}"
    return f"{rng.choice((192, 198, 203, 185, 209))}.{rng.randrange(0, 256)}.{rng.randrange(0, 256)}.{rng.randrange(1, 255)}"


def _record(rng: random.Random, domain: str, rfc9990: bool) -> tuple[str, int]:
    count = max(1, int(rng.paretovariate(1.2)))
    kind = rng.random()
    if kind < 0.75:  # our own mail, aligned
        dkim, spf, disposition = "pass", "pass", "none"
        dkim_results = [(domain, "s1", "pass")]
        spf_domain, spf_result = domain, "pass"
        if rng.random() < 0.3:
            dkim_results.append((f"esp{rng.randrange(5)}.example.net", "k1", "pass"))
    elif kind < 0.9:  # forwarded: SPF breaks, DKIM survives
        dkim, spf, disposition = "pass", "fail", "none"
        dkim_results = [(domain, "s1", "pass")]
        spf_domain, spf_result = f"forwarder{rng.randrange(50)}.example.org", rng.choice(("pass", "softfail"))
    else:  # spoofing
        dkim, spf = "fail", "fail"
        disposition = rng.choice(("reject", "quarantine", "none"))
        dkim_results = [(f"spoof{rng.randrange(100)}.example", "x", rng.choice(("fail", "none", "permerror")))]
        spf_domain, spf_result = f"spoof{rng.randrange(100)}.example", rng.choice(("fail", "softfail", "none"))
    reason = ""
    if disposition == "none" and kind >= 0.75 and rng.random() < 0.2:
        reason = "<reason><type>local_policy</type><comment>forwarded mail</comment></reason>"
    auth = "".join(
        f"<dkim><domain>{d}</domain><selector>{s}</selector><result>{r}</result></dkim>" for d, s, r in dkim_results
    )
    scope = "" if rfc9990 and rng.random() < 0.5 else "<scope>mfrom</scope>"
    xml = (
        f"<record><row><source_ip>{_source_ip(rng)}</source_ip><count>{count}</count>"
        f"<policy_evaluated><disposition>{disposition}</disposition><dkim>{dkim}</dkim><spf>{spf}</spf>{reason}"
        f"</policy_evaluated></row><identifiers><envelope_from>{escape(spf_domain)}</envelope_from>"
        f"<header_from>{domain}</header_from></identifiers><auth_results>{auth}"
        f"<spf><domain>{escape(spf_domain)}</domain>{scope}<result>{spf_result}</result></spf></auth_results></record>\n"
    )
    return xml, count


def write_aggregate_report(path, rows: int, gz: bool = True, seed: int = 0, domain: str = "example.com",
                           org_name: str = "Bench Receiver", report_id: str | None = None,
                           begin: datetime = datetime(2026, 1, 1, tzinfo=timezone.utc),
                           days: int = 1, rfc9990: bool = False) -> int:
    """Write a report with ``rows`` records to ``path``; return its total message count."""
    rng = random.Random(seed)
    start = int(begin.timestamp())
    end = start + days * 86400 - 1
    report_id = report_id or f"bench-{seed}-{rows}"
    namespace = f' xmlns="{RFC9990_NAMESPACE}"' if rfc9990 else ""
    extra_policy = "<np>reject</np><testing>n</testing><discovery_method>treewalk</discovery_method>" if rfc9990 else "<pct>100</pct>"
    opener = gzip.open if gz else open
    messages = 0
    with opener(Path(path), "wb") as out:
        out.write(
            f'<?xml version="1.0" encoding="UTF-8"?>\n<feedback{namespace}><version>1.0</version>'
            f"<report_metadata><org_name>{escape(org_name)}</org_name><email>dmarc@receiver.example</email>"
            f"<report_id>{escape(report_id)}</report_id><date_range><begin>{start}</begin><end>{end}</end>"
            f"</date_range></report_metadata><policy_published><domain>{domain}</domain><adkim>r</adkim>"
            f"<aspf>r</aspf><p>reject</p><sp>quarantine</sp>{extra_policy}</policy_published>\n".encode()
        )
        batch = []
        for _ in range(rows):
            xml, count = _record(rng, domain, rfc9990)
            messages += count
            batch.append(xml)
            if len(batch) >= 1000:
                out.write("".join(batch).encode())
                batch = []
        out.write(("".join(batch) + "</feedback>\n").encode())
    return messages
