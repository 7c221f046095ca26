"""Run the population through the dynamics month by month and produce the two contract tables
plus the oracle of true 3-month probabilities."""

from __future__ import annotations

import calendar
import multiprocessing as mp
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from million.contract import ASSET_LEVEL_BOUNDS, CITY_LEVELS, CONTACT_RESULTS, MILLION, OCCUPATION_TYPES
from million.datagen.dynamics import (
    State,
    Traits,
    advance,
    initial_holdings,
    row_sum,
    sigmoid,
    target_weights,
)
from million.datagen.population import Population, make_population

ORACLE_PATHS = 200
CHECK_STREAM = 8  # the random stream of oracle.csv's independent second estimate, p_check
MARKET_MU, MARKET_SD = 0.003, 0.03


def month_list(end_month: str, months: int) -> list[str]:
    y, m = map(int, end_month.split("-"))
    out = []
    for _ in range(months):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out[::-1]


@dataclass
class OracleInputs:
    """The hidden state behind the oracle (generate(..., keep_hidden=True)): what a model never sees."""
    state: State
    traits: Traits
    customer_ids: np.ndarray
    as_of: str
    seed: int


@dataclass
class Generated:
    customer_base: pd.DataFrame
    behavior: pd.DataFrame
    oracle: pd.DataFrame
    hidden: OracleInputs | None = None


def _ids(n: int, style: str, prefix: str, rng: np.random.Generator) -> np.ndarray:
    if style == "hex":
        raw = rng.bytes(16 * n)
        return np.array([raw[i * 16:(i + 1) * 16].hex() for i in range(n)], dtype=object)
    width = max(7, len(str(n)))
    return np.array([f"{prefix}{i + 1:0{width}d}" for i in range(n)], dtype=object)


def _asset_level(total: np.ndarray) -> np.ndarray:
    out = np.full(total.shape, "至尊", dtype=object)
    for bound, name in reversed(ASSET_LEVEL_BOUNDS):
        out[total < bound] = name
    return out


def _stamp(month: str, day: np.ndarray, secs: np.ndarray) -> np.ndarray:
    """'YYYY-MM-DD HH:MM:SS' strings for a day of the month and seconds in the day."""
    base = np.datetime64(f"{month}-01T00:00:00")
    ts = base + (day - 1).astype("timedelta64[D]") + secs.astype("timedelta64[s]")
    return np.char.replace(np.datetime_as_string(ts, unit="s"), "T", " ")


def initial_aum(pop: Population, rng: np.random.Generator) -> np.ndarray:
    years = np.maximum(pop.tenure_months_at_start, 0) / 12
    wallet_share = rng.uniform(0.25, 0.85, pop.n)
    base = pop.income * 12 * pop.save_rate * (years ** 0.85 + 0.5) * wallet_share * rng.lognormal(0, 0.75, pop.n)
    boss = np.isin(pop.occ, [0, 1])
    windfall = rng.random(pop.n) < np.where(boss, 0.16, 0.035)
    base = base + windfall * rng.lognormal(np.log(1.2e6), 0.6, pop.n)
    new_aum = pop.income * rng.lognormal(np.log(3), 0.9, pop.n)
    return np.where(pop.open_month > 0, new_aum, base)


