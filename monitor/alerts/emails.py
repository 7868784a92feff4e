"""Three-template e-mails: ``templates/emails/<name>-subject.txt``, ``-body-text.txt``, ``-body-html.html``.

    emails.send("alert", "ops@acme.example", {"alert": alert, ...})

Sent through Django's mail settings (EMAIL_BACKEND, EMAIL_HOST...). Errors are raised, not swallowed:
the delivery loop decides whether to retry.
"""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string


def render(name: str, ctx: dict) -> tuple[str, str, str]:
    """(subject, text body, HTML body) of an e-mail."""
    ctx = {"site_url": settings.SITE_URL, **ctx}
    subject = render_to_string(f"emails/{name}-subject.txt", ctx)
    subject = " ".join(subject.split())  # one line, whatever the template's whitespace
    text = render_to_string(f"emails/{name}-body-text.txt", ctx)
    html = render_to_string(f"emails/{name}-body-html.html", ctx)
    return subject, text, html


def make(name: str, to: str | list[str], ctx: dict, headers: dict | None = None) -> EmailMultiAlternatives:
    subject, text, html = render(name, ctx)
    message = EmailMultiAlternatives(
        subject, text, settings.DEFAULT_FROM_EMAIL, [to] if isinstance(to, str) else list(to), headers=headers or {}
    )
    message.attach_alternative(html, "text/html")
    return message


def send(name: str, to: str | list[str], ctx: dict, headers: dict | None = None, connection=None) -> None:
    message = make(name, to, ctx, headers)
    message.connection = connection or get_connection(fail_silently=False)
    message.send(fail_silently=False)
