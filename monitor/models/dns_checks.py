"""DNS audit verdicts: one row per (run, target, check), with the raw records behind it.

Raw records are kept per run, so the records of two runs can be compared: ``previous()`` gives the
earlier verdict for the same organisation, target and check, and ``changes_in_run(run)`` lists
what a run changed (for alerts on "record changed" and "check got worse/better").
"""

from typing import NamedTuple

from django.db import models
from django.utils import timezone

from monitor.models.audits import AuditRun
from monitor.models.orgs import Organization

# How many earlier runs ``changes_in_run`` looks back through for a target's previous verdict.
HISTORY_RUNS = 50


class DnsCheckResult(models.Model):
    OK, WARN, FAIL, ERROR = "ok", "warn", "fail", "error"
    STATUSES = [(OK, "OK"), (WARN, "Warning"), (FAIL, "Failed"), (ERROR, "Could not check")]
    # Severity among conclusive verdicts; "error" (the check could not be done) is not ranked.
    RANK = {OK: 0, WARN: 1, FAIL: 2}
    DOMAIN, ADDRESS = "domain", "address"
    TARGET_KINDS = [(DOMAIN, "Domain"), (ADDRESS, "Address")]

    run = models.ForeignKey(AuditRun, models.CASCADE, related_name="dns_results")
    organization = models.ForeignKey(Organization, models.CASCADE, related_name="dns_results")
    target = models.CharField(max_length=255, help_text="A domain or an IP address.")
    target_kind = models.CharField(max_length=10, choices=TARGET_KINDS)
    # Not "check": that name belongs to Django's Model.check() (system checks).
    check_name = models.CharField(max_length=80, help_text="spf, dmarc, mx, mta_sts, tls_rpt, bimi, dnssec, dkim:<selector>, fcrdns")
    status = models.CharField(max_length=10, choices=STATUSES)
    message = models.TextField()
    records = models.JSONField(default=list, blank=True, help_text="The raw records behind the verdict.")
    details = models.JSONField(default=dict, blank=True, help_text="Warnings and parsed values.")
    checked = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["target", "check_name"]
        indexes = [
            models.Index(fields=["organization", "target", "check_name", "-checked"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["run", "target", "check_name"], name="one_dns_result_per_run_target_check")
        ]

    def __str__(self):
        return f"{self.target} {self.check_name}: {self.status}"

    @property
    def conclusive(self) -> bool:
        return self.status != self.ERROR

    def history(self):
        """Every verdict for this organisation, target and check, newest first."""
        return DnsCheckResult.objects.filter(
            organization_id=self.organization_id, target=self.target, check_name=self.check_name
        ).order_by("-checked", "-id")

    def previous(self, conclusive: bool = False) -> "DnsCheckResult | None":
        """The verdict of the run before this one (with ``conclusive``: the last one that was not "error")."""
        earlier = self.history().filter(
            models.Q(checked__lt=self.checked) | models.Q(checked=self.checked, id__lt=self.id)
        ).exclude(run_id=self.run_id)
        if conclusive:
            earlier = earlier.exclude(status=self.ERROR)
        return earlier.first()

    def previous_records(self) -> list[str] | None:
        """The record set of the last conclusive earlier verdict; None if there is none."""
        previous = self.previous(conclusive=True)
        return None if previous is None else previous.records


class Change(NamedTuple):
    """What one run changed for one target and check, compared with the run before."""

    target: str
    check: str
    old_status: str
    new_status: str
    old_records: list
    new_records: list
    records_changed: bool

    @property
    def got_worse(self) -> bool:
        rank = DnsCheckResult.RANK
        return self.old_status in rank and self.new_status in rank and rank[self.new_status] > rank[self.old_status]

    @property
    def got_better(self) -> bool:
        rank = DnsCheckResult.RANK
        return self.old_status in rank and self.new_status in rank and rank[self.new_status] < rank[self.old_status]


def changes_in_run(run: AuditRun) -> list[Change]:
    """The status and record changes of a DNS run, against each target's previous verdict.

    Records are compared with the last *conclusive* earlier verdict (an "error" run saw no records,
    so it never counts as "records removed"); the status is compared with the verdict just before,
    so going into or out of "error" is a status change with ``records_changed`` False. A target
    checked for the first time is not a change. Two queries, however many results.
    """
    results = list(run.dns_results.all())
    if not results:
        return []
    earlier_runs = list(
        AuditRun.objects.filter(organization_id=run.organization_id, kind=AuditRun.DNS, started__lt=run.started)
        .order_by("-started")
        .values_list("id", flat=True)[:HISTORY_RUNS]
    )
    order = {run_id: position for position, run_id in enumerate(earlier_runs)}
    keys = {(r.target, r.check_name) for r in results}
    last: dict[tuple, DnsCheckResult] = {}
    last_conclusive: dict[tuple, DnsCheckResult] = {}
    earlier = DnsCheckResult.objects.filter(run_id__in=earlier_runs, target__in={t for t, _ in keys})
    for old in sorted(earlier, key=lambda r: order[r.run_id]):
        key = (old.target, old.check_name)
        if key not in keys:
            continue
        last.setdefault(key, old)
        if old.conclusive:
            last_conclusive.setdefault(key, old)

    changes = []
    for result in results:
        key = (result.target, result.check_name)
        before = last.get(key)
        if before is None:
            continue
        compared = last_conclusive.get(key)
        records_changed = (
            result.conclusive and compared is not None and sorted(compared.records) != sorted(result.records)
        )
        if records_changed or before.status != result.status:
            changes.append(
                Change(
                    target=result.target,
                    check=result.check_name,
                    old_status=before.status,
                    new_status=result.status,
                    old_records=(compared or before).records,
                    new_records=result.records,
                    records_changed=records_changed,
                )
            )
    return changes
