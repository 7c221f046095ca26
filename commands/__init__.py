"""The operational commands behind `million <subcommand>` (see commands/cli.py)."""
