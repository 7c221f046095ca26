"""Kept for the old path: the command lives in commands/generate.py and is also `million generate`."""

from commands.generate import main

if __name__ == "__main__":
    raise SystemExit(main())
