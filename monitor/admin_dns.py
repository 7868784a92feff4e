"""Admin for DNS audit verdicts (read-only: they are written by audits only)."""

from django.contrib import admin

from monitor.models import DnsCheckResult


@admin.register(DnsCheckResult)
class DnsCheckResultAdmin(admin.ModelAdmin):
    list_display = ["target", "check_name", "status", "organization", "checked"]
    list_filter = ["status", "check_name", "target_kind", "organization"]
    search_fields = ["target", "message"]
    list_select_related = ["organization"]
    date_hierarchy = "checked"
    readonly_fields = [f.name for f in DnsCheckResult._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
