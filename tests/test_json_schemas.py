"""The published JSON Schemas describe what the canonical connectors accept: every record the generator
writes validates, and objects the schema refuses are refused by the connector too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator

from siyu.bootstrap import Runtime
from siyu.console.app import create_app
from siyu.ingest.connectors.base import FieldError
from siyu.ingest.intake import KINDS, json_schema

FILES = {"members": "miniprogram/members.jsonl", "orders": "miniprogram/orders.jsonl",
         "refunds": "miniprogram/refunds.jsonl", "events": "events/events.jsonl"}


@pytest.mark.parametrize("kind", list(FILES))
def test_generated_records_validate(kind: str, small_brand: Path) -> None:
    schema = json_schema(kind)
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    lines = (small_brand / FILES[kind]).read_text(encoding="utf-8").splitlines()
    assert lines
    for line in lines:
        errors = list(validator.iter_errors(json.loads(line)))
        assert not errors, (line[:200], errors[0].message)


def _mutations(obj: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    required = json_schema(kind)["required"]
    out = [{k: v for k, v in obj.items() if k != r} for r in required]  # each required field missing
    out += [{**obj, r: [1, 2]} for r in required]  # each required field the wrong type
    if kind == "orders":
        out.append({**obj, "items": []})
        out.append({**obj, "items": [{**obj["items"][0], "quantity": 0}]})
        out.append({**obj, "paid_amount": "12.345"})
    return out


@pytest.mark.parametrize("kind", list(FILES))
def test_what_the_schema_refuses_the_connector_refuses(kind: str, small_brand: Path) -> None:
    validator = Draft202012Validator(json_schema(kind))
    connector = KINDS[kind][0]
    first = json.loads((small_brand / FILES[kind]).read_text(encoding="utf-8").splitlines()[0])
    for bad in _mutations(first, kind):
        assert list(validator.iter_errors(bad)), bad
        with pytest.raises(FieldError):
            connector.record(bad)


def test_schemas_are_served(sqlite_rt: Runtime) -> None:
    client = TestClient(create_app(sqlite_rt))
    r = client.get("/api/v1/schemas/orders.json")
    assert r.status_code == 200 and r.json()["$id"].endswith("order.schema.json")
    assert client.get("/api/v1/schemas/coupons.json").status_code == 404
