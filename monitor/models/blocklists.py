"""The blocklist catalogue, list health, per-run results and listing intervals.

- ``Blocklist``: one DNSBL/RHSBL zone with the meaning of its return codes (shipped as
  ``monitor/blocklists/catalogue.toml``, editable in the admin and in the inventory).
- ``ListHealth``: what the RFC 5782 test points said of a list in one run (ok/broken/unusable/dead).
- ``BlocklistResult``: per run, only the (target, list) pairs that were *listed* or *error*; clean
  results are counted in ``AuditRun.counts`` (a /24 against 25 lists is 6,400 questions, nearly all clean).
- ``Listing``: an interval per (organisation, target, list): first seen, last seen, cleared.
"""

from django.db import models
from django.utils import timezone

from monitor.models.audits import AuditRun
from monitor.models.orgs import Organization

HEALTH_OK, HEALTH_BROKEN, HEALTH_UNUSABLE, HEALTH_DEAD = "ok", "broken", "unusable", "dead"
HEALTHS = [
    (HEALTH_OK, "OK"),
    (HEALTH_BROKEN, "Broken (lists everything or answers from outside 127/8)"),
    (HEALTH_UNUSABLE, "Unusable (refuses our queries)"),
    (HEALTH_DEAD, "Dead (does not answer, or lists nothing)"),
]


class Blocklist(models.Model):
    IP, DOMAIN = "ip", "domain"
    KINDS = [(IP, "IP addresses"), (DOMAIN, "Domains")]
    HIGH, MEDIUM, LOW = "high", "medium", "low"
    SEVERITIES = [(HIGH, "High"), (MEDIUM, "Medium"), (LOW, "Low")]

    zone = models.CharField(max_length=253, unique=True, help_text="The public zone, e.g. zen.spamhaus.org.")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=KINDS, default=IP)
    ipv6 = models.BooleanField(default=False, help_text="The list answers IPv6 questions (32 reversed nibbles).")
    delist_url = models.CharField(max_length=500, blank=True, help_text="{target} is replaced by the address or domain.")
    codes = models.JSONField(default=dict, blank=True, help_text='Return code meanings, e.g. {"127.0.0.2": "SBL"}.')
    bitmask = models.BooleanField(default=False, help_text="The last octet is a bitmask of the codes (SURBL, URIBL).")
    error_codes = models.JSONField(
        default=dict, blank=True, help_text="Answers that are refusals or errors, not listings (127.255.255.0/24 always)."
    )
    notes = models.TextField(blank=True, help_text="Usage policy: who may query, resolver or key needed.")
    severity = models.CharField(max_length=10, choices=SEVERITIES, default=MEDIUM)
    enabled = models.BooleanField(default=True)
    key = models.CharField(max_length=200, blank=True, help_text="Data query key (e.g. Spamhaus DQS).")
    key_zone = models.CharField(max_length=253, blank=True, help_text="Zone used with a key, e.g. {key}.zen.dq.spamhaus.net.")
    requires_key = models.BooleanField(default=False, help_text="The list answers only with a key.")
    rate = models.FloatField(null=True, blank=True, help_text="Questions per second at most (empty: the default).")
    burst = models.PositiveIntegerField(null=True, blank=True, help_text="Token bucket size (empty: the default).")
    test_listed = models.CharField(max_length=253, blank=True, help_text="Test point that must be listed (default RFC 5782).")
    test_unlisted = models.CharField(max_length=253, blank=True, help_text="Test point that must not be listed.")
    source = models.CharField(max_length=20, default="catalogue", help_text="catalogue, inventory or admin.")
    health = models.CharField(max_length=10, choices=HEALTHS, blank=True)
    health_reason = models.CharField(max_length=300, blank=True)
    health_checked = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["kind", "name"]

    def __str__(self):
        return f"{self.name} ({self.zone})"

    @property
    def query_zone(self) -> str:
        """The zone questions go to: the keyed zone when a key is set."""
        if self.key and self.key_zone:
            return self.key_zone.replace("{key}", self.key).lower().rstrip(".")
        return self.zone

    def delist_link(self, target: str) -> str:
        return self.delist_url.replace("{target}", target) if self.delist_url else ""

    def meanings(self, codes) -> list[str]:
        from monitor.blocklists.answers import code_meanings

        return code_meanings(self.codes, self.bitmask, codes)


class ListHealth(models.Model):
    run = models.ForeignKey(AuditRun, models.CASCADE, related_name="list_health")
    blocklist = models.ForeignKey(Blocklist, models.CASCADE, related_name="health_checks")
    health = models.CharField(max_length=10, choices=HEALTHS)
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "blocklist"], name="one_health_per_list_and_run")]

    def __str__(self):
        return f"{self.blocklist.zone}: {self.health}"


class BlocklistResult(models.Model):
    """A listed or error result of one run (clean results are only counted)."""

    LISTED, CLEAN, ERROR = "listed", "clean", "error"
    STATUSES = [(LISTED, "Listed"), (CLEAN, "Clean"), (ERROR, "Error")]

    run = models.ForeignKey(AuditRun, models.CASCADE, related_name="blocklist_results")
    blocklist = models.ForeignKey(Blocklist, models.CASCADE, related_name="results")
    target = models.CharField(max_length=255)
    status = models.CharField(max_length=10, choices=STATUSES)
    codes = models.JSONField(default=list, blank=True)
    reason = models.CharField(max_length=500, blank=True, help_text="The TXT reason, or what went wrong.")

    class Meta:
        indexes = [models.Index(fields=["run", "status"]), models.Index(fields=["target"])]

    def __str__(self):
        return f"{self.target} on {self.blocklist.zone}: {self.status}"


class Listing(models.Model):
    """One stretch of time a target was listed on a list (``cleared`` is empty while it lasts)."""

    organization = models.ForeignKey(Organization, models.CASCADE, related_name="listings")
    blocklist = models.ForeignKey(Blocklist, models.CASCADE, related_name="listings")
    target = models.CharField(max_length=255)
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    cleared = models.DateTimeField(null=True, blank=True)
    codes = models.JSONField(default=list, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    first_run = models.ForeignKey(AuditRun, models.SET_NULL, null=True, blank=True, related_name="+")
    last_run = models.ForeignKey(AuditRun, models.SET_NULL, null=True, blank=True, related_name="+")
    cleared_run = models.ForeignKey(AuditRun, models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-first_seen"]
        indexes = [models.Index(fields=["organization", "target"])]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "blocklist", "target"],
                condition=models.Q(cleared__isnull=True),
                name="one_open_listing_per_target_and_list",
            )
        ]

    def __str__(self):
        until = f"until {self.cleared:%Y-%m-%d}" if self.cleared else "still listed"
        return f"{self.target} on {self.blocklist.zone} since {self.first_seen:%Y-%m-%d} ({until})"

    @property
    def duration(self):
        return (self.cleared or timezone.now()) - self.first_seen
