"""How well could any model rank, given only part of the hidden state? Oracles with information removed.

The oracle (`oracle_probabilities`) knows every customer's hidden state: how many months of consolidation
intent are left, the saving rate, the engagement latent. No model sees those; it sees behaviour. Ranking by
P(label | some information) maximises the expected number of hits in any top k among all rankings that use
only that information, so the mean true probability of such an oracle's top 1% is the ceiling of expected
precision@1% for every model that lacks the removed parts:

- `no_duration`: knows that a customer is in an intent and for how many months (the behaviour shows it:
  comparing and browsing jump), but not the drawn duration, so not how many months are left;
- `no_duration_saving`: also does not know the saving rate (the population mean instead);
- `no_duration_saving_engagement`: also not the engagement latent (the population median instead).

A model sees noisy traces of the saving rate and engagement, so its real ceiling lies between the first
and the last. Each probability uses the oracle's own Monte Carlo with the same random streams.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from million.datagen.dynamics import INTENT_MONTHS, State, Traits
from million.datagen.simulate import Generated, OracleInputs, oracle_probabilities
from million.propensity.features import build_features, prospects
from million.tables import Tables

CEILINGS = ("no_duration", "no_duration_saving", "no_duration_saving_engagement")
CEILING_TITLES = {
    "no_duration": "不知道意向持续时长（知道处于意向中及已持续几个月）",
    "no_duration_saving": "另外也不知道储蓄率（用总体均值）",
    "no_duration_saving_engagement": "另外也不知道活跃度（用总体中位数）",
}


def model_population(g: Generated) -> set[str]:
    """The customers the model ranks at the oracle month: the feature builder's own rule (rows at T-2..T)
    and prospect rule, on the generated tables."""
    assert g.hidden is not None
    return set(prospects(build_features(Tables(g.customer_base, g.behavior), [g.hidden.as_of]))["customer_id"])


def _probabilities(h: OracleInputs, state: State, traits: Traits) -> pd.Series:
    p = oracle_probabilities(state, traits, h.customer_ids, h.as_of, h.seed)
    return p.set_index("customer_id")["p_true"]


def without_duration(h: OracleInputs, state: State, traits: Traits) -> pd.Series:
    """P(label) averaged over the durations an intent of its age can still have (uniform draw)."""
    active = state.intent_left > 0
    lo, hi = INTENT_MONTHS
    by_left = []  # row l-1: everybody in an intent given l months left
    for left in range(1, hi + 1):
        s = state.copy()
        s.intent_left = np.where(active, left, 0)
        by_left.append(_probabilities(h, s, traits))
    ids = by_left[0].index
    probs = np.stack([p.to_numpy() for p in by_left])
    age = pd.Series(state.intent_age, index=h.customer_ids).reindex(ids).to_numpy()
    act = pd.Series(active, index=h.customer_ids).reindex(ids).to_numpy()
    cols = np.arange(len(ids))
    total, count = np.zeros(len(ids)), np.zeros(len(ids))
    for d in range(lo, hi + 1):  # an intent still running at age a had a duration d > a
        ok = act & (d - age >= 1)
        total[ok] += probs[d - age[ok] - 1, cols[ok]]
        count[ok] += 1
    # Outside an intent every copy is the unaltered state, and the Monte Carlo draws are the same in each
    # call (common random numbers), so any row of `probs` is that customer's own probability.
    return pd.Series(np.where(act, total / np.maximum(count, 1), probs[0]), index=ids)


def ceilings(h: OracleInputs) -> pd.DataFrame:
    """Per prospect at h.as_of: p_true and the probability under each reduced information set."""
    full = _probabilities(h, h.state, h.traits)
    no_saving = replace(h.traits, save_rate=np.full_like(h.traits.save_rate, h.traits.save_rate.mean()))
    flat_e = h.state.copy()
    flat_e.e = np.full_like(flat_e.e, float(np.median(h.state.e)))
    return pd.DataFrame({
        "p_true": full,
        "no_duration": without_duration(h, h.state, h.traits),
        "no_duration_saving": without_duration(h, h.state, no_saving),
        "no_duration_saving_engagement": without_duration(h, flat_e, no_saving),
    })
