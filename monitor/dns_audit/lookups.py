"""DNS questions for the audit, with a clear line between "the answer says no" and "no answer".

Two ways in:

- ``Lookups.query(name, type)`` for our own questions: an ``Answer`` that is "records",
  "nxdomain", "nodata" or "error" (timeout, SERVFAIL, REFUSED...), never an exception.
- ``Lookups.nameservers`` for checkdmarc: the configured servers (``monitor.dns``) wrapped so that
  every timeout and every answer other than NOERROR/NXDOMAIN is written down in
  ``Lookups.problems``. checkdmarc folds such failures into its own errors and warnings (or
  swallows them); a check that saw one is reported as "error", never as "fail" or "ok".
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import dns.exception
import dns.message
import dns.nameserver
import dns.name
import dns.rcode
import dns.rdatatype
import dns.resolver
from django.conf import settings

from monitor import dns as monitor_dns

# Answers that mean the server could not or would not answer: the question stays open.
NOT_AN_ANSWER = {dns.rcode.SERVFAIL, dns.rcode.REFUSED, dns.rcode.FORMERR, dns.rcode.NOTIMP}
# Types checkdmarc asks for out of habit and whose failure it ignores itself.
IGNORED_TYPES = {dns.rdatatype.SPF}


@dataclass
class Answer:
    name: str
    type: str
    outcome: str  # "records", "nxdomain", "nodata" or "error"
    records: list[str] = field(default_factory=list)
    error: str = ""
    rdata: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """An answer was given (records, or an authoritative "no such records")."""
        return self.outcome != "error"

    @property
    def exists(self) -> bool:
        return self.outcome == "records"


class ObservedNameserver(dns.nameserver.Nameserver):
    """A nameserver that writes down each question it could not get answered."""

    def __init__(self, inner: dns.nameserver.Nameserver, problems: list[str], lock: threading.Lock):
        super().__init__()
        self.inner = inner
        self._problems = problems
        self._lock = lock

    def __str__(self):
        return str(self.inner)

    def kind(self):
        return self.inner.kind()

    def is_always_max_size(self):
        return self.inner.is_always_max_size()

    def answer_nameserver(self):
        return self.inner.answer_nameserver()

    def answer_port(self):
        return self.inner.answer_port()

    def _note(self, request, what: str) -> None:
        question = request.question[0] if request.question else None
        if question is not None and question.rdtype in IGNORED_TYPES:
            return
        asked = f"{question.name.to_text(omit_final_dot=True)} {dns.rdatatype.to_text(question.rdtype)}" if question is not None else "?"
        with self._lock:
            self._problems.append(f"{asked}: {what}")

    def query(self, request, timeout, source, source_port, max_size, one_rr_per_rrset=False, ignore_trailing=False):
        try:
            response = self.inner.query(
                request,
                timeout,
                source,
                source_port,
                max_size,
                one_rr_per_rrset=one_rr_per_rrset,
                ignore_trailing=ignore_trailing,
            )
        except dns.message.Truncated:
            raise  # dnspython asks again over TCP
        except dns.exception.Timeout:
            self._note(request, "timed out")
            raise
        except (dns.exception.DNSException, OSError, EOFError) as exc:
            self._note(request, f"{type(exc).__name__}: {exc}")
            raise
        if response.rcode() in NOT_AN_ANSWER:
            self._note(request, dns.rcode.to_text(response.rcode()))
        return response


class Lookups:
    """The DNS access of one check. Not shared between threads."""

    def __init__(self, timeout: float | None = None):
        self.timeout = timeout or settings.DNS_TIMEOUT
        self.problems: list[str] = []
        self._lock = threading.Lock()
        self.nameservers = [ObservedNameserver(ns, self.problems, self._lock) for ns in monitor_dns.nameserver_objects()]
        self._resolver = monitor_dns.resolver(self.timeout)

    def query(self, name: str, rdtype: str) -> Answer:
        try:
            answer = self._resolver.resolve(name, rdtype, lifetime=self.timeout, search=False)
        except dns.resolver.NXDOMAIN:
            return Answer(name, rdtype, "nxdomain")
        except dns.resolver.NoAnswer:
            return Answer(name, rdtype, "nodata")
        except dns.resolver.LifetimeTimeout:
            return self._failed(name, rdtype, "timed out")
        except dns.resolver.NoNameservers as exc:
            return self._failed(name, rdtype, _rcode_text(exc))
        except (dns.exception.DNSException, OSError) as exc:
            return self._failed(name, rdtype, f"{type(exc).__name__}: {exc}")
        rdata = list(answer)
        if rdtype == "TXT":
            records = [b"".join(r.strings).decode("utf-8", "replace") for r in rdata]
        else:
            records = [r.to_text() for r in rdata]
        return Answer(name, rdtype, "records", records=records, rdata=rdata)

    def _failed(self, name, rdtype, what: str) -> Answer:
        with self._lock:
            self.problems.append(f"{name} {rdtype}: {what}")
        return Answer(name, rdtype, "error", error=what)

    def addresses(self, host: str) -> tuple[list[str], list[Answer]]:
        """A and AAAA of a host: (addresses, the answers, for telling "none" from "could not ask")."""
        answers = [self.query(host, "A"), self.query(host, "AAAA")]
        found = [record for answer in answers for record in answer.records]
        return found, answers


def _rcode_text(exc: dns.resolver.NoNameservers) -> str:
    """ "SERVFAIL" (or REFUSED...) from dnspython's "All nameservers failed" error."""
    errors = exc.kwargs.get("errors") or []
    texts = []
    for error in errors:
        detail = error[3] if len(error) > 3 else error
        text = str(detail)
        for rcode in ("SERVFAIL", "REFUSED", "FORMERR", "NOTIMP"):
            if rcode in text:
                text = rcode
                break
        texts.append(text)
    return ", ".join(dict.fromkeys(texts)) or "no nameserver answered"


def describe_problems(problems: list[str], limit: int = 3) -> str:
    unique = list(dict.fromkeys(problems))
    shown = "; ".join(unique[:limit])
    if len(unique) > limit:
        shown += f"; and {len(unique) - limit} more"
    return shown
