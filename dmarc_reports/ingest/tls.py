"""Read an SMTP TLS report (TLS-RPT, RFC 8460, JSON).

``parse_tls(source, limits=None) -> TlsReport`` reads the whole report (real ones are a few
kilobytes; anything over ``limits.max_json_bytes`` is refused) and checks it:

- required: ``report-id``, ``date-range`` with RFC 3339 ``start-datetime``/``end-datetime``
  (a missing offset is read as UTC, with a warning), ``policies`` as a list;
- optional in practice: ``organization-name`` (else named after ``contact-info``),
  ``contact-info``, ``policy-domain``, ``policy-string``, ``mx-host`` (a string or a list);
- policy types ``tlsa``, ``sts``, ``no-policy-found`` and the RFC 8460 result types are
  normalised to lower case; unknown ones are kept as sent, with a warning;
- session counts must be whole numbers >= 0; a missing count is 0, and one written as a text of
  digits is read, with a warning.

Refused with ``Rejected``: invalid JSON, JSON nested too deep for the parser, JSON that is not
an object, and a report without the required fields. Datetimes are aware UTC; absent texts
are ``""``.
"""

import io
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .detect import strip_bom
from .errors import Rejected
from .limits import Limits, check_period, human_size

POLICY_TYPES = {"tlsa", "sts", "no-policy-found"}
RESULT_TYPES = {
    "starttls-not-supported", "certificate-host-mismatch", "certificate-expired",
    "certificate-not-trusted", "validation-failure", "tlsa-invalid", "dnssec-invalid",
    "dane-required", "sts-policy-fetch-error", "sts-policy-invalid", "sts-webpki-invalid",
}
MAX_WARNINGS = 100


@dataclass(frozen=True)
class TlsFailure:
    result_type: str
    sending_mta_ip: str
    receiving_mx_hostname: str
    receiving_mx_helo: str
    receiving_ip: str
    failed_session_count: int
    additional_information: str
    failure_reason_code: str


@dataclass(frozen=True)
class TlsPolicy:
    policy_type: str
    policy_strings: tuple[str, ...]
    policy_domain: str
    mx_hosts: tuple[str, ...]
    successful_sessions: int
    failed_sessions: int
    failures: tuple[TlsFailure, ...]


@dataclass
class TlsReport:
    organization_name: str
    contact_info: str
    report_id: str
    date_begin: datetime
    date_end: datetime
    policies: list[TlsPolicy]
    warnings: list[str] = field(default_factory=list)

    kind = "tls"

    @property
    def identity(self) -> tuple:
        """What makes two uploads the same report: reporter, id and period."""
        return (self.organization_name, self.report_id, self.date_begin, self.date_end)

    @property
    def records(self) -> int:
        return len(self.policies)

    @property
    def messages(self) -> int:
        """TLS sessions, successful and failed, over all policies."""
        return sum(policy.successful_sessions + policy.failed_sessions for policy in self.policies)


# Step 1: bytes to a JSON object ---------------------------------------------------------------

def read_json(source, limits: Limits) -> dict:
    if isinstance(source, (bytes, bytearray, memoryview)):
        source = io.BytesIO(bytes(source))
    if isinstance(source, (str, Path)):
        with open(source, "rb") as stream:
            data = stream.read(limits.max_json_bytes + 1)
    else:
        data = source.read(limits.max_json_bytes + 1)
    if len(data) > limits.max_json_bytes:
        raise Rejected(f"The JSON file is over {human_size(limits.max_json_bytes)}; a TLS report is far smaller")
    body, encoding = strip_bom(data)
    try:
        text = body.decode(encoding or "utf-8")
    except UnicodeDecodeError:
        raise Rejected("The JSON file is not valid UTF-8 text") from None
    try:
        document = json.loads(text, parse_constant=_no_constants)
    except RecursionError:
        raise Rejected("The JSON is nested too deeply to be a TLS report") from None
    except ValueError as error:  # JSONDecodeError, and integers with too many digits
        raise Rejected(f"The file is not valid JSON ({error})") from None
    if not isinstance(document, dict):
        raise Rejected("Not a TLS-RPT report: the JSON is not an object")
    if not {"report-id", "policies", "date-range"} & document.keys():
        raise Rejected("Not a TLS-RPT report: the JSON has no report-id, date-range or policies")
    return document


