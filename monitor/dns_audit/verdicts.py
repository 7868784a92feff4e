"""What one check concludes: a status, a message a person can act on, and the records behind it."""

from __future__ import annotations

from dataclasses import dataclass, field

from monitor.dns_audit.lookups import Answer, Lookups, describe_problems

OK, WARN, FAIL, ERROR = "ok", "warn", "fail", "error"
SEVERITY = {OK: 0, WARN: 1, FAIL: 2, ERROR: 3}
LABELS = {"spf": "SPF", "dmarc": "DMARC", "mx": "MX", "mta_sts": "MTA-STS", "tls_rpt": "TLS-RPT", "bimi": "BIMI",
          "dnssec": "DNSSEC", "dkim": "DKIM", "fcrdns": "reverse DNS"}


def label(check: str) -> str:
    """ "MTA-STS" for "mta_sts", "DKIM (s1)" for "dkim:s1"."""
    name, _, selector = check.partition(":")
    text = LABELS.get(name, name)
    return f"{text} ({selector})" if selector else text


@dataclass
class Verdict:
    target: str
    check: str
    status: str
    message: str
    records: list[str] = field(default_factory=list)
    details: dict = field(default_factory=dict)

    def as_event(self) -> dict:
        """The dict handed to ``emit`` callbacks."""
        return {"target": self.target, "check": self.check, "status": self.status, "message": self.message}


def worst(*statuses: str) -> str:
    return max(statuses, key=SEVERITY.__getitem__, default=OK)


def lookup_error(target: str, check: str, answer: Answer, records=None) -> Verdict:
    """The verdict when the question a check rests on went unanswered."""
    return Verdict(
        target,
        check,
        ERROR,
        f"Could not look up {answer.name} {answer.type} ({answer.error}); the {label(check)} check is "
        "inconclusive and will be retried on the next run.",
        records=records or [],
        details={"dns_problems": [f"{answer.name} {answer.type}: {answer.error}"]},
    )


def unless_dns_failed(verdict: Verdict, lookups: Lookups) -> Verdict:
    """Turn a verdict into "error" when any DNS question behind it went unanswered.

    checkdmarc reports a timed-out include or a SERVFAIL as one of its errors or warnings, or not at
    all; from the outside that looks like a broken record. It is not: it is an unknown.
    """
    if not lookups.problems or verdict.status == ERROR:
        return verdict
    details = dict(verdict.details)
    details["dns_problems"] = list(dict.fromkeys(lookups.problems))
    details["verdict_without_dns_problems"] = {"status": verdict.status, "message": verdict.message}
    return Verdict(
        verdict.target,
        verdict.check,
        ERROR,
        f"Some DNS lookups went unanswered ({describe_problems(lookups.problems)}), so this check is "
        "inconclusive; it will be retried on the next run.",
        records=verdict.records,
        details=details,
    )


def summarise(problems: list[str], first: str | None = None) -> str:
    """One message from the most important finding and the rest as a count."""
    items = [p for p in problems if p]
    if first:
        items.insert(0, first)
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return f"{items[0]} (and {len(items) - 1} more finding{'s' if len(items) > 2 else ''})"
