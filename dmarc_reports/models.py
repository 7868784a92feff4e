"""Models of ingested reports (issue: report ingestion)."""

from dmarc_reports.models_mailbox import Mailbox  # noqa: E402,F401  (issue: hands-free ingestion)
