"""A marketing plan per segment (goal, products, channel, frequency, a sample script for the RM),
generated from the segment's archetype and filled in with its profile numbers."""

from __future__ import annotations

from dataclasses import dataclass

from million.fmt import pct, wan

COOL = "人工联系每30天不超过1次（遵守30天营销冷静期）"


@dataclass(frozen=True)
class PlanTemplate:
    goal: str  # str.format fields from the profile (see _fields)
    products: tuple[tuple[str, str], ...]  # (product name as in PRODUCT_NAMES, what exactly)
    channel: str
    frequency: str
    script: str


TEMPLATES: dict[str, PlanTemplate] = {
    "hnw": PlanTemplate(
        "守住并扩大高端客户资产：本群平均AUM {aum}，已有 {millionaires} 位百万客户；以资产配置检视为抓手，"
        "重点补足{focus}（本群持有率 {focus_rate}），{prospects} 位未达百万的客户由客户经理重点跟进。",
        (("保险", "终身寿险、年金险等保障与财富传承类保险"), ("理财", "稳健型、定制化理财，匹配大额资金计划"),
         ("基金", "固收+、FOF 等稳健型组合")),
        "专属客户经理一对一面谈 + 私享沙龙（财富传承、税务筹划、资产配置主题）",
        f"每季度1次资产配置检视，每半年1次线下沙龙邀约；{COOL}",
        "X总您好，我是您的专属客户经理。我们最近为您做了一次资产配置检视，您目前的配置在{focus}方面还有空间。"
        "下个月有一场关于家庭财富传承的小型沙龙，想邀请您参加；也可以约个时间，我当面把方案给您讲一讲，您看哪天方便？"),
    "mass": PlanTemplate(
        "扩大基础客群的产品覆盖与资产沉淀：本群 {size} 人、平均AUM {aum}、平均持有 {products} 个产品；"
        "以低门槛产品批量触达，把{focus}持有率从 {focus_rate} 逐步提升。",
        (("理财", "低门槛现金管理类理财（1元起购、随用随取）"), ("基金", "指数基金定投（每月几百元起）"),
         ("保险", "意外险、百万医疗险等普惠保障")),
        "手机银行APP推送 + 短信 + 网点厅堂营销，以线上批量触达为主",
        f"每月1-2次线上触达（APP推送/短信），不做高频电话；{COOL}",
        "您好！看到您在我行的活期资金比较多，放着收益偏低。我们有一款现金管理类理财，1元起购、随用随取，"
        "收益比活期高，在手机银行就能一键购买。我把产品介绍发到您手机上，您有空看看？"),
    "active": PlanTemplate(
        "把活跃度转化为资产：本群月均登录APP {logins} 次、投资交易 {invest} 笔，{prospect_share}为百万潜客，"
        "平均百万概率 {propensity}；引导他行资金转入，重点提升{focus}配置（本群持有率 {focus_rate}），培育下一批百万客户。",
        (("基金", "指数基金、主题基金与基金组合，贴合其浏览和比较偏好"), ("理财", "中短期理财，承接转入资金"),
         ("保险", "重疾险等保障类产品，完善配置")),
        "手机银行APP个性化推荐 + 线上直播/投教内容 + 客户经理企业微信",
        f"APP内容推荐每周1次；在客户频繁比较产品时及时跟进；{COOL}",
        "您好，我是您的理财经理。注意到您经常使用手机银行关注理财资讯，我们本周有一场资产配置直播，"
        "我也按您的风险偏好整理了一份组合建议，其中{focus}这块可以重点看看。"
        "如果您有资金打算集中管理，我可以帮您做一个整体规划，您看什么时候方便聊聊？"),
    "repurchase": PlanTemplate(
        "巩固理财忠诚度并延伸配置：本群近12个月平均理财复购 {repurchase} 次（全体平均 {all_repurchase} 次）；"
        "提高到期续作率，并向{focus}延伸（本群持有率 {focus_rate}）。",
        (("理财", "到期续作与阶梯期限组合，平滑到期资金"), ("基金", "固收+基金，作为理财之外的收益增强"),
         ("保险", "年金险，锁定长期收益")),
        "理财到期前提醒（APP + 短信）+ 客户经理电话",
        f"每笔理财到期前7天提醒1次；节日专属关怀；{COOL}",
        "您好，感谢您一直信任我行的理财产品，您有一笔理财快到期了。这次到期资金可以做个阶梯安排："
        "一部分续作同类稳健理财，一部分配置{focus}，整体更平滑。我把方案发给您参考，好吗？"),
    "income": PlanTemplate(
        "提升高收入客户的钱包份额：本群平均月收入 {income}、平均AUM {aum}，平均只持有 {products} 个产品；"
        "吸引他行资产转入，重点增加{focus}配置（本群持有率 {focus_rate}）。",
        (("理财", "中高收益稳健理财，承接他行资金转入"), ("基金", "权益与固收+组合"), ("保险", "高端医疗险、养老年金")),
        "客户经理一对一 + 企业主/专业人士主题沙龙 + 代发工资等综合金融服务",
        f"每季度1次线下活动邀约；{COOL}",
        "X先生/女士您好，您在我行的账户一直很稳定。以您的收入情况，建议做一个整体的资产规划：每月收入的一部分做基金定投，"
        "一部分买稳健理财，再配置{focus}。如果您在其他银行也有资金，我可以帮您统一做个对比，看怎么配置更合适。"),
    "multi": PlanTemplate(
        "保持均衡配置、提高资产留存：本群平均持有 {products} 个产品，配置意识强；以资产体检带动{focus}（本群持有率 {focus_rate}）的补充。",
        (("基金", "组合调仓建议"), ("保险", "保障缺口补充"), ("理财", "稳健打底资产")),
        "APP资产体检报告 + 客户经理电话",
        f"每季度1份资产体检报告；{COOL}",
        "您好，您的资产配置比较全面，我们为您生成了一份季度资产体检报告，其中{focus}部分还有优化空间，我给您简单讲讲？"),
    "spender": PlanTemplate(
        "把消费活跃转化为储蓄与投资：本群平均信用卡月消费 {card}、平均年龄 {age} 岁；用消费权益引导{focus}（本群持有率 {focus_rate}）。",
        (("基金", "小额基金定投"), ("理财", "零钱理财、工资理财"), ("保险", "意外险、医疗险")),
        "信用卡APP + 手机银行联动权益（如消费满额送定投体验金）",
        f"每月1-2次线上触达；{COOL}",
        "您好，您本月信用卡消费已达标，可以领取一份定投体验金。每月从工资里拿出一小部分做{focus}，积少成多，要不要我帮您开通？"),
    "fallback": PlanTemplate(
        "稳步提升资产与产品覆盖：本群 {size} 人、平均AUM {aum}、平均持有 {products} 个产品；重点补足{focus}（本群持有率 {focus_rate}）。",
        (("理财", "稳健理财"), ("基金", "基金定投"), ("保险", "保障类保险")),
        "手机银行APP + 客户经理电话",
        f"每月1次线上触达；{COOL}",
        "您好，我是您的客户经理。根据您目前的资产情况，建议适当配置{focus}，让资金安排更均衡，我给您简单介绍一下？"),
}


