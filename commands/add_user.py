"""Add or update a login user (password stored as a salted PBKDF2 hash).

    million add-user --file users.json --name wang --branches 上海分行外滩支行 --role rm
The password is read from the terminal (or --password-stdin), never from the command line."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from webapp.auth import save_user  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="添加登录用户")
    ap.add_argument("--file", type=Path, required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--branches", nargs="*", help="可查看的分行（不填=全部）")
    ap.add_argument("--role", choices=["rm", "analyst", "admin"], default="rm")
    ap.add_argument("--password-stdin", action="store_true")
    a = ap.parse_args(argv)
    pw = sys.stdin.readline().rstrip("\n") if a.password_stdin else getpass.getpass("密码：")
    if len(pw) < 8:
        print("密码至少8位。", file=sys.stderr)
        return 2
    save_user(a.file, a.name, pw, a.branches, a.role)
    print(f"已保存用户 {a.name} 到 {a.file}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
