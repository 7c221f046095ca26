"""Agent evaluation: the case set, gold answers computed from the warehouse, scoring and reports.

No web framework imports here: commands/evaluate.py and the tests drive it."""
