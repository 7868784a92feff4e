"""The mailbox admin: passwords are write-only (an empty field keeps the stored one)."""

from django import forms
from django.contrib import admin

from dmarc_reports.models_mailbox import Mailbox


class MailboxForm(forms.ModelForm):
    password = forms.CharField(
        required=False, strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Never shown. Leave empty to keep the current password.",
    )

    class Meta:
        model = Mailbox
        fields = ["organization", "host", "port", "security", "username", "password", "password_env", "folder",
                  "processed_folder", "rejected_folder", "enabled"]

    def clean(self):
        data = super().clean()
        if data.get("password_env"):
            data["password"] = ""  # the variable replaces a stored password
        elif not data.get("password") and self.instance.pk:
            data["password"] = self.instance.password
        return data


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    form = MailboxForm
    list_display = ["__str__", "organization", "enabled", "last_success", "consecutive_failures", "short_error"]
    list_filter = ["enabled", "organization", "security"]
    search_fields = ["host", "username", "organization__name"]
    readonly_fields = ["last_attempt", "last_success", "consecutive_failures", "last_error", "last_counts"]
    fieldsets = [
        (None, {"fields": ["organization", "enabled"]}),
        ("Server", {"fields": ["host", "port", "security", "username", "password", "password_env"]}),
        ("Folders", {"fields": ["folder", "processed_folder", "rejected_folder"]}),
        ("Status", {"fields": readonly_fields}),
    ]

    @admin.display(description="Last error")
    def short_error(self, mailbox):
        return mailbox.last_error[:80]
