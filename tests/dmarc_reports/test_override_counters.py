"""Override reasons (forwarded, mailing list) count on mail that fails DMARC only: on passing mail they
override nothing. Migration 0007 takes out of stored roll-ups what the earlier counting added."""

import importlib
from datetime import datetime, timezone

from django.apps import apps
from django.db.models import Sum

from dmarc_reports import prepare
from dmarc_reports.importing import import_file
from dmarc_reports.models import DailyRollup, DomainDailyRollup, ServiceDailyRollup, SourceHost
from tests.dmarc_reports.builders import ReportSpec, RowSpec, aggregate_xml

COUNTERS = DailyRollup.COUNTERS
migration = importlib.import_module("dmarc_reports.migrations.0007_overrides_count_failing_mail")

ROWS = [
    RowSpec("203.0.113.5", 37, dkim="pass", spf="fail", reasons=(("forwarded", ""),)),  # DKIM intact: passes
    RowSpec("203.0.113.5", 3, disposition="pass", dkim="pass", spf="fail", reasons=(("forwarded", ""),)),  # (RFC 9990)
    RowSpec("203.0.113.5", 5, dkim="fail", spf="fail", reasons=(("forwarded", ""),)),  # delivered despite failing
    RowSpec("203.0.113.6", 11, dkim="pass", spf="fail", reasons=(("mailing_list", "lists.example.org"),)),
    RowSpec("203.0.113.6", 7, dkim="fail", spf="fail", reasons=(("mailing_list", "lists.example.org"),)),
    RowSpec("203.0.113.7", 3, dkim="fail", spf="pass", reasons=(("trusted_forwarder", ""), ("mailing_list", ""))),
    RowSpec("192.0.2.10", 100),
]
# Two days and a bit, starting mid-day: each source's messages are spread over three days.
SPEC = ReportSpec(rows=ROWS, begin=datetime(2026, 3, 1, 13, tzinfo=timezone.utc),
                  end=datetime(2026, 3, 3, 9, 30, tzinfo=timezone.utc))


def old_row_category(row, row_category=prepare.row_category) -> int:
    """The counting before 0007: override reasons counted whatever the DMARC result."""
    category = row_category(row)
    for reason in row.reasons:
        if reason.type in prepare.FORWARDED_REASONS:
            category |= prepare.FORWARDED
        elif reason.type == "mailing_list":
            category |= prepare.MAILING_LIST
    return category


def rollups(org) -> dict:
    per_source = {(r.day, r.source_ip): tuple(getattr(r, c) for c in COUNTERS)
                  for r in DailyRollup.objects.filter(organization=org)}
    per_domain = {r.day: tuple(getattr(r, c) for c in COUNTERS) for r in DomainDailyRollup.objects.filter(organization=org)}
    per_service = {(r.day, r.service): tuple(getattr(r, c) for c in COUNTERS)
                   for r in ServiceDailyRollup.objects.filter(organization=org)}
    return {"source": per_source, "domain": per_domain, "service": per_service}


def test_it_counts_overrides_on_failing_mail_only(org):
    import_file(aggregate_xml(ReportSpec(rows=ROWS)), name="r.xml", org=org, via="command")
    totals = DailyRollup.objects.filter(organization=org).aggregate(fwd=Sum("forwarded"), ml=Sum("mailing_list"))
    assert totals == {"fwd": 5, "ml": 7}  # 203.0.113.7 passes SPF: its reasons override nothing
    domain = DomainDailyRollup.objects.get(organization=org)
    assert (domain.forwarded, domain.mailing_list) == (5, 7)  # (its SPF-passing row is not among them)


def test_it_uncounts_what_passing_mail_added_before(org, other_org, monkeypatch):
    SourceHost.objects.create(ip="203.0.113.5", ptr="mail-sor-f41.google.com", service="Google")
    with monkeypatch.context() as patched:
        patched.setattr(prepare, "row_category", old_row_category)
        import_file(aggregate_xml(SPEC), name="old.xml", org=org, via="command")  # stored before 0007
    before = rollups(org)
    assert sum(f[COUNTERS.index("forwarded")] for f in before["domain"].values()) == 37 + 3 + 5 + 3

    migration.uncount_overrides_of_passing_mail(apps, None)

    import_file(aggregate_xml(SPEC), name="new.xml", org=other_org, via="command")  # as counted now
    after, expected = rollups(org), rollups(other_org)
    assert len(after["domain"]) == 3
    for part in ("source", "domain", "service"):
        assert after[part] == expected[part], part
    assert sum(f[COUNTERS.index("forwarded")] for f in after["service"].values()) == 5


def test_it_migrates_a_database_without_overrides(org):
    import_file(aggregate_xml(ReportSpec()), name="r.xml", org=org, via="command")
    before = rollups(org)
    migration.uncount_overrides_of_passing_mail(apps, None)
    assert rollups(org) == before
