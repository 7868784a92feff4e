"""Admin pages for reports, TLS reports and incoming files: read-only, each staff user seeing only the
organisations they are a member of (superusers see all). Uploading is the site's own page
(``reports/upload/``), linked from the incoming files list."""

from django.contrib import admin
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.urls import reverse
from django.utils.html import format_html

from dmarc_reports import admin_mailbox  # noqa: F401  (registers the mailbox admin)
from dmarc_reports.models import AggregateReport, IncomingFile, TlsPolicyResult, TlsReport
from monitor.access import scoped


class ScopedReadOnlyAdmin(admin.ModelAdmin):
    """Nothing is added or changed here; a staff member sees their organisations' rows only."""

    org_field = "organization"

    def get_queryset(self, request):
        return scoped(super().get_queryset(request), request.user, self.org_field).distinct()

    def has_view_permission(self, request, obj=None):
        user = request.user
        if not (user.is_active and user.is_staff):
            return False
        if user.is_superuser:
            return True
        return user.memberships.exists() and (obj is None or self.get_queryset(request).filter(pk=obj.pk).exists())

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(IncomingFile)
class IncomingFileAdmin(ScopedReadOnlyAdmin):
    list_display = ["name", "organization", "via", "user", "received", "status", "size", "short_reason"]
    list_filter = ["status", "via", "organization"]
    search_fields = ["name", "sha256", "reason"]
    date_hierarchy = "received"
    exclude = ["raw"]
    readonly_fields = ["raw_download"]

    def get_queryset(self, request):  # the files' bytes are never loaded here (nor compared by DISTINCT)
        kept = ExpressionWrapper(Q(raw__isnull=False), output_field=BooleanField())
        return super().get_queryset(request).defer("raw").annotate(raw_kept=kept)

    @admin.display(description="Why")
    def short_reason(self, incoming):
        return incoming.reason[:120]

    @admin.display(description="Raw file")
    def raw_download(self, incoming):
        if not incoming.raw_kept:
            return "not kept"
        try:
            url = reverse("dash_file_raw", args=[incoming.pk])
        except Exception:
            return "kept"
        return format_html('<a href="{}">download</a>', url)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "upload_url": reverse("reports_upload")}
        return super().changelist_view(request, extra_context)


@admin.register(AggregateReport)
class AggregateReportAdmin(ScopedReadOnlyAdmin):
    list_display = ["report_id", "org_name", "domain", "organization", "date_begin", "date_end", "records", "messages"]
    list_filter = ["organization", "org_name"]
    search_fields = ["report_id", "org_name", "domain"]
    date_hierarchy = "date_begin"
    raw_id_fields = ["incoming"]


class TlsPolicyInline(admin.TabularInline):
    model = TlsPolicyResult
    extra = 0
    can_delete = False
    fields = ["policy_type", "policy_domain", "mx_hosts", "successful_sessions", "failed_sessions"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return True  # the report's own view permission already decided


@admin.register(TlsReport)
class TlsReportAdmin(ScopedReadOnlyAdmin):
    list_display = ["report_id", "organization_name", "organization", "date_begin", "successful_sessions",
                    "failed_sessions"]
    list_filter = ["organization"]
    search_fields = ["report_id", "organization_name", "policies__policy_domain"]
    date_hierarchy = "date_begin"
    raw_id_fields = ["incoming"]
    inlines = [TlsPolicyInline]
