from datetime import timedelta

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from monitor.models.orgs import Organization

# A running audit that has not beaten its heart for this long belongs to a worker that died.
STALE_AFTER = timedelta(minutes=10)


class AuditAlreadyRunning(Exception):
    pass


class AuditRun(models.Model):
    BLOCKLIST, DNS = "blocklist", "dns"
    KINDS = [(BLOCKLIST, "Blocklist audit"), (DNS, "DNS audit")]
    SCHEDULE, MANUAL, COMMAND = "schedule", "manual", "command"
    TRIGGERS = [(SCHEDULE, "Schedule"), (MANUAL, "Run now"), (COMMAND, "Command line")]
    RUNNING, SUCCEEDED, FAILED = "running", "succeeded", "failed"
    STATUSES = [(RUNNING, "Running"), (SUCCEEDED, "Succeeded"), (FAILED, "Failed")]

    organization = models.ForeignKey(Organization, models.CASCADE, related_name="audit_runs")
    kind = models.CharField(max_length=20, choices=KINDS)
    trigger = models.CharField(max_length=20, choices=TRIGGERS, default=SCHEDULE)
    status = models.CharField(max_length=20, choices=STATUSES, default=RUNNING)
    started = models.DateTimeField(default=timezone.now)
    finished = models.DateTimeField(null=True, blank=True)
    heartbeat = models.DateTimeField(default=timezone.now)
    counts = models.JSONField(default=dict, blank=True, help_text='e.g. {"listed": 2, "clean": 500, "error": 3}')
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started"]
        indexes = [models.Index(fields=["organization", "kind", "-started"])]
        constraints = [
            # Two runs of one kind for one organisation never overlap.
            models.UniqueConstraint(
                fields=["organization", "kind"], condition=models.Q(status="running"), name="one_running_audit_per_kind"
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} of {self.organization.slug} at {self.started:%Y-%m-%d %H:%M} ({self.status})"

    @classmethod
    def start(cls, org, kind, trigger=SCHEDULE) -> "AuditRun":
        """Open a run. A run left 'running' by a dead worker is closed as failed first.

        Raises AuditAlreadyRunning when a live run of the same kind exists for the organisation.
        """
        now = timezone.now()
        with transaction.atomic():
            stale = cls.objects.filter(organization=org, kind=kind, status=cls.RUNNING, heartbeat__lt=now - STALE_AFTER)
            for run in stale:
                run.fail("The worker stopped mid-run; what it finished is kept.")
        try:
            with transaction.atomic():
                return cls.objects.create(organization=org, kind=kind, trigger=trigger, started=now, heartbeat=now)
        except IntegrityError:
            raise AuditAlreadyRunning(f"A {kind} audit of {org.slug} is already running.") from None

    def beat(self, counts: dict | None = None):
        """Record progress (and that the worker is alive)."""
        self.heartbeat = timezone.now()
        if counts:
            self.counts = {**self.counts, **counts}
        AuditRun.objects.filter(pk=self.pk).update(heartbeat=self.heartbeat, counts=self.counts)

    def succeed(self, counts: dict | None = None):
        self._close(self.SUCCEEDED, counts=counts)

    def fail(self, error: str, counts: dict | None = None):
        self._close(self.FAILED, error=error, counts=counts)

    def _close(self, status, error="", counts=None):
        self.status = status
        self.error = error
        self.finished = timezone.now()
        if counts:
            self.counts = {**self.counts, **counts}
        self.save(update_fields=["status", "error", "finished", "counts"])

    @property
    def duration(self):
        return (self.finished - self.started) if self.finished else None
