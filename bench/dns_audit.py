"""DNS audit throughput: domains (all checks, two DKIM selectors) and addresses (FCrDNS) per second
against a loopback DNS server that answers every question 20 ms late, like a real resolver on a
cache miss, with 1 worker (serial) and with the default pool of workers.

    .venv/bin/python bench/dns_audit.py [DOMAINS]

The server runs in its own process (tests/harness/dns_server.py) so it does not share our GIL.
"""

import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "monitor.settings")

LATENCY = 0.02
KEY_1024 = (
    "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC5OwkOsbjY8kD8LZYXAGcI5lXH0Yd0yOhjJ2S6l4SYj3pHQgWwzQnq6s3ncwlD9oe"
    "0gl1rzYz2fWGeYfxkA2/xFQ3bvOGyJNUPxFmo4yqB0U8bfPzBY3EehSxrBW9M1OeR8e1ENqsGPfA9QzYH7yQFbv5mqKG8HgR6b3WQ"
    "bZy3DQIDAQAB"
)


def zone_text(domains: int) -> str:
    lines = ["$ORIGIN bench-dns.test.", "$TTL 60", "@ MX 10 mx.bench-dns.test.", "mx A 203.0.113.200",
             'spf-common TXT "v=spf1 ip4:203.0.113.0/24 -all"']
    for i in range(domains):
        name = f"d{i}"
        lines += [
            f"{name} MX 10 mx.bench-dns.test.",
            f'{name} TXT "v=spf1 ip4:203.0.113.{i % 250} include:spf-common.bench-dns.test -all"',
            f'_dmarc.{name} TXT "v=DMARC1; p=reject; rua=mailto:dmarc@bench-dns.test"',
            f'_smtp._tls.{name} TXT "v=TLSRPTv1; rua=mailto:tls@bench-dns.test"',
            f's1._domainkey.{name} TXT "v=DKIM1; p={KEY_1024}"',
            f"out{i + 1} A 203.0.113.{i + 1}",
        ]
    return "\n".join(lines) + "\n"


def reverse_zone(addresses: int) -> str:
    lines = ["$ORIGIN 113.0.203.in-addr.arpa.", "$TTL 60", "200 PTR mx.bench-dns.test."]
    lines += [f"{i} PTR out{i}.bench-dns.test." for i in range(1, addresses + 1)]
    return "\n".join(lines) + "\n"


def start_server(zone_dir: str) -> tuple[subprocess.Popen, int]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.harness.dns_server", "--zones", zone_dir, "--fault", f".:latency={LATENCY}"],
        cwd=HERE.parent, stdout=subprocess.PIPE, text=True,
    )
    line = process.stdout.readline()  # "serving ... on 127.0.0.1:PORT (UDP and TCP)"
    port = int(line.split(" on ")[1].split()[0].rsplit(":", 1)[1])
    return process, port


def main(domains: int = 40):
    import django

    django.setup()
    from django.conf import settings

    from monitor.dns_audit import audit_address, audit_domain
    from monitor.dns_audit.runner import clear_checkdmarc_caches

    addresses = domains
    with tempfile.TemporaryDirectory() as zone_dir:
        Path(zone_dir, "bench-dns.test.zone").write_text(zone_text(domains))
        Path(zone_dir, "bench-reverse.zone").write_text(reverse_zone(addresses))
        process, port = start_server(zone_dir)
        try:
            settings.DNS_NAMESERVERS = [("127.0.0.1", port)]
            settings.DNS_TIMEOUT = 3
            settings.MTA_STS_PORT = 9  # no policy server: the few domains with _mta-sts would fail fast
            names = [f"d{i}.bench-dns.test" for i in range(domains)]
            ips = [f"203.0.113.{i}" for i in range(1, addresses + 1)]
            for workers in (1, 4, settings.DNS_AUDIT_WORKERS, 16):
                clear_checkdmarc_caches()
                started = time.perf_counter()
                with ThreadPoolExecutor(workers) as pool:
                    results = list(pool.map(lambda n: audit_domain(n, ["s1"]), names))
                    results += list(pool.map(audit_address, ips))
                elapsed = time.perf_counter() - started
                verdicts = [v for batch in results for v in batch]
                statuses = {s: sum(v.status == s for v in verdicts) for s in ("ok", "warn", "fail", "error")}
                print(f"   {workers} worker(s): {domains} domains + {addresses} addresses, {len(verdicts)} checks in "
                      f"{elapsed:.2f} s ({(domains + addresses) / elapsed:.1f} targets/s; {statuses})", flush=True)
        finally:
            process.terminate()
            process.wait()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 40)
