#!/usr/bin/env python
import gc
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "monitor.settings")
    if sys.argv[1:2] == ["import_reports"]:
        # A head start: the files are read and parsed in a second process while Django loads here
        # (dmarc_reports.head_start), and the collector is held back until the command runs.
        from dmarc_reports import head_start

        head_start.start(sys.argv[2:])
        gc.disable()
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    finally:
        # The process ends here: spare the interpreter's shutdown a last sweep through every object
        # still alive (about a tenth of a second for a short command such as import_reports).
        gc.freeze()
    if sys.argv[1:2] == ["import_reports"]:
        # Done (the command closed its database connections): what is left to do before exiting is run
        # (exit handlers: the reader stopped, logs flushed) and written, and the interpreter's teardown
        # of some 400 modules is skipped (20-40 ms, 3-4 % of a 20,000-row import). It starts no thread.
        import atexit

        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
