"""The member API as the brand's mini-program uses it: balance and tier, history, check-in with its
streak, order claims and their refusals, reward redemption inside the window and the stock; retries
change nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from conftest import frozen_clock
from siyu.accounts.api_keys import create_api_key
from siyu.cli.importer import run_import
from siyu.console.app import create_app
from siyu.loyalty import ledger
from siyu.models import OrderClaim, PointsEntry
from test_loyalty_oneid import OPENID_A, OPENID_B, order, pipeline, write_jsonl

OPENID_C = "oCCCCCCCCCCCCCCCCCCC"
NOW = datetime(2026, 11, 20, 2, 30, tzinfo=UTC)  # the 20th, 10:30 Beijing: the redemption window is open


@pytest.fixture
def at_now() -> Iterator[list[datetime]]:
    with frozen_clock(NOW) as t:
        yield t


def _brand(rt, tmp_path: Path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    write_jsonl(tmp_path / "members.jsonl", [
        {"openid": OPENID_A, "phone": "13912345678", "member_no": "LT0000000001", "registered_at": "2026-03-01T10:00:00+08:00",
         "birthday": "1990-12-05"},
        {"openid": OPENID_C, "phone": "13912345600", "member_no": "LT0000000003", "registered_at": "2026-03-01T10:00:00+08:00"},
    ])
    write_jsonl(tmp_path / "orders.jsonl", [
        order("MP-1", OPENID_A, "1999.00", "2026-03-02T10:00:00+08:00"),   # a Monday: 1,999 points
        order("MP-C", OPENID_C, "100.00", "2026-03-02T10:00:00+08:00"),
        order("MP-B", OPENID_B, "300.00", "2026-10-05T10:00:00+08:00"),    # a visitor who never joined
        order("MP-X", OPENID_B, "50.00", "2026-10-06T10:00:00+08:00", "cancelled"),
    ])
    run_import(rt, tmp_path / "members.jsonl")
    run_import(rt, tmp_path / "orders.jsonl")
    pipeline(rt)
    with rt.db.unit_of_work() as s:
        _, read = create_api_key(s, "mini-program read", ["loyalty:read"])
        _, write = create_api_key(s, "mini-program", ["loyalty:read", "loyalty:write"])
    return {"read": read, "write": write}


def _h(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


def test_member_api(rt, tmp_path: Path, at_now) -> None:  # type: ignore[no-untyped-def]
    keys = _brand(rt, tmp_path)
    client = TestClient(create_app(rt))
    base = "/api/v1/loyalty/members/LT0000000001"

    got = client.get(f"{base}/points", headers=_h(keys["read"])).json()
    assert (got["points"], got["available"], got["pending"], got["tier"]) == (1999, 1999, 0, "黄金")
    assert got["next_tier"] == "钻石" and got["spend_to_next_tier"] == 1001.0
    assert got["progress_text"] == "再消费 ¥1,001.00 升级为钻石"
    assert client.get("/api/v1/loyalty/members/NOPE/points", headers=_h(keys["read"])).status_code == 404
    assert client.get(f"{base}/points").status_code == 401
    assert client.post(f"{base}/checkins", headers=_h(keys["read"])).status_code == 403

    # Check-in: once a day; the 7th day in a row adds the streak bonus.
    for day in range(7):
        at_now[0] = NOW + timedelta(days=day)
        first = client.post(f"{base}/checkins", headers=_h(keys["write"])).json()
        again = client.post(f"{base}/checkins", headers=_h(keys["write"])).json()
        assert (first["streak"], first["replayed"], again["replayed"]) == (day + 1, False, True)
        assert first["bonus"] == (50 if day == 6 else 0)
    at_now[0] = NOW
    balance = client.get(f"{base}/points", headers=_h(keys["read"])).json()["available"]
    assert balance == 1999 + 7 * 5 + 50

    # Claim: a visitor's order earns ×3 and the tier's ×1.2 (300 → 1,080), pending until its return
    # window closes (long closed for this October order); once only.
    claim = {"channel": "miniprogram", "order_no": "MP-B"}
    assert client.post(f"{base}/claims", json=claim, headers=_h(keys["write"])).json()["replayed"] is False
    assert client.post(f"{base}/claims", json=claim, headers=_h(keys["write"])).json()["replayed"] is True
    got = client.get(f"{base}/points", headers=_h(keys["read"])).json()
    assert (got["available"], got["pending"]) == (balance + 1080, 0)
    other = client.post("/api/v1/loyalty/members/LT0000000003/claims", json=claim, headers=_h(keys["write"]))
    assert other.status_code == 409 and "already claimed" in other.json()["error"]
    theirs = client.post(f"{base}/claims", json={"channel": "miniprogram", "order_no": "MP-C"}, headers=_h(keys["write"]))
    assert theirs.status_code == 409 and "another member" in theirs.json()["error"]
    assert client.post(f"{base}/claims", json={"channel": "miniprogram", "order_no": "MP-X"},
                       headers=_h(keys["write"])).status_code == 409
    assert client.post(f"{base}/claims", json={"channel": "jd", "order_no": "MP-B"},
                       headers=_h(keys["write"])).status_code == 404
    with rt.db.read_only() as s:
        assert s.scalar(select(func.count()).select_from(OrderClaim)) == 1
        claimed = s.scalar(select(func.sum(PointsEntry.points)).where(PointsEntry.kind == "pending",
                                                                      PointsEntry.reason == "订单积分",
                                                                      PointsEntry.source_ref != None))  # noqa: E711
    assert claimed == 1999 + 100 + 1080  # MP-1, MP-C, and MP-B

    # Redemption: window, stock, balance; a retry with the same key replays.
    available = client.get(f"{base}/points", headers=_h(keys["read"])).json()["available"]
    hdr = _h(keys["write"], **{"Idempotency-Key": "r-1"})
    done = client.post(f"{base}/redemptions", json={"reward": "GIFT-TOWEL"}, headers=hdr).json()
    again = client.post(f"{base}/redemptions", json={"reward": "GIFT-TOWEL"}, headers=hdr).json()
    assert (done["replayed"], again["replayed"], done["available"]) == (False, True, available - 800)
    clash = client.post(f"{base}/redemptions", json={"reward": "GIFT-BAG"}, headers=hdr)
    assert clash.status_code == 409  # the same key for another request
    too_much = client.post(f"{base}/redemptions", json={"reward": "GIFT-BAG", "quantity": 50},
                           headers=_h(keys["write"], **{"Idempotency-Key": "r-2"}))
    assert too_much.status_code == 409
    assert client.post(f"{base}/redemptions", json={"reward": "NOPE"},
                       headers=_h(keys["write"], **{"Idempotency-Key": "r-3"})).status_code == 404
    at_now[0] = datetime(2026, 11, 20, 1, 59, tzinfo=UTC)  # 09:59 Beijing: not open yet
    closed = client.post(f"{base}/redemptions", json={"reward": "LOTTERY"},
                         headers=_h(keys["write"], **{"Idempotency-Key": "r-4"}))
    assert closed.status_code == 409 and "10:00" in closed.json()["error"]
    at_now[0] = NOW
    assert client.get(f"{base}/points", headers=_h(keys["read"])).json()["available"] == available - 800

    history = client.get(f"{base}/points/history?limit=3", headers=_h(keys["read"])).json()
    assert [h["kind"] for h in history][0] == "burn" and len(history) == 3
    older = client.get(f"{base}/points/history?limit=3&before_id={history[-1]['id']}", headers=_h(keys["read"])).json()
    assert older and max(h["id"] for h in older) < history[-1]["id"]
    with rt.db.read_only() as s:
        assert ledger.check(s) == {k: [] for k in ledger.check(s)}
    assert "/api/v1/loyalty/members/{card_no}/redemptions" in client.get("/api/openapi.json").json()["paths"]


def test_stock_is_never_oversold(rt, tmp_path: Path, at_now) -> None:  # type: ignore[no-untyped-def]
    from siyu.loyalty import programme
    from siyu.loyalty import service as loyalty

    keys = _brand(rt, tmp_path)
    del keys
    prog = programme.default().model_copy(deep=True)
    prog.rewards[0].stock = 2
    with rt.db.unit_of_work() as s:
        loyalty.redeem_reward(s, prog, "LT0000000001", "GIFT-TOWEL", 2, key="s-1")
    with rt.db.unit_of_work() as s, pytest.raises(Exception, match="0 left, 1 asked"):
        loyalty.redeem_reward(s, prog, "LT0000000003", "GIFT-TOWEL", 1, key="s-2")
    with rt.db.unit_of_work() as s:  # the retry of the first still answers
        assert loyalty.redeem_reward(s, prog, "LT0000000001", "GIFT-TOWEL", 2, key="s-1")["replayed"] is True


def test_points_are_booked_when_an_order_arrives(rt, tmp_path: Path, at_now) -> None:  # type: ignore[no-untyped-def]
    """An order sent through the REST API earns for its member at once (pending), its refund takes the
    points back at once, and a later batch run books nothing more."""
    keys = _brand(rt, tmp_path)
    with rt.db.unit_of_work() as s:
        _, ingest = create_api_key(s, "shop backend", ["orders:write", "refunds:write"])
    client = TestClient(create_app(rt))
    base = "/api/v1/loyalty/members/LT0000000001/points"
    before = client.get(base, headers=_h(keys["read"])).json()
    new = order("MP-NEW", OPENID_A, "500.00", "2026-11-16T10:00:00+08:00", "paid")  # a Monday
    r = client.post("/api/v1/orders/batch", json={"records": [new]}, headers=_h(ingest))
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.json()
    got = client.get(base, headers=_h(keys["read"])).json()
    assert (got["available"], got["pending"]) == (before["available"], 600)  # 500 × 1.2 (黄金)
    refund = {"refund_no": "RF-NEW", "order_no": "MP-NEW", "amount": "200.00", "status": "success",
              "requested_at": "2026-11-17T10:00:00+08:00", "completed_at": "2026-11-17T12:00:00+08:00"}
    assert client.post("/api/v1/refunds/batch", json={"records": [refund]}, headers=_h(ingest)).status_code == 200
    got = client.get(base, headers=_h(keys["read"])).json()
    assert (got["available"], got["pending"]) == (before["available"], 360)
    with rt.db.read_only() as s:
        entries = s.scalar(select(func.count()).select_from(PointsEntry))
    pipeline(rt)
    with rt.db.read_only() as s:
        assert s.scalar(select(func.count()).select_from(PointsEntry)) == entries


def test_loyalty_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, at_now) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from conftest import make_settings
    from siyu.bootstrap import start
    from siyu.cli.main import app

    home = tmp_path / "home"
    rt = start(make_settings(home, f"sqlite:///{home / 'siyu.db'}"))
    _brand(rt, tmp_path)
    monkeypatch.setenv("SIYU_HOME", str(home))
    monkeypatch.setenv("COLUMNS", "200")
    # the CLI's console is made at import: where COLUMNS was set then (pytest-xdist's workers set 80), it
    # kept that width, and the pricing table wrapped its identity's name
    from siyu.cli.progress import console
    monkeypatch.setattr(console, "width", 200)
    out = CliRunner().invoke(app, ["loyalty", "member", "LT0000000001"])
    assert out.exit_code == 0, out.output
    assert "黄金 · 1,999 points" in out.output and "再消费 ¥1,001.00 升级为钻石" in out.output
    assert CliRunner().invoke(app, ["loyalty", "member", "NOPE"]).exit_code == 1
    grant = ["loyalty", "identity", "grant", "LT0000000003", "family", "--by", "店长 李娜"]
    assert CliRunner().invoke(app, grant).exit_code == 0
    out = CliRunner().invoke(app, ["loyalty", "identity", "show", "LT0000000003"])
    assert out.exit_code == 0 and "亲友价 (family)" in out.output and "店长 李娜" in out.output, out.output
    assert "0.00 · 3,000.00" in out.output and "no limit" in out.output  # ¥3,000 a year, orders not limited
    out = CliRunner().invoke(app, ["loyalty", "liability"])
    assert out.exit_code == 0 and "2,099" in out.output  # 1,999 + 100 available
    assert CliRunner().invoke(app, ["loyalty", "check"]).exit_code == 0
    with rt.db.unit_of_work() as s:  # a cache that no longer equals the ledger is caught
        from sqlalchemy import update

        from siyu.models import PointsAccount
        s.execute(update(PointsAccount).where(PointsAccount.member_id == 1).values(available=PointsAccount.available + 1))
    out = CliRunner().invoke(app, ["loyalty", "check"])
    assert out.exit_code == 1 and "accounts: 1 differ" in out.output
    rt.db.dispose()


def test_coupons(rt, tmp_path: Path, at_now) -> None:  # type: ignore[no-untyped-def]
    """New-member and upgrade packs are issued once; a coupon is used once, against one order that reaches
    its threshold, before it expires; another member cannot use it."""
    from siyu.loyalty import coupons, programme
    from siyu.models import Coupon, Member

    keys = _brand(rt, tmp_path)
    client = TestClient(create_app(rt))
    base = "/api/v1/loyalty/members/LT0000000001"
    got = client.get(f"{base}/coupons", headers=_h(keys["read"])).json()
    # joined in March: the new-member pack (30 days) and the 黄金 upgrade pack have expired by November;
    # November's 黄金 monthly coupon is fresh
    assert sorted(c["template"] for c in got) == ["MONTH-10", "NEW-148-20", "NEW-150-100", "NEW-178-30", "PCT-95",
                                                  "UPGRADE-GIFT"]
    assert {c["template"] for c in got if c["status"] != "expired"} == {"MONTH-10"}
    pipeline(rt)  # issuing again issues nothing
    with rt.db.read_only() as s:
        assert s.scalar(select(func.count()).select_from(Coupon)) == 6 + 3  # member C: the new-member pack
        member_a = s.scalar(select(Member.id).where(Member.card_no == "LT0000000001"))
    with rt.db.unit_of_work() as s:
        assert coupons.issue(s, programme.default(), member_a, "new_member", "campaign:double11", NOW) == 3
    fresh = [c for c in client.get(f"{base}/coupons", headers=_h(keys["read"])).json() if c["status"] == "available"]
    c20 = next(c["id"] for c in fresh if c["template"] == "NEW-148-20")
    use = f"{base}/coupons/{c20}/uses"
    low = client.post(use, json={"order_no": "MP-9", "amount": "120.00"}, headers=_h(keys["write"]))
    assert low.status_code == 409 and "¥148" in low.json()["error"]
    done = client.post(use, json={"order_no": "MP-9", "amount": "199.00"}, headers=_h(keys["write"])).json()
    again = client.post(use, json={"order_no": "MP-9", "amount": "199.00"}, headers=_h(keys["write"])).json()
    assert (done["off"], done["replayed"], again["replayed"]) == (20.0, False, True)
    assert client.post(use, json={"order_no": "MP-10", "amount": "199.00"}, headers=_h(keys["write"])).status_code == 409
    other = client.post(f"/api/v1/loyalty/members/LT0000000003/coupons/{c20}/uses",
                        json={"order_no": "MP-11", "amount": "199.00"}, headers=_h(keys["write"]))
    assert other.status_code == 404
    bad = client.post(f"{base}/coupons/{c20}/uses", json={"order_no": "MP-9", "amount": "abc"}, headers=_h(keys["write"]))
    assert bad.status_code == 422
    at_now[0] = NOW + timedelta(days=31)
    c30 = next(c["id"] for c in fresh if c["template"] == "NEW-178-30")
    late = client.post(f"{base}/coupons/{c30}/uses", json={"order_no": "MP-12", "amount": "299.00"}, headers=_h(keys["write"]))
    assert late.status_code == 409 and "expired" in late.json()["error"]


def test_rewards_that_issue_coupons_draw_prizes_or_pay_at_checkout(rt, tmp_path: Path, at_now) -> None:  # type: ignore[no-untyped-def]
    """A coupon reward issues its coupon; a lottery draws prizes, kept with the redemption (a retry gets
    the same prizes and nothing more); points pay part of an order once, in whole yuan, within the
    programme's share; birthday and monthly coupons are issued once per occasion."""
    from siyu.loyalty import coupons, programme, versions

    keys = _brand(rt, tmp_path)
    client = TestClient(create_app(rt))
    base = "/api/v1/loyalty/members/LT0000000001"
    w = _h(keys["write"])

    def points() -> int:
        return client.get(f"{base}/points", headers=_h(keys["read"])).json()["available"]

    def templates() -> list[str]:
        return sorted(c["template"] for c in client.get(f"{base}/coupons", headers=_h(keys["read"])).json())

    start, before = points(), templates()
    coupon = client.post(f"{base}/redemptions", json={"reward": "COUPON-20"}, headers={**w, "Idempotency-Key": "c-1"})
    again = client.post(f"{base}/redemptions", json={"reward": "COUPON-20"}, headers={**w, "Idempotency-Key": "c-1"})
    assert (coupon.json()["coupons"], again.json()["replayed"]) == (1, True)
    assert templates() == sorted([*before, "NEW-148-20"]) and points() == start - 400

    draw = client.post(f"{base}/redemptions", json={"reward": "LOTTERY", "quantity": 5},
                       headers={**w, "Idempotency-Key": "l-1"}).json()
    redraw = client.post(f"{base}/redemptions", json={"reward": "LOTTERY", "quantity": 5},
                         headers={**w, "Idempotency-Key": "l-1"}).json()
    assert len(draw["prizes"]) == 5 and redraw["prizes"] == draw["prizes"] and redraw["replayed"]
    prizes = {p.name: p for p in programme.default().reward("LOTTERY").prizes}  # type: ignore[union-attr]
    won = sum(prizes[n].points for n in draw["prizes"])
    assert points() == start - 400 - 500 + won  # the prize points once, though asked twice
    assert templates().count("NEW-148-20") == 1 + 1 + sum(1 for n in draw["prizes"] if prizes[n].coupon)

    pay = f"{base}/points-payments"
    have = points()
    first = client.post(pay, json={"order_no": "POS-77", "amount": "300.00", "points": 200}, headers=w).json()
    assert (first["off"], first["replayed"], first["available"]) == (2.0, False, have - 200)
    assert client.post(pay, json={"order_no": "POS-77", "amount": "300.00", "points": 200}, headers=w).json()["replayed"]
    assert client.post(pay, json={"order_no": "POS-77", "amount": "300.00", "points": 300}, headers=w).status_code == 409
    over = client.post(pay, json={"order_no": "POS-78", "amount": "300.00", "points": 20000}, headers=w)
    assert over.status_code == 409 and "50%" in over.json()["error"]
    odd = client.post(pay, json={"order_no": "POS-79", "amount": "300.00", "points": 150}, headers=w)
    assert odd.status_code == 422 and "multiple of 100" in odd.json()["error"]
    assert points() == have - 200

    # Birthday (December) and monthly coupons: once per occasion, however often the daily run runs.
    with rt.db.unit_of_work() as s:
        prog = versions.active(s)
        december = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
        assert coupons.issue_due(s, prog, december) == coupons.issue_due(s, prog, december)
    got = templates()
    assert got.count("BDAY-50") == 1 and got.count("BDAY-GIFT") == 1 and got.count("MONTH-10") == 2  # Nov and Dec


