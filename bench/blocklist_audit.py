"""Blocklist audit speed: a /24 against 25 lists (6,350 questions) through a loopback DNS server that
answers every question 50 ms late, like a real resolver on a cache miss.

Two figures, measured in the same run against the same server:

- bare: a plain dnspython asyncio client (``dns.asyncresolver``) asking the same 6,350 A questions
  with 200 in flight, nothing else;
- audit: the whole ``manage.py run_audit blacklist`` process (Django start-up, health checks of the
  25 lists, the questions, TXT lookups for listings, results and intervals stored in a fresh SQLite
  database made by ``manage.py migrate``; the inventory's ``blocklists_exclusive`` leaves only the 25
  bench lists enabled).

The target is audit <= 1.6 x bare. Each is measured twice, alternately; the ratio uses the better of
each. The DNS server runs in its own process (tests/harness/dns_server.py) so it does not share a GIL.

    .venv/bin/python bench/blocklist_audit.py
"""

import asyncio
import ipaddress
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

LISTS = 25
NETWORK = ipaddress.ip_network("192.0.2.0/24")
LATENCY = 0.05
IN_FLIGHT = 200
LISTED_PER_LIST = 3  # a few listings, so the audit also fetches TXT reasons and opens intervals



def zone_name(index: int) -> str:
    return f"bl{index}.bench-blocklists.test"


def write_zones(folder: Path, hosts: list[str]) -> None:
    for index in range(LISTS):
        lines = [f"$ORIGIN {zone_name(index)}.", "$TTL 60", "2.0.0.127 A 127.0.0.2"]
        for host in hosts[index * 7 : index * 7 + LISTED_PER_LIST]:
            reversed_name = ".".join(reversed(host.split(".")))
            lines += [f"{reversed_name} A 127.0.0.2", f'{reversed_name} TXT "bench listing of {host}"']
        (folder / f"{zone_name(index)}.zone").write_text("\n".join(lines) + "\n")


def write_inventory(path: Path) -> None:
    lines = ["blocklists_exclusive = true", "", "[[organization]]", 'slug = "bench"', 'name = "Bench"', "",
             "[[pool]]", 'organization = "bench"', 'name = "outbound"', 'kind = "ip"', f'members = ["{NETWORK}"]']
    for index in range(LISTS):
        lines += ["", "[[blocklist]]", f'zone = "{zone_name(index)}"', 'kind = "ip"', f'name = "Bench list {index}"',
                  'codes = { "127.0.0.2" = "bench listing" }']
    path.write_text("\n".join(lines) + "\n")


def start_dns_server(zones: Path):
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.harness.dns_server", "--zones", str(zones), "--fault", f".:latency={LATENCY}"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    line = server.stdout.readline()
    match = re.search(r"on 127\.0\.0\.1:(\d+)", line)
    if not match:
        server.kill()
        raise RuntimeError(f"the DNS server did not start: {line!r}")
    return server, int(match.group(1))


async def bare_client(port: int, names: list[str]) -> dict:
    import dns.asyncresolver
    import dns.nameserver
    import dns.resolver

    resolver = dns.asyncresolver.Resolver(configure=False)
    resolver.nameservers = [dns.nameserver.Do53Nameserver("127.0.0.1", port)]
    resolver.timeout = resolver.lifetime = 3.0
    resolver.cache = None
    outcomes = {"listed": 0, "clean": 0, "error": 0}
    position = 0

    async def worker():
        nonlocal position
        while position < len(names):
            name = names[position]
            position += 1
            try:
                await resolver.resolve(name, "A", search=False)
                outcomes["listed"] += 1
            except dns.resolver.NXDOMAIN:
                outcomes["clean"] += 1
            except Exception:
                outcomes["error"] += 1

    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    return outcomes


def time_bare(port: int, names: list[str]) -> tuple[float, float, dict]:
    """(wall seconds, CPU seconds, outcomes)."""
    started, cpu = time.perf_counter(), time.process_time()
    outcomes = asyncio.run(bare_client(port, names))
    return time.perf_counter() - started, time.process_time() - cpu, outcomes


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def manage(env: dict, *args, check=True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def prepare_database(folder: Path, port: int) -> dict:
    """A fresh SQLite database, migrated (the catalogue comes with it), and the bench inventory."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "monitor.settings",
        "DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite3'}",
        "DNS_NAMESERVERS": f"127.0.0.1:{port}",
        "DNS_TIMEOUT": "3",
    }
    manage(env, "migrate", "--no-input")
    inventory = folder / "inventory.toml"
    write_inventory(inventory)
    manage(env, "load_inventory", str(inventory))
    return env


def time_audit(env: dict) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the process, its summary line)."""
    started, cpu = time.perf_counter(), children_cpu()
    result = manage(env, "run_audit", "blacklist", "--org", "bench")
    took, cpu = time.perf_counter() - started, children_cpu() - cpu
    summary = next((line.strip() for line in result.stdout.splitlines() if "target(s) x" in line), result.stdout)
    return took, cpu, summary


def main():
    hosts = [str(host) for host in NETWORK.hosts()]
    names = [f"{'.'.join(reversed(h.split('.')))}.{zone_name(i)}." for h in hosts for i in range(LISTS)]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        zones = folder / "zones"
        zones.mkdir()
        write_zones(zones, hosts)
        server, port = start_dns_server(zones)
        try:
            env = prepare_database(folder, port)
            print(f"{len(hosts)} addresses x {LISTS} lists = {len(names)} questions, every answer {LATENCY * 1000:.0f} ms "
                  f"late, {IN_FLIGHT} in flight", flush=True)
            bare_times, audit_times, bare_cpu, audit_cpu = [], [], [], []
            for attempt in (1, 2):
                took, cpu, outcomes = time_bare(port, names)
                bare_times.append(took)
                bare_cpu.append(cpu)
                print(f"  bare dnspython asyncio client  #{attempt}: {took:6.2f} s wall, {cpu:5.2f} s CPU  "
                      f"({len(names) / took:,.0f} questions/s; {outcomes})", flush=True)
                took, cpu, summary = time_audit(env)
                audit_times.append(took)
                audit_cpu.append(cpu)
                print(f"  manage.py run_audit blacklist  #{attempt}: {took:6.2f} s wall, {cpu:5.2f} s CPU  ({summary})",
                      flush=True)
            ratio = min(audit_times) / min(bare_times)
            verdict = "within" if ratio <= 1.6 else "OVER"
            print(f"  best audit / best bare = {min(audit_times):.2f} s / {min(bare_times):.2f} s = {ratio:.2f} "
                  f"({verdict} the 1.6 target)", flush=True)
            print(f"  CPU: audit process {min(audit_cpu):.2f} s / bare client {min(bare_cpu):.2f} s = "
                  f"{min(audit_cpu) / min(bare_cpu):.2f} (less sensitive to a busy machine than wall time)", flush=True)
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
