"""Million-AUM propensity: which prospects (AUM < 100万 at month T) reach 100万 in T+1..T+3, and why.

features.py      the one feature builder (training, batch scoring and the online service)
labels.py        the target; split.py the out-of-time split by month
train.py         logistic regression, depth-4 tree, LightGBM (threshold augmentation); calibration.py
evaluate.py      metrics vs the naive baseline and the oracle, overall and in the 50万-100万 band
explain.py       SHAP in calibrated log-odds; interpret.py coefficients, rules, importances
plots.py, reports.py, diagram.py, model_card.py   charts, Chinese HTML reports, model card
scoring.py       one month's scores; serving.py PropensityService (the API the tools call)
step.py          the "propensity" build step
"""
