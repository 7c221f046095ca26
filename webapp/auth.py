"""Users from a JSON file with salted PBKDF2 password hashes (no plain text anywhere), and their
optional branch scope. Create entries with `million add-user`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path

ITERATIONS = 200_000


@dataclass(frozen=True)
class User:
    name: str
    password_hash: str
    branches: tuple[str, ...] | None = None  # None: all branches
    role: str = "rm"  # rm | analyst | admin


def hash_password(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    salt = salt or os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return f"pbkdf2_sha256${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        algo, iters, salt, digest = stored.split("$")
    except ValueError:
        return False
    if algo != "pbkdf2_sha256":
        return False
    calc = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(iters))
    return hmac.compare_digest(calc, base64.b64decode(digest))


def load_users(path: Path | None) -> dict[str, User]:
    if path is None or not path.exists():
        return {}
    raw = json.loads(path.read_text(encoding="utf-8"))
    users = {}
    for name, u in raw.get("users", {}).items():
        if "password" in u:
            raise ValueError(f"用户 {name} 使用了明文密码；请用 commands/add_user.py 生成哈希")
        b = u.get("branches")
        users[name] = User(name, u["password_hash"], tuple(b) if b else None, u.get("role", "rm"))
    return users


def save_user(path: Path, name: str, password: str, branches: list[str] | None, role: str) -> None:
    raw = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"users": {}}
    raw["users"][name] = {"password_hash": hash_password(password), "branches": branches or None, "role": role}
    path.write_text(json.dumps(raw, ensure_ascii=False, indent=2), encoding="utf-8")
    os.chmod(path, 0o600)