def generate(customers: int = 20000, months: int = 24, seed: int = 42, end_month: str = "2026-10",
             id_style: str = "seq", progress: Callable[[int], None] | None = None,
             keep_hidden: bool = False, behavior_sink: Callable[[pd.DataFrame], None] | None = None) -> Generated:
    """`behavior_sink`: each month's behaviour rows are handed to it (e.g. written to parquet) instead of
    kept, and Generated.behavior is then empty: 1M customers' 23M rows never sit in memory."""
    if not 6 <= months <= 60:
        raise ValueError("months must be between 6 and 60")
    rng = np.random.default_rng(seed)
    mlist = month_list(end_month, months)
    pop = make_population(customers, months, rng)
    traits = Traits(pop.income, pop.save_rate, pop.active, pop.risk, pop.age.astype(float))
    cids = _ids(customers, id_style, "C", rng)
    n = customers
    start_aum = initial_aum(pop, rng)
    state = State(initial_holdings(start_aum, traits, rng), pop.active + rng.normal(0, 0.5, n),
                  np.zeros(n, int), np.zeros(n, int))
    alive = pop.open_month == 0
    state.bal[~alive] = 0
    repurchase_hist = np.zeros((12, n), int)
    # Text state as numpy strings, "" = none: Python string objects made and dropped every month fragmented
    # the heap (RSS 10 GiB at 1M customers); they become Arrow strings per month in _compact.
    last_login = np.full(n, "", dtype="U19")
    last_contact = np.full(n, "", dtype="U19")
    contact_res = np.full(n, "", dtype=np.array(CONTACT_RESULTS).dtype)
    cool_until = np.full(n, "", dtype="U10")
    cool_until_day = np.full(n, np.datetime64("1900-01-01"), dtype="datetime64[D]")
    oracle_month = months - 4
    oracle_state: State | None = None
    e_hist = []
    frames = []
    seen = FirstSeen(n)
    row_counter = 0
    for mi, month in enumerate(mlist):
        market = rng.normal(MARKET_MU, MARKET_SD)
        newly = pop.open_month == mi
        if mi > 0 and newly.any():
            idx = np.flatnonzero(newly)
            state.bal[idx] = initial_holdings(start_aum[idx], traits.take(idx), rng)
            state.e[idx] = pop.active[idx] + rng.normal(0, 0.5, idx.size)
            state.intent_left[idx] = 0
            state.intent_age[idx] = 0
            alive |= newly
        if mi > 0:
            prev = state.copy()
            advance(state, traits, np.full(n, market), rng)
            for f in ("bal", "e", "intent_left", "intent_age"):  # accounts not opened yet stay empty
                getattr(state, f)[~alive] = getattr(prev, f)[~alive]
            state.bal[newly] = prev.bal[newly]
        if mi == oracle_month:
            oracle_state = state.copy()
        intent = (state.intent_left > 0).astype(float)
        e = state.e
        e_hist.append(e.copy())
        # Observable behaviour.
        logins = rng.poisson(np.exp(1.4 + 0.8 * e + 0.6 * intent))
        view = (rng.gamma(2.0, 1.0, n) * logins * (35 + 100 * intent + 40 * traits.risk)).astype(int)
        compare = rng.poisson(np.exp(-1.5 + 0.35 * e + 2.9 * intent))
        cents = np.round(state.bal * 100).astype(np.int64)
        held = cents > 0
        invest = rng.poisson(0.15 + 1.1 * traits.risk * held[:, 2] + 0.35 * held[:, 1]
                             + 0.12 * np.exp(0.4 * e) + 1.0 * intent)
        card = pop.has_card * pop.income * pop.card_ratio * rng.lognormal(0, 0.3, n)
        repurchase_hist[mi % 12] = held[:, 1] * rng.poisson(0.04 + 0.1 * sigmoid(e) + 0.15 * intent)
        days = calendar.monthrange(int(month[:4]), int(month[5:]))[1]
        day = rng.integers(1, days + 1, n)
        secs = rng.integers(7 * 3600, 23 * 3600, n)
        last_login = np.where((logins > 0) & alive, _stamp(month, day, secs), last_login)  # no login before opening
        # Bank contacts respect the 30-day cool period; wealthier and near-1M customers get more.
        total = cents.sum(axis=1)
        month_start = np.datetime64(f"{month}-01")
        free = cool_until_day < month_start
        p_contact = 0.04 + 0.10 * (total >= 50_000_000) + 0.08 * ((total >= 80_000_000) & (total < 100_000_000))
        contact = alive & free & (rng.random(n) < p_contact)
        cday = rng.integers(1, days + 1, n)
        csecs = rng.integers(9 * 3600, 18 * 3600, n)
        stamp = _stamp(month, cday, csecs)
        result = np.array(CONTACT_RESULTS)[rng.choice(4, n, p=[0.3, 0.2, 0.3, 0.2])]
        last_contact = np.where(contact, stamp, last_contact)
        contact_res = np.where(contact, result, contact_res)
        cday_date = month_start + (cday - 1).astype("timedelta64[D]") + np.timedelta64(30, "D")
        cool_until_day = np.where(contact, cday_date, cool_until_day)
        cool_until = np.where(contact, np.datetime_as_string(cday_date, unit="D"), cool_until)
        rows = np.flatnonzero(alive)
        k = rows.size
        if id_style == "hex":
            rid = _ids(k, "hex", "", rng)
        else:
            rid = np.char.add("R", np.char.zfill((np.arange(k) + row_counter + 1).astype(str), 9))
        row_counter += k
        c = cents[rows]
        flags = (c > 0).astype(np.int8)
        month_rows = _compact({
            "id": rid,
            "customer_id": cids[rows],
            "total_assets": c.sum(axis=1) / 100,
            "deposit_balance": c[:, 0] / 100,
            "financial_balance": c[:, 1] / 100,
            "fund_balance": c[:, 2] / 100,
            "insurance_balance": c[:, 3] / 100,
            "asset_level": _asset_level(c.sum(axis=1) / 100),
            "deposit_flag": flags[:, 0],
            "financial_flag": flags[:, 1],
            "fund_flag": flags[:, 2],
            "insurance_flag": flags[:, 3],
            "product_count": flags.sum(axis=1).astype(np.int64),
            "financial_repurchase_count": repurchase_hist.sum(axis=0)[rows],
            "credit_card_monthly_expense": np.round(card[rows], 2),
            "investment_monthly_count": invest[rows],
            "app_login_count": logins[rows],
            "app_financial_view_time": view[rows],
            "app_product_compare_count": compare[rows],
            "last_app_login_time": last_login[rows],
            "last_contact_time": last_contact[rows],
            "contact_result": contact_res[rows],
            "marketing_cool_period": cool_until[rows],
            "stat_month": np.full(k, month, dtype=object),
        })
        seen.update(rows, last_login, last_contact, c.sum(axis=1) / 100)
        if behavior_sink is None:
            frames.append(month_rows)
        else:
            behavior_sink(pd.DataFrame(month_rows, copy=False))
        del month_rows
        if progress:
            progress(1)
    behavior = _stack_months(frames) if frames else pd.DataFrame()
    base = _customer_base(pop, cids, mlist, state, e_hist, seen, rng)
    oracle = pd.DataFrame()
    if oracle_state:
        # p_check: a second estimate from independent paths. p_true ranks the oracle; its top 1% is partly
        # there by Monte Carlo noise, so p_true overstates its own hits (winner's curse). Expected hits
        # measured with p_check are free of that for every ranking (see evaluate.expected_precision).
        oracle = oracle_pair(oracle_state, traits, cids, mlist[oracle_month], seed)
    hidden = (OracleInputs(oracle_state, traits, cids, mlist[oracle_month], seed)
              if keep_hidden and oracle_state else None)
    return Generated(base, behavior, oracle, hidden)


