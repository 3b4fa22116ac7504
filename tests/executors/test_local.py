"""The local executor: units on spawned workers, budgets, dead workers, streamed outcomes."""

from __future__ import annotations

import os
import time

from vcommission.executors import LocalExecutor, Unit

HERE = "tests.executors.test_local"


def square(payload, state):
    state["calls"] = state.get("calls", 0) + 1  # kept between a worker's units
    return payload * payload, state["calls"]


def sleep_long(payload, state):
    time.sleep(payload)
    return "woke"


def die(payload, state):
    os._exit(3)


def fail(payload, state):
    raise ValueError(f"bad payload {payload}")


def test_outcomes_come_in_submission_order_and_stream_as_they_finish():
    seen = []
    units = [Unit(f"{HERE}:square", n) for n in range(6)]
    outcomes = LocalExecutor(2).run(units, seen.append)
    assert [o.index for o in outcomes] == list(range(6))
    assert [o.value[0] for o in outcomes] == [n * n for n in range(6)]
    assert sorted(o.index for o in seen) == list(range(6))  # each reported once
    assert max(o.value[1] for o in outcomes) >= 2  # a worker kept its state between units


def test_a_unit_past_its_budget_a_dead_worker_and_a_raising_unit_lose_nothing_else():
    units = [
        Unit(f"{HERE}:sleep_long", 30, budget_s=0.5),
        Unit(f"{HERE}:die", None),
        Unit(f"{HERE}:fail", 7),
        *(Unit(f"{HERE}:square", n) for n in range(4)),
    ]
    started = time.monotonic()
    outcomes = LocalExecutor(2).run(units)
    assert time.monotonic() - started < 25  # the sleeper was killed, not waited for
    statuses = [o.status for o in outcomes]
    assert statuses[:3] == ["timeout", "died", "raised"]
    assert "budget of 0.5 s" in outcomes[0].error
    assert "exit code 3" in outcomes[1].error
    assert "ValueError: bad payload 7" in outcomes[2].error
    assert [o.value[0] for o in outcomes[3:]] == [0, 1, 4, 9]


def test_units_can_be_decided_when_a_worker_is_free():
    made = []

    def next_unit():
        if len(made) == 3:
            return None
        made.append(len(made))
        return Unit(f"{HERE}:square", made[-1])

    outcomes = LocalExecutor(2).run(next_unit)
    assert [o.value[0] for o in outcomes] == [0, 1, 4]
