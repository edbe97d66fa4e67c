"""The ingestion API over HTTP: API keys and scopes, REST batches with per-record results, and the
Segment-compatible tracking API (gzip, messageId de-duplication, identify / alias)."""

from __future__ import annotations

import gzip
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from siyu.accounts.api_keys import create_api_key, revoke_api_key
from siyu.bootstrap import Runtime
from siyu.console.app import create_app
from siyu.models import Event, Identity, Order, Profile, ProfileIdentity, Refund

OPENID = "oAbCdEfGhIjKlMnOpQrStUv01"


def _key(rt: Runtime, *scopes: str) -> tuple[int, str]:
    with rt.db.unit_of_work() as s:
        read, key = create_api_key(s, "test", list(scopes))
    return read.id, key


def _order(no: str, paid: str = "199.00", **extra: Any) -> dict[str, Any]:
    return {"order_no": no, "openid": OPENID, "status": "paid", "created_at": "2025-06-01 10:00:00",
            "paid_at": "2025-06-01 10:01:00", "total_amount": paid, "paid_amount": paid,
            "items": [{"line_no": 1, "quantity": 1, "unit_price": paid, "paid_amount": paid, "sku_code": "S1"}],
            **extra}


def _count(rt: Runtime, model: Any) -> int:
    with rt.db.read_only() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_keys_and_scopes(rt: Runtime) -> None:
    client = TestClient(create_app(rt))
    key_id, key = _key(rt, "events:write")
    body = {"records": [_order("A1")]}
    assert client.post("/api/v1/orders/batch", json=body).status_code == 401
    r = client.post("/api/v1/orders/batch", json=body, headers={"Authorization": "Bearer sy_wrong"})
    assert r.status_code == 401 and "unknown or revoked" in r.json()["error"]
    r = client.post("/api/v1/orders/batch", json=body, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 403 and "orders:write" in r.json()["error"]
    assert client.post("/api/v1/coupons/batch", json=body, headers={"Authorization": f"Bearer {key}"}).status_code == 404
    with rt.db.unit_of_work() as s:
        revoke_api_key(s, key_id)
    r = client.post("/api/v1/events/batch", json={"records": []}, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 401
    assert _count(rt, Order) == 0


def test_rest_batches_answer_per_record_and_are_idempotent(rt: Runtime) -> None:
    client = TestClient(create_app(rt))
    _, key = _key(rt, "orders:write", "refunds:write", "members:write")
    auth = {"Authorization": f"Bearer {key}"}
    # A refund that arrives before its order waits for it.
    r = client.post("/api/v1/refunds/batch", headers=auth, json=[
        {"refund_no": "R1", "order_no": "A2", "amount": "50.00", "status": "success", "line_no": 1}])
    assert r.json()["accepted"] == 1 and _count(rt, Refund) == 1
    bad = _order("A3")
    bad["items"][0]["quantity"] = "two"
    batch = {"records": [_order("A1"), _order("A2"), bad, "not an object", _order("A4", paid="-1")]}
    r = client.post("/api/v1/orders/batch", headers=auth, json=batch)
    assert r.status_code == 200
    out = r.json()
    assert (out["accepted"], out["rejected"], out["inserted"]) == (2, 3, 2)
    by_index = {x["index"]: x for x in out["results"]}
    assert by_index[0] == {"index": 0, "status": "accepted", "id": "A1", "field": None, "value": None, "reason": None}
    assert by_index[2]["status"] == "rejected" and by_index[2]["id"] == "A3"
    assert by_index[2]["field"] == "items[0].quantity" and by_index[2]["value"] == "two"
    assert by_index[3]["field"] == "(record)"
    assert by_index[4]["field"] == "items[0].unit_price" and "negative" in by_index[4]["reason"]
    with rt.db.read_only() as s:
        a2 = s.scalar(select(Order).where(Order.external_id == "A2"))
        assert a2 is not None and a2.refunded_fen == 5000
    # The same batch again: nothing new, nothing counted twice.
    again = client.post("/api/v1/orders/batch", headers=auth, json=batch).json()
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 2)
    assert _count(rt, Order) == 2 and _count(rt, Refund) == 1
    # A later version of an order updates it.
    done = client.post("/api/v1/orders/batch", headers=auth, json=[_order("A1", status="completed")]).json()
    assert done["updated"] == 1
    m = client.post("/api/v1/members/batch", headers=auth, json=[
        {"openid": OPENID, "phone": "13912345678", "registered_at": "2025-05-01 09:00:00", "name": "王小明"},
        {"openid": "short", "phone": "1", "registered_at": "x"}]).json()
    assert (m["accepted"], m["rejected"]) == (1, 1) and m["results"][1]["field"] == "openid"
    r = client.post("/api/v1/orders/batch", headers=auth, content=b"{not json")
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]


