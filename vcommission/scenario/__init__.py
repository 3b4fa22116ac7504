"""Scenarios: YAML files of steps and checks run against a plant and a PLC, with verdicts.

``schema`` is the file format, ``loader`` reads and validates files (matrix cases
included), ``conditions`` compiles structured conditions, ``faults`` and ``checks`` are the
fault library and the checks, ``trace`` records and diffs runs, ``runner`` runs one
scenario and ``suite`` runs many in parallel worker processes.
"""
