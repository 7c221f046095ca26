"""The state of one conversation: its session (tool events, files, context), the confirmation gate for
generated code, and the workflow session that joins them. Below both `agent` and `tools`."""
