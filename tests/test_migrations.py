"""Upgrading a brand's database that already holds data: every migration applies on top of rows other
tables point at, and a programme recorded by an older Siyu still loads (its new fields take defaults)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, text

from conftest import make_settings, new_pg_database
from siyu.bootstrap import start
from siyu.loyalty import programme, versions
from siyu.migrations import upgrade

AT = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    with new_pg_database("siyu_migrate") as url:
        yield url


def _older_programme() -> str:
    """The default as an earlier Siyu recorded it: no cash rule, no coupon on rewards, no prizes, no
    birthday or monthly coupons, no pricing."""
    data = yaml.safe_load(programme.DEFAULT.read_text(encoding="utf-8"))
    del data["points"]["cash"], data["pricing"], data["coupons"]["monthly"], data["coupons"]["packs"]["birthday"]
    for r in data["rewards"]:
        r.pop("coupon", None)
        r.pop("prizes", None)
    return yaml.safe_dump(data, allow_unicode=True)


def test_upgrade_a_database_holding_data(empty_url: str, tmp_path: Path) -> None:
    upgrade(empty_url, "0009")
    engine = create_engine(empty_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as con:
        con.execute(text("INSERT INTO persons (id, created_at, updated_at) VALUES (1, :t, :t)"), {"t": AT})
        con.execute(text("INSERT INTO members (id, person_id, card_no, joined_at, tier, status, created_at, updated_at) "
                         "VALUES (1, 1, 'LT1', :t, '普通会员', 'active', :t, :t)"), {"t": AT})
        con.execute(text("INSERT INTO points_accounts (member_id, available, pending, debt, version) "
                         "VALUES (1, 120, 0, 0, 0)"))
        con.execute(text("INSERT INTO coupons (member_id, template, issue_key, issued_at, valid_until) "
                         "VALUES (1, 'NEW-148-20', 'new_member:1:0', :t, :t)"), {"t": AT})
    upgrade(empty_url, "0010")
    with engine.begin() as con:
        con.execute(text("INSERT INTO programme_versions (version, name, sha256, content, actor, recorded_at) "
                         "VALUES (2, '默认会员计划', 'x', :c, 'siyu', :t)"), {"c": _older_programme(), "t": AT})
    engine.dispose()
    rt = start(make_settings(tmp_path / "home", empty_url))  # migrates to the head
    with rt.db.read_only() as s:
        assert s.execute(text("SELECT available FROM points_accounts WHERE member_id = 1")).scalar() == 120
        assert s.execute(text("SELECT referrer_id FROM members WHERE id = 1")).one() == (None,)
        old = versions.active(s)  # the older programme loads; its rewards issue nothing they do not name
    assert old.version == 2 and old.points.cash.max_share_percent == 0 and old.reward("LOTTERY").prizes == []  # type: ignore[union-attr]
    with rt.db.unit_of_work() as s, pytest.raises(Exception, match="names the coupon template"):
        versions.record(s, _older_programme().replace("version: 2", "version: 3"), actor="ops")
    rt.db.dispose()


def test_profile_persons_move_out_of_profiles(empty_url: str, tmp_path: Path) -> None:
    """0021 moves each profile's person into ``profile_persons``; the profile rows other tables point at
    survive SQLite's rebuild of ``profiles``, and a personless profile gets no row."""
    upgrade(empty_url, "0020")
    engine = create_engine(empty_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as con:
        con.execute(text("INSERT INTO persons (id, created_at, updated_at) VALUES (7, :t, :t)"), {"t": AT})
        con.execute(text("INSERT INTO channels (id, code, name_zh, name_en, kind) VALUES (1, 'pos', '门店', 'POS', 'store')"))
        for pid, person in ((1, 7), (2, None)):
            con.execute(text("INSERT INTO profiles (id, channel_id, external_id, person_id, created_at, updated_at) "
                             "VALUES (:id, 1, :ext, :person, :t, :t)"),
                        {"id": pid, "ext": f"C{pid}", "person": person, "t": AT})
        con.execute(text("INSERT INTO identities (id, kind, bidx, created_at) VALUES (1, 'phone', 'b1', :t)"), {"t": AT})
        con.execute(text("INSERT INTO profile_identities (profile_id, identity_id, created_at) VALUES (2, 1, :t)"),
                    {"t": AT})
    engine.dispose()
    rt = start(make_settings(tmp_path / "home", empty_url))
    with rt.db.read_only() as s:
        assert s.execute(text("SELECT profile_id, person_id FROM profile_persons")).all() == [(1, 7)]
        assert s.execute(text("SELECT id, external_id FROM profiles ORDER BY id")).all() == [(1, "C1"), (2, "C2")]
        assert s.execute(text("SELECT profile_id FROM profile_identities")).all() == [(2,)]
    rt.db.dispose()


def test_migrations_build_the_models_schema(empty_url: str) -> None:
    """The tables, columns, types, indexes and keys the migrations build are the models' (Alembic's
    autogenerate comparison finds nothing to add, drop or alter)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from siyu.models import Base

    upgrade(empty_url)
    engine = create_engine(empty_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as con:
        assert compare_metadata(MigrationContext.configure(con, opts={"compare_type": True}), Base.metadata) == []
    engine.dispose()
