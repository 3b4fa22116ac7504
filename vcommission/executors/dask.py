"""The Dask executor: work units on a Dask distributed cluster (``--executor dask://HOST:PORT``).

The same units as the local executor (:class:`~vcommission.executors.local.Unit`), run with
``Client.submit``; results stream back through ``as_completed`` as they finish, and the next
unit is submitted when one finishes, so at most one unit per worker thread is in flight and
a caller can still decide each unit late (the mutation engine orders scenarios by kills).

* **Per-worker state.** Each worker thread keeps its own state dict (a thread-local), so a
  :class:`~vcommission.scenario.runner.WorkerCache` and its plants are never shared between
  threads. Start workers with ``--nthreads 1`` (one unit per process, as locally).
* **A killed worker.** Dask gives a unit whose worker died to another worker (up to the
  scheduler's ``allowed-failures``, 3 by default); after that the unit ends ``died``. Each
  unit ends once: its outcome is taken from its future, never counted twice.
* **Budgets.** Dask cannot stop a running task. A unit past its budget ends ``timeout``
  (its late result is ignored). The ST runtime's loop watchdog turns an endless loop into a
  PLC fault first, so this is a last resort.

Needs the ``dask`` extra (``pip install 'vcommission[dask]'``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from vcommission.errors import VcommissionError
from vcommission.executors.local import Outcome, Unit, _call, _feeder

__all__ = ["DaskExecutor", "parse_address"]

_STATE = threading.local()
#: Seconds between checks of the units in flight against their budgets.
_POLL_S = 0.5


def parse_address(url: str) -> str:
    """``dask://HOST:PORT`` -> ``tcp://HOST:PORT`` (what a Dask client connects to)."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme != "dask" or not rest or ":" not in rest:
        raise ValueError(f"{url!r}: an executor is dask://HOST:PORT (the scheduler's address)")
    return f"tcp://{rest}"


def run_unit(function: str, payload: Any) -> Any:
    """What a Dask worker runs: the unit's function with this thread's state."""
    state = getattr(_STATE, "state", None)
    if state is None:
        state = _STATE.state = {}
    return _call(function, payload, state)


class DaskExecutor:
    """Run units on the Dask cluster whose scheduler is at ``address`` (``tcp://HOST:PORT``)."""

    def __init__(self, address: str, *, connect_timeout_s: float = 30.0) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise VcommissionError(
                "the Dask executor needs the dask extra: pip install 'vcommission[dask]'"
            ) from None
        try:
            self.dask_client = Client(address, timeout=connect_timeout_s, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise VcommissionError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        self.address = address

    @property
    def slots(self) -> int:
        """Worker threads of the cluster now (at least 1)."""
        info = self.dask_client.scheduler_info()
        return max(1, sum(w.get("nthreads", 1) for w in info.get("workers", {}).values()))

    def run(
        self,
        units: Sequence[Unit] | Callable[[], Unit | None],
        on_result: Callable[[Outcome], None] = lambda outcome: None,
    ) -> list[Outcome]:
        """Run every unit; outcomes in submission order (and each to ``on_result`` at once)."""
        from distributed import wait

        next_unit = _feeder(units)
        outcomes: dict[int, Outcome] = {}
        submitted: list[Unit] = []
        started: dict[int, float] = {}
        inflight: dict[Any, int] = {}  # future -> unit index

        def submit() -> None:
            unit = next_unit()
            if unit is None:
                return
            index = len(submitted)
            submitted.append(unit)
            future = self.dask_client.submit(run_unit, unit.function, unit.payload, pure=False)
            started[index] = time.monotonic()
            inflight[future] = index

        def finish(future: Any, outcome: Outcome) -> None:
            del inflight[future]
            future.release()
            if outcome.index not in outcomes:
                outcomes[outcome.index] = outcome
                on_result(outcome)
            submit()

        for _ in range(self.slots):
            submit()
        while inflight:
            try:
                with self.dask_client.as_current():  # wait() asks for the current client
                    done, _ = wait(list(inflight), timeout=_POLL_S, return_when="FIRST_COMPLETED")
            except TimeoutError:  # none finished yet: look at the budgets
                done = set()
            for future in done:
                index = inflight[future]
                wall = time.monotonic() - started[index]
                try:
                    value = future.result()
                except Exception as exc:  # the unit raised, or its workers kept dying
                    status = "died" if type(exc).__name__ == "KilledWorker" else "raised"
                    error = f"{type(exc).__name__}: {exc}"
                    finish(future, Outcome(index, status, error=error, wall_s=wall))
                else:
                    finish(future, Outcome(index, "done", value, wall_s=wall))
            now = time.monotonic()
            for future, index in list(inflight.items()):
                budget = submitted[index].budget_s
                if budget is not None and now - started[index] > budget:
                    future.cancel()
                    error = f"ran past its budget of {budget:g} s"
                    finish(
                        future, Outcome(index, "timeout", error=error, wall_s=now - started[index])
                    )
        return [outcomes[i] for i in range(len(submitted))]

    def close(self) -> None:
        self.dask_client.close()

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
