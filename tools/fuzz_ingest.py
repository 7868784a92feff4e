"""Coverage-guided fuzzing of the ingestion pipeline (detect, unwrap, parse, prepare) with atheris.

The suite's hypothesis tests mutate reports a few hundred times per run; this runs for as long as it
is let, guided by the coverage of our own modules, and stops at the first input that escapes the
pipeline with anything but a refusal (``Failed``, ``Rejected``), writing it to ``crash-*`` (and, with
``-timeout=N``, any input taking longer than N seconds to ``timeout-*``). Found this way so far: two
zip files that made ``zipfile`` raise, an e-mail whose 280 KB Content-Type took the stdlib's header
parser 20 s (tests/dmarc_reports/test_parse_hostile.py), and a record with a quote left open in a tag,
which the fast way handed out as well-formed (tests/dmarc_reports/test_parse_fast.py).

atheris is not a dependency of the project (only this tool uses it)::

    .venv/bin/pip install atheris
    mkdir -p /tmp/fuzz-corpus
    .venv/bin/python tools/fuzz_ingest.py /tmp/fuzz-corpus $(find ../shared/corpus -type d) -max_total_time=600 -timeout=3

Any libFuzzer option works (``-max_len``, ``-jobs`` ...); the files in the folders given (not in their
subfolders) are the seeds, and the first folder also collects what the fuzzer finds. Limits are lowered so that every input runs fast.
"""

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

with atheris.instrument_imports(include=["dmarc_reports"]):
    from dmarc_reports.ingest import Failed, Limits, Rejected, read_reports
    from dmarc_reports.prepare import prepare_report

LIMITS = Limits(max_total_bytes=4 * 1024 * 1024, max_members=50, max_email_bytes=2 * 1024 * 1024,
                max_json_bytes=1024 * 1024)


def read_all(data: bytes) -> None:
    """Everything the pipeline makes of ``data``, read to the end as an import would."""
    for item in read_reports(data, name="fuzz", limits=LIMITS):
        if isinstance(item, Failed):
            assert item.reason, "a refusal without a reason"
            continue
        report = item.report
        if report.kind != "aggregate":
            sum(policy.successful_sessions + policy.failed_sessions for policy in report.policies)
            continue
        try:
            for _ in prepare_report(report.rows.batches(1000), report.date_begin, report.date_end, True):
                pass
        except Rejected as error:
            assert str(error), "a refusal without a reason"


if __name__ == "__main__":
    atheris.Setup(sys.argv, read_all)
    atheris.Fuzz()
