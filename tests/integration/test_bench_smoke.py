"""A short run of the benchmark suite (tiny sizes, seconds): it must lose nothing.

Only correctness is asserted, never a speed: every acknowledged message is in the store
exactly once after the server was killed, every player got every message back after the
resume storm, and no client saw an error frame (bench.run exits non-zero otherwise).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def test_the_benchmark_suite_loses_nothing(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--no-pin", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    r = json.loads(out.read_text())
    for name in ("relay", "idle", "pairing", "pairing_paced"):
        d = r[f"{name}_durability"]
        assert d["ok"], d
        assert d["missing"] == d["duplicated"] == d["wrong_seq"] == d["chats_with_gaps"] == 0
        assert d["chats_not_stored"] == d["assignments_not_stored"] == 0
    assert r["relay_durability"]["acked"] > r["sizes"]["chats"]  # it did relay messages
    assert r["pairing_durability"]["chats_told"] == r["sizes"]["burst"]
    storm = r["resume_storm"]
    assert storm["connections"] == r["sizes"]["chats"]
    assert storm["players_with_gaps"] == 0 and storm["duplicates"] == 0
    assert r["relay"]["complete"] and r["baseline_relay"]["complete"]
