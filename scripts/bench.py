"""Kept for the old path: the command lives in commands/bench.py and is also `million bench`."""

from commands.bench import main

if __name__ == "__main__":
    raise SystemExit(main())
