"""Kept for the old path: the command lives in commands/load.py and is also `million load`."""

from commands.load import main

if __name__ == "__main__":
    raise SystemExit(main())
