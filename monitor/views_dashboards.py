"""The dashboards: overview, domain, source, reports, TLS-RPT, blocklists, DNS and alerts.

Each view reads the filters from the URL, asks ``monitor.dashboards.pages`` for its charts and tables,
and renders them, or with ``?csv=<table>`` returns that table as CSV. Organisations come only from
``monitor.access`` (via the filters), so a member of one organisation never sees another's data.
"""

from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST

from monitor.access import org_for_viewer, visible_orgs
from monitor.dashboards import pages, queries
from monitor.dashboards.exports import csv_response, find_table
from monitor.dashboards.filters import KEYS, PERIODS, normalise_source, parse_filters
from monitor.models import Pool
from monitor.models.orgs import new_api_token


def dashboard_filters(request):
    return parse_filters(request.GET, visible_orgs(request.user))


def filtered(view):
    """Parse the filters (404 for an organisation or pool the user may not see), canonicalise the URL."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        filters = dashboard_filters(request)
        response = canonical_redirect(request, filters)
        return response or view(request, filters, *args, **kwargs)

    return wrapper


def canonical_redirect(request, filters):
    """The filter form sends every field, empty ones too: redirect to the short, shareable form of the URL."""
    if filters.problems or request.method != "GET":
        return None
    given = {key: value for key, value in request.GET.items() if value != ""}
    others = {key: value for key, value in given.items() if key not in KEYS}
    wanted = {**filters.params(), **others}
    if given == wanted and len(request.GET) == len(given):
        return None
    return redirect(request.path + ("?" + urlencode(wanted) if wanted else ""))


def respond(request, template, filters, page, section, csv_parts=(), keep=None, **context):
    """Render the page, or return one of its tables as CSV when ``?csv=<name>`` is asked (CSV links
    carry the filters and the ``keep`` parameters of the page)."""
    tables = page.all_tables()
    name = request.GET.get("csv", "")
    if name:
        return csv_response(find_table(tables, name), (section, *csv_parts, filters.start, filters.end))
    base_query = filters.query(**(keep or {}))
    joiner = "&" if base_query else "?"
    for table in tables:
        table.csv_url = f"{request.path}{base_query}{joiner}csv={table.name}"
    orgs = list(visible_orgs(request.user))
    pools = list(Pool.objects.filter(organization__in=filters.orgs).select_related("organization").prefetch_related("members"))
    pool_domains = {member.value for pool in pools if pool.kind == Pool.DOMAIN for member in pool.members.all()}
    context = {
        "filters": filters, "page": page, "nav_section": section, "nav_query": filters.query(domain=None, failing=None),
        "all_orgs": orgs, "periods": [str(p) for p in PERIODS], "pools": pools,
        "known_domains": sorted(pool_domains | set(page.context.get("known_domains", []))),
        **page.context, **context,
    }
    return render(request, template, context)


@filtered
def overview(request, filters):
    page = pages.overview_page(filters)
    return respond(request, "monitor/dash_overview.html", filters, page, "overview")


@filtered
def domain(request, filters, domain):
    page = pages.domain_page(filters, domain.lower())
    if page is None:
        raise Http404("No such domain")
    return respond(request, "monitor/dash_domain.html", filters, page, "overview", (domain,),
                   domain=domain.lower(), hide_domain_filter=True, failing_filter=True,
                   failing_on_url=request.path + filters.query(failing=1),
                   failing_off_url=request.path + filters.query(failing=None))


@filtered
def domain_addresses(request, filters, domain):
    """A domain's addresses, of one service (``?service=``) or all: what a service row of the domain
    page opens (in place with the script, as a page of its own without), and the addresses CSV."""
    service = request.GET.get("service", "")[:100]
    page = pages.addresses_page(filters, domain.lower(), service)
    if page is None:
        raise Http404("No such domain")
    return respond(request, "monitor/dash_domain_addresses.html", filters, page, "overview", (domain, service),
                   keep={"service": service or None}, domain=domain.lower(), hide_domain_filter=True,
                   failing_filter=True, domain_url=pages.domain_url(domain.lower(), filters),
                   failing_on_url=request.path + filters.query(failing=1, service=service or None),
                   failing_off_url=request.path + filters.query(failing=None, service=service or None))


@filtered
def source(request, filters, source):
    kind, key = normalise_source(source)
    page = pages.source_page(filters, kind, key)
    if page is None:
        raise Http404("No such source")
    return respond(request, "monitor/dash_source.html", filters, page, "overview", (key,), source_kind=kind, source=key)


@filtered
def reports(request, filters):
    page = pages.reports_page(filters, request.GET)
    return respond(request, "monitor/dash_reports.html", filters, page, "reports")


@filtered
def report(request, filters, pk):
    offset = request.GET.get("offset", "0")
    offset = int(offset) if offset.isdigit() else 0
    # The CSV holds every row of the report; the page shows them a few hundred at a time.
    page = pages.report_page(filters, pk, 0 if request.GET.get("csv") else offset,
                             None if request.GET.get("csv") else pages.ROWS_PER_PAGE)
    if page is None:
        raise Http404("No such report")
    context = page.context
    return respond(
        request, "monitor/dash_report.html", filters, page, "reports", (f"report-{pk}",),
        failing_on=filters.query(failing=1), failing_off=filters.query(failing=None),
        prev_query=filters.query(offset=context["prev_offset"] or None),
        next_query=filters.query(offset=context["next_offset"]),
    )


def file_raw(request, pk):
    """The file exactly as it was received."""
    incoming = queries.file_in_scope(visible_orgs(request.user), pk)
    if incoming is None or not incoming.has_raw:
        raise Http404("No such file")
    response = StreamingHttpResponse(incoming.raw_chunks(), content_type="application/octet-stream")
    name = incoming.name.replace("\\", "/").rsplit("/", 1)[-1] or f"file-{pk}"
    response["Content-Disposition"] = content_disposition_header(True, name)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@filtered
def tls(request, filters):
    return respond(request, "monitor/dash_tls.html", filters, pages.tls_page(filters), "tls")


@filtered
def blocklists(request, filters):
    return respond(request, "monitor/dash_blocklists.html", filters, pages.blocklists_page(filters), "blocklists")


@filtered
def dns(request, filters):
    return respond(request, "monitor/dash_dns.html", filters, pages.dns_page(filters), "dns")


@filtered
def alerts(request, filters):
    return respond(request, "monitor/dash_alerts.html", filters, pages.alerts_page(filters), "alerts")


def api_tokens(request):
    """The JSON API: how to call it, and each organisation's token for its admins (who may also rotate it)."""
    orgs = [{"org": org, "is_admin": org.is_admin(request.user)} for org in visible_orgs(request.user)]
    base = request.build_absolute_uri("/api/v1/")
    return render(request, "monitor/dash_api.html", {"orgs": orgs, "base": base, "nav_section": "api"})


@require_POST
def api_token_rotate(request, slug):
    org = org_for_viewer(request.user, slug)  # 404 for strangers
    if not org.is_admin(request.user):
        raise PermissionDenied("Only the organisation's admins may change its API token.")
    org.api_token = new_api_token()
    org.save(update_fields=["api_token"])
    messages.success(request, f"{org.name} has a new API token; the old one no longer works.")
    return redirect("dash_api")