def _compact(month: dict[str, np.ndarray]) -> dict[str, Any]:
    """Text columns as Arrow strings (pandas' "str", what reading the files gives back): one Python object
    per cell made 23M rows take over 10 GiB."""
    return {k: _text(v) if v.dtype.kind in "OU" else v for k, v in month.items()}


def _text(v: np.ndarray) -> Any:
    if v.dtype.kind == "U":  # straight from numpy's buffer, "" meaning none
        return pd.array(pa.array(v, mask=v == ""), dtype="str")
    return pd.array(v, dtype="str")


def _stack_months(frames: list[dict[str, Any]]) -> pd.DataFrame:
    """The months' columns one under the other, a column at a time, each month's arrays dropped once
    copied: memory holds the table about once, not twice as pd.concat of month frames does."""
    out: dict[str, Any] = {}
    for col in list(frames[0]):
        out[col] = pd.concat([pd.Series(f.pop(col), copy=False) for f in frames], ignore_index=True)
    return pd.DataFrame(out, copy=False)


class FirstSeen:
    """What the customer table needs from the behaviour rows, kept as they are made: each customer's
    login and contact stamps in their first month, and their first and last total_assets."""

    def __init__(self, n: int) -> None:
        self.seen = np.zeros(n, bool)
        self.login = np.full(n, "", dtype="U19")
        self.contact = np.full(n, "", dtype="U19")
        self.first_total = np.full(n, np.nan)
        self.last_total = np.full(n, np.nan)

    def update(self, rows: np.ndarray, login: np.ndarray, contact: np.ndarray, total: np.ndarray) -> None:
        new = ~self.seen[rows]
        idx = rows[new]
        self.login[idx], self.contact[idx] = login[idx], contact[idx]
        self.first_total[idx] = total[new]
        self.seen[idx] = True
        self.last_total[rows] = total

    def first_day(self, which: str) -> np.ndarray:
        stamps = pd.Series(getattr(self, which)).replace("", None)
        return pd.to_datetime(stamps).to_numpy().astype("datetime64[D]")


