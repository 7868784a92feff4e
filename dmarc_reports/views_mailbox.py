from django.shortcuts import render

from dmarc_reports.models_mailbox import FAILING_AFTER, Mailbox
from monitor.access import scoped


def mailboxes(request):
    """The mailboxes of the user's organisations and how their last passes went (never a password)."""
    found = scoped(Mailbox.objects.select_related("organization"), request.user).distinct()
    return render(request, "dmarc_reports/mailboxes.html", {"mailboxes": found, "failing_after": FAILING_AFTER})
