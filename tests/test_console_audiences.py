"""The console's tag catalogue, audience builder and member 360 page, over HTTP, against the demo brand:
the figures shown equal the tag store's and the database's, marks and notes are kept once, and a note's
keyword becomes a tag at the next run."""

from __future__ import annotations

import csv
import io
import re

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from conftest import WITH_PERSON
from siyu.bootstrap import Runtime
from siyu.console.app import create_app
from siyu.core.clock import SHANGHAI, now
from siyu.lake.service import export_lake
from siyu.models import Event, ManualTag, Order, Profile, ProfilePerson
from siyu.tags.service import compute_tags, read_catalogue
from test_console import login


@pytest.fixture
def client(demo_rt: Runtime) -> TestClient:
    c = TestClient(create_app(demo_rt))
    login(c)
    return c


def _tag_rows(demo_rt: Runtime) -> dict[tuple[str, str], set[int]]:
    out: dict[tuple[str, str], set[int]] = {}
    for r in pq.read_table(demo_rt.settings.tagstore_dir / "person_tags.parquet").to_pylist():
        out.setdefault((r["tag"], r["value"]), set()).add(r["person_id"])
    return out


def test_the_catalogue_shows_every_value_with_its_coverage(client: TestClient, demo_rt: Runtime) -> None:
    page = client.get("/tags").text
    rows = read_catalogue(demo_rt.settings.tagstore_dir)
    shown = {}
    for section in re.findall(r'<section class="tagcard" data-tag="([^"]+)">([\s\S]*?)</section>', page):
        for value, members in re.findall(r'<tr data-value="([^"]*)" data-members="(\d+)">', section[1]):
            shown[(section[0], value.replace("&amp;", "&"))] = int(members)
    assert shown == {(r["tag"], r["value"]): r["members"] for r in rows}
    assert len({t for t, _ in shown}) >= 60
    rfm = client.get("/tags", params={"dimension": "rfm"}).text
    assert 'data-tag="RFM分层"' in rfm and 'data-tag="会员等级"' not in rfm


def test_the_builder_counts_live_and_samples_members_of_the_audience(client: TestClient, demo_rt: Runtime) -> None:
    rows = _tag_rows(demo_rt)
    got = client.get("/api/audiences/count", params={"q": "会员等级 in (黄金, 钻石) and not RFM分层 = 一般挽留客户",
                                                       "sample": 15}).json()
    want = (rows.get(("会员等级", "黄金"), set()) | rows.get(("会员等级", "钻石"), set())) - rows.get(
        ("RFM分层", "一般挽留客户"), set())
    assert got["count"] == len(want) > 0
    assert got["text"] == "会员等级 in (黄金, 钻石) and not RFM分层 in (一般挽留客户)"
    assert len(got["sample"]) == 15 and {s["person_id"] for s in got["sample"]} <= want
    assert all(s["tier"] in ("黄金", "钻石") for s in got["sample"])
    bad = client.get("/api/audiences/count", params={"q": "会员等级 in (黄金"})
    assert bad.status_code == 422 and "expected )" in bad.json()["error"]
    assert client.get("/api/audiences/count", params={"q": "nope = 1"}).json()["error"] == "audience: no tag named 'nope'"
    page = client.get("/audiences", params={"q": "会员等级 = 王者"}).text
    assert 'id="expr"' in page and "会员等级 = 王者" in page
    # 人找货: the occasions of the whole year are always in season; their counts are the builder's
    month = now().astimezone(SHANGHAI).month
    shown = int(re.search(r'data-occasion="生日月礼遇" data-count="(\d+)"', page).group(1))  # type: ignore[union-attr]
    assert shown == client.get("/api/audiences/count", params={"q": f"生日月 = {month}月 and 会员身份 = 会员"}).json()["count"]


