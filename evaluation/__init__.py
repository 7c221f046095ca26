"""Agent evaluation: the case set, gold answers computed from the warehouse, scoring and reports.

No web framework imports here: scripts/evaluate_agent.py and the tests drive it."""
