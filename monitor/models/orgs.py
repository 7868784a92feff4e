import secrets

from django.conf import settings
from django.db import models


def new_api_token() -> str:
    return secrets.token_urlsafe(32)


class Organization(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    alert_emails = models.JSONField(default=list, blank=True, help_text="Addresses that receive every alert.")
    dmarc_pass_threshold = models.FloatField(default=95.0, help_text="Alert below this 7-day DMARC pass rate (%).")
    tls_failure_threshold = models.FloatField(default=5.0, help_text="Alert above this TLS-RPT failure share (%).")
    no_report_days = models.PositiveIntegerField(default=3, help_text="Alert after this many days without reports.")
    blocklist_cron = models.CharField(max_length=100, default="0 3 * * 1", help_text="When the blocklist audit runs.")
    dns_cron = models.CharField(max_length=100, default="0 4 * * 1", help_text="When the DNS audit runs.")
    webhook_url = models.URLField(blank=True, help_text="Optional: alerts are also POSTed here as JSON.")
    api_token = models.CharField(max_length=64, unique=True, default=new_api_token, editable=False)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def role_of(self, user) -> str | None:
        """The user's role here ("viewer", "editor", "admin"), "admin" for a superuser, else None."""
        if not user.is_authenticated:
            return None
        if user.is_superuser:
            return Membership.ADMIN
        membership = self.memberships.filter(user=user).first()
        return membership.role if membership else None

    def can_view(self, user) -> bool:
        return self.role_of(user) is not None

    def can_edit(self, user) -> bool:
        return self.role_of(user) in (Membership.EDITOR, Membership.ADMIN)

    def is_admin(self, user) -> bool:
        return self.role_of(user) == Membership.ADMIN

    @classmethod
    def visible_to(cls, user):
        """The organisations a user may see: all for a superuser, else those they are a member of."""
        if not user.is_authenticated:
            return cls.objects.none()
        if user.is_superuser:
            return cls.objects.all()
        return cls.objects.filter(memberships__user=user).distinct()

    @classmethod
    def editable_by(cls, user):
        if not user.is_authenticated:
            return cls.objects.none()
        if user.is_superuser:
            return cls.objects.all()
        roles = (Membership.EDITOR, Membership.ADMIN)
        return cls.objects.filter(memberships__user=user, memberships__role__in=roles).distinct()


class Membership(models.Model):
    VIEWER, EDITOR, ADMIN = "viewer", "editor", "admin"
    ROLES = [(VIEWER, "Viewer"), (EDITOR, "Editor"), (ADMIN, "Admin")]

    organization = models.ForeignKey(Organization, models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=ROLES, default=VIEWER)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "user"], name="one_membership_per_user")]

    def __str__(self):
        return f"{self.user} in {self.organization} ({self.role})"
