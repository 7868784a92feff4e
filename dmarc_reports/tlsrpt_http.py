"""TLS reports POSTed over HTTPS (RFC 8460 section 5.3: ``rua=https://...``).

``POST /tlsrpt/<org slug>/`` with ``Content-Type: application/tlsrpt+gzip`` (or ``+json``) and the
report as the body. The organisation comes from the URL; every ``policy-domain`` of the report must
be a member of one of its domain pools, so a stranger cannot fill an organisation with reports about
domains it does not monitor. No log-in (the reporter is a sending MTA), no CSRF token; instead:

- a token bucket per client address (an IPv6 client's /64): ``TLSRPT_RATE_BURST`` requests at once,
  ``TLSRPT_RATE_PER_HOUR`` after that; 429 with Retry-After;
- ``TLSRPT_MAX_BYTES`` for the body as sent (413) and ``TLSRPT_MAX_JSON_BYTES`` for the report once
  decompressed (413: a gzip bomb is cut off there, never inflated whole);
- the report is read by the same parser as every upload (nesting depth, required fields ...) before
  anything is stored, then stored by ``import_file(via="api")``.

Answers: 201 imported, 200 duplicate (RFC 8460 wants a 2xx for both); 400 unreadable, 403 a domain
the organisation does not monitor, 404 no such organisation, 405 not a POST, 413 too large, 415 wrong
content type, 429 too many requests. The body is JSON: ``{"status": ..., "error": ...}``.
"""

import ipaddress
import zlib

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from dmarc_reports import ratelimit
from dmarc_reports.ingest import Limits, Rejected, parse_tls
from dmarc_reports.ingest.limits import human_size
from monitor.models import Organization, Pool
from monitor.models.pools import normalise_domain

GZIP, JSON = "application/tlsrpt+gzip", "application/tlsrpt+json"
def refuse(status: int, error: str, **headers) -> JsonResponse:
    response = JsonResponse({"status": "rejected", "error": error}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = str(value)
    return response


def client_address(request) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def bucket_key(address: str) -> str:
    """One bucket per IPv4 address, and per IPv6 /64 (one host often holds a whole /64)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


@csrf_exempt
@login_not_required
def receive_tls_report(request, slug):
    address = client_address(request)
    allowed, retry_after = ratelimit.take(
        f"tlsrpt:{bucket_key(address)}", capacity=settings.TLSRPT_RATE_BURST, per_hour=settings.TLSRPT_RATE_PER_HOUR
    )
    if not allowed:
        return refuse(429, "Too many reports from this address; try again later.", Retry_After=retry_after)
    if request.method != "POST":
        return refuse(405, "POST a TLS report (RFC 8460) here.", Allow="POST")
    org = Organization.objects.filter(slug=slug).first()
    if org is None:
        return refuse(404, "No such organisation.")
    if request.content_type not in (GZIP, JSON):
        return refuse(415, f"Content-Type must be {GZIP} or {JSON}.")

    max_bytes = settings.TLSRPT_MAX_BYTES
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if not declared.isdigit() or int(declared) > max_bytes:
        return refuse(413, f"The report is over {human_size(max_bytes)}.")
    body = request.read(max_bytes + 1)
    if len(body) > max_bytes:
        return refuse(413, f"The report is over {human_size(max_bytes)}.")

    max_json = settings.TLSRPT_MAX_JSON_BYTES
    try:
        data = gunzip(body, max_json) if request.content_type == GZIP else body
        report = parse_tls(data, Limits(max_json_bytes=max_json))
    except TooLarge as exc:
        return refuse(413, str(exc))
    except Rejected as exc:
        return refuse(400, str(exc))

    unknown = unmonitored_domains(org, report)
    if unknown is None:
        return refuse(400, "The report names no policy-domain.")
    if unknown:
        return refuse(403, f"Not a domain this organisation monitors: {', '.join(sorted(unknown))[:200]}.")

    from dmarc_reports.importing import import_file  # the pipeline's storing half

    outcome = import_file(body, name=f"POST /tlsrpt/{slug}/ from {address}", org=org, via="api")
    result = outcome.results[0] if outcome.results else None
    answer = {"status": outcome.status, "report_id": result.report_id if result else report.report_id}
    if outcome.status == "imported":
        from monitor.alerts import evaluate

        evaluate.after_import(org)
        return JsonResponse(answer, status=201)
    if outcome.status == "duplicate":
        return JsonResponse(answer, status=200)
    return refuse(400, (result.error if result and result.error else "The report could not be stored."))


class TooLarge(Exception):
    pass


def gunzip(body: bytes, limit: int) -> bytes:
    """Decompress a gzip body, never producing more than ``limit`` bytes."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error:
        raise Rejected("The body is not valid gzip data.") from None
    if len(data) > limit:
        raise TooLarge(f"The report decompresses to more than {human_size(limit)}.")
    if not inflater.eof:
        raise Rejected("The gzip data is cut short.")
    return data


def unmonitored_domains(org, report) -> set[str] | None:
    """The report's policy domains that are not in the organisation's domain pools (None: it names none)."""
    named = {policy.policy_domain for policy in report.policies if policy.policy_domain}
    if not named:
        return None
    monitored = set(
        Pool.objects.filter(organization=org, kind=Pool.DOMAIN).values_list("members__value", flat=True)
    )
    unknown = set()
    for domain in named:
        try:
            key = normalise_domain(domain)
        except ValueError:
            key = None
        if key not in monitored:
            unknown.add(domain)
    return unknown
