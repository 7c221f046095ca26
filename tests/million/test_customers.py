"""Customer IDs as people type them: shapes learnt from the data, any letter case, nearest IDs."""

from __future__ import annotations

from million.customers import learn_shapes
from tools.wording import id_range, missing_customer

IDS = [f"C{i:07d}" for i in range(1, 2001)]


def test_shapes_accept_ids_and_typos_but_not_other_words() -> None:
    s = learn_shapes(IDS, [8], IDS[0], IDS[-1], len(IDS))
    for token in ("C9999999", "c0000034", "C000123", "C00001234"):  # unknown, lower case, one digit short / long
        assert s.matches(token), token
    for token in ("2026-10", "top50", "qwen2.5-72b", "SELECT", "C1", "1000000"):
        assert not s.matches(token), token
    assert id_range(s) == "现有客户ID从 C0000001 到 C0002000（共 2,000 位）"


def test_free_form_ids_use_lengths_only() -> None:
    import hashlib

    hexes = [hashlib.md5(str(i).encode()).hexdigest() for i in range(400)] + ["ab12cd34ef56ab12cd34ef56ab12cd34"]
    s = learn_shapes(hexes, [32])
    assert s.shapes is None and s.matches("ab12cd34ef56ab12cd34ef56ab12cd99") and not s.matches("C0000001")
    assert id_range(s) == ""


def test_index_on_a_warehouse(app_settings, known_customers) -> None:
    from million.customers import CustomerIndex
    from million.services import get_services

    idx = CustomerIndex(get_services().wh)
    cid = known_customers["prospect"]
    assert idx.resolve(cid.lower()) == cid and idx.resolve(cid) == cid and idx.resolve("nobody") is None
    from million.customers import edit_distance

    typo = cid[:-1]  # one character short
    near = idx.nearest(typo)
    padded = typo[0] + typo[1:].lstrip("0").zfill(len(cid) - 1)  # the zero the person left out
    assert near[0] == padded and len(near) <= 3 and all(edit_distance(typo, n) == 1 for n in near), near
    text = missing_customer(idx, typo)
    assert text.startswith(f"客户 {typo} 不存在") and near[0] in text
