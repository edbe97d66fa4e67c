"""The console in a real browser (Debian's Chromium, headless, driven by Playwright): log in, filter the
dashboard by date, read its figures and check them against figures computed independently from the
generated files; switch to English. Screenshots go to test-artifacts/."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import IN_CI, PASSWORD, serving
from independent import compute
from siyu.bootstrap import Runtime
from siyu.console.app import create_app
from test_console import assert_person_figures

pytestmark = pytest.mark.browser
CHROMIUM = os.environ.get("SIYU_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
START, END = date(2025, 1, 1), date(2025, 12, 31)


@pytest.fixture(scope="module")
def server(demo_rt: Runtime) -> Iterator[str]:
    with serving(create_app(demo_rt)) as url:
        yield url


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        if IN_CI:
            raise RuntimeError(f"CI=true but Chromium is missing at {CHROMIUM}")
        pytest.skip("Chromium not installed (apt install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                              args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"])
        yield b
        b.close()


def kpis(page) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {el.get_attribute("data-kpi"): el.get_attribute("data-value") for el in page.query_selector_all("[data-kpi]")}


def test_dashboard_in_a_real_browser(server: str, browser, demo_rt: Runtime) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    page.goto(server + "/")
    assert "/login" in page.url
    page.fill("input[name=username]", "ops")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-kpi=members]")
    assert page.inner_text("h1") == "经营看板"

    page.fill("#start", START.isoformat())
    page.fill("#end", END.isoformat())
    page.click("form.range button")
    page.wait_for_selector(f"section.kpis[data-start='{START.isoformat()}']")
    page.wait_for_function("document.querySelectorAll('#chart-months canvas').length > 0")
    got = kpis(page)
    want = compute(demo_rt.settings.home / "brand", START, END)
    assert Decimal(got["gmv"]) * 100 == want.gmv_fen
    assert Decimal(got["aov"]) == (Decimal(want.gmv_fen) / want.sales / 100).quantize(Decimal("0.01"))
    shown_gmv = page.inner_text("[data-kpi=gmv]")
    assert shown_gmv == f"¥{want.gmv_fen // 100:,}.{want.gmv_fen % 100:02d}"
    # Charts drew from the same figures: one canvas per chart.
    for chart in ("chart-channels", "chart-tiers", "chart-months"):
        assert page.query_selector(f"#{chart} canvas") is not None
    api = page.request.get(server + f"/api/dashboard?start={START}&end={END}").json()
    assert int(got["members"]) == api["members"]
    assert_person_figures({**api, "member_share": float(got["member_share"]),
                           "repurchase_rate": float(got["repurchase_rate"])}, want)
    page.screenshot(path=str(ARTIFACTS / "dashboard-zh.png"), full_page=True)

    page.click("#lang-switch")
    page.wait_for_selector("text=Repurchase rate")
    assert page.inner_text("h1") == "Dashboard"
    page.screenshot(path=str(ARTIFACTS / "dashboard-en.png"), full_page=True)
    page.close()


def _login(page, server: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(server + "/login")
    page.fill("input[name=username]", "ops")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(server + "/")


def test_tags_audiences_and_member_360_in_a_real_browser(server: str, browser, demo_rt: Runtime) -> None:  # type: ignore[no-untyped-def]
    import pyarrow.parquet as pq

    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    _login(page, server)
    page.click("#nav-tags")
    page.wait_for_selector("section.tagcard[data-tag='RFM分层']")
    assert page.inner_text("h1") == "标签目录"
    page.screenshot(path=str(ARTIFACTS / "tags-zh.png"))

    # The builder counts while the operator types, and the count is the tag store's.
    rows = pq.read_table(demo_rt.settings.tagstore_dir / "person_tags.parquet").to_pylist()
    gold = {r["person_id"] for r in rows if r["tag"] == "会员等级" and r["value"] == "黄金"}
    lost = {r["person_id"] for r in rows if r["tag"] == "活跃状态" and r["value"] == "流失"}
    page.click("#nav-audiences")
    page.type("#expr", "会员等级 = 黄金", delay=20)
    page.wait_for_function(f"document.getElementById('count').dataset.count === '{len(gold)}'")
    page.type("#expr", " and not 活跃状态 = 流失", delay=20)
    page.wait_for_function(f"document.getElementById('count').dataset.count === '{len(gold - lost)}'")
    sample = [int(a.inner_text()) for a in page.query_selector_all("#sample tbody a")]
    assert sample and set(sample) <= gold - lost
    page.type("#expr", " and (", delay=20)
    page.wait_for_selector("#expr-error:not([hidden])")
    assert "audience:" in page.inner_text("#expr-error")
    page.fill("#expr", "会员等级 = 黄金 and not 活跃状态 = 流失")
    page.wait_for_function(f"document.getElementById('count').dataset.count === '{len(gold - lost)}'")
    page.fill("input[name=name]", "黄金在购")
    page.click("#save-form button[type=submit]")
    page.wait_for_selector("tr[data-name='黄金在购']")
    page.screenshot(path=str(ARTIFACTS / "audiences-zh.png"), full_page=True)

    # A sample member's 360 page: tags with their reasons; a manual mark set from the page.
    person = sample[0]
    page.goto(server + f"/persons/{person}")
    page.wait_for_selector("#person-tags tr[data-tag='会员等级'][data-value='黄金']")
    page.select_option("#mark-form select[name=value]", "重点维护")
    page.click("#mark-form button[type=submit]")
    page.wait_for_selector("#person-tags tr.manual[data-tag='导购标记'][data-value='重点维护']")
    assert page.query_selector_all("#timeline li[data-kind='order']")
    page.screenshot(path=str(ARTIFACTS / "member-360-zh.png"), full_page=True)
    page.click("#lang-switch")
    page.wait_for_selector("text=Tags and why")
    page.close()