def _customer_base(pop: Population, cids: np.ndarray, mlist: list[str], state: State, e_hist: list,
                   seen: FirstSeen, rng: np.random.Generator) -> pd.DataFrame:
    first = np.datetime64(f"{mlist[0]}-01")
    open_day_offset = np.where(
        pop.open_month > 0,
        # opened during the export: a day within its first month
        [(np.datetime64(f"{mlist[m]}-01") - first).astype(int) for m in pop.open_month],
        -pop.tenure_months_at_start * 30,
    ) + rng.integers(0, 28, pop.n)
    open_day = first + open_day_offset.astype("timedelta64[D]")
    late = pop.open_month > 0
    if late.any():  # an account opened mid-period cannot log in or be contacted before its opening day
        for which in ("login", "contact"):
            day = seen.first_day(which)
            earlier = late & ~np.isnat(day) & (day < open_day)
            open_day = np.where(earlier, day, open_day)
    open_date = np.datetime_as_string(open_day, unit="D").astype(object)
    tenure_end = np.where(pop.open_month > 0, len(mlist) - pop.open_month, pop.tenure_months_at_start + len(mlist))
    recent_e = np.mean(e_hist[-3:], axis=0)
    declining = seen.last_total < 0.8 * seen.first_total
    stage = np.where(tenure_end <= 12, "新客户",
                     np.where((recent_e < -0.5) & declining | (recent_e < -1.1), "流失预警客户",
                              np.where(tenure_end <= 48, "成长客户",
                                       np.where((tenure_end >= 96) & (recent_e > 0.1), "忠诚客户", "成熟客户"))))
    return pd.DataFrame({
        "customer_id": cids,
        "name": pop.name,
        "age": pop.age.astype(np.int64),
        "gender": pop.gender.astype(object),
        "occupation": pop.occupation,
        "occupation_type": np.array(OCCUPATION_TYPES, dtype=object)[pop.occ],
        "monthly_income": pop.income,
        "open_account_date": open_date,
        "lifecycle_stage": stage.astype(object),
        "marriage_status": pop.marriage.astype(object),
        "city_level": np.array(CITY_LEVELS, dtype=object)[pop.city],
        "branch_name": pop.branch,
    })


def _reached(s: State, traits: Traits, idx: np.ndarray, markets: np.ndarray,
             rng: np.random.Generator) -> np.ndarray:
    """(len(idx), paths) booleans: did customer idx[i] reach 1M in one of the next 3 months in future
    `path`? Future `path` follows market returns markets[path], shared by every customer as in the
    generator; each customer's own draws come from `rng`."""
    paths = markets.shape[0]
    rep = np.repeat(idx, paths)
    path = np.tile(np.arange(paths), idx.size)
    st, tr = s.take(rep), traits.take(rep)
    weights = target_weights(tr)
    hit = np.zeros(rep.size, bool)
    for j in range(3):
        advance(st, tr, markets[path, j], rng, weights)
        hit |= _total_cents(st) >= MILLION * 100
    return hit.reshape(idx.size, paths)


def _total_cents(s: State) -> np.ndarray:
    """total_assets as the export writes it (each balance rounded to the cent), in cents."""
    return row_sum(np.round(s.bal * 100).astype(np.int64))


