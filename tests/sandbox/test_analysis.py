"""python_inter case: a normal pandas + matplotlib analysis works in the sandbox and its chart (with
Chinese labels) comes back; the tool hands data over as files in the work folder."""

from __future__ import annotations

import io

import matplotlib.image as mpimg

from million.sandbox import Sandbox
from million.warehouse import connect

ANALYSIS = """
import warnings
warnings.filterwarnings("error", message=".*missing from font.*")  # a missing 中文 glyph fails the run
import pandas as pd
import matplotlib.pyplot as plt
from matplotlib import rcParams
from sandbox_helpers import load, save_chart

df = load("data.parquet")
by_city = df.groupby("city_level")["total_assets"].mean().sort_values()
fig, ax = plt.subplots(figsize=(6, 4))
by_city.plot.barh(ax=ax, color="#c0392b")
ax.set_title("各城市等级客户平均资产（元）")
ax.set_xlabel("平均总资产")
print(save_chart(fig, "城市平均资产.png"))
by_city.round(2).to_csv("城市平均资产.csv")
print(rcParams["font.sans-serif"][0], len(df), df["customer_id"].nunique(), sep="|")
"""


def test_pandas_matplotlib_analysis_returns_a_chart(sandbox: Sandbox, small_wh_url: str, host_ok) -> None:
    with connect(small_wh_url) as wh:
        df = wh.query("SELECT b.customer_id, b.total_assets, c.city_level FROM customer_behavior_assets b "
                      "JOIN customer_base c USING (customer_id) WHERE b.stat_month = (SELECT MAX(stat_month) "
                      "FROM customer_behavior_assets)")
    buf = io.BytesIO()
    df.to_parquet(buf)
    res = sandbox.run(ANALYSIS, files={"data.parquet": buf.getvalue()}, timeout_s=60)
    assert res.ok, res.stderr
    name, summary = res.stdout.strip().splitlines()
    family, rows, customers = summary.split("|")
    assert name == "城市平均资产.png" and family.startswith("Noto Sans CJK")
    assert int(rows) == len(df) and int(customers) == df["customer_id"].nunique()
    outputs = {o.name: o for o in res.outputs}
    assert set(outputs) == {"城市平均资产.png", "城市平均资产.csv"}  # the input parquet is not echoed back
    image = mpimg.imread(io.BytesIO(outputs["城市平均资产.png"].data), format="png")
    assert image.shape[0] > 200 and image.shape[1] > 300
    csv = outputs["城市平均资产.csv"].data.decode()
    assert csv.startswith("city_level,total_assets") and "一线城市" in csv


def test_helpers_load_the_only_data_file(sandbox: Sandbox, host_ok) -> None:
    res = sandbox.run("from sandbox_helpers import load, files\nprint(files(), load()['金额'].sum())",
                      files={"data.csv": "客户,金额\n甲,1.5\n乙,2.5\n".encode()}, timeout_s=60)
    assert res.ok and res.stdout.split() == ["['data.csv']", "4.0"], res.stderr


def test_changed_input_comes_back(sandbox: Sandbox, host_ok) -> None:
    res = sandbox.run("open('data.csv', 'a').write('3\\n')", files={"data.csv": b"a\n1\n"}, timeout_s=20)
    assert res.ok and [(o.name, o.data) for o in res.outputs] == [("data.csv", b"a\n1\n3\n")]


def test_user_errors_are_reported_not_raised(sandbox: Sandbox, host_ok) -> None:
    res = sandbox.run("import pandas as pd\npd.read_csv('missing.csv')", timeout_s=60)
    assert not res.ok and res.exit_code == 1 and "FileNotFoundError" in res.stderr
    assert "launcher" not in res.stderr  # the traceback shows the user's code only
    res = sandbox.run("def broken(:\n    pass", timeout_s=20)
    assert not res.ok and "SyntaxError" in res.stderr
