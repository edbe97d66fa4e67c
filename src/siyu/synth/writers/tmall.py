"""Tmall / Taobao: seller-centre exports (the order report and the order-item report, GBK-encoded) for
history, and the last 90 days as the shop's ERP pulls them from the Taobao Open Platform
(``taobao.trades.sold.get`` and ``taobao.refunds.receive.get`` responses, JSON Lines), as TOP only
serves the last three months.

The headers and quirks follow the files the seller centre (千牛 / 卖家中心 → 已卖出的宝贝 → 批量导出)
produces: the order number wrapped as ``="…"`` so Excel keeps its digits, a full phone prefixed with an
apostrophe, masked phones as ``138****1234``, Beijing-time timestamps, amounts in yuan.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from siyu.synth.behaviour import COMPLETED, CREATED_CANCELLED, PAID, SHIPPED, TMALL
from siyu.synth.text import beijing_time, concat, digits, mask_middle, scramble, take, yuan
from siyu.synth.world import COLOURS, SIZES
from siyu.synth.writers import pushes
from siyu.synth.writers.common import blank, write_csv

SHOP_ID = "106593211"
SHOP_NAME = "澜途官方旗舰店"
STATUS_TEXT = ("交易关闭", "买家已付款，等待卖家发货", "卖家已发货，等待买家确认", "交易成功")
ORDER_HEADERS = (
    "订单编号", "买家会员名", "买家支付宝账号", "买家应付货款", "买家应付邮费", "买家支付积分", "总金额", "返点积分",
    "买家实际支付金额", "买家实际支付积分", "订单状态", "买家留言", "收货人姓名", "收货地址", "运送方式", "联系电话",
    "联系手机", "订单创建时间", "订单付款时间", "宝贝标题", "宝贝种类", "物流单号", "物流公司", "订单备注", "宝贝总数量",
    "店铺Id", "店铺名称", "订单关闭原因", "卖家服务费", "买家服务费", "发票抬头", "是否手机订单", "分阶段订单信息",
    "特权订金订单id", "是否上传合同照片", "是否上传小票", "是否代付", "定金排名", "修改后的sku", "修改后的收货地址",
    "异常信息", "天猫卡券抵扣", "集分宝抵扣", "是否是O2O交易", "退款金额", "确认收货时间", "打款商家金额",
)


def order_numbers(order_index: np.ndarray) -> pa.StringArray:
    """19-digit Taobao trade ids (tid)."""
    return concat("2", digits(scramble(order_index, 11) % 10**18, 18))


def sub_order_numbers(line_index: np.ndarray) -> pa.StringArray:
    return concat("2", digits(scramble(line_index, 12) % 10**18, 18))


TOP_DAYS = 90


def top_cutoff(brand) -> int:  # type: ignore[no-untyped-def]
    """Unix time from which Tmall orders come through TOP rather than the CSV export."""
    return brand.cal.unix_start + (brand.cal.n_days - TOP_DAYS) * 86400


def write(brand) -> dict[str, int]:  # type: ignore[no-untyped-def]
    from siyu.synth.writers import taobao_top

    o, ln, ids, cat = brand.orders, brand.lines, brand.ids, brand.cat
    recent = o.ts >= top_cutoff(brand)
    oi = np.flatnonzero((o.channel == TMALL) & ~recent)
    n = len(oi)
    person = o.person[oi]
    recv = pa.array(brand.receiver[oi])
    status = o.status[oi]
    refunded_full = o.refund_full[oi]
    unpaid = status == CREATED_CANCELLED
    code = np.select([unpaid | refunded_full, status == PAID, status == SHIPPED], [0, 1, 2], 3)
    status_text = take(STATUS_TEXT, code)
    tid = order_numbers(oi)
    phone = brand.receiver_phone.take(pa.array(oi))
    # The export masks every phone; a buyer's own phone reaches the brand only when they join its
    # membership in the Tmall store (会员通), through the member centre's call (_pushes/tmall_member.jsonl).
    mobile = mask_middle(phone, 3, 4, 4)
    address = concat(ids.province.take(recv), " ", ids.city.take(recv), " ", ids.district.take(recv), " ",
                     ids.street.take(recv), "(", ids.postcode.take(recv), ")")
    first_line = o.line_start[oi]
    qty = np.add.reduceat(ln.quantity, o.line_start)[oi] if len(o.line_start) else np.zeros(0, int)
    shipped = (status == SHIPPED) | (status == COMPLETED)
    close_reason = take(["买家未付款", "退款", "订单未关闭"], np.select([unpaid, refunded_full], [0, 1], 2))
    paid_fen = o.paid_fen[oi]
    cols: dict[str, pa.Array] = {
        "订单编号": concat('="', tid, '"'),
        "买家会员名": ids.taobao_nick.take(pa.array(person)),
        "买家支付宝账号": pa.array(np.full(n, "**")),
        "买家应付货款": yuan(o.paid_goods_fen[oi]),
        "买家应付邮费": yuan(o.shipping_fen[oi]),
        "买家支付积分": pa.array(np.zeros(n, int)),
        "总金额": yuan(o.paid_goods_fen[oi] + o.shipping_fen[oi]),
        "返点积分": pa.array(np.zeros(n, int)),
        "买家实际支付金额": yuan(paid_fen),
        "买家实际支付积分": pa.array(np.zeros(n, int)),
        "订单状态": status_text,
        "买家留言": blank(n),
        "收货人姓名": ids.name.take(recv),
        "收货地址": address,
        "运送方式": pa.array(np.full(n, "快递")),
        "联系电话": blank(n),
        "联系手机": mobile,
        "订单创建时间": beijing_time(o.ts[oi]),
        "订单付款时间": pc.if_else(pa.array(unpaid), "", beijing_time(o.paid_ts[oi])),
        "宝贝标题": take(cat.product_name, ln.product[first_line]),
        "宝贝种类": pa.array(o.n_lines[oi]),
        "物流单号": pc.if_else(pa.array(shipped), concat("SF", digits(scramble(oi, 14, 12), 12)), ""),
        "物流公司": pc.if_else(pa.array(shipped), "顺丰速运", ""),
        "订单备注": blank(n),
        "宝贝总数量": pa.array(qty),
        "店铺Id": pa.array(np.full(n, SHOP_ID)),
        "店铺名称": pa.array(np.full(n, SHOP_NAME)),
        "订单关闭原因": close_reason,
    }
    for h in ORDER_HEADERS[28:44]:
        cols[h] = blank(n)
    cols["卖家服务费"] = pa.array(np.full(n, "0"))
    cols["买家服务费"] = pa.array(np.full(n, "0元"))
    cols["是否手机订单"] = take(["", "手机订单"], (brand.rng("tmall-mobile").random(n) < 0.92).astype(int))
    for h in ("是否上传合同照片", "是否上传小票", "是否代付"):
        cols[h] = pa.array(np.full(n, "否"))
    cols["退款金额"] = yuan(o.refunded_fen[oi])
    cols["确认收货时间"] = pc.if_else(pa.array(status == COMPLETED), beijing_time(o.done_ts[oi]), "")
    cols["打款商家金额"] = concat(yuan(np.where(status == COMPLETED, paid_fen - o.refunded_fen[oi], 0)), "元")
    stamp = brand.cal.start.replace(year=brand.cal.start.year + 3).strftime("%Y%m%d") + "0930"
    counts = {}
    path = f"tmall/ExportOrderList{stamp}.csv"
    counts[path] = write_csv({h: cols[h] for h in ORDER_HEADERS}, brand.out / path, encoding="gbk")

    # The order-item report: one row per sub-order.
    li = np.flatnonzero((o.channel[ln.order] == TMALL) & ~recent[ln.order])
    lo = ln.order[li]
    lst = o.status[lo]
    line_refunded = ln.refunded_fen[li]
    line_closed = (lst == CREATED_CANCELLED) | o.refund_full[lo] | (line_refunded >= ln.paid_fen[li])
    ltext = take(STATUS_TEXT, np.select([line_closed, lst == PAID, lst == SHIPPED], [0, 1, 2], 3))
    sku = ln.sku[li]
    attrs = concat("颜色分类：", take(COLOURS, cat.sku_colour[sku]), ";尺码：", take(SIZES, cat.sku_size[sku]))
    paid_line = np.where(lst == CREATED_CANCELLED, 0, ln.paid_fen[li])
    item_cols = {
        "子订单编号": sub_order_numbers(li),
        "主订单编号": order_numbers(lo),
        "标题": take(cat.product_name, ln.product[li]),
        "价格": yuan(ln.unit_price_fen[li]),
        "购买数量": pa.array(ln.quantity[li]),
        "外部系统编号": take(cat.product_code, ln.product[li]),
        "商品属性": attrs,
        "套餐信息": blank(len(li)),
        "备注": blank(len(li)),
        "订单状态": ltext,
        "商家编码": take(cat.sku_code, sku),
        "支付单号": pc.if_else(pa.array(lst == CREATED_CANCELLED), "",
                            concat("2024", digits(scramble(lo, 13), 18), "2200")),
        "买家应付货款": yuan(ln.paid_fen[li]),
        "买家实际支付金额": yuan(paid_line),
        "退款状态": take(["没有申请退款", "退款成功"], (line_refunded > 0).astype(int)),
        "退款金额": yuan(line_refunded),
        "订单创建时间": beijing_time(o.ts[lo]),
        "订单付款时间": pc.if_else(pa.array(lst == CREATED_CANCELLED), "", beijing_time(o.paid_ts[lo])),
    }
    path = f"tmall/ExportOrderDetailList{stamp}.csv"
    counts[path] = write_csv(item_cols, brand.out / path, encoding="gbk")
    counts.update(taobao_top.write(brand, np.flatnonzero((o.channel == TMALL) & recent)))
    counts.update(pushes.tmall_members(brand, *_joiners(brand)))
    return counts


def _joiners(brand) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """Tmall buyers who joined the brand's membership in the Tmall store, and when: a few days after
    their first Tmall order."""
    o, pop = brand.orders, brand.pop
    rng = brand.rng("tmall-members")
    ti = np.flatnonzero(o.channel == TMALL)
    buyers, first = np.unique(o.person[ti], return_index=True)
    joined = pop.tmall_joined[buyers]
    end = brand.cal.unix_start + brand.cal.n_days * 86400 - 1
    when = np.minimum(o.ts[ti][first] + rng.integers(600, 20 * 86400, size=len(buyers)), end)
    brand.tmall_members = buyers[joined]
    return buyers[joined], when[joined]
