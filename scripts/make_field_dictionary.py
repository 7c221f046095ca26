"""Write prompts/field_dictionary.md from the data contract; --check compares it (and the live
warehouse) instead of writing, and exits 1 on drift."""

from __future__ import annotations

import argparse

from million.field_dictionary import drift, field_dictionary_markdown  # noqa: E402
from million.settings import get_settings  # noqa: E402
from million.warehouse import WarehouseError, connect  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    s = get_settings()
    ap = argparse.ArgumentParser(description="生成或校验 prompts/field_dictionary.md")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--db-url", default=s.warehouse_url)
    args = ap.parse_args(argv)
    path = s.prompts_dir / "field_dictionary.md"
    text = field_dictionary_markdown()
    if not args.check:
        path.write_text(text, encoding="utf-8")
        print(f"已写入 {path}")
        return 0
    problems = [] if path.read_text(encoding="utf-8") == text else [f"{path} 与数据契约不一致，请重新生成"]
    try:
        with connect(args.db_url) as wh:
            problems += drift(wh)
    except WarehouseError as e:
        problems.append(str(e))
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
