"""Models of the monitor app, one module per subject."""

from monitor.models.orgs import Membership, Organization  # noqa: F401
from monitor.models.pools import Pool, PoolMember  # noqa: F401
from monitor.models.audits import AuditAlreadyRunning, AuditRun  # noqa: F401
from monitor.models.alerts import Alert, Notification, Subscription  # noqa: F401
from monitor.models.dns_checks import Change, DnsCheckResult, changes_in_run  # noqa: F401
from monitor.models.blocklists import Blocklist, BlocklistResult, ListHealth, Listing  # noqa: F401
