"""Why a person carries a tag value, in words: the rule's terms with the person's own measures filled in
(the member page shows these beside each tag)."""

from __future__ import annotations

from typing import Any

from siyu.analytics.tag_rules import (
    All,
    Any_,
    BandsRule,
    BehaviourRule,
    ColumnRule,
    Compare,
    Condition,
    KeywordRule,
    Not,
    ScoreRule,
    SurveyRule,
    TagDef,
    TopRule,
    WhenRule,
)

# measure → (中文, English)
LABELS: dict[str, tuple[str, str]] = {
    "recency_days": ("距上次购买天数", "days since the last purchase"), "frequency": ("购买次数", "purchases"),
    "monetary_fen": ("累计消费", "spend"), "first_purchase_days": ("距首购天数", "days since the first purchase"),
    "orders_30d": ("近30天订单", "orders in 30 days"), "orders_90d": ("近90天订单", "orders in 90 days"),
    "orders_365d": ("近一年订单", "orders in a year"), "spend_90d_fen": ("近90天消费", "spend in 90 days"),
    "spend_365d_fen": ("近一年消费", "spend in a year"), "avg_order_fen": ("客单价", "average order"),
    "max_order_fen": ("最大单笔", "largest order"), "refund_rate": ("退款率", "refund rate"),
    "categories_bought": ("购买品类数", "categories bought"), "channels_bought": ("购买渠道数", "channels bought in"),
    "days_between_orders": ("平均购买间隔天数", "days between orders"), "gender": ("性别", "gender"),
    "age": ("年龄", "age"), "birth_month": ("生日月", "birth month"), "province": ("省份", "province"),
    "city": ("城市", "city"), "source_channel": ("来源渠道", "source channel"), "source": ("活码", "live code"),
    "profiles": ("渠道身份数", "channel identities"), "is_member": ("会员", "member"), "tier": ("等级", "tier"),
    "member_days": ("入会天数", "days a member"), "points": ("积分", "points"),
    "events_30d": ("近30天互动", "interactions in 30 days"), "events_365d": ("近一年互动", "interactions in a year"),
}
ATTRIBUTES = {"colour": ("颜色", "colour"), "size": ("尺码", "size"), "category": ("品类", "category"),
              "material": ("材质", "material"), "style": ("款式", "style"), "season": ("季节款", "season"),
              "weekday": ("购物日", "weekday"), "daypart": ("时段", "time of day"), "channel": ("渠道", "channel"),
              "price_band": ("价位", "price band")}


def _label(measure: str, en: bool) -> str:
    zh_en = LABELS.get(measure, (measure, measure))
    return zh_en[1] if en else zh_en[0]


def _show(measure: str, v: Any) -> str:
    if v is None:
        return "—"
    if measure.endswith("_fen"):
        return f"¥{v / 100:,.2f}"
    if measure == "refund_rate":
        return f"{v:.0%}"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _measures(c: Condition) -> list[str]:
    if isinstance(c, All):
        return [m for x in c.all for m in _measures(x)]
    if isinstance(c, Any_):
        return [m for x in c.any for m in _measures(x)]
    if isinstance(c, Not):
        return _measures(c.not_)
    assert isinstance(c, Compare)
    return [c.measure] + ([c.other] if c.other else [])


def _facts_text(measures: list[str], facts: dict[str, Any], en: bool) -> str:
    seen = list(dict.fromkeys(measures))
    return ", ".join(f"{_label(m, en)} {_show(m, facts.get(m))}" for m in seen)


def reason(tag: TagDef, value: str, facts: dict[str, Any], en: bool = False) -> str:
    """One line: the measures the rule read, as this person has them, and what the rule asks."""
    rule = tag.rule
    if isinstance(rule, BandsRule):
        band = next((b for b in rule.bands if b.value == value), None)
        m = rule.measure
        edges = "" if band is None else (f" ∈ [{'…' if band.min is None else _show(m, band.min)}, "
                                         f"{'…' if band.max is None else _show(m, band.max)})")
        return _facts_text([rule.measure], facts, en) + edges
    if isinstance(rule, ColumnRule | ScoreRule):
        text = _facts_text([rule.measure], facts, en)
        if isinstance(rule, ScoreRule):
            text += (f"; ranked into {rule.buckets} groups" if en else f"；按全体排名分为{rule.buckets}组")
        return text
    if isinstance(rule, WhenRule):
        case = next((c for c in rule.cases if c.value == value), None)
        if case is None:  # the "otherwise" value: no case held
            return ("no other case held: " if en else "其他条件均不满足：") + _facts_text(
                [m for c in rule.cases for m in _measures(c.if_)], facts, en)
        return _facts_text(_measures(case.if_), facts, en)
    if isinstance(rule, TopRule):
        attr = ATTRIBUTES[rule.attribute][1 if en else 0]
        scope = (f" among {rule.only_category}" if en else f"（{rule.only_category}）") if rule.only_category else ""
        window = (f", last {rule.window_days} days" if en else f"，近{rule.window_days}天") if rule.window_days else ""
        by = ("quantity" if en else "件数") if rule.weight == "quantity" else ("spend" if en else "金额")
        return (f"most bought {attr}{scope} by {by}, ≥ {rule.min_share:.0%} of purchases{window}" if en
                else f"购买最多的{attr}{scope}（按{by}，占比≥{rule.min_share:.0%}{window}）")
    if isinstance(rule, BehaviourRule):
        case = next((c for c in rule.cases if c.value == value), None)
        if case is None:
            return ""
        cond = f" {case.property} ≥ {case.min:g}" if case.property else ""
        window = (f" in {case.window_days} days" if en else f"，近{case.window_days}天") if case.window_days else ""
        return (f"{case.event}{cond}, at least {case.times} times{window}" if en
                else f"{case.event}{cond}，至少{case.times}次{window}")
    if isinstance(rule, SurveyRule):
        answers = [a for a, v in rule.answers.items() if v == value]
        return (f"latest answer to “{rule.question}”: {'/'.join(answers)}" if en
                else f"最近一次回答「{rule.question}」：{'/'.join(answers)}")
    if isinstance(rule, KeywordRule):
        words = "、".join(rule.keywords.get(value, []))
        return (f"wrote or was noted with: {words}" if en else f"聊天或导购备注中出现：{words}")
    return ""
