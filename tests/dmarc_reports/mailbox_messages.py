"""A mailbox's worth of report e-mails, built from the shared corpus, in every wrapping seen in the wild.

``REPORT_MAILS`` hold one report each (one pair is the same report twice: the second is a duplicate);
``OTHER_MAILS`` hold nothing importable. ``EXPECTED`` says what a pass over all of them must store.
"""

import gzip
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from email.utils import make_msgid
from pathlib import Path

CORPUS = Path("/work/shared/corpus")
if not CORPUS.exists():
    CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
AGGREGATE = CORPUS / "parsedmarc" / "aggregate"
TLS = CORPUS / "parsedmarc" / "smtp_tls"


def mail(subject: str, text: str = "Report attached.", sender: str = "noreply-dmarc@reporter.example") -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "dmarc@acme.example"
    message["Subject"] = subject
    message["Date"] = "Tue, 03 Sep 2024 10:00:00 +0000"
    message["Message-ID"] = make_msgid(domain="reporter.example")
    message.set_content(text)
    return message


def with_attachment(subject: str, payload: bytes, content_type: str, filename: str) -> bytes:
    message = mail(subject)
    maintype, subtype = content_type.split("/")
    message.add_attachment(payload, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


def tlsrpt_json_mail(report: bytes) -> bytes:
    """A TLS-RPT e-mail as RFC 8460 section 5.3 shows it: multipart/report with a tlsrpt+json part."""
    message = mail("Report Domain: company-y.example Submitter: company-x.example Report-ID: <5065427c@x>")
    message.add_attachment(report, maintype="application", subtype="tlsrpt+json",
                           filename="company-x.example!company-y.example!1459468800!1459555199.json")
    message.replace_header("Content-Type", message["Content-Type"].replace("multipart/mixed", "multipart/report")
                           + '; report-type="tlsrpt"')
    return message.as_bytes()


def forwarded(inner: bytes) -> bytes:
    """Someone forwarded a report e-mail as an attachment (message/rfc822)."""
    message = mail("Fwd: DMARC report", "See the attached report.", sender="postmaster@acme.example")
    message.add_attachment(BytesParser(policy=default_policy).parsebytes(inner))
    return message.as_bytes()


def corpus(path: Path) -> bytes:
    return path.read_bytes()


XML_IN_FORWARD = AGGREGATE / "ikea.com!example.de!1538690400!1538776800.xml"
NICE = CORPUS / "parsedmarc" / "extract_report" / "nice-input.xml"

REPORT_MAILS = [
    ("zip attachment", with_attachment(
        "Report Domain: example.com", corpus(CORPUS / "avvertix-dmarc-report-parser/fixtures/dmarc.zip"),
        "application/zip", "google.com!example.com!1.zip")),
    ("gzip attachment", with_attachment(
        "Report Domain: example.com", corpus(AGGREGATE / "fastmail.com!example.com!1516060800!1516147199!102675056.xml.gz"),
        "application/gzip", "fastmail.com!example.com!1516060800!1516147199!102675056.xml.gz")),
    ("raw xml attachment", with_attachment(
        "Report Domain: example.com", corpus(AGGREGATE / "example.net!example.com!1529366400!1529452799.xml"),
        "text/xml", "example.net!example.com!1529366400!1529452799.xml")),
    ("corpus e-mail (google)", corpus(
        AGGREGATE / "Report domain- borschow.com Submitter- google.com Report-ID- 949348866075514174.eml")),
    ("corpus e-mail (mimecast gzip)", corpus(AGGREGATE / "mimecast-weird-gzip.eml")),
    ("corpus e-mail (twilight)", corpus(AGGREGATE / "twilight.eml")),
    ("tlsrpt e-mail (google, gzip)", corpus(TLS / "google.com_smtp_tls_report.eml")),
    ("tlsrpt e-mail (json)", tlsrpt_json_mail(corpus(TLS / "rfc8460.json"))),
    ("forwarded message/rfc822", forwarded(with_attachment(
        "Report Domain: example.de", corpus(XML_IN_FORWARD), "application/xml", XML_IN_FORWARD.name))),
    ("raw xml as octet-stream", with_attachment(
        "Report Domain: example.com", corpus(NICE), "application/octet-stream", "nice-input.xml")),
    ("the same report again, gzip", with_attachment(
        "Report Domain: example.com (re-sent)", gzip.compress(corpus(NICE)), "application/gzip", "nice-input.xml.gz")),
]

OTHER_MAILS = [
    ("plain mail", mail("Lunch on Friday?", "Shall we?").as_bytes()),
    ("failure (forensic) report", corpus(
        CORPUS / "parsedmarc/failure/DMARC Failure Report for domain.de (mail-from=sharepoint@domain.de, ip=10.10.10.10).eml")),
    ("an image", with_attachment("Our new logo", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image/png", "logo.png")),
]

EXPECTED = {"aggregate": 8, "tls": 2, "imported": 10, "duplicate": 1, "rejected": 3}


def normalised(raw: bytes) -> bytes:
    """A message as stored and fetched back (the server may turn bare LF into CRLF)."""
    return raw.replace(b"\r\n", b"\n").rstrip(b"\n")
