"""Douyin's phone search indexes: the client against a shop speaking the documented protocol, and the
orders to a learned phone joining their buyers through the real import, storage and OneID."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from itertools import combinations
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

import httpx
import pytest
from sqlalchemy import func, select

from conftest import WITH_PERSON
from siyu.cli.importer import run_import
from siyu.cli.oneid import learn_douyin_indexes
from siyu.identity.evaluation import read_truth
from siyu.identity.service import resolve_identities
from siyu.ingest.douyin_api import DouyinApiError, DouyinShopApi
from siyu.models import Channel, Identity, Order, PhoneSearchIndex, Profile, ProfilePerson, Shop
from siyu.synth.douyin_shop import DouyinShop, search_index

KEY, SECRET, SHOP = "7151238921365308935", "test-douyin-secret", "4263918"


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def shop_url() -> Iterator[tuple[DouyinShop, str, list[float]]]:
    """The simulated shop on a loopback port; its clock stands still unless the client sleeps."""
    clock = [1_764_000_000.0]
    shop = DouyinShop(KEY, SECRET, SHOP, qps=2, clock=lambda: clock[0])
    server = make_server("127.0.0.1", 0, shop, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield shop, f"http://127.0.0.1:{server.server_port}", clock
    finally:
        server.shutdown()
        thread.join(5)


def test_client_speaks_the_protocol_through_expiry_flow_limits_and_refusals(shop_url) -> None:  # type: ignore[no-untyped-def]
    shop, url, clock = shop_url
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        clock[0] += 1  # the next second: the flow limit lets calls through again

    api = DouyinShopApi(url, KEY, SECRET, SHOP, sleep=sleep)
    assert api.search_index("13912345678") == search_index("13912345678")
    assert api.search_index("13912345679") == search_index("13912345679")
    # a third call in the same second is over the limit (2 a second): waited for, then answered
    assert api.search_index("13912345680") == search_index("13912345680")
    assert slept == [0.5]
    assert shop.calls == {"token.create": 1, "order.getSearchIndex": 3}

    clock[0] += 1
    shop.expire_tokens()  # the access token expired: refreshed once, the call made again
    assert api.search_index("13912345681") == search_index("13912345681")
    assert shop.calls["token.refresh"] == 1 and shop.calls["token.create"] == 1

    clock[0] += 1
    assert api.search_index("12345") is None  # refused as a parameter: passed over, not an error
    with pytest.raises(DouyinApiError, match="isv.signature-invalid"):
        DouyinShopApi(url, KEY, "wrong-secret", SHOP).search_index("13912345678")
    with pytest.raises(DouyinApiError, match="no readable answer"):
        DouyinShopApi("http://127.0.0.1:9", KEY, SECRET, SHOP).search_index("13912345678")


def _douyin_pairs(rt, truth: dict[tuple[str, str], str]) -> tuple[set, set]:  # type: ignore[no-untyped-def,type-arg]
    """(pairs Siyu joins, pairs that are true) among the profiles of persons holding a Douyin profile."""
    with rt.db.read_only() as s:
        rows = s.execute(select(Channel.code, Profile.external_id, ProfilePerson.person_id).select_from(WITH_PERSON)
                         .join(Channel, Channel.id == Profile.channel_id)).all()
    by_person: dict[int, list[tuple[str, str]]] = {}
    for code, ext, person in rows:
        by_person.setdefault(person, []).append((code, ext))
    joined = {frozenset(p) for ks in by_person.values() if any(c == "douyin" for c, _ in ks)
              for p in combinations(ks, 2) if p[0] in truth and p[1] in truth}
    true = {p for p in joined if truth[next(iter(p))] == truth[sorted(p)[-1]]}
    return joined, true


def test_orders_to_a_learned_phone_join_their_buyer(sqlite_rt, small_brand: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rt = sqlite_rt
    run_import(rt, small_brand)
    with rt.db.unit_of_work() as s:
        resolve_identities(s, rt.vault, rt.settings)
    t = read_truth(small_brand / "_truth")
    truth = dict(zip(zip(t["channel"].to_pylist(), t["external_id"].to_pylist(), strict=True),
                     t["person"].to_pylist(), strict=True))
    joined_before, _ = _douyin_pairs(rt, truth)
    with rt.db.read_only() as s:
        douyin = select(Shop.id).join(Channel, Channel.id == Shop.channel_id).where(Channel.code == "douyin")
        orders = s.scalar(select(func.count()).select_from(Order).where(Order.shop_id.in_(douyin)))
        indexed = s.scalar(select(func.count()).select_from(Order).where(Order.receiver_phone_index.is_not(None)))
        assert indexed == orders > 100  # every Douyin order's receiver, by index
        # and by the masked name Douyin shows (张**): a surname, never a name
        masked = s.scalar(select(func.count()).select_from(Order).where(
            Order.shop_id.in_(douyin), Order.receiver_surname_bidx.is_not(None), Order.receiver_name_bidx.is_(None)))
        assert masked == orders

    shop = DouyinShop(KEY, SECRET, SHOP)
    api = DouyinShopApi("http://douyin.test", KEY, SECRET, SHOP,
                        http=httpx.Client(transport=httpx.WSGITransport(app=shop)))
    rep = learn_douyin_indexes(rt, api, batch=300)
    assert rep.learned == rep.seen > 300 and rep.orders > 0 and rep.buyers > 0
    joined_now, true_now = _douyin_pairs(rt, truth)  # resolved on arrival, batch by batch
    new = joined_now - joined_before
    # more Douyin buyers joined, as rightly as any receiver phone: a phone two people of a family share
    # (0.4 % of people here) can join the wrong one of them (1 of 100 new pairs on this brand)
    assert len(new) > 50 and len(new - true_now) <= len(new) // 50

    with rt.db.unit_of_work() as s:  # a batch run over the same data agrees
        again = resolve_identities(s, rt.vault, rt.settings)
    assert (again.moved_profiles, again.new_persons, again.merged) == (0, 0, 0)

    asked = shop.calls["order.getSearchIndex"]
    assert learn_douyin_indexes(rt, api).seen == 0 and shop.calls["order.getSearchIndex"] == asked
    with rt.db.read_only() as s:
        assert s.scalar(select(func.count()).select_from(PhoneSearchIndex)) == rep.learned
        # phones known only as other channels' receivers were asked too (a mini-program buyer who never
        # registered meets their Douyin account at the phone both send parcels to)
        own = select(Identity.bidx).where(Identity.kind == "phone")
        assert s.scalar(select(func.count()).select_from(PhoneSearchIndex)
                        .where(PhoneSearchIndex.phone_bidx.not_in(own))) > 50
    # a re-import finds every Douyin order unchanged, learned phones kept
    [r] = run_import(rt, small_brand / "douyin" / "order_searchList.jsonl")
    assert (r.inserted, r.updated, r.rejected) == (0, 0, 0)


def test_a_ciphertext_without_a_search_index_is_rejected_by_name(rt, small_brand: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page = json.loads((small_brand / "douyin" / "order_searchList.jsonl").read_text(encoding="utf-8").splitlines()[0])
    orders = page["data"]["shop_order_list"]
    orders[1]["encrypt_post_tel"] = "not-a-douyin-cipher"
    orders[2]["mask_post_addr"]["detail"] = {"text": "长江路***"}  # a structure where the street line belongs
    path = tmp_path / "douyin.jsonl"
    path.write_text(json.dumps(page, ensure_ascii=False) + "\n", encoding="utf-8")
    [r] = run_import(rt, path)
    assert (r.inserted, r.rejected) == (len(orders) - 2, 2)
    rejects = Path(r.report_path).read_text(encoding="utf-8-sig")
    assert f"({orders[1]['order_id']}),encrypt_post_tel,not-a-douyin-ciph" in rejects
    assert f"({orders[2]['order_id']}),mask_post_addr.detail," in rejects
    with rt.db.read_only() as s:  # what Douyin shows of the others: 1********35 and 长江路*** per order
        kept = s.execute(select(Order.receiver_phone_mask, Order.receiver_street_bidx)).all()
    assert all(m and m.startswith("1*") and b for m, b in kept), kept[:3]
