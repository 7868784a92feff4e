"""`make bench`: run every benchmark module in bench/ (each has a main() printing its figures)."""

import importlib
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "monitor.settings")

# In the order a reader wants them: ingestion, audits, dashboards.
BENCHES = ["parse_only", "import_reports", "blocklist_audit", "dns_audit", "dashboards"]


def main(names=None):
    for name in names or BENCHES:
        if not (HERE / f"{name}.py").exists():
            print(f"== {name}: not present, skipped")
            continue
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        module = importlib.import_module(f"bench.{name}")
        module.main()
        print(f"   ({time.perf_counter() - started:.1f} s)\n", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
