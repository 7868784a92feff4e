import asyncio
import threading

import pytest

from tests.harness import aio


async def double(value):
    await asyncio.sleep(0)
    return value * 2


async def fail():
    raise LookupError("from the coroutine")


def test_it_returns_the_coroutines_result():
    assert aio.run(double(21)) == 42


def test_it_raises_the_coroutines_exception():
    with pytest.raises(LookupError, match="from the coroutine"):
        aio.run(fail())


def test_it_works_while_the_calling_thread_runs_an_event_loop():
    # What Playwright's sync API leaves behind in the main thread, made in a thread of our own.
    results = []

    async def outer():
        results.append(aio.run(double(4)))

    thread = threading.Thread(target=asyncio.run, args=(outer(),))
    thread.start()
    thread.join()

    assert results == [8]
