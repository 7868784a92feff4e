import asyncio

import dns.asyncquery
import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.resolver
import pytest

from tests.harness import aio


@pytest.fixture
def server(dns_server):
    return dns_server


def ask(server, name, rdtype="A", timeout=5.0, tcp=False):
    query = dns.message.make_query(name, rdtype)
    send = dns.query.tcp if tcp else dns.query.udp
    return send(query, server.address, port=server.port, timeout=timeout)


def test_it_answers_servfail_when_told(server):
    server.set_fault("example.test.", servfail=True)

    assert ask(server, "example.test.").rcode() == dns.rcode.SERVFAIL
    with pytest.raises(dns.resolver.NoNameservers):
        server.make_resolver().resolve("example.test.", "A")


def test_it_answers_refused_when_told(server):
    server.set_fault("example.test.", refused=True)

    assert ask(server, "mx1.example.test.").rcode() == dns.rcode.REFUSED


def test_a_dropped_name_times_out_while_others_answer(server):
    server.add_zone_text("bl.test.", "*.alive A 127.0.0.2\n*.dead A 127.0.0.2\n")
    server.set_fault("dead.bl.test.", drop=True)

    with pytest.raises(dns.exception.Timeout):
        ask(server, "2.0.0.127.dead.bl.test.", timeout=0.3)
    with pytest.raises(dns.exception.Timeout):
        ask(server, "2.0.0.127.dead.bl.test.", timeout=0.3, tcp=True)
    with pytest.raises(dns.exception.Timeout):
        server.make_resolver(timeout=0.3).resolve("2.0.0.127.dead.bl.test.", "A")
    assert ask(server, "2.0.0.127.alive.bl.test.").answer


def test_the_most_specific_fault_wins(server):
    server.set_fault(".", servfail=True)
    server.set_fault("example.test.")  # no fault under example.test.

    assert ask(server, "example.test.").rcode() == dns.rcode.NOERROR
    assert ask(server, "other.test.").rcode() == dns.rcode.SERVFAIL


def test_faults_can_be_cleared(server):
    server.set_fault("example.test.", refused=True)
    server.set_fault("test.", servfail=True)

    server.clear_fault("example.test.")
    assert ask(server, "example.test.").rcode() == dns.rcode.SERVFAIL
    server.clear_faults()
    assert ask(server, "example.test.").rcode() == dns.rcode.NOERROR


def test_it_rejects_contradictory_faults(server):
    with pytest.raises(ValueError):
        server.set_fault("example.test.", drop=True, servfail=True)


def test_a_slow_name_does_not_hold_up_a_fast_one(server):
    server.add_zone_text("bl.test.", "*.slow A 127.0.0.2\n*.fast A 127.0.0.3\n")
    server.set_fault("slow.bl.test.", latency=0.3)

    async def race():
        slow = [asyncio.create_task(ask_async(server, f"{i}.slow.bl.test.")) for i in range(10)]
        fast = asyncio.create_task(ask_async(server, "1.fast.bl.test."))
        done, _ = await asyncio.wait(slow + [fast], return_when=asyncio.FIRST_COMPLETED)
        await asyncio.gather(*slow)
        return done, fast

    done, fast = aio.run(race())

    assert done == {fast}


def test_delayed_answers_are_concurrent_not_queued(server):
    # 40 questions delayed 0.5 s each: queued one after another they would need 20 s and most
    # would pass their 5 s timeout; answered concurrently, all arrive.
    server.add_zone_text("bl.test.", "*.slow A 127.0.0.2\n")
    server.set_fault("slow.bl.test.", latency=0.5)

    async def many():
        return await asyncio.gather(*(ask_async(server, f"{i}.slow.bl.test.") for i in range(40)))

    responses = aio.run(many())

    assert all(response.answer for response in responses)


async def ask_async(server, name, rdtype="A"):
    query = dns.message.make_query(name, rdtype)
    return await dns.asyncquery.udp(query, server.address, port=server.port, timeout=5)
