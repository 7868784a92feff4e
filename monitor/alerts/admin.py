"""Admin for alerts, their notifications and subscriptions (imported by ``MonitorConfig.ready``).

Alerts and notifications are facts: read-only here, except "Try again now" on notifications
(after fixing the mail settings or an address a server refused).
"""

from django.contrib import admin, messages
from django.utils import timezone

from monitor.models import Alert, Notification, Subscription


class NotificationInline(admin.TabularInline):
    model = Notification
    extra = 0
    can_delete = False
    fields = ["event", "channel", "target", "status", "attempts", "next_attempt", "sent", "last_error"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["title", "organization", "kind", "status", "opened", "resolved"]
    list_filter = ["status", "kind", "organization"]
    search_fields = ["title", "key"]
    date_hierarchy = "opened"
    inlines = [NotificationInline]
    readonly_fields = ["organization", "kind", "key", "status", "title", "resolved_title", "details",
                       "resolved_details", "evidence_path", "opened", "resolved"]

    def has_add_permission(self, request):
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["alert", "event", "channel", "target", "status", "attempts", "next_attempt", "sent", "last_error"]
    list_filter = ["status", "channel", "event"]
    search_fields = ["target", "alert__title"]
    readonly_fields = ["alert", "event", "channel", "target", "status", "attempts", "next_attempt", "last_error",
                       "created", "sent"]
    actions = ["try_again_now"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Try again now (pending or failed, not sent)")
    def try_again_now(self, request, queryset):
        count = queryset.exclude(status=Notification.SENT).update(
            status=Notification.PENDING, next_attempt=timezone.now(), attempts=0
        )
        from monitor.alerts.core import _enqueue_delivery

        _enqueue_delivery()
        self.message_user(request, f"{count} notification(s) will be tried again within a minute.", messages.SUCCESS)


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "weekly_digest"]
    list_filter = ["weekly_digest", "organization"]
    autocomplete_fields = ["user"]
