"""A migrated, empty database for a loyalty benchmark: SQLite under ``home``, or the PostgreSQL database
at ``pg_url`` with every Siyu table emptied first. Used by bench_accrual.py and bench_recompute.py."""

from __future__ import annotations

from pathlib import Path


def fresh_runtime(home: Path, pg_url: str | None):  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    from siyu.bootstrap import start
    from siyu.core.config import Settings
    from siyu.models import Base

    rt = start(Settings(home=home, database_url=pg_url or f"sqlite:///{home / 'siyu.db'}"))  # type: ignore[call-arg]
    if rt.db.dialect == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with rt.db.engine.begin() as con:
            con.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            con.execute(text("DROP TABLE IF EXISTS bench_counter"))
    return rt
