"""The engine's parts that need no DNS: the token bucket (on a given clock) and answer meanings."""

import pytest

from monitor.blocklists.answers import (
    ANSWER, CLEAN, ERROR, LISTED, NODATA, NXDOMAIN, TIMEOUT, ListSpec, Outcome, assess_health, classify, code_meanings,
)
from monitor.blocklists.engine import TokenBucket


def test_it_lets_a_burst_through_then_spaces_questions_at_the_rate():
    bucket = TokenBucket(rate=10, burst=3, stamp=100.0)
    waits = [bucket.reserve(100.0) for _ in range(5)]
    assert waits == pytest.approx([0, 0, 0, 0.1, 0.2])
    assert bucket.reserve(100.35) == 0, "3.5 tokens earned meanwhile pay the 2 owed and this one"
    assert bucket.reserve(100.35) == pytest.approx(0.05)


def test_it_refills_up_to_the_burst_and_no_more():
    bucket = TokenBucket(rate=10, burst=2, stamp=0.0)
    assert [bucket.reserve(0.0), bucket.reserve(0.0)] == [0, 0]
    assert bucket.reserve(60.0) == 0 and bucket.reserve(60.0) == 0, "a minute idle refills two tokens"
    assert bucket.reserve(60.0) == pytest.approx(0.1), "not sixty"


def test_it_does_not_limit_without_a_rate():
    bucket = TokenBucket(rate=0, burst=1, stamp=0.0)
    assert {bucket.reserve(0.0) for _ in range(1000)} == {0.0}


SPEC = ListSpec(id=1, zone="z.test", codes={"127.0.0.2": "spam"}, error_codes={"127.0.0.1": "refused"})


@pytest.mark.parametrize(
    "outcome, status",
    [
        (Outcome(NXDOMAIN), CLEAN),
        (Outcome(ANSWER, ("127.0.0.2",)), LISTED),
        (Outcome(ANSWER, ("127.0.0.2", "127.0.0.4")), LISTED),
        (Outcome(ANSWER, ("127.0.0.1",)), ERROR),  # the list's own refusal code
        (Outcome(ANSWER, ("127.255.255.252",)), ERROR),
        (Outcome(ANSWER, ("127.255.255.255",)), ERROR),
        (Outcome(ANSWER, ("127.255.255.17",)), ERROR),  # anywhere in 127.255.255.0/24
        (Outcome(ANSWER, ("127.0.0.2", "127.255.255.254")), ERROR),
        (Outcome(ANSWER, ("10.0.0.2",)), ERROR),
        (Outcome(ANSWER, ("127.0.0.2", "203.0.113.9")), ERROR),
        (Outcome(NODATA), ERROR),
        (Outcome(TIMEOUT, detail="2 attempts"), ERROR),
        (Outcome("failure", detail="server answered SERVFAIL"), ERROR),
    ],
)
def test_it_never_calls_an_error_clean_or_listed(outcome, status):
    assert classify(SPEC, outcome).status == status


def test_it_reads_bitmasks_bit_by_bit():
    codes = {"127.0.0.2": "black", "127.0.0.4": "grey", "127.0.0.8": "red"}
    assert code_meanings(codes, True, ["127.0.0.14"]) == ["black + grey + red"]
    assert code_meanings(codes, True, ["127.0.0.6"]) == ["black + grey"]
    assert code_meanings(codes, True, ["127.0.0.130"]) == ["black + unknown bit(s) 128"]
    assert code_meanings(codes, False, ["127.0.0.4", "127.0.0.9"]) == ["grey", "127.0.0.9: no documented meaning"]


def point(target, listed, outcome):
    return (target, listed, outcome)


@pytest.mark.parametrize(
    "outcomes, health",
    [
        ([point("127.0.0.2", True, Outcome(ANSWER, ("127.0.0.2",))), point("127.0.0.1", False, Outcome(NXDOMAIN))], "ok"),
        ([point("127.0.0.2", True, Outcome(ANSWER, ("127.0.0.2",))), point("127.0.0.1", False, Outcome(ANSWER, ("127.0.0.2",)))], "broken"),
        ([point("127.0.0.2", True, Outcome(NXDOMAIN)), point("127.0.0.1", False, Outcome(NXDOMAIN))], "dead"),
        ([point("127.0.0.2", True, Outcome(TIMEOUT)), point("127.0.0.1", False, Outcome(NXDOMAIN))], "dead"),
        ([point("127.0.0.2", True, Outcome(ANSWER, ("127.0.0.1",))), point("127.0.0.1", False, Outcome(ANSWER, ("127.0.0.1",)))], "unusable"),
        ([point("127.0.0.2", True, Outcome(ANSWER, ("192.0.2.1",))), point("127.0.0.1", False, Outcome(ANSWER, ("192.0.2.1",)))], "broken"),
        ([point("127.0.0.2", True, Outcome(ANSWER, ("127.0.0.2",))), point("127.0.0.1", False, Outcome(NODATA))], "broken"),
        ([point("127.0.0.2", True, Outcome(ANSWER, ("127.0.0.2",))), point("127.0.0.1", False, Outcome(NXDOMAIN)),
          point("::ffff:7f00:2", True, Outcome(NXDOMAIN)), point("::ffff:7f00:1", False, Outcome(NXDOMAIN))], "dead"),
    ],
)
def test_it_judges_list_health_from_the_test_points(outcomes, health):
    assert assess_health(SPEC, outcomes)[0] == health
