"""Shared fixtures: real databases (SQLite always, PostgreSQL when reachable, required in CI) and
small generated brands.

PostgreSQL: each test session creates its own database on the local server and drops it afterwards;
tables are emptied between tests. Set ``SIYU_TEST_PG_URL`` to point at another server.
"""

from __future__ import annotations

import base64
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from siyu.accounts.service import create_user
from siyu.bootstrap import Runtime, start
from siyu.cli.demo import prepare_demo
from siyu.core.config import Settings
from siyu.models import Base, Profile, ProfilePerson
from siyu.synth.generate import DEFAULT_END, generate

# Every profile with its person (null where it has none yet): the person is kept in ``profile_persons``.
WITH_PERSON = Profile.__table__.outerjoin(ProfilePerson.__table__, ProfilePerson.profile_id == Profile.id)


@contextmanager
def serving(app: object) -> Iterator[str]:
    """``app`` served by a real Uvicorn on a free loopback port, in a thread; yields its base URL."""
    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))  # type: ignore[arg-type]
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(10)


IN_CI = os.environ.get("CI", "").lower() == "true"
PG_ADMIN_URL = os.environ.get("SIYU_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
TEST_KEY = base64.b64encode(b"k" * 32).decode()


def _pg_server() -> str | None:
    import psycopg

    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return PG_ADMIN_URL
    except psycopg.OperationalError as exc:
        if IN_CI:
            raise RuntimeError(f"CI=true but PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}") from exc
        return None


@contextmanager
def new_pg_database(prefix: str = "siyu_test") -> Iterator[str]:
    """A new, empty PostgreSQL database on the local server, dropped afterwards (skips if unreachable)."""
    import psycopg

    admin = _pg_server()
    if admin is None:
        pytest.skip("PostgreSQL not reachable (required when CI=true)")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{admin.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    with new_pg_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'siyu.db'}"
    return request.getfixturevalue("pg_url")


# order_items has no row-level foreign keys (models.orders.OrderItem): the importer must leave no orphan
ORPHANS = """SELECT 'order', i.id FROM order_items i LEFT JOIN orders o ON o.id = i.order_id WHERE o.id IS NULL
 UNION ALL SELECT 'sku', i.id FROM order_items i LEFT JOIN skus k ON k.id = i.sku_id
 WHERE i.sku_id IS NOT NULL AND k.id IS NULL"""


def make_settings(home: Path, db_url: str | None = None, **extra: object) -> Settings:
    return Settings(home=home, database_url=db_url, secret_key=TEST_KEY, _env_file=None, **extra)  # type: ignore[call-arg]


def _empty(rt: Runtime) -> None:
    if rt.db.dialect != "postgresql":
        return
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with rt.db.engine.begin() as con:
        con.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
def rt(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    """A migrated, empty database on each engine, with its own SIYU_HOME."""
    runtime = start(make_settings(tmp_path / "home", db_url))
    _empty(runtime)
    yield runtime
    _empty(runtime)
    runtime.db.dispose()


@pytest.fixture
def sqlite_rt(tmp_path: Path) -> Iterator[Runtime]:
    runtime = start(make_settings(tmp_path / "home", f"sqlite:///{tmp_path / 'siyu.db'}"))
    yield runtime
    runtime.db.dispose()


@pytest.fixture(scope="session")
def small_brand(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1,500-member brand (seed 11), generated once per session."""
    out = tmp_path_factory.mktemp("brand") / "brand"
    generate(1500, 11, out, DEFAULT_END)
    return out


@pytest.fixture(scope="session")
def brand3k(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3,000-member brand (seed 23): 4,462 records for the masked-phone model, which needs 2,000."""
    out = tmp_path_factory.mktemp("brand3k") / "brand"
    generate(3000, 23, out, DEFAULT_END)
    return out


PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def demo_rt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """A small demo brand prepared end to end exactly as ``siyu demo`` does (SQLite, 1,500 members)."""
    home = tmp_path_factory.mktemp("demo")
    rt = start(make_settings(home, f"sqlite:///{home / 'siyu.db'}"))
    prepare_demo(rt, 1500, 11)
    with rt.db.unit_of_work() as s:
        create_user(s, "ops", PASSWORD)
    yield rt
    rt.db.dispose()




@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    """A local Spark session for the parity tests (a Java runtime is required in CI)."""
    import shutil

    from siyu.analytics.tables import spark_session

    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true: Spark needs a Java runtime (java on PATH or JAVA_HOME)")
        pytest.skip("no Java runtime for Spark")
    with spark_session(partitions=4) as session:
        yield session


@contextmanager
def frozen_clock(start: datetime) -> Iterator[list[datetime]]:
    """Siyu's clock held at ``t[0]`` (a test moves it by assigning), the real clock back afterwards."""
    from siyu.core import clock

    t = [start]
    clock.set_clock(lambda: t[0])
    try:
        yield t
    finally:
        clock.set_clock(lambda: datetime.now(UTC))
