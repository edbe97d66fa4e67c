"""The console: login, language, dashboard figures (HTTP API and page) against the independent figures."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conftest import PASSWORD, make_settings
from independent import compute
from siyu.accounts.service import create_user
from siyu.bootstrap import Runtime, start
from siyu.console.app import create_app

START, END = date(2025, 1, 1), date(2025, 12, 31)


@pytest.fixture
def client(demo_rt: Runtime) -> TestClient:
    return TestClient(create_app(demo_rt))


def login(client: TestClient) -> None:
    r = client.post("/login", data={"username": "ops", "password": PASSWORD, "next": "/"}, follow_redirects=False)
    assert r.status_code == 303


def test_login_required_and_wrong_password(client: TestClient) -> None:
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert client.get("/api/dashboard").status_code == 401
    r = client.post("/login", data={"username": "ops", "password": "nope"})
    assert r.status_code == 401 and "用户名或密码错误" in r.text
    r = client.post("/login", data={"username": "ops", "password": PASSWORD, "next": "//evil.example"},
                    follow_redirects=False)
    assert r.headers["location"] == "/"


def test_language_switch(client: TestClient) -> None:
    login(client)
    assert "经营看板" in client.get("/").text
    client.get("/lang/en")
    page = client.get("/").text
    assert "Dashboard" in page and "Repurchase rate" in page


def test_dashboard_api_matches_independent_figures(client: TestClient, demo_rt: Runtime) -> None:
    login(client)
    got = client.get("/api/dashboard", params={"start": START.isoformat(), "end": END.isoformat()}).json()
    want = compute(demo_rt.settings.home / "brand", START, END)
    # Order figures need no identity resolution: exact.
    assert got["sales"] == want.sales
    assert Decimal(got["gmv"]) * 100 == want.gmv_fen
    assert Decimal(got["aov"]) == (Decimal(want.gmv_fen) / want.sales / 100).quantize(Decimal("0.01"))
    assert {c["code"]: int(Decimal(c["gmv"]) * 100) for c in got["channels"]} == want.channel_gmv
    assert {m["month"]: int(Decimal(m["gmv"]) * 100) for m in got["months"]} == want.month_gmv
    assert_person_figures(got, want)


def assert_person_figures(got: dict, want) -> None:  # type: ignore[no-untyped-def]
    """Person figures rest on OneID. Its first pass joins only on exact shared identifiers and never on
    a dirty one, so it mostly under-merges: a person split in two counts twice as a buyer, and their
    platform orders are not yet known to be a member's. A few family phones over-merge. Hence bounds,
    not equality; the member-share gap is what probabilistic linkage (the OneID issue) closes."""
    assert abs(got["members"] - want.members) <= 0.02 * want.members
    assert sum(t["members"] for t in got["tiers"]) == got["members"]
    assert got["buyers"] >= 0.98 * want.buyers
    truth_share = want.member_gmv_fen / want.gmv_fen
    assert 0.5 * truth_share < got["member_share"] <= truth_share * 1.02
    assert got["repurchase_rate"] <= want.repeat_buyers / want.buyers + 0.02


def test_bad_date_is_a_clear_error(client: TestClient) -> None:
    login(client)
    r = client.get("/api/dashboard", params={"start": "2025-13-01"})
    assert r.status_code == 422 and "start" in r.json()["error"]
    r = client.get("/api/dashboard", params={"start": "2025-02-01", "end": "2025-01-01"})
    assert r.status_code == 422


def test_empty_installation_shows_an_empty_dashboard(tmp_path: Path) -> None:
    rt = start(make_settings(tmp_path, f"sqlite:///{tmp_path / 'siyu.db'}"))
    with rt.db.unit_of_work() as s:
        create_user(s, "ops", PASSWORD)
    c = TestClient(create_app(rt))
    login(c)
    r = c.get("/")
    assert r.status_code == 200 and "暂无数据" in r.text
