"""Every URL pattern of the project (every helper's, the admin's), walked anonymously and as a member of
another organisation: sign-in first, then 404 on the first organisation's objects.

A new pattern with parameters needs sample values in SAMPLES below: the test fails until it has them,
so no page can be added without being checked here.
"""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLResolver, get_resolver, reverse

from tests.monitor.test_dash_data import GOOGLE_IP, SES_IP, build

pytestmark = pytest.mark.django_db

PUBLIC = {"login", "health", "admin:login"}
SIGN_OUT = {"logout", "admin:logout"}
# Pages that need a query string to name their object.
QUERIES = {"dns_history": "?target=acme.example&check=dmarc"}
# Answer machines, not people: they must refuse a request that carries no token (or no report).
MACHINE_PREFIXES = ("api_",)
MACHINE = {"tlsrpt_receive"}


def walk(patterns, namespace=None):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, pattern.namespace or namespace)
        elif pattern.name is None and namespace == "admin":
            continue  # the admin's unnamed redirects and catch-all: Django's own, staff only like the rest
        else:
            yield (f"{namespace}:{pattern.name}" if namespace else pattern.name), pattern


def samples(data, org):
    """Sample values, by URL name then by parameter name, that point at the first organisation's objects."""
    report = data["reports"][0]
    by_name = {
        "alert": {"pk": data["alert"].pk},
        "dash_report": {"pk": report.pk},
        "api_report": {"pk": report.pk},
        "dash_file_raw": {"pk": report.incoming_id},
        "run_audit": {"kind": "blocklist"},
    }
    by_parameter = {"slug": org.slug, "domain": "acme.example", "source": GOOGLE_IP}
    return by_name, by_parameter


def admin_kwargs(pattern, org):
    """The admin's own patterns: the organisation's change page and the like."""
    values = {"app_label": "monitor", "model_name": "organization", "object_id": str(org.pk),
              "content_type_id": "1", "url": "x", "id": "1", "uidb64": "x", "token": "x"}
    return {key: values[key] for key in pattern.pattern.regex.groupindex}


def every_url(data, org):
    by_name, by_parameter = samples(data, org)
    urls = []
    for name, pattern in walk(get_resolver().url_patterns):
        assert name, f"every pattern needs a name: {pattern.pattern}"
        parameters = list(pattern.pattern.regex.groupindex)
        if name.startswith("admin:"):
            kwargs = admin_kwargs(pattern, org)
        else:
            kwargs = {}
            for parameter in parameters:
                value = by_name.get(name, {}).get(parameter, by_parameter.get(parameter))
                assert value is not None, f"add a sample value for {name} {parameter!r} in SAMPLES"
                kwargs[parameter] = value
        urls.append((name, reverse(name, kwargs=kwargs) + QUERIES.get(name, ""), bool(parameters)))
    return urls


def is_machine(name):
    return name in MACHINE or name.startswith(MACHINE_PREFIXES)


def test_it_sends_anonymous_visitors_to_sign_in_everywhere(client, org):
    urls = every_url(build(org), org)
    assert len(urls) > 30
    for name, url, _ in urls:
        response = client.get(url)
        if name in PUBLIC:
            assert response.status_code == 200, (name, url, response.status_code)
        elif is_machine(name):
            assert response.status_code >= 400, (name, url, response.status_code)
            assert client.post(url).status_code >= 400, (name, url)
        elif name.startswith("admin:"):
            assert response.status_code == 302, (name, url)
            assert response["Location"].startswith(("/admin/login/", reverse(settings.LOGIN_URL))), (name, url)
        else:
            assert response.status_code == 302, (name, url, response.status_code)
            assert response["Location"].startswith(reverse(settings.LOGIN_URL) + "?next="), (name, url)
    assert client.get("/static/monitor/charts.js").status_code == 200
    assert client.get("/static/vendor/plotly/plotly.min.js").status_code == 200


def test_it_answers_404_to_members_of_another_organisation(org, other_org, outsider, viewer):
    urls = every_url(build(org), org)
    stranger, member = Client(), Client()
    stranger.force_login(outsider)
    member.force_login(viewer)
    checked = 0
    for name, url, has_parameters in urls:
        if name in PUBLIC or name in SIGN_OUT or name.startswith("admin:"):
            continue
        response = stranger.get(url)
        if is_machine(name):
            assert response.status_code >= 400, (name, url)  # a session is no token
            continue
        if response.status_code == 405:  # POST-only (e.g. "run now"): try it the right way
            response = stranger.post(url)
        if has_parameters:
            assert response.status_code == 404, (name, url, response.status_code)
            # ...and the same URL is real for a member of the first organisation.
            own = member.get(url)
            assert own.status_code != 404 or member.post(url).status_code != 404, (name, url)
            checked += 1
        else:
            assert response.status_code in (200, 302), (name, url, response.status_code)
            body = response.content.decode(errors="replace")
            assert "acme.example" not in body and SES_IP not in body and GOOGLE_IP not in body, (name, url)
    assert checked >= 8
