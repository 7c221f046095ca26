"""The data contract (../shared/data-contract.md) as code: columns, types, value sets, rules.

Loader validation, DDL, the field dictionary and the generator all read from here so they
cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

MILLION = 1_000_000

OCCUPATION_TYPES = ("企业高管", "私营业主", "专业人士", "金融从业者", "互联网从业者", "事业单位", "传统行业", "自由职业")
LIFECYCLE_STAGES = ("新客户", "成长客户", "成熟客户", "忠诚客户", "流失预警客户")
MARRIAGE_STATUSES = ("已婚", "未婚", "离异")
CITY_LEVELS = ("一线城市", "二线城市", "三线城市")
GENDERS = ("男", "女")
CONTACT_RESULTS = ("成功", "拒绝", "未接通", "待跟进")
ASSET_LEVELS = ("初级", "中级", "高级", "资深", "至尊")
PRODUCTS = ("deposit", "financial", "fund", "insurance")
PRODUCT_NAMES = {"deposit": "存款", "financial": "理财", "fund": "基金", "insurance": "保险"}
# Upper bounds (exclusive) of each asset level, in CNY; 至尊 is >= 1,000,000.
ASSET_LEVEL_BOUNDS = ((200_000, "初级"), (500_000, "中级"), (800_000, "高级"), (1_000_000, "资深"))


def asset_level(total_assets: float) -> str:
    for bound, name in ASSET_LEVEL_BOUNDS:
        if total_assets < bound:
            return name
    return "至尊"


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # str | int | decimal | date | datetime | month
    sql_type: str  # as written in the contract (MySQL flavour)
    comment: str  # 中文含义, goes into DDL comments and the field dictionary
    values: str = ""  # human-readable value rule for the field dictionary
    nullable: bool = False
    choices: tuple[str, ...] = ()
    min_value: float | None = None
    max_value: float | None = None
    max_len: int | None = None


CUSTOMER_BASE = "customer_base"
BEHAVIOR = "customer_behavior_assets"

BASE_COLUMNS: tuple[Column, ...] = (
    Column("customer_id", "str", "VARCHAR(32)", "客户ID（主键）", "不透明字符串，勿假设格式", max_len=32),
    Column("name", "str", "VARCHAR(100)", "客户姓名（个人信息）", "中文姓名", max_len=100),
    Column("age", "int", "INT", "年龄（岁）", "18-85", min_value=18, max_value=85),
    Column("gender", "str", "VARCHAR(10)", "性别", "男 / 女", choices=GENDERS),
    Column("occupation", "str", "VARCHAR(100)", "职业", "自由文本，如 律师、教师、软件工程师", max_len=100),
    Column("occupation_type", "str", "VARCHAR(50)", "职业类型", " / ".join(OCCUPATION_TYPES), choices=OCCUPATION_TYPES),
    Column("monthly_income", "decimal", "DECIMAL(12,2)", "月收入（元）", "> 0", min_value=0.01),
    Column("open_account_date", "date", "DATE", "开户日期", "YYYY-MM-DD，不晚于最后一个统计月"),
    Column("lifecycle_stage", "str", "VARCHAR(50)", "客户生命周期阶段", " / ".join(LIFECYCLE_STAGES), choices=LIFECYCLE_STAGES),
    Column("marriage_status", "str", "VARCHAR(20)", "婚姻状况", " / ".join(MARRIAGE_STATUSES), choices=MARRIAGE_STATUSES),
    Column("city_level", "str", "VARCHAR(20)", "城市等级", " / ".join(CITY_LEVELS), choices=CITY_LEVELS),
    Column("branch_name", "str", "VARCHAR(100)", "开户网点（分行+支行）", "如 上海分行外滩支行", max_len=100),
)

BEHAVIOR_COLUMNS: tuple[Column, ...] = (
    Column("id", "str", "VARCHAR(32)", "记录ID（主键）", "不透明字符串", max_len=32),
    Column("customer_id", "str", "VARCHAR(32)", "客户ID，关联 customer_base", "", max_len=32),
    Column("total_assets", "decimal", "DECIMAL(16,2)", "月末总资产AUM（元）", "= 存款+理财+基金+保险", min_value=0),
    Column("deposit_balance", "decimal", "DECIMAL(16,2)", "存款余额（元）", ">= 0", min_value=0),
    Column("financial_balance", "decimal", "DECIMAL(16,2)", "理财产品余额（元）", ">= 0", min_value=0),
    Column("fund_balance", "decimal", "DECIMAL(16,2)", "基金余额（元）", ">= 0", min_value=0),
    Column("insurance_balance", "decimal", "DECIMAL(16,2)", "保险产品余额（元）", ">= 0", min_value=0),
    Column("asset_level", "str", "VARCHAR(20)", "资产等级", "初级(<20万) / 中级(20万-50万) / 高级(50万-80万) / 资深(80万-100万) / 至尊(>=100万)", choices=ASSET_LEVELS),
    Column("deposit_flag", "int", "TINYINT", "是否持有存款", "1=余额>0，否则0", choices=("0", "1")),
    Column("financial_flag", "int", "TINYINT", "是否持有理财", "1=余额>0，否则0", choices=("0", "1")),
    Column("fund_flag", "int", "TINYINT", "是否持有基金", "1=余额>0，否则0", choices=("0", "1")),
    Column("insurance_flag", "int", "TINYINT", "是否持有保险", "1=余额>0，否则0", choices=("0", "1")),
    Column("product_count", "int", "INT", "持有产品数", "四个持有标志之和", min_value=0, max_value=4),
    Column("financial_repurchase_count", "int", "INT", "近12个月理财复购次数", ">= 0", min_value=0),
    Column("credit_card_monthly_expense", "decimal", "DECIMAL(12,2)", "当月信用卡消费（元）", ">= 0", min_value=0),
    Column("investment_monthly_count", "int", "INT", "当月投资交易次数", ">= 0", min_value=0),
    Column("app_login_count", "int", "INT", "当月手机银行登录次数", ">= 0", min_value=0),
    Column("app_financial_view_time", "int", "INT", "当月理财页面浏览时长（秒）", ">= 0", min_value=0),
    Column("app_product_compare_count", "int", "INT", "当月产品对比点击次数", ">= 0", min_value=0),
    Column("last_app_login_time", "datetime", "DATETIME", "最近一次APP登录时间", "可为空，不晚于月末", nullable=True),
    Column("last_contact_time", "datetime", "DATETIME", "银行最近一次联系客户时间", "可为空，不晚于月末", nullable=True),
    Column("contact_result", "str", "VARCHAR(50)", "最近一次联系结果", " / ".join(CONTACT_RESULTS), nullable=True, choices=CONTACT_RESULTS),
    Column("marketing_cool_period", "date", "DATE", "营销冷静期截止日（此日前不营销）", "最近联系日期+30天，可为空", nullable=True),
    Column("stat_month", "month", "VARCHAR(7)", "统计月份", "YYYY-MM"),
)

TABLES: dict[str, tuple[Column, ...]] = {CUSTOMER_BASE: BASE_COLUMNS, BEHAVIOR: BEHAVIOR_COLUMNS}
TABLE_COMMENTS = {CUSTOMER_BASE: "客户基本信息表（每客户一行）", BEHAVIOR: "客户月度行为与资产表（每客户每月一行）"}
PRIMARY_KEYS = {CUSTOMER_BASE: ("customer_id",), BEHAVIOR: ("id",)}
# The one limit for a customer_id anywhere (tool schemas, argument checks, echoes): the contract's column.
CUSTOMER_ID_MAX = 32
UNIQUE_KEYS = {BEHAVIOR: ("customer_id", "stat_month")}
BALANCE_COLUMNS = tuple(f"{p}_balance" for p in PRODUCTS)
FLAG_COLUMNS = tuple(f"{p}_flag" for p in PRODUCTS)


def column_names(table: str) -> list[str]:
    return [c.name for c in TABLES[table]]
