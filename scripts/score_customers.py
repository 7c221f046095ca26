"""Kept for the old path: the command lives in commands/score.py and is also `million score`."""

from commands.score import main

if __name__ == "__main__":
    raise SystemExit(main())
