"""A process killed in the middle of an import: running the import again finishes it, and the result is
exactly what one uninterrupted import gives (nothing lost, nothing twice)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from conftest import TEST_KEY

TABLES = ("orders", "order_items", "refunds", "profiles", "identities", "profile_identities", "events",
          "products", "skus", "stores", "guides", "shops")


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "SIYU_HOME": str(home), "SIYU_SECRET_KEY": TEST_KEY, "SIYU_DATABASE_URL": ""}


def _import(home: Path, brand: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "siyu.cli.main", "import", str(brand)], env=_env(home),
                          capture_output=True, text=True, timeout=600)


def _counts(home: Path) -> dict[str, int]:
    with sqlite3.connect(home / "siyu.db") as con:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def _runs(home: Path) -> int:
    try:
        with sqlite3.connect(f"file:{home / 'siyu.db'}?mode=ro", uri=True, timeout=1) as con:
            return con.execute("SELECT count(*) FROM import_runs").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_killed_import_resumes_without_duplicates(small_brand: Path, tmp_path: Path) -> None:
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    done = _import(clean, small_brand)
    assert done.returncode == 0, done.stderr[-2000:]
    expected = _counts(clean)
    assert expected["orders"] > 1000 and expected["events"] > 0

    proc = subprocess.Popen([sys.executable, "-m", "siyu.cli.main", "import", str(small_brand)],
                            env=_env(killed), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while _runs(killed) < 6 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, "the import finished before it could be killed; the brand is too small"
    os.kill(proc.pid, signal.SIGKILL)  # no cleanup, no rollback by the process: the database must cope
    proc.wait()
    partial = _counts(killed)
    assert partial != expected  # it really was cut off

    again = _import(killed, small_brand)
    assert again.returncode == 0, again.stderr[-2000:]
    assert _counts(killed) == expected
    # And once more: nothing changes.
    assert _import(killed, small_brand).returncode == 0
    assert _counts(killed) == expected