def test_member_price_and_pricing_identities(rt, tmp_path: Path, at_now) -> None:  # type: ignore[no-untyped-def]
    """A member pays the lowest price they are entitled to: list, their tier's member price, or an
    identity granted to them (employee, friends and family) while it is valid and not revoked."""
    from siyu.core.errors import InvalidInput
    from siyu.loyalty import pricing, versions
    from siyu.models import Member

    keys = _brand(rt, tmp_path)
    client = TestClient(create_app(rt))
    price = "/api/v1/loyalty/members/{}/price?amount=299.00"
    gold = client.get(price.format("LT0000000001"), headers=_h(keys["read"])).json()
    assert (gold["pays"], gold["basis"], gold["label"]) == (293.02, "member_price", "黄金会员价")  # 98 %
    plain = client.get(price.format("LT0000000003"), headers=_h(keys["read"])).json()
    assert (plain["pays"], plain["basis"]) == (299.0, "list")
    assert client.get(price.format("LT0000000003").replace("299.00", "abc"), headers=_h(keys["read"])).status_code == 422
    with rt.db.unit_of_work() as s:
        prog = versions.active(s)
        c = s.scalar(select(Member.id).where(Member.card_no == "LT0000000003"))
        assert pricing.grant(s, prog, c, "family", by="店长 李娜", valid_until=NOW + timedelta(days=30))
        assert not pricing.grant(s, prog, c, "family", by="店长 李娜")  # already held
        with pytest.raises(InvalidInput, match="not in the programme"):
            pricing.grant(s, prog, c, "vip", by="店长 李娜")
    family = client.get(price.format("LT0000000003"), headers=_h(keys["read"])).json()
    assert (family["pays"], family["basis"], family["identities"]) == (254.15, "family", ["family"])  # 85 %
    at_now[0] = NOW + timedelta(days=31)  # expired
    assert client.get(price.format("LT0000000003"), headers=_h(keys["read"])).json()["basis"] == "list"
    with rt.db.unit_of_work() as s:
        assert pricing.grant(s, versions.active(s), c, "employee", by="HR 张伟")
    assert client.get(price.format("LT0000000003"), headers=_h(keys["read"])).json()["pays"] == 209.3  # 70 %
    with rt.db.unit_of_work() as s:
        assert pricing.revoke(s, c, "employee") and not pricing.revoke(s, c, "employee")
    assert client.get(price.format("LT0000000003"), headers=_h(keys["read"])).json()["basis"] == "list"


