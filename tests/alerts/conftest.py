import pytest


@pytest.fixture
def smtp(settings, smtp_server):
    """The loopback SMTP server, with Django's mail settings pointing at it."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    settings.SITE_URL = "https://monitor.example"
    return smtp_server


def received_to(server, address):
    return [m for m in server.messages if address in m.rcpt_tos]


def text_part(message):
    return message.message.get_body(("plain",)).get_content()


def html_part(message):
    return message.message.get_body(("html",)).get_content()