def _segment(client: TestClient, key: str, path: str, body: Any, gz: bool = False) -> Any:
    import base64

    data = orjson.dumps(body)
    headers = {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode(),
               "Content-Type": "application/json"}
    if gz:
        data = gzip.compress(data)
        headers["Content-Encoding"] = "gzip"
    return client.post(path, content=data, headers=headers)


def test_segment_api(rt: Runtime) -> None:
    client = TestClient(create_app(rt))
    _, key = _key(rt, "events:write")
    sent = "2025-06-01T02:00:10Z"
    batch = {"sentAt": sent, "batch": [
        {"type": "page", "anonymousId": "anon-1", "name": "商品详情", "messageId": "m1",
         "timestamp": "2025-06-01T02:00:00Z", "properties": {"url": "https://shop/p/1"}},
        {"type": "track", "anonymousId": "anon-1", "event": "Product Added", "messageId": "m2",
         "originalTimestamp": "2025-06-01T02:00:05Z", "properties": {"sku": "S1"}},
        {"type": "identify", "userId": "u-42", "anonymousId": "anon-1", "messageId": "m3",
         "traits": {"phone": "139 1234 5678", "email": "Wang@Example.com", "name": "王小明", "plan": "gold"}},
        {"type": "alias", "userId": "u-42", "previousId": "anon-1", "messageId": "m4"},
        {"type": "track", "userId": "u-42", "messageId": "m5"},  # no event name
        {"type": "launch", "userId": "u-42"},
        {"type": "track", "event": "x", "messageId": "m6"},  # nobody
    ]}
    r = _segment(client, key, "/v1/batch", batch, gz=True)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["success"] is True and (out["accepted"], out["rejected"], out["inserted"]) == (4, 3, 4)
    assert {(e["index"], e["field"]) for e in out["errors"]} == {(4, "event"), (5, "type"), (6, "userId")}
    # Every retry of the same batch is ignored; a single-message endpoint works too.
    again = _segment(client, key, "/v1/batch", batch).json()
    assert (again["inserted"], again["duplicates"]) == (0, 4)
    r = _segment(client, key, "/v1/track", {"userId": "u-42", "event": "Order Completed", "messageId": "m7",
                                            "properties": {"revenue": 199}})
    assert r.status_code == 200 and r.json()["inserted"] == 1
    assert _count(rt, Event) == 5
    with rt.db.read_only() as s:
        events = {e.message_id: e for e in s.scalars(select(Event))}
        assert events["m2"].type == "Product Added"
        # No timestamp: corrected for the client's clock by originalTimestamp and sentAt.
        assert events["m3"].properties == {"plan": "gold"}  # personal traits went to the profile
        assert events["m1"].profile_id == events["m2"].profile_id
        user = s.scalar(select(Profile).where(Profile.external_id == "u:u-42"))
        kinds = set(s.scalars(select(Identity.kind).join(ProfileIdentity, ProfileIdentity.identity_id == Identity.id)
                              .where(ProfileIdentity.profile_id == user.id)))
        assert {"brand_user_id", "anonymous_id", "phone", "email"} <= kinds
    r = _segment(client, "sy_nope", "/v1/batch", batch)
    assert r.status_code == 401 and r.json()["success"] is False and r.json()["message"]
    r = client.post("/v1/batch", content=gzip.compress(b"x" * 10) + b"junk",
                    headers={"Authorization": f"Bearer {key}", "Content-Encoding": "gzip"})
    assert r.status_code == 400


@pytest.mark.parametrize("payload", [b"[]", b'{"batch": 3}', b'{"batch": [], "sentAt": "yesterday"}'])
def test_segment_bad_envelopes(sqlite_rt: Runtime, payload: bytes) -> None:
    client = TestClient(create_app(sqlite_rt))
    _, key = _key(sqlite_rt, "events:write")
    r = client.post("/v1/batch", content=payload, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 400, r.text
    assert _count(sqlite_rt, Event) == 0
