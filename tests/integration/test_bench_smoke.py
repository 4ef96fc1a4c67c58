"""A short run of the benchmark suite (tiny sizes, seconds): it must lose nothing.

Only correctness is asserted, never a speed: every acknowledged message is in the store
exactly once after the server was killed, every player got every message back after the
resume storm, and no client saw an error frame (bench.run exits non-zero otherwise).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.postgres import require_postgres

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


async def test_the_relay_across_two_nodes_loses_nothing(tmp_path: Path) -> None:
    """The two-node relay (PostgreSQL, a redis-server of its own): nothing lost or doubled."""
    await require_postgres()
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (./scripts/check installs it)")
    out = tmp_path / "nodes.json"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "bench.run", "--quick", "--no-pin", "--only", "nodes", "--json", str(out)),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(proc.communicate(), 240)
    assert proc.returncode == 0, output.decode()
    r = json.loads(out.read_text())
    for name in ("nodes_one", "nodes_two"):
        assert r[name]["complete"] and r[name]["nodes"] == (1 if name == "nodes_one" else 2)
        d = r[f"{name}_durability"]
        assert d["ok"] and d["acked"] > r["sizes"]["chats"], d
        assert d["missing"] == d["duplicated"] == d["wrong_seq"] == d["chats_with_gaps"] == 0


def test_the_reports_benchmark_runs(tmp_path: Path) -> None:
    """bench/reports.py at a tiny size: the rollups count every chat it generated."""
    out = tmp_path / "reports.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench.reports", "--chats", "2000", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    r = json.loads(out.read_text())
    assert r["reports"]["year"]["chats"] == 2000


async def test_the_privacy_bench_runs(tmp_path: Path) -> None:
    """bench.privacy at a tiny size: the erasure and the purge remove exactly what they should
    (speed is for bench/README.md, not asserted)."""
    from bench.privacy import THEIRS, run

    chats = THEIRS + 200
    r = await run(chats, tmp_path, say=lambda _: None, settle=0.5, purge_after=8.0)
    assert r["erase"]["chats"] == THEIRS and r["erase"]["messages"] == THEIRS * 8
    assert r["purge"]["items"] == (chats - THEIRS) * 9
    assert r["quiet"]["ping_p50_ms"] is not None


async def test_the_followups_bench_runs(tmp_path: Path) -> None:
    """bench.followups at a tiny size: every follow-up is answered, and the guessing stops at
    the look-up limit (speed is for bench/README.md, not asserted)."""
    from bench.followups import run

    r = await run(200, 3, 2, tmp_path, say=lambda _: None, rate=50, quiet=0.5)
    assert r["follow"]["follow_ups"] == r["paced"]["follow_ups"] == 6
    assert r["guessing"]["wrong_answers_before_refusal"] == 10
