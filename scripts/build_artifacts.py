"""Kept for the old path: the command lives in commands/build.py and is also `million build`."""

from commands.build import main

if __name__ == "__main__":
    raise SystemExit(main())
