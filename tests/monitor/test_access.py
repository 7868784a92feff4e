import pytest
from django.urls import reverse

from monitor.models import Pool

pytestmark = pytest.mark.django_db


def test_it_redirects_anonymous_users_to_sign_in(client):
    response = client.get(reverse("overview"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_serves_the_sign_in_page_and_health_anonymously(client):
    assert client.get(reverse("login")).status_code == 200
    response = client.get(reverse("health"))
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_it_shows_members_only_their_organisations(client, org, viewer, other_org):
    Pool.objects.create(organization=org, name="acme-ips", kind="ip")
    Pool.objects.create(organization=other_org, name="globex-ips", kind="ip")
    client.force_login(viewer)
    body = client.get(reverse("overview")).content.decode()
    assert "acme-ips" in body and "globex-ips" not in body


def test_it_gives_roles_their_rights(org, viewer, editor, outsider, django_user_model):
    assert org.can_view(viewer) and not org.can_edit(viewer)
    assert org.can_edit(editor) and not org.is_admin(editor)
    assert not org.can_view(outsider)
    root = django_user_model.objects.create_superuser("root", "root@example.test", "x")
    assert org.is_admin(root)


def test_it_requires_csrf_on_sign_in(viewer):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post(reverse("login"), {"username": "vera", "password": "s3cret-pass!"})
    assert response.status_code == 403
