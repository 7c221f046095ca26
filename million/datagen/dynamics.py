"""The true monthly dynamics of every customer's assets and behaviour.

One `advance` function moves the hidden state one month; the simulation and the oracle both use
it, so the oracle's probability is the true probability under the same dynamics.

What drives AUM (and so what a good model must learn from behaviour, not just the balance):
- regular saving: income x saving rate, scaled up by engagement;
- returns: funds follow a market factor shared by all customers in a month, 理财 a little;
- an "asset consolidation intent" state: engaged, wealthier customers enter it; while in it they
  compare products and browse wealth pages a lot (observable), and from the next month on they
  often move a large sum in from elsewhere;
- occasional large outflows (more likely for disengaged customers).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

DEP, FIN, FUND, INS = range(4)
# A consolidation intent lasts a uniformly drawn whole number of months in this range (both ends included).
INTENT_MONTHS = (2, 4)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


@dataclass
class Traits:
    income: np.ndarray
    save_rate: np.ndarray
    active: np.ndarray
    risk: np.ndarray
    age: np.ndarray

    def take(self, idx: np.ndarray) -> Traits:
        return Traits(*(getattr(self, f.name)[idx] for f in fields(self)))


@dataclass
class State:
    bal: np.ndarray  # (n, 4) CNY: deposit, financial (理财), fund, insurance
    e: np.ndarray  # engagement latent
    intent_left: np.ndarray  # months of consolidation intent left (0 = none)
    intent_age: np.ndarray  # months spent in the current intent

    def copy(self) -> State:
        return State(self.bal.copy(), self.e.copy(), self.intent_left.copy(), self.intent_age.copy())

    def take(self, idx: np.ndarray) -> State:
        return State(self.bal[idx].copy(), self.e[idx].copy(), self.intent_left[idx].copy(), self.intent_age[idx].copy())


def target_weights(t: Traits) -> np.ndarray:
    w = np.stack([
        0.25 + 0.5 * (1 - t.risk),
        np.full_like(t.risk, 0.30),
        0.05 + 0.6 * t.risk,
        0.05 + 0.15 * ((t.age > 30) & (t.age < 60)),
    ], axis=1)
    return w / w.sum(axis=1, keepdims=True)


def initial_holdings(aum: np.ndarray, t: Traits, rng: np.random.Generator) -> np.ndarray:
    """Split a starting AUM over products; holding each product depends on age, risk and wealth."""
    n = aum.size
    rich = np.clip(np.log10(np.maximum(aum, 1e3) / 1e5), -1, 1.5)
    held = np.stack([
        rng.random(n) < 0.97,
        rng.random(n) < np.clip(0.18 + 0.22 * rich + 0.12 * (t.age > 40), 0.02, 0.9),
        rng.random(n) < np.clip(0.05 + 0.55 * t.risk + 0.08 * rich, 0.01, 0.9),
        rng.random(n) < np.clip(0.06 + 0.18 * ((t.age > 32) & (t.age < 62)) + 0.08 * rich, 0.01, 0.8),
    ], axis=1)
    held[~held.any(axis=1), DEP] = True
    w = target_weights(t) * held * rng.uniform(0.6, 1.4, (n, 4))
    w /= w.sum(axis=1, keepdims=True)
    return aum[:, None] * w


def row_sum(a: np.ndarray) -> np.ndarray:
    """a.sum(axis=1) of an (n, 4) array, added left to right as numpy does for so few columns (the same
    floats), but column by column: numpy's reduction over a short inner axis is several times slower."""
    return ((a[:, 0] + a[:, 1]) + a[:, 2]) + a[:, 3]


def advance(s: State, t: Traits, market: np.ndarray, rng: np.random.Generator,
            weights: np.ndarray | None = None) -> np.ndarray:
    """Move every customer one month forward in place. `market` is per customer (shared value
    within a month in the simulation, per path in the oracle); `weights` is target_weights(t) when the
    caller has it already (the oracle advances the same customers three times). Returns the big-inflow mask.
    Every random draw happens in the same order and shape whatever the vectorisation below, so a seed
    always gives the same data."""
    n = s.e.size
    aum = row_sum(s.bal)
    s.e = 0.7 * s.e + 0.3 * t.active + rng.normal(0, 0.4, n)
    # Consolidation intent: execute (from the month after entry) or enter.
    in_intent = s.intent_left > 0
    execute = in_intent & (s.intent_age >= 1) & (rng.random(n) < 0.45)
    size = aum * rng.uniform(0.15, 0.6, n) + t.income * rng.lognormal(np.log(10), 0.6, n)
    wealth = np.clip(np.log(np.maximum(aum, 1e4) / 3e5), -2, 1.5)
    enter = ~in_intent & (rng.random(n) < sigmoid(-2.9 + 0.8 * s.e + 0.5 * wealth))
    duration = rng.integers(INTENT_MONTHS[0], INTENT_MONTHS[1] + 1, n)
    s.intent_age = np.where(in_intent, s.intent_age + 1, 0)
    s.intent_left = np.where(enter, duration, np.where(execute, 0, np.maximum(s.intent_left - 1, 0)))
    # Regular saving, scaled by engagement.
    saving = t.income * t.save_rate * (0.2 + 0.9 * sigmoid(s.e)) * rng.lognormal(0, 0.35, n)
    inflow = saving + np.where(execute, size, 0.0)
    held = s.bal > 0
    held[:, DEP] |= ~(held[:, 0] | held[:, 1] | held[:, 2] | held[:, 3])
    w = (target_weights(t) if weights is None else weights) * held
    w /= row_sum(w)[:, None]
    s.bal += inflow[:, None] * w
    # Returns: funds ride the market, 理财 a little, deposits and insurance accrue (column by column:
    # the same products as multiplying by a stacked (n, 4) return matrix, without building it).
    s.bal[:, DEP] *= 1 + 0.0012
    s.bal[:, FIN] *= 1 + (0.0027 + 0.05 * market)
    s.bal[:, FUND] *= 1 + (market + rng.normal(0, 0.015, n))
    s.bal[:, INS] *= 1 + 0.0025
    # Adoption of a new product: money moves from deposits.
    p_adopt = np.stack([
        np.zeros(n),
        0.006 + 0.03 * (s.intent_left > 0),
        0.004 + 0.012 * t.risk * sigmoid(s.e) + 0.03 * (s.intent_left > 0) * t.risk,
        0.003 + 0.004 * ((t.age > 32) & (t.age < 62)),
    ], axis=1)
    adopt = (~held) & (rng.random((n, 4)) < p_adopt)
    move = s.bal[:, DEP:DEP + 1] * rng.uniform(0.1, 0.3, (n, 1)) * adopt
    s.bal += move
    s.bal[:, DEP] -= row_sum(move)
    # Large outflows (a house, a business need, moving money away), more when disengaged.
    out = rng.random(n) < 0.03 + 0.04 * (s.e < -1.0)
    frac = rng.uniform(0.2, 0.6, n) * out
    s.bal[:, DEP] *= 1 - frac
    s.bal[:, FIN] *= 1 - frac
    # Occasional fund redemptions back to deposits.
    redeem = (s.bal[:, FUND] > 0) & (rng.random(n) < 0.01)
    s.bal[redeem, DEP] += s.bal[redeem, FUND]
    s.bal[redeem, FUND] = 0
    np.maximum(s.bal, 0, out=s.bal)
    return execute
