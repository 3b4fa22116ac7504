"""Mutation testing of PLC programs: does the suite notice when the program is wrong?

:mod:`~vcommission.mutation.operators` makes mutants from the program's syntax tree;
:mod:`~vcommission.mutation.engine` runs the suite against each and scores it;
:mod:`~vcommission.mutation.replay` lets a mutant skip the plant in scenarios where it writes
what the original wrote.
"""

from __future__ import annotations

from vcommission.mutation.operators import OPERATORS, Mutant, Site, make_mutant, mutants, sites

__all__ = ["OPERATORS", "Mutant", "Site", "make_mutant", "mutants", "sites"]
