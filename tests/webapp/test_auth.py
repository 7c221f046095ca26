"""Users with hashed passwords; plain text is refused; scopes load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from webapp.auth import hash_password, load_users, save_user, verify_password


def test_hash_round_trip_and_salt() -> None:
    h1, h2 = hash_password("s3cret-pass"), hash_password("s3cret-pass")
    assert h1 != h2 and "s3cret" not in h1
    assert verify_password("s3cret-pass", h1) and not verify_password("wrong", h1)
    assert not verify_password("x", "garbage")


def test_users_file_stores_no_plain_text(tmp_path: Path) -> None:
    f = tmp_path / "users.json"
    save_user(f, "wang", "correct-horse", ["上海分行外滩支行"], "rm")
    text = f.read_text()
    assert "correct-horse" not in text
    users = load_users(f)
    assert users["wang"].branches == ("上海分行外滩支行",) and verify_password("correct-horse", users["wang"].password_hash)
    assert oct(f.stat().st_mode & 0o777) == "0o600"


def test_plain_text_password_is_rejected(tmp_path: Path) -> None:
    f = tmp_path / "users.json"
    f.write_text(json.dumps({"users": {"li": {"password": "123456"}}}))
    with pytest.raises(ValueError, match="明文"):
        load_users(f)
