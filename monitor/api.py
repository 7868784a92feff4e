"""The read-only JSON API: the dashboards' tables for one organisation, for teams' own tools.

Every request carries the organisation's token (``Organization.api_token``, shown to its admins)::

    curl -H "Authorization: Bearer $TOKEN" "https://monitor.example/api/v1/overview/?period=90"

No session, no cookie: ``@login_not_required`` lets the request past the sign-in redirect and
``token_org`` refuses it (401) unless the token names an organisation. The data is that
organisation's only; the dashboard filters (domain, pool, period, from/to, failing) work the same way.
Answers: ``{"organization", "filters", "tables": {name: [row, ...]}}``; ``?table=<name>`` keeps one table.
"""

import hmac
from functools import wraps

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from monitor.dashboards import pages
from monitor.dashboards.filters import normalise_source, parse_filters
from monitor.models import Organization

VERSION = "v1"


def token_from(request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def token_org(request) -> Organization | None:
    token = token_from(request)
    if not token or len(token) > 64:
        return None
    org = Organization.objects.filter(api_token=token).first()
    # The lookup is by a unique index; compare again in constant time so a prefix match never counts.
    if org is None or not hmac.compare_digest(org.api_token.encode(), token.encode()):
        return None
    return org


def refuse(status, message):
    response = JsonResponse({"error": message}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def api_view(view):
    """Token-authenticated, GET-only, JSON errors; passes the organisation and its filters."""

    @login_not_required
    @require_GET
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        org = token_org(request)
        if org is None:
            return refuse(401, "Send the organisation's API token: Authorization: Bearer <token>.")
        try:
            filters = parse_filters(request.GET, Organization.objects.filter(pk=org.pk))
            page = view(request, filters, *args, **kwargs)
        except Http404 as exc:
            return refuse(404, str(exc) or "Not found")
        if page is None:
            return refuse(404, "Not found")
        tables = {table.name: table for table in page.all_tables()}
        wanted = request.GET.get("table", "")
        if wanted:
            if wanted not in tables:
                return refuse(404, f"No table {wanted!r} here; tables: {', '.join(tables)}")
            tables = {wanted: tables[wanted]}
        body = {
            "organization": org.slug,
            "filters": filters.describe(),
            "problems": filters.problems,
            "tables": {name: table.as_records() for name, table in tables.items()},
        }
        if "rows_total" in page.context:  # one report's rows come a page at a time
            body["rows"] = {key: page.context[key] for key in ("rows_total", "offset", "limit", "next_offset")}
        return JsonResponse(body)

    return wrapper


@login_not_required
@require_GET
def index(request):
    org = token_org(request)
    if org is None:
        return refuse(401, "Send the organisation's API token: Authorization: Bearer <token>.")
    names = ["api_overview", "api_reports", "api_tls", "api_blocklists", "api_dns", "api_alerts"]
    return JsonResponse({
        "organization": org.slug,
        "version": VERSION,
        "endpoints": [reverse(name) for name in names] + [
            reverse("api_domain", args=["example.com"]).replace("example.com", "<domain>"),
            reverse("api_domain_addresses", args=["example.com"]).replace("example.com", "<domain>") + "?service=<service>",
            reverse("api_source", args=["192.0.2.1"]).replace("192.0.2.1", "<address-or-service>"),
            reverse("api_report", args=[1]).replace("/1/", "/<id>/"),
        ],
    })


@api_view
def overview(request, filters):
    return pages.overview_page(filters)


@api_view
def domain(request, filters, domain):
    return pages.domain_page(filters, domain.lower())


@api_view
def domain_addresses(request, filters, domain):
    return pages.addresses_page(filters, domain.lower(), request.GET.get("service", "")[:100])


@api_view
def source(request, filters, source):
    kind, key = normalise_source(source)
    return pages.source_page(filters, kind, key)


@api_view
def reports(request, filters):
    return pages.reports_page(filters, request.GET)


@api_view
def report(request, filters, pk):
    offset = request.GET.get("offset", "0")
    return pages.report_page(filters, pk, int(offset) if offset.isdigit() else 0)


@api_view
def tls(request, filters):
    return pages.tls_page(filters)


@api_view
def blocklists(request, filters):
    return pages.blocklists_page(filters)


@api_view
def dns(request, filters):
    return pages.dns_page(filters)


@api_view
def alerts(request, filters):
    return pages.alerts_page(filters)
