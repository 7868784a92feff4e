from django.contrib import admin

from monitor.models import Membership, Organization, Pool, PoolMember


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


class PoolMemberInline(admin.TabularInline):
    model = PoolMember
    extra = 1


@admin.register(Pool)
class PoolAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "kind"]
    list_filter = ["kind", "organization"]
    search_fields = ["name", "members__value"]
    inlines = [PoolMemberInline]

from monitor.blocklists import admin as blocklists_admin  # noqa: E402,F401 (blocklists, runs, "Run now")
from monitor import admin_dns  # noqa: E402,F401 (DNS audit verdicts)
from monitor.alerts import admin as alerts_admin  # noqa: E402,F401 (alerts, notifications, subscriptions)
