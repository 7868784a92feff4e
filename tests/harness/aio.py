"""Run a coroutine from synchronous test code, whatever event loop the calling thread has.

Once Playwright's sync API has started (the session-scoped ``browser`` fixture), the main thread has
a running event loop for the rest of the session and ``asyncio.run()`` there raises "cannot be
called from a running event loop". ``run()`` always uses a fresh thread with its own loop, so a
test behaves the same whichever tests ran before it.
"""

from __future__ import annotations

import asyncio
import threading


def run(coroutine):
    """``asyncio.run(coroutine)`` in a new thread; returns its result or raises its exception."""
    outcome = {}

    def target():
        try:
            outcome["result"] = asyncio.run(coroutine)
        except BaseException as exc:  # handed over to the caller below
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="harness-asyncio-run")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]