def _fields(p: dict, overall: dict, focus: str) -> dict:
    return {
        "size": f"{p['size']:,}", "aum": wan(p["avg_aum"], 0), "income": wan(p["avg_income"]),
        "card": wan(p["avg_card_spend"]), "age": f"{p['avg_age']:.0f}", "products": f"{p['avg_product_count']:.1f}",
        "logins": f"{p['avg_app_logins']:.1f}", "invest": f"{p['avg_investment_count']:.1f}",
        "repurchase": f"{p['avg_repurchase']:.1f}", "all_repurchase": f"{overall['avg_repurchase']:.1f}",
        "millionaires": f"{p['millionaire_count']:,}",
        "prospects": f"{round(p['size'] * p['prospect_share']):,}",
        "prospect_share": pct(p["prospect_share"]),
        "propensity": p["avg_propensity_text"], "focus": focus, "focus_rate": pct(p["holding_rates"][focus]),
    }


def marketing_plan(profile: dict, overall: dict) -> dict:
    """The plan for one segment. The focus product is the plan's product the segment holds least."""
    t = TEMPLATES.get(profile["archetype"], TEMPLATES["fallback"])
    rates = profile["holding_rates"]
    focus = min((name for name, _ in t.products), key=lambda name: rates.get(name, 1.0))
    f = _fields(profile, overall, focus)
    products = [f"{name}：{what}（本群持有率 {pct(rates.get(name, 0.0))}）" for name, what in t.products]
    return {"goal": t.goal.format(**f), "products": products, "focus_product": focus, "channel": t.channel,
            "frequency": t.frequency, "script": t.script.format(**f)}
