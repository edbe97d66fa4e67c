"""The benchmark scripts run (small smoke mode), so they cannot rot between measurements."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("script", ["bench_synth.py", "bench_demo.py", "bench_events.py", "bench_csv_import.py",
                                    "bench_oneid.py", "bench_realtime.py", "bench_accrual.py", "bench_recompute.py", "bench_audience.py"])
def test_benchmark_smoke(script: str) -> None:
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), "--smoke"], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "seconds" in result.stdout