def test_saving_freezing_and_exporting_from_the_console(client: TestClient, demo_rt: Runtime) -> None:
    r = client.post("/audiences", data={"name": "高价值黄金", "expression": "会员等级 = 黄金 and points > 100",
                                        "kind": "snapshot"}, follow_redirects=False)
    assert r.status_code == 303 and "saved=" in r.headers["location"]
    again = client.post("/audiences", data={"name": "高价值黄金", "expression": "会员等级 = 黄金", "kind": "dynamic"})
    assert "already exists" in again.text
    client.post("/audiences/高价值黄金/freeze")
    page = client.get("/audiences").text
    row = re.search(r'<tr data-name="高价值黄金">([\s\S]*?)</tr>', page).group(1)  # type: ignore[union-attr]
    assert "<td>2</td>" in row  # two snapshot versions
    exported = client.get("/audiences/export", params={"q": "会员等级 = 黄金", "format": "csv"})
    assert exported.status_code == 200
    lines = list(csv.reader(io.StringIO(exported.text)))
    count = client.get("/api/audiences/count", params={"q": "会员等级 = 黄金", "sample": 0}).json()["count"]
    assert len(lines) - 1 == count
    assert client.get("/audiences/export", params={"q": "会员等级 = 黄金", "format": "pdf"}).status_code == 422


def test_member_360_marks_notes_orders_and_timeline(client: TestClient, demo_rt: Runtime) -> None:
    with demo_rt.db.read_only() as s:  # a member who bought in a channel, not marked by another test
        person = s.scalar(select(ProfilePerson.person_id).select_from(WITH_PERSON)
                          .join(Order, Order.profile_id == Profile.id)
                          .where(Profile.registered_at.is_not(None),
                                 ProfilePerson.person_id.not_in(select(ManualTag.person_id)))
                          .order_by(ProfilePerson.person_id).limit(1))
        orders = s.scalar(select(func.count()).select_from(Order)
                          .join(ProfilePerson, ProfilePerson.profile_id == Order.profile_id)
                          .where(ProfilePerson.person_id == person))
    page = client.get(f"/persons/{person}").text
    assert page.count("<tr><td>") >= orders
    assert len(re.findall(r'<li data-kind="order">', page)) == orders
    assert 'id="person-tags"' in page and 'data-tag="会员等级"' in page
    marks_before = len(re.findall(r'<li data-kind="mark">', page))  # other tests of this brand mark people too

    client.post(f"/persons/{person}/marks", data={"tag": "导购标记", "value": "意向客户", "reason": "试穿两次"})
    client.post(f"/persons/{person}/marks", data={"tag": "导购标记", "value": "意向客户"})  # a second click
    refused = client.post(f"/persons/{person}/marks", data={"tag": "会员等级", "value": "王者"})
    assert "not a manual tag" in refused.text
    key = "k-" + str(person)
    for _ in range(2):  # the same form sent twice
        client.post(f"/persons/{person}/notes", data={"text": "她说最近怀孕了，想要软底鞋", "key": key})
    with demo_rt.db.read_only() as s:
        assert s.scalar(select(func.count()).select_from(ManualTag).where(
            ManualTag.person_id == person, ManualTag.value == "意向客户", ManualTag.removed_at.is_(None))) == 1
        assert s.scalar(select(func.count()).select_from(Event).where(Event.message_id == f"note-{key}")) == 1
    page = client.get(f"/persons/{person}").text
    assert re.search(r'data-tag="导购标记" data-value="意向客户" class="manual">[\s\S]*?ops[\s\S]*?试穿两次', page)

    with demo_rt.db.unit_of_work() as s:  # the next tag run reads the note
        export_lake(s, demo_rt.settings.lake_dir)
    compute_tags(demo_rt.settings.lake_dir, demo_rt.settings.tagstore_dir, now())
    page = client.get(f"/persons/{person}").text
    assert re.search(r'data-tag="关注点" data-value="孕期"[\s\S]*?怀孕', page)
    assert client.get("/api/audiences/count", params={"q": "导购标记 = 意向客户 and 关注点 = 孕期", "sample": 5}
                      ).json()["sample"][0]["person_id"] == person
    client.post(f"/persons/{person}/marks/remove", data={"tag": "导购标记", "value": "意向客户"})
    page = client.get(f"/persons/{person}").text
    assert 'data-value="意向客户" class="manual"' not in page
    assert len(re.findall(r'<li data-kind="mark">', page)) == marks_before + 2  # set, then removed
