"""Kept for the old path: the command lives in commands/evaluate.py and is also `million eval`."""

from commands.evaluate import main

if __name__ == "__main__":
    raise SystemExit(main())
