"""Small wording helpers shared by the evaluators, e-mails and digest."""

from datetime import datetime, timedelta

CHECK_LABELS = {
    "spf": "SPF", "dmarc": "DMARC", "mx": "MX", "mta_sts": "MTA-STS", "tls_rpt": "TLS-RPT", "bimi": "BIMI",
    "dnssec": "DNSSEC", "fcrdns": "FCrDNS", "ns": "NS", "soa": "SOA", "ptr": "PTR",
}


def check_label(check: str) -> str:
    """"spf" → "SPF", "dkim:s1" → "DKIM (s1)"."""
    name, _, selector = check.partition(":")
    if name == "dkim":
        return f"DKIM ({selector})" if selector else "DKIM"
    return CHECK_LABELS.get(name, check)


def duration_text(delta: timedelta) -> str:
    """"3 days 4 hours", "2 hours 5 minutes", "40 minutes", "less than a minute"."""
    seconds = int(delta.total_seconds())
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes = seconds // 60
    parts = [(days, "day"), (hours, "hour"), (minutes, "minute")]
    words = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n]
    return " ".join(words[:2]) or "less than a minute"


def when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "-"


def percent(value: float) -> str:
    return f"{value:.1f}%"


def short_finding(check: str, message: str, details: dict | None = None) -> str:
    """A subject-sized finding: "11/10 lookups" for SPF over its limit, else the message's first clause."""
    details = details or {}
    if check == "spf":
        lookups, void = details.get("dns_lookups"), details.get("void_dns_lookups")
        if isinstance(lookups, int) and lookups > 10:
            return f"{lookups}/10 lookups"
        if isinstance(void, int) and void > 2:
            return f"{void}/2 void lookups"
    text = " ".join((message or "").split())
    cut = min((i for i in (text.find("; "), text.find(": "), text.find(". ")) if i > 0), default=len(text))
    text = text[:cut].rstrip(".")
    return text if len(text) <= 100 else text[:99].rstrip() + "…"
