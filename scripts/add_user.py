"""Kept for the old path: the command lives in commands/add_user.py and is also `million add-user`."""

from commands.add_user import main

if __name__ == "__main__":
    raise SystemExit(main())
