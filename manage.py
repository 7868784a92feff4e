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