def _no_constants(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


# Step 2: the object to a report ---------------------------------------------------------------

class Reader:
    def __init__(self):
        self.warnings: list[str] = []

    def warn(self, message: str) -> None:
        if message not in self.warnings and len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(message)

    def text(self, mapping: dict, key: str, where: str) -> str:
        value = mapping.get(key, "")
        if value is None:
            return ""
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            self.warn(f"{where}{key} is not text; ignored")
            return ""
        return value.strip()

    def texts(self, mapping: dict, key: str, where: str) -> tuple[str, ...]:
        value = mapping.get(key)
        if value is None:
            return ()
        if isinstance(value, str):
            return (value.strip(),) if value.strip() else ()
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return tuple(item.strip() for item in value)
        self.warn(f"{where}{key} is not a list of texts; ignored")
        return ()

    def count(self, mapping: dict, key: str, where: str) -> int:
        if key not in mapping:
            self.warn(f"{where}{key} is missing; counted as 0")
            return 0
        value = mapping[key]
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
            self.warn(f"{where}{key} is written as a text, {json.dumps(value)[:50]}; read as a number")
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > 2**63 - 1:
            raise Rejected(f"{where}{key} is {json.dumps(value)[:50]}, not a whole number of sessions")
        return value

    def enum(self, value: str, known: set, what: str) -> str:
        if value.lower() in known:
            return value.lower()
        if value:
            self.warn(f"Unknown {what} '{value[:100]}' kept as sent")
        return value

    def when(self, value, what: str) -> datetime:
        if not isinstance(value, str) or not value.strip():
            raise Rejected(f"The report has no date-range {what}, so its period is unknown")
        try:
            moment = datetime.fromisoformat(value.strip().upper())  # RFC 3339 allows a lower-case "t" and "z"
        except ValueError:
            raise Rejected(f"The report's date-range {what} '{value[:50]}' is not an RFC 3339 date and time") from None
        if moment.tzinfo is None:
            self.warn(f"The date-range {what} has no UTC offset; read as UTC")
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc)


def read_policy(reader: Reader, entry, number: int) -> TlsPolicy:
    where = f"policies[{number}]."
    if not isinstance(entry, dict):
        raise Rejected(f"{where[:-1]} is not an object")
    policy = entry.get("policy") if isinstance(entry.get("policy"), dict) else {}
    summary = entry.get("summary") if isinstance(entry.get("summary"), dict) else {}
    if not policy:
        reader.warn(f"{where}policy is missing")
    failures = []
    details = entry.get("failure-details") or []
    if not isinstance(details, list):
        raise Rejected(f"{where}failure-details is not a list")
    for index, detail in enumerate(details):
        spot = f"{where}failure-details[{index}]."
        if not isinstance(detail, dict):
            raise Rejected(f"{spot[:-1]} is not an object")
        failures.append(TlsFailure(
            result_type=reader.enum(reader.text(detail, "result-type", spot), RESULT_TYPES, "result-type"),
            sending_mta_ip=reader.text(detail, "sending-mta-ip", spot),
            receiving_mx_hostname=reader.text(detail, "receiving-mx-hostname", spot).lower().rstrip("."),
            receiving_mx_helo=reader.text(detail, "receiving-mx-helo", spot),
            receiving_ip=reader.text(detail, "receiving-ip", spot),
            failed_session_count=reader.count(detail, "failed-session-count", spot),
            additional_information=reader.text(detail, "additional-information", spot),
            failure_reason_code=reader.text(detail, "failure-reason-code", spot),
        ))
    return TlsPolicy(
        policy_type=reader.enum(reader.text(policy, "policy-type", where + "policy."), POLICY_TYPES, "policy-type"),
        policy_strings=reader.texts(policy, "policy-string", where + "policy."),
        policy_domain=reader.text(policy, "policy-domain", where + "policy.").lower().rstrip("."),
        mx_hosts=reader.texts(policy, "mx-host", where + "policy."),
        successful_sessions=reader.count(summary, "total-successful-session-count", where + "summary."),
        failed_sessions=reader.count(summary, "total-failure-session-count", where + "summary."),
        failures=tuple(failures),
    )


def parse_tls(source, limits: Limits | None = None) -> TlsReport:
    """Read and check one TLS-RPT report; ``Rejected`` says why one is refused."""
    limits = limits or Limits()
    document = read_json(source, limits)
    reader = Reader()
    report_id = reader.text(document, "report-id", "")
    if not report_id:
        raise Rejected("The TLS report has no report-id, so it cannot be told apart from others")
    dates = document.get("date-range")
    if not isinstance(dates, dict):
        raise Rejected("The TLS report has no date-range, so its period is unknown")
    begin = reader.when(dates.get("start-datetime"), "start-datetime")
    end = reader.when(dates.get("end-datetime"), "end-datetime")
    check_period(begin, end, limits, "The TLS report")
    policies = document.get("policies")
    if not isinstance(policies, list):
        raise Rejected("The TLS report has no list of policies")
    if not policies:
        reader.warn("The TLS report lists no policies")
    contact = reader.text(document, "contact-info", "")
    organization = reader.text(document, "organization-name", "")
    if not organization:
        if not contact:
            raise Rejected("The TLS report does not say who sent it (no organization-name and no contact-info)")
        organization = contact.rpartition("@")[2] or contact
        reader.warn(f"The TLS report has no organization-name; the reporter is named after its contact ({organization})")
    return TlsReport(
        organization_name=organization, contact_info=contact, report_id=report_id,
        date_begin=begin, date_end=end,
        policies=[read_policy(reader, entry, number) for number, entry in enumerate(policies)],
        warnings=reader.warnings,
    )