def test_identity_prices_keep_their_limits(rt, tmp_path: Path, at_now) -> None:  # type: ignore[no-untyped-def]
    """员工价 is limited to 10 orders and ¥5,000 at list price a calendar month (the default programme).
    Each checkout records the price it gave, once per order; beyond a limit the member pays the next best
    price and is told why; a cancelled order gives its use back; a new month starts afresh."""
    from siyu.loyalty import pricing, versions
    from siyu.models import Member

    keys = _brand(rt, tmp_path)
    client = TestClient(create_app(rt))
    w, r = _h(keys["write"]), _h(keys["read"])
    card = "LT0000000003"  # 普通会员: list price, no member price
    with rt.db.unit_of_work() as s:
        assert pricing.grant(s, versions.active(s), s.scalar(select(Member.id).where(Member.card_no == card)),
                             "employee", by="HR 张伟")

    def buy(order: str, amount: str):  # type: ignore[no-untyped-def]
        return client.post(f"/api/v1/loyalty/members/{card}/price-uses", json={"order_no": order, "amount": amount},
                           headers=w)

    def quote(amount: str) -> dict:  # type: ignore[type-arg]
        return client.get(f"/api/v1/loyalty/members/{card}/price?amount={amount}", headers=r).json()

    fresh = quote("100.00")
    assert fresh["allowances"][0] | {"resets_at": None} == {
        "identity": "employee", "label": "员工价", "period": "month", "orders_used": 0, "orders_left": 10,
        "amount_used": 0.0, "amount_left": 5000.0, "resets_at": None}
    assert fresh["allowances"][0]["resets_at"].startswith("2026-11-30T16:00:00")  # 1 December, Beijing
    first = buy("E-1", "299.00").json()
    assert (first["pays"], first["basis"], first["replayed"]) == (209.3, "employee", False)
    assert buy("E-1", "299.00").json() | {"replayed": False} == first | {"limited": []}  # a retry: the same
    assert buy("E-1", "399.00").status_code == 409  # the same order, another amount
    assert buy(" ", "10.00").status_code == 422 and buy("E-x", "abc").status_code == 422
    for i in range(2, 11):
        assert buy(f"E-{i}", "10.00").json()["basis"] == "employee"
    assert quote("10.00")["allowances"][0]["orders_left"] == 0
    eleventh = buy("E-11", "10.00").json()
    assert (eleventh["basis"], eleventh["pays"]) == ("list", 10.0)
    assert eleventh["limited"] == [{"identity": "employee", "label": "员工价",
                                    "reason": "员工价: 10 orders used this month, the limit"}]
    # E-2 is cancelled: its order counts no more, and the next checkout has the price again
    cancel = client.post(f"/api/v1/loyalty/members/{card}/price-uses/E-2/cancel", headers=w)
    assert cancel.json() == {"order": "E-2", "cancelled": True, "replayed": False}
    assert client.post(f"/api/v1/loyalty/members/{card}/price-uses/E-2/cancel", headers=w).json()["replayed"]
    assert client.post(f"/api/v1/loyalty/members/{card}/price-uses/E-99/cancel", headers=w).status_code == 404
    assert buy("E-2", "10.00").status_code == 409  # a cancelled order is not priced again
    # used: 299 + 8 × 10 at 员工价 (E-11 paid the list price) → ¥4,621 left at list price
    assert quote("10.00")["allowances"][0]["amount_left"] == 4621.0
    big = buy("E-12", "4621.01").json()
    assert big["basis"] == "list" and "¥4,621.00 left this month" in big["limited"][0]["reason"]
    assert buy("E-13", "4621.00").json()["basis"] == "employee"  # exactly what is left
    assert quote("1.00")["limited"][0]["reason"] == "员工价: 10 orders used this month, the limit"
    at_now[0] = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # 1 December 00:00 in Beijing: a new month
    assert quote("1.00")["basis"] == "employee" and quote("1.00")["allowances"][0]["orders_used"] == 0


def test_referrer_is_set_once_without_loops(rt, tmp_path: Path, at_now) -> None:  # type: ignore[no-untyped-def]
    keys = _brand(rt, tmp_path)
    client = TestClient(create_app(rt))
    w = _h(keys["write"])

    def refer(card: str, referrer: str):  # type: ignore[no-untyped-def]
        return client.post(f"/api/v1/loyalty/members/{card}/referrer", json={"referrer": referrer}, headers=w)

    first = refer("LT0000000003", "LT0000000001")
    assert first.status_code == 200 and first.json()["replayed"] is False
    assert refer("LT0000000003", "LT0000000001").json()["replayed"] is True
    assert "no loops" in refer("LT0000000001", "LT0000000003").json()["error"]
    assert "themself" in refer("LT0000000001", "LT0000000001").json()["error"]
    assert refer("LT0000000001", "NOPE").status_code == 404
    assert client.post("/api/v1/loyalty/members/LT0000000003/referrer", json={"referrer": "LT0000000001"},
                       headers=_h(keys["read"])).status_code == 403
