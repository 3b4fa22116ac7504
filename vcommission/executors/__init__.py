"""Executors: where independent work units run (scenario cases, a mutant's suite run).

:class:`~vcommission.executors.local.LocalExecutor` runs them on worker processes of this
machine. A unit names its function and carries everything it needs, so another executor
(a distributed one) can run the same units elsewhere and give the same results.
"""

from __future__ import annotations

from vcommission.executors.local import LocalExecutor, Outcome, Unit

__all__ = ["LocalExecutor", "Outcome", "Unit"]
