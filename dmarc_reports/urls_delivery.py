"""How reports reach us without an upload: IMAP mailboxes (status page) and TLS reports over HTTPS."""

from django.urls import path

from dmarc_reports import tlsrpt_http, views_mailbox

urlpatterns = [
    path("mailboxes/", views_mailbox.mailboxes, name="mailboxes"),
    path("tlsrpt/<slug:slug>/", tlsrpt_http.receive_tls_report, name="tlsrpt_receive"),
]
