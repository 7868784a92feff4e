"""Models of ingested reports (issue: report ingestion)."""
