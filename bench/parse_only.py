"""Parsing speed and memory, without a database: 20,000- and 200,000-row gzip'd reports.

Prints rows per second and the process's peak RSS after each size (peak RSS only grows, so
the figure after the larger report bounds both). No asserts: figures to read.
"""

import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.make_report import write_aggregate_report  # noqa: E402
from dmarc_reports.ingest import Parsed, read_reports  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def main(sizes=(20_000, 200_000)):
    with tempfile.TemporaryDirectory() as folder:
        for rows in sizes:
            path = Path(folder) / f"bench!example.com!{rows}.xml.gz"
            started = time.perf_counter()
            expected = write_aggregate_report(path, rows, seed=rows)
            written = time.perf_counter() - started
            started = time.perf_counter()
            records = messages = 0
            for item in read_reports(path):
                if not isinstance(item, Parsed):
                    print(f"refused: {item.reason}")
                    continue
                for batch in item.report.rows.batches(5000):
                    records += len(batch)
                    messages += sum(row.count for row in batch)
            took = time.perf_counter() - started
            print(f"{rows:>8} rows  {path.stat().st_size / 1e6:6.1f} MB gz  written in {written:5.1f} s  "
                  f"parsed in {took:5.1f} s ({records / took:,.0f} rows/s)  "
                  f"messages {messages}/{expected}  peak RSS {peak_rss_mb():.0f} MB", flush=True)


if __name__ == "__main__":
    main()
