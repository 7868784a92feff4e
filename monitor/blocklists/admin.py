"""Admin for the catalogue, the runs, and "Run now" actions on organisations.

Imported at the end of ``monitor/admin.py``.
"""

from django.contrib import admin, messages
from django_q.tasks import async_task

from monitor.admin import OrganizationAdmin
from monitor.models import AuditRun
from monitor.models.blocklists import Blocklist, BlocklistResult, Listing, ListHealth

TASKS = {AuditRun.BLOCKLIST: "monitor.tasks.run_blocklist_audit", AuditRun.DNS: "monitor.tasks.run_dns_audit"}


@admin.register(Blocklist)
class BlocklistAdmin(admin.ModelAdmin):
    list_display = ["name", "zone", "kind", "severity", "enabled", "health", "health_checked", "source"]
    list_editable = ["enabled", "severity"]
    list_filter = ["kind", "enabled", "severity", "health", "source"]
    search_fields = ["name", "zone", "notes"]
    readonly_fields = ["health", "health_reason", "health_checked"]
    fieldsets = [
        (None, {"fields": ["zone", "name", "kind", "ipv6", "enabled", "severity", "delist_url", "notes"]}),
        ("Answers", {"fields": ["codes", "bitmask", "error_codes", "test_listed", "test_unlisted"]}),
        ("Access and pace", {"fields": ["key", "key_zone", "requires_key", "rate", "burst"]}),
        ("Health (latest run)", {"fields": ["health", "health_reason", "health_checked"]}),
    ]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.source = "admin"
        super().save_model(request, obj, form, change)


class ListHealthInline(admin.TabularInline):
    model = ListHealth
    extra = 0
    can_delete = False
    readonly_fields = ["blocklist", "health", "reason"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(AuditRun)
class AuditRunAdmin(admin.ModelAdmin):
    list_display = ["organization", "kind", "trigger", "status", "started", "finished", "counts"]
    list_filter = ["kind", "status", "trigger", "organization"]
    readonly_fields = ["organization", "kind", "trigger", "status", "started", "finished", "heartbeat", "counts", "error"]
    inlines = [ListHealthInline]

    def has_add_permission(self, request):
        return False


@admin.register(Listing)
class ListingAdmin(admin.ModelAdmin):
    list_display = ["target", "blocklist", "organization", "first_seen", "last_seen", "cleared"]
    list_filter = ["organization", "blocklist", ("cleared", admin.EmptyFieldListFilter)]
    search_fields = ["target"]
    list_select_related = ["blocklist", "organization"]
    readonly_fields = ["first_run", "last_run", "cleared_run"]


@admin.register(BlocklistResult)
class BlocklistResultAdmin(admin.ModelAdmin):
    list_display = ["target", "blocklist", "status", "codes", "reason", "run"]
    list_filter = ["status", "blocklist"]
    search_fields = ["target"]
    list_select_related = ["blocklist", "run"]


def queue_audits(modeladmin, request, queryset, kind):
    queued = []
    for org in queryset:
        if AuditRun.objects.filter(organization=org, kind=kind, status=AuditRun.RUNNING).exists():
            modeladmin.message_user(request, f"A {kind} audit of {org.slug} is already running.", messages.WARNING)
            continue
        async_task(TASKS[kind], org_id=org.id, trigger=AuditRun.MANUAL, task_name=f"{kind} audit of {org.slug} (run now)")
        queued.append(org.slug)
    if queued:
        modeladmin.message_user(request, f"{kind.capitalize()} audit queued for {', '.join(queued)}.", messages.SUCCESS)


@admin.action(description="Run the blocklist audit now")
def run_blocklist_audit_now(modeladmin, request, queryset):
    queue_audits(modeladmin, request, queryset, AuditRun.BLOCKLIST)


@admin.action(description="Run the DNS audit now")
def run_dns_audit_now(modeladmin, request, queryset):
    queue_audits(modeladmin, request, queryset, AuditRun.DNS)


OrganizationAdmin.actions = [*(OrganizationAdmin.actions or []), run_blocklist_audit_now, run_dns_audit_now]
