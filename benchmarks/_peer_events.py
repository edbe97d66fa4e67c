"""The peer for bench_events.py: the least a receiver can do with a Segment batch — parse the JSON and
insert each message (id, type, user, time, raw JSON) into SQLite with ``executemany``, skipping ids it
has seen. No validation, no profiles, no identifiers, no encryption. Run by bench_events.py only."""

from __future__ import annotations

import gzip
import os
import sqlite3
import threading

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

DB = os.environ["PEER_DB"]
_lock = threading.Lock()
_con = sqlite3.connect(DB, check_same_thread=False)
_con.execute("PRAGMA journal_mode=WAL")
_con.execute("PRAGMA synchronous=NORMAL")
_con.execute("CREATE TABLE IF NOT EXISTS events (message_id TEXT PRIMARY KEY, type TEXT, user_id TEXT, "
             "ts TEXT, body TEXT)")
app = FastAPI()


@app.post("/v1/batch")
async def batch(request: Request) -> JSONResponse:
    raw = await request.body()
    if request.headers.get("content-encoding") == "gzip":
        raw = gzip.decompress(raw)
    msgs = orjson.loads(raw)["batch"]
    rows = [(m["messageId"], m["type"], m.get("userId") or m.get("anonymousId"), m.get("timestamp"),
             orjson.dumps(m).decode()) for m in msgs]
    with _lock:
        _con.executemany("INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?, ?)", rows)
        _con.commit()
    return JSONResponse({"success": True})
