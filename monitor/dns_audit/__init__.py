"""The DNS audit: SPF, DMARC, MX, MTA-STS, TLS-RPT, BIMI, DNSSEC and DKIM of every domain, and
forward-confirmed reverse DNS of every address, with the raw records kept per run.

    from monitor.dns_audit import run_dns_audit
    run = run_dns_audit(org, pools=None, trigger="command", emit=print)

One module per check; ``lookups`` keeps "the answer says no" apart from "no answer" (a timeout or
SERVFAIL gives "error", never "fail" nor "ok"); ``runner`` records the run.
"""

from monitor.dns_audit.runner import audit_address, audit_domain, run_dns_audit  # noqa: F401
