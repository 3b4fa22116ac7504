"""Scenarios: YAML files of steps and checks run against a plant and a PLC, with verdicts.

``schema`` is the file format, ``loader`` reads and validates files (matrix cases
included), ``conditions`` compiles structured conditions, ``steps``, ``faults`` and
``checks`` are the step kinds, the fault library and the checks, each kind registered by
name in ``registry`` (third parties' through entry points), ``trace`` records and diffs
runs, ``runner`` runs one scenario and ``suite`` runs many in parallel worker processes.
"""
