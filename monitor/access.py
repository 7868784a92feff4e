"""Who may see and change what. Views call these; they never filter by organisation themselves."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404

from monitor.models import Organization


def visible_orgs(user):
    return Organization.visible_to(user)


def org_for_viewer(user, slug: str) -> Organization:
    """The organisation if the user may see it; 404 otherwise (its existence is not revealed)."""
    return get_object_or_404(Organization.visible_to(user), slug=slug)


def org_for_editor(user, slug: str) -> Organization:
    org = org_for_viewer(user, slug)
    if not org.can_edit(user):
        raise PermissionDenied("Editor or admin rights in this organisation are needed.")
    return org


def scoped(queryset, user, field: str = "organization"):
    """Restrict a queryset of organisation-owned objects to what the user may see."""
    if not user.is_authenticated:
        return queryset.none()
    if user.is_superuser:
        return queryset
    return queryset.filter(**{f"{field}__memberships__user": user})


def get_scoped_or_404(queryset, user, field: str = "organization", **lookup):
    obj = scoped(queryset, user, field).filter(**lookup).first()
    if obj is None:
        raise Http404("Not found")
    return obj
