"""The official Segment library (segment-analytics-python) pointed at a running Siyu: every event it
sends lands exactly once, also when the same messages are sent again."""

from __future__ import annotations

import logging

from sqlalchemy import func, select

from conftest import serving
from siyu.accounts.api_keys import create_api_key
from siyu.bootstrap import Runtime
from siyu.console.app import create_app
from siyu.models import Event, Profile


def test_official_segment_client(sqlite_rt: Runtime) -> None:
    from segment.analytics.client import Client
    from segment.analytics.request import post

    rt = sqlite_rt
    with rt.db.unit_of_work() as s:
        _, key = create_api_key(s, "segment", ["events:write"])
    errors: list[object] = []
    sent: list[dict] = []  # type: ignore[type-arg]
    with serving(create_app(rt)) as url:
        client = Client(write_key=key, host=url, gzip=True, upload_size=40, max_retries=2,
                        on_error=lambda e, batch: errors.append(e))
        for i in range(300):
            user, anon = f"user-{i % 37}", f"anon-{i % 53}"
            kind = i % 5
            if kind == 0:
                ok, msg = client.identify(user, {"plan": "gold", "phone": f"139{i:08d}"}, anonymous_id=anon)
            elif kind == 1:
                ok, msg = client.page(user, "商城", "商品详情", {"url": f"https://shop.example/p/{i}"})
            elif kind == 2:
                ok, msg = client.alias(anon, user)
            else:
                ok, msg = client.track(user, "Product Viewed", {"sku": f"SKU-{i}", "price": 199.0})
            assert ok
            sent.append(msg)
        client.flush()
        client.join()
        # The same messages again (a client that lost the answers and retried), through the library's
        # own upload function: nothing new.
        for start in (0, 60):
            post(key, host=url, gzip=True, batch=sent[start:start + 60])
        bad = Client(write_key="sy_not_a_key", host=url, max_retries=0, on_error=lambda e, b: errors.append(e))
        bad.track("user-1", "Nope")
        bad.flush()
        bad.join()
    logging.getLogger("segment").setLevel(logging.WARNING)
    assert len(errors) == 1 and getattr(errors[0], "status", None) == 401
    with rt.db.read_only() as s:
        stored = set(s.scalars(select(Event.message_id)))
        assert s.scalar(select(func.count()).select_from(Event)) == len(sent)
        assert stored == {m["messageId"] for m in sent}
        assert s.scalar(select(func.count()).select_from(Profile).where(Profile.external_id.like("u:%"))) == 37
