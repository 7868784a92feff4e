#!/usr/bin/env python
import gc
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "monitor.settings")
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    finally:
        # The process ends here: spare the interpreter's shutdown a last sweep through every object
        # still alive (about a tenth of a second for a short command such as import_reports).
        gc.freeze()
