"""The Grafana dashboard and the recording rules in docs/ name only metrics the server has."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx

from tests.support import agent, make_agent, start_chat

DOCS = Path(__file__).resolve().parents[2] / "docs"
TOKEN = "m" * 32


async def test_every_metric_the_dashboard_and_rules_use_exists(serve) -> None:  # type: ignore[no-untyped-def]
    dashboard = json.loads((DOCS / "grafana-dashboard.json").read_text(encoding="utf-8"))
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    rules = (DOCS / "deployment.md").read_text(encoding="utf-8")
    rules = rules[rules.index("### Dashboards and recording rules") : rules.index("## Settings")]
    used = set(re.findall(r"\b(chatserver_[a-z_]+)", " ".join(exprs) + rules))
    used |= set(re.findall(r"\b(process_[a-z_]+)", " ".join(exprs)))
    async with serve(metrics_token=TOKEN) as srv:
        a, _ = await agent(srv, await make_agent(srv, "ayse"))
        p, _ = await start_chat(srv)
        await p.expect("assigned")  # (histograms get their samples)
        async with httpx.AsyncClient(base_url=srv.http) as http:
            text = (await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})).text
    have = set(re.findall(r"^([a-z_]+)(?:\{| )", text, re.M))
    # a counter nobody has counted yet has no sample, only its TYPE line
    have |= set(re.findall(r"^# TYPE ([a-z_]+) counter$", text, re.M))
    missing = sorted(name for name in used if name not in have)
    assert not missing, missing
    assert len(used) >= 10