def _prospects(s: State) -> np.ndarray:
    alive = s.bal.sum(axis=1) > 0
    return np.flatnonzero(alive & (_total_cents(s) < MILLION * 100))


def oracle_probabilities(s: State, traits: Traits, cids: np.ndarray, as_of: str, seed: int,
                         chunk: int = 4000, stream: int = 7) -> pd.DataFrame:
    """True P(total_assets >= 1M in one of the next 3 months) for prospects at `as_of`, by Monte Carlo
    over the same dynamics, integrating over the shared market factor. The random streams depend on
    `seed` and `stream` only, so two calls on altered copies of one state compare with common random
    numbers; another `stream` gives an independent estimate."""
    prospects = _prospects(s)
    rng = np.random.default_rng([seed, stream])
    markets = rng.normal(MARKET_MU, MARKET_SD, (ORACLE_PATHS, 3))
    probs = np.empty(prospects.size)
    for start in range(0, prospects.size, chunk):
        idx = prospects[start:start + chunk]
        probs[start:start + chunk] = _reached(s, traits, idx, markets, rng).mean(axis=1)
    return pd.DataFrame({"customer_id": cids[prospects], "as_of": as_of, "p_true": np.round(probs, 4)})


def _one_estimate(args: tuple[State, Traits, np.ndarray, str, int, int]) -> pd.DataFrame:
    s, traits, cids, as_of, seed, stream = args
    return oracle_probabilities(s, traits, cids, as_of, seed, stream=stream)


# Below this many customers the two estimates run one after the other: a second process costs more than it saves.
PARALLEL_ORACLE_CUSTOMERS = 50_000


def oracle_pair(s: State, traits: Traits, cids: np.ndarray, as_of: str, seed: int) -> pd.DataFrame:
    """oracle.csv: p_true (stream 7) and the independent p_check (stream 8). Each estimate draws only from its
    own stream, so at scale p_check runs in a second process while this one computes p_true, with exactly the
    values of a sequential run (the oracle is most of the generator's time at 1M customers). The process is
    spawned, not forked: it gets only the oracle's inputs (~100 MB at 1M), not a copy of the generated tables."""
    jobs = [(s, traits, cids, as_of, seed, stream) for stream in (7, CHECK_STREAM)]
    if cids.size >= PARALLEL_ORACLE_CUSTOMERS and (os.cpu_count() or 1) > 1:
        with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
            check = pool.submit(_one_estimate, jobs[1])
            first = _one_estimate(jobs[0])
            try:
                second = check.result()
            except BrokenProcessPool:  # a child that cannot start (e.g. __main__ read from stdin): here instead
                second = _one_estimate(jobs[1])
    else:
        first, second = (_one_estimate(j) for j in jobs)
    first["p_check"] = second["p_true"].to_numpy()
    return first


def redraw_outcomes(h: OracleInputs, customer_ids: np.ndarray, futures: int, seed: int = 0,
                    chunk_rows: int = 2_000_000) -> np.ndarray:
    """(len(customer_ids), futures) booleans: the label of each customer in `futures` fresh draws of the
    3 months after h.as_of, from the generator's own dynamics. One future is one market path shared by all
    customers plus each customer's own draws, so outcomes are correlated exactly as in the data (labels of
    one real month are one such future). Customers must be prospects at h.as_of."""
    pos = pd.Series(np.arange(h.customer_ids.size), index=h.customer_ids)
    idx = pos.reindex(customer_ids).to_numpy()
    if np.isnan(idx.astype(float)).any():
        raise KeyError("有客户不在生成数据中")
    idx = idx.astype(np.int64)
    if not np.isin(idx, _prospects(h.state)).all():
        raise ValueError(f"有客户在 {h.as_of} 不是潜客（总资产已达100万）")
    rng = np.random.default_rng([h.seed, seed, 11])
    markets = rng.normal(MARKET_MU, MARKET_SD, (futures, 3))
    step = max(1, chunk_rows // futures)
    return np.concatenate([_reached(h.state, h.traits, idx[i:i + step], markets, rng)
                           for i in range(0, idx.size, step)])
