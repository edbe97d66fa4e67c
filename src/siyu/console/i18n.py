"""Console text in Chinese (default) and English."""

from __future__ import annotations

LOCALES = ("zh", "en")

TEXT: dict[str, dict[str, str]] = {
    "app_name": {"zh": "私域 Siyu", "en": "Siyu"},
    "tagline": {"zh": "自有会员平台", "en": "Your own member platform"},
    "login": {"zh": "登录", "en": "Sign in"},
    "logout": {"zh": "退出", "en": "Sign out"},
    "username": {"zh": "用户名", "en": "Username"},
    "password": {"zh": "密码", "en": "Password"},
    "login_failed": {"zh": "用户名或密码错误", "en": "Wrong username or password"},
    "nav_dashboard": {"zh": "经营看板", "en": "Dashboard"},
    "dashboard": {"zh": "经营看板", "en": "Dashboard"},
    "range": {"zh": "日期范围", "en": "Date range"},
    "from": {"zh": "开始", "en": "From"},
    "to": {"zh": "结束", "en": "To"},
    "apply": {"zh": "查询", "en": "Apply"},
    "members": {"zh": "会员数", "en": "Members"},
    "new_members": {"zh": "新增会员", "en": "New members"},
    "gmv": {"zh": "销售额 (GMV)", "en": "GMV"},
    "member_share": {"zh": "会员销售占比", "en": "Member share of GMV"},
    "repurchase": {"zh": "复购率", "en": "Repurchase rate"},
    "aov": {"zh": "客单价", "en": "Average order value"},
    "sales": {"zh": "订单数", "en": "Orders"},
    "buyers": {"zh": "购买人数", "en": "Buyers"},
    "channel_mix": {"zh": "渠道销售构成", "en": "Channel mix"},
    "tier_dist": {"zh": "会员等级分布", "en": "Tier distribution"},
    "monthly_gmv": {"zh": "月度销售额", "en": "Monthly GMV"},
    "member_gmv": {"zh": "会员销售额", "en": "Member GMV"},
    "all_gmv": {"zh": "全部销售额", "en": "All GMV"},
    "no_data": {"zh": "暂无数据：请先导入数据（siyu import）", "en": "No data yet: import some first (siyu import)"},
    "definitions": {"zh": "口径：已支付订单按支付时间（北京时间）计；复购率＝区间内购买≥2次的人数／购买人数；"
                           "会员销售＝支付时已是会员的订单。",
                    "en": "Definitions: paid orders by payment time (Beijing); repurchase rate = buyers with ≥2 "
                          "orders in the range / buyers; member GMV = orders paid by people already members."},
    "language": {"zh": "English", "en": "中文"},
    "error": {"zh": "出错了", "en": "Something went wrong"},
}


def translator(locale: str):  # type: ignore[no-untyped-def]
    loc = locale if locale in LOCALES else "zh"

    def t(key: str) -> str:
        entry = TEXT.get(key)
        return entry[loc] if entry else key

    return t
