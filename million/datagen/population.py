"""Static customer attributes and hidden traits, correlated as in life."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from million.contract import CITY_LEVELS, OCCUPATION_TYPES

OCC_PROBS = np.array([0.06, 0.12, 0.14, 0.08, 0.12, 0.14, 0.24, 0.10])
OCC_BASE_INCOME = np.array([52000, 40000, 26000, 28000, 25000, 13000, 9500, 11000], dtype=float)
OCC_MEAN_AGE = np.array([48, 47, 41, 37, 32, 43, 44, 38], dtype=float)
# How much each occupation leans to risky assets and app use (互联网/金融 most).
OCC_RISK = np.array([0.10, 0.15, 0.05, 0.25, 0.25, -0.15, -0.15, 0.05])
OCC_ACTIVE = np.array([0.0, 0.0, 0.15, 0.45, 0.55, -0.2, -0.35, 0.1])
OCC_FIRST_TIER = np.array([0.45, 0.30, 0.35, 0.50, 0.55, 0.15, 0.10, 0.25])
CITY_INCOME = np.array([1.45, 1.0, 0.72])

OCCUPATIONS = {
    "企业高管": ["总经理", "副总裁", "财务总监", "运营总监", "技术总监", "董事长"],
    "私营业主": ["贸易公司老板", "餐饮店主", "工厂主", "连锁店老板", "电商店主", "装修公司老板"],
    "专业人士": ["律师", "医生", "会计师", "建筑师", "大学教授", "咨询顾问"],
    "金融从业者": ["投资经理", "证券分析师", "银行职员", "保险精算师", "基金经理", "风控经理"],
    "互联网从业者": ["软件工程师", "产品经理", "数据分析师", "UI设计师", "算法工程师", "运营专员"],
    "事业单位": ["公务员", "教师", "护士", "科研人员", "事业单位职员"],
    "传统行业": ["工人", "销售员", "司机", "厨师", "技术员", "行政文员"],
    "自由职业": ["自由撰稿人", "摄影师", "自媒体博主", "设计师", "翻译", "健身教练"],
}

BRANCHES = {
    "一线城市": ["北京分行朝阳支行", "北京分行海淀支行", "上海分行外滩支行", "上海分行陆家嘴支行",
               "广州分行天河支行", "深圳分行福田支行", "深圳分行南山支行"],
    "二线城市": ["杭州分行西湖支行", "南京分行新街口支行", "成都分行高新支行", "武汉分行光谷支行",
               "西安分行高新支行", "苏州分行工业园区支行", "天津分行和平支行"],
    "三线城市": ["洛阳分行西工支行", "绵阳分行涪城支行", "桂林分行秀峰支行", "湖州分行吴兴支行",
               "赣州分行章贡支行", "宜昌分行西陵支行"],
}

SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈")
GIVEN = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏辉宇浩然子轩梓涵欣怡思远博文雨萱晨俊凯")


@dataclass
class Population:
    n: int
    occ: np.ndarray  # index into OCCUPATION_TYPES
    occupation: np.ndarray
    age: np.ndarray
    gender: np.ndarray
    city: np.ndarray  # index into CITY_LEVELS
    branch: np.ndarray
    income: np.ndarray
    marriage: np.ndarray
    name: np.ndarray
    open_month: np.ndarray  # month index of the first row (0 for accounts opened before the export)
    tenure_months_at_start: np.ndarray  # months since opening at month 0 (negative if opened later)
    # hidden traits
    risk: np.ndarray  # 0..1 appetite for funds
    save_rate: np.ndarray
    active: np.ndarray  # long-run engagement level
    card_ratio: np.ndarray
    has_card: np.ndarray


def _choice_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of a (n, k) probability matrix."""
    cum = probs.cumsum(axis=1)
    u = rng.random(probs.shape[0])[:, None]
    return (u > cum).sum(axis=1).clip(0, probs.shape[1] - 1)


def make_population(n: int, months: int, rng: np.random.Generator) -> Population:
    occ = rng.choice(len(OCCUPATION_TYPES), size=n, p=OCC_PROBS)
    age = np.clip(rng.normal(OCC_MEAN_AGE[occ], 10.5), 18, 85).round().astype(int)
    gender = np.where(rng.random(n) < 0.52, "男", "女")
    p1 = OCC_FIRST_TIER[occ]
    city_p = np.stack([p1, (1 - p1) * 0.55, (1 - p1) * 0.45], axis=1)
    city = _choice_rows(rng, city_p)
    branch = np.empty(n, dtype=object)
    for ci, level in enumerate(CITY_LEVELS):
        idx = np.flatnonzero(city == ci)
        names = BRANCHES[level]
        branch[idx] = np.array(names, dtype=object)[rng.integers(0, len(names), idx.size)]
    age_factor = np.clip(1 - 0.00045 * (age - 46) ** 2, 0.45, 1)
    income = OCC_BASE_INCOME[occ] * CITY_INCOME[city] * age_factor * rng.lognormal(0, 0.42, n)
    income = np.maximum(np.round(income / 100) * 100, 3000.0)
    p_married = 1 / (1 + np.exp(-(age - 29) / 3.5)) * 0.88
    p_div = np.where(age > 33, 0.08, 0.01)
    u = rng.random(n)
    marriage = np.where(u < p_married, "已婚", np.where(u < p_married + p_div, "离异", "未婚"))
    occupation = np.empty(n, dtype=object)
    for oi, ot in enumerate(OCCUPATION_TYPES):
        idx = np.flatnonzero(occ == oi)
        names = OCCUPATIONS[ot]
        occupation[idx] = np.array(names, dtype=object)[rng.integers(0, len(names), idx.size)]
    sn = np.array(SURNAMES, dtype=object)[rng.integers(0, len(SURNAMES), n)]
    g1 = np.array(GIVEN, dtype=object)[rng.integers(0, len(GIVEN), n)]
    g2 = np.array(GIVEN, dtype=object)[rng.integers(0, len(GIVEN), n)]
    two = rng.random(n) < 0.7
    name = np.where(two, sn + g1 + g2, sn + g1)
    # ~9% of accounts open during the export period; the rest have months of tenure before it.
    opens_late = rng.random(n) < 0.09
    open_month = np.where(opens_late, rng.integers(1, max(months - 1, 2), n), 0)
    max_tenure = np.maximum((age - 18) * 12, 1)
    tenure = np.minimum(rng.exponential(72, n).astype(int) + 1, max_tenure)
    tenure_at_start = np.where(opens_late, -open_month, tenure)
    young = np.clip((45 - age) / 25, -1, 1)
    risk = np.clip(rng.beta(2, 3, n) + 0.18 * young + OCC_RISK[occ], 0.01, 0.99)
    save_rate = np.clip(rng.beta(3, 7, n) + 0.04 * (occ == 5), 0.03, 0.7)
    active = 0.35 * young + OCC_ACTIVE[occ] + rng.normal(0, 0.55, n)
    card_ratio = np.clip(rng.lognormal(np.log(0.22) + 0.15 * young, 0.4, n), 0.02, 1.2)
    has_card = rng.random(n) < 0.8
    return Population(n, occ, occupation, age, gender, city, branch, income, marriage, name,
                      open_month, tenure_at_start, risk, save_rate, active, card_ratio, has_card)
