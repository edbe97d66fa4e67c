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
    "nav_oneid": {"zh": "身份识别", "en": "OneID"},
    "oneid": {"zh": "身份识别 (OneID)", "en": "OneID"},
    "find_person": {"zh": "查找", "en": "Find"},
    "find_hint": {"zh": "手机号、人员编号或账号", "en": "Phone, person id or account id"},
    "find": {"zh": "查找", "en": "Find"},
    "person_not_found": {"zh": "未找到此人", "en": "No such person"},
    "person": {"zh": "人员", "en": "Person"},
    "was_merged": {"zh": "已由此人合并：", "en": "Merged here from"},
    "profiles": {"zh": "各渠道档案", "en": "Records across channels"},
    "profile": {"zh": "档案", "en": "Record"},
    "channel": {"zh": "渠道", "en": "Channel"},
    "record": {"zh": "账号", "en": "Account"},
    "first_seen": {"zh": "首次出现", "en": "First seen"},
    "source": {"zh": "来源", "en": "Source"},
    "reason": {"zh": "原因", "en": "Reason"},
    "split_selected": {"zh": "拆分所选档案（另立一人）", "en": "Split the selected records off"},
    "what_joined": {"zh": "识别依据", "en": "What joined them"},
    "identifier": {"zh": "标识", "en": "Identifier"},
    "value": {"zh": "值", "en": "Value"},
    "profiles_here": {"zh": "本人档案", "en": "Records here"},
    "profiles_anywhere": {"zh": "全部持有档案数", "en": "Records anywhere"},
    "role": {"zh": "作用", "en": "Role"},
    "probabilistic": {"zh": "概率匹配 (Splink)", "en": "Probabilistic matches (Splink)"},
    "match_weight": {"zh": "匹配权重", "en": "Match weight"},
    "agreeing": {"zh": "一致项", "en": "Agreeing"},
    "parcels": {"zh": "寄往本人手机号的包裹", "en": "Parcels sent to this person's phone"},
    "history": {"zh": "合并与拆分记录", "en": "Merges and splits"},
    "absorbed": {"zh": "并入人员", "en": "Absorbed person"},
    "decision_split": {"zh": "拆分档案", "en": "Split records"},
    "decision_merge": {"zh": "人工合并档案", "en": "Merged records"},
    "merge_with": {"zh": "与他人合并", "en": "Merge with another person"},
    "other_person": {"zh": "人员编号", "en": "Person id"},
    "merge": {"zh": "合并", "en": "Merge"},
    "role_partial": {"zh": "未使用：部分标识（掩码）", "en": "not used: partial identifier"},
    "role_blocklist": {"zh": "未使用：黑名单号码", "en": "not used: blocklist"},
    "role_fanout": {"zh": "未使用：{n} 个档案共用", "en": "not used: shared by {n} records"},
    "role_channel_fanout": {"zh": "未使用：同一渠道 {n} 个档案共用", "en": "not used: {n} records of one channel share it"},
    "role_one_name": {"zh": "姓名不同的档案分开，仅连接同名档案", "en": "joins only records of one name"},
    "role_joins": {"zh": "连接 {n} 个档案", "en": "joins {n} records"},
    "role_own": {"zh": "本档案独有", "en": "own"},
    "role_own_elsewhere": {"zh": "本人独有；另有 {n} 个他人档案", "en": "own here; {n} records elsewhere"},
    "ch_tmall": {"zh": "天猫", "en": "Tmall"}, "ch_jd": {"zh": "京东", "en": "JD"},
    "ch_douyin": {"zh": "抖音", "en": "Douyin"}, "ch_youzan": {"zh": "有赞", "en": "Youzan"},
    "ch_miniprogram": {"zh": "小程序", "en": "Mini-program"}, "ch_pos": {"zh": "门店", "en": "Stores"},
    "ch_wecom": {"zh": "企业微信", "en": "WeCom"}, "ch_api": {"zh": "API", "en": "API"},
    "error": {"zh": "出错了", "en": "Something went wrong"},
}


def translator(locale: str):  # type: ignore[no-untyped-def]
    loc = locale if locale in LOCALES else "zh"

    def t(key: str) -> str:
        entry = TEXT.get(key)
        return entry[loc] if entry else key

    return t
