"""The scenarios. Each drives a running server (chatserver or the bare baseline) and
returns a dict of figures; none of them asserts a speed. Correctness is checked
separately, from the store, by ``durability``.
"""

from __future__ import annotations

import asyncio
import gc
import resource
import sqlite3
import time
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx
import msgspec
from prometheus_client.parser import text_string_to_metric_families

from .clients import Client, Countdown, connect_many, now
from .harness import PING, PONG, Acked, Harness, Pair, percentile
from .procs import Proc, stolen_seconds

__all__ = [
    "baseline_pairs",
    "durability",
    "idle",
    "pairing",
    "relay_step",
    "resume_storm",
    "saturation",
    "METRICS_TOKEN",
    "STOLEN_LIMIT",
]

# a typical chat line, the same bytes for chatserver and the baseline
TEXT = "Hi, my withdrawal from yesterday still has not arrived, could you check it please?"
_ids = iter(range(1 << 62))
# a measurement during which the host took this much of the server's core is the host's:
# the relay runs again (see run.py), a failing saturation step does not count
STOLEN_LIMIT = 0.05
STEP_TRIES = 5
_decode = msgspec.json.Decoder().decode
# chatserver's /metrics (run.py gives the server this token): the hub's own timing
METRICS_TOKEN = "bench-metrics-token-0123456789"
HUB_HISTOGRAMS = {
    "hub": "chatserver_message_commit_seconds",  # a message's arrival at the hub to its ack
    "commit": "chatserver_store_commit_seconds",  # one group commit, until durable
}


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def _loadgen_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


# -- the relay ------------------------------------------------------------------


async def relay_step(
    h: Harness,
    server: Proc,
    senders: list[Client],
    *,
    rate: float,
    seconds: float,
    acks: bool,
    measure: bool = True,
) -> dict[str, Any]:
    """Send ``rate`` messages a second for ``seconds``, open loop, round robin over
    ``senders``; latency counts from each message's intended send time, so a server
    (or load generator) that falls behind shows it rather than hiding it."""
    total = max(1, int(rate * seconds))
    h.latencies, h.ack_latencies, h.measuring = [], [], measure
    h.received = Countdown(total)
    h.acks = Countdown(total) if acks else None
    ids = [f"m{next(_ids)}" for _ in range(total)]
    frames = [
        b'{"type":"message","id":"%s","text":"%s"}' % (i.encode(), TEXT.encode()) for i in ids
    ]
    n = len(senders)
    lags: list[float] = []
    hub0 = await hub_histograms(server) if acks else None
    gc.disable()  # the load generator's own collector pauses would count as latency
    cpu0, gen0, stolen0 = server.cpu_seconds(), _loadgen_cpu(), stolen_seconds()
    t0 = now() + 0.005
    sent = 0
    while sent < total:
        t = now()
        due = min(total, int((t - t0) * rate) + 1)
        while sent < due:
            intended = t0 + sent / rate
            h.intended[ids[sent]] = intended
            senders[sent % n].send_text(frames[sent])
            lags.append(t - intended)
            sent += 1
        # until the next message is due (at high rates: the loop's shortest nap)
        await asyncio.sleep(max(0.0002, t0 + sent / rate - now()))
    timeout = seconds + 30
    try:
        await h.received.wait(timeout, f"relayed messages at {rate:.0f}/s")
        if h.acks is not None:
            await h.acks.wait(timeout, f"acks at {rate:.0f}/s")
        complete = True
    except TimeoutError:
        complete = False
    elapsed = now() - t0
    cpu1, gen1, stolen1 = server.cpu_seconds(), _loadgen_cpu(), stolen_seconds()
    gc.enable()
    for i in ids:
        h.intended.pop(i, None)
    lat, ack = h.latencies, h.ack_latencies
    h.measuring = False
    hub1 = await hub_histograms(server) if hub0 is not None else None
    hub: dict[str, Any] = {f"{k}_p{q}_ms": None for k in HUB_HISTOGRAMS for q in (50, 99)}
    hub["commits"] = None  # group commits in the window: messages per commit
    if hub0 and hub1:
        steps = {key: _delta(hub1[name], hub0[name]) for key, name in HUB_HISTOGRAMS.items()}
        for key, step in steps.items():
            hub[f"{key}_p50_ms"] = _ms(_quantile(step, 0.5))
            hub[f"{key}_p99_ms"] = _ms(_quantile(step, 0.99))
        hub["commits"] = int(steps["commit"][-1][1])  # the +Inf bucket counts them all
    return {
        "rate_offered": round(rate),
        "messages": total,
        "complete": complete,
        "throughput": round(total / elapsed) if complete else None,
        "p50_ms": _ms(percentile(lat, 50)),
        "p99_ms": _ms(percentile(lat, 99)),
        "max_ms": _ms(max(lat, default=0.0)),
        "ack_p50_ms": _ms(percentile(ack, 50)) if acks else None,
        "ack_p99_ms": _ms(percentile(ack, 99)) if acks else None,
        # the server's own share (its /metrics histograms over the step, interpolated within
        # buckets): hub_ a message's arrival at the hub until it is stored and acked,
        # commit_ one group commit until durable
        **hub,
        "server_cpu": round((cpu1 - cpu0) / elapsed, 3),
        # the load generator polls (it owns its core); its lag says whether it kept up
        "loadgen_cpu": round((gen1 - gen0) / elapsed, 3),
        "send_lag_p99_ms": _ms(percentile(lags, 99)),
        # the share of the window the host took from the server's core (noise, not us)
        "server_core_stolen": round((stolen1 - stolen0) / elapsed, 3),
    }


async def hub_histograms(server: Proc) -> dict[str, list[tuple[float, float]]] | None:
    """The server's own timing histograms (``HUB_HISTOGRAMS``) as cumulative (bound, count)
    pairs, or None from a server without them (the baseline)."""
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            r = await http.get(
                f"{server.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
            )
    except httpx.HTTPError:
        return None
    if r.status_code != 200:
        return None
    return {
        family.name: [
            (float(s.labels["le"]), s.value)
            for s in family.samples
            if s.name == f"{family.name}_bucket"
        ]
        for family in text_string_to_metric_families(r.text)
        if family.name in HUB_HISTOGRAMS.values()
    }


def _delta(
    after: list[tuple[float, float]], before: list[tuple[float, float]]
) -> list[tuple[float, float]]:
    return [(le, n - m) for (le, n), (_, m) in zip(after, before, strict=True)]


def _quantile(buckets: list[tuple[float, float]], q: float) -> float:
    """As Prometheus's ``histogram_quantile``: linear within the bucket that holds the
    q-th observation (the last finite bound if it lies beyond every bound)."""
    total = buckets[-1][1]
    if total <= 0:
        return 0.0
    rank, lower, below = q * total, 0.0, 0.0
    for le, n in buckets:
        if n >= rank:
            if le == float("inf"):
                return lower
            return lower + (le - lower) * (rank - below) / (n - below)
        lower, below = le, n
    return lower


async def drained(h: Harness, timeout: float = 60) -> None:
    """Wait until what a failed step left in flight has arrived."""
    for countdown in (h.received, h.acks):
        if countdown is not None:
            try:
                await countdown.wait(timeout, "draining")
            except TimeoutError:
                pass


def _ladder(start: float, factor: float, limit: float) -> list[float]:
    rates, r = [], start
    while r <= limit:
        rates.append(float(round(r, -2)))
        r *= factor
    return rates


async def saturation(
    h: Harness,
    server: Proc,
    senders: list[Client],
    *,
    acks: bool,
    start: float,
    limit: float,
    step_seconds: float,
    p99_limit_ms: float = 25.0,
) -> dict[str, Any]:
    """Raise the rate step by step until p99 passes ``p99_limit_ms`` or messages stop
    arriving; the saturation point is the last rate that passed. A step that fails is
    run once more before it counts (one stall of the VM should not decide it), and a
    p99 over the limit while the host took ``STOLEN_LIMIT`` or more of the server's core
    does not count at all (up to ``STEP_TRIES`` runs of a step)."""
    steps = []
    best: dict[str, Any] | None = None
    for rate in _ladder(start, 1.2, limit):
        failures = 0
        for _ in range(STEP_TRIES):
            step = await relay_step(h, server, senders, rate=rate, seconds=step_seconds, acks=acks)
            steps.append(step)
            ok = step["complete"] and step["p99_ms"] <= p99_limit_ms
            if ok:
                break
            await drained(h)
            # a collapse (messages stopped arriving) always counts: steal does not cause it
            failures += not step["complete"] or step["server_core_stolen"] < STOLEN_LIMIT
            if failures == 2:
                break
        if not ok:
            break
        best = step
    return {
        "saturation_rate": best["rate_offered"] if best else 0,
        "saturation_throughput": best["throughput"] if best else 0,
        "steps": steps,
    }


async def baseline_pairs(h: Harness, url: str, n: int) -> tuple[list[Client], list[Client]]:
    """``n`` pairs on the baseline relay: the sending and the receiving side of each."""
    joined = Countdown(2 * n)

    def sink(client: Client, payload: Any) -> None:
        if payload == b"joined":
            joined.hit()
            return
        if payload == PING:  # the baseline pings as chatserver does; the client answers
            client.send_text(PONG)
            return
        frame = _decode(payload)
        if h.measuring:
            h.latencies.append(now() - h.intended[frame["id"]])
        if h.received is not None:
            h.received.hit()

    senders = await connect_many(f"{url}/ws", [sink] * n, raw=True)
    receivers = await connect_many(f"{url}/ws", [sink] * n, raw=True)
    for i, (a, b) in enumerate(zip(senders, receivers, strict=True)):
        a.send_text(b"join %d a" % i)
        b.send_text(b"join %d b" % i)
    await joined.wait(60, "baseline pairs joined")
    return senders, receivers


# -- resume storm ------------------------------------------------------------------


async def resume_storm(h: Harness, pairs: list[Pair], *, missed: int) -> dict[str, Any]:
    """Every player's socket drops at once (no closing handshake); their agents write
    ``missed`` messages each; then every player reconnects at once with
    ``hello {resume, last_seq}``. Measures how long the replay takes and checks each
    player ends with every seq of its chat exactly once."""
    players = [p.player for p in pairs]
    for c in players:
        c.drop()
    await asyncio.gather(*(c.disconnected for c in players))

    h.acks = Countdown(len(pairs) * missed)
    for p in pairs:
        for j in range(missed):
            p.agent.send({"type": "message", "chat": p.chat, "id": f"r{j}-{p.chat}", "text": TEXT})
    await h.acks.wait(120, "agents' messages acked while players were away")
    last_seq = {p.chat: p.agent.state["last_ack"] for p in pairs}

    done = Countdown(len(pairs))
    finished: dict[str, float] = {}

    def replayed(client: Client) -> None:
        finished[client.state["chat"]] = now()
        done.hit()

    h.on_replayed = replayed
    dups0 = h.duplicates
    t0 = now()
    fresh = await connect_many(f"{h.url}/ws/player", [h.on_player] * len(pairs), parallel=1024)
    connected = now()
    hello_at: dict[str, float] = {}
    for old, new, p in zip(players, fresh, pairs, strict=True):
        seqs: set[int] = old.state["seqs"]
        have = 0
        while have + 1 in seqs:
            have += 1
        new.state.update(old.state, replay_until=last_seq[p.chat])
        hello_at[p.chat] = now()
        new.send({"type": "hello", "v": 1, "resume": old.state["session"], "last_seq": have})
        p.player = new
    await done.wait(120, "replays")
    total = now() - t0
    h.on_replayed = None

    lost = sum(1 for p in pairs if p.player.state["seqs"] != set(range(1, last_seq[p.chat] + 1)))
    times = [finished[p.chat] - t0 for p in pairs]
    # the server's own part: from a connection's hello to its last missed message
    after_hello = [finished[p.chat] - hello_at[p.chat] for p in pairs]
    return {
        "connections": len(pairs),
        "missed_per_connection": missed,
        "storm_seconds": round(total, 3),
        "connect_seconds": round(connected - t0, 3),
        "replayed_p50_ms": _ms(percentile(times, 50)),
        "replayed_p99_ms": _ms(percentile(times, 99)),
        "hello_to_replayed_p50_ms": _ms(percentile(after_hello, 50)),
        "hello_to_replayed_p99_ms": _ms(percentile(after_hello, 99)),
        "players_with_gaps": lost,
        "duplicates": h.duplicates - dups0,
    }


# -- idle capacity ----------------------------------------------------------------


async def idle(
    server: Proc, connect: Any, n: int, *, window: float, edge: Proc | None = None
) -> dict[str, Any]:
    """``connect(n)`` opens ``n`` waiting connections (and returns a counter of the
    heartbeats they answered); then we watch RSS, and the server's CPU while the
    connections only keep their heartbeats (and the CPU of the ``edge`` node that holds
    their sockets, if they are on one)."""
    rss0 = server.rss_bytes()
    t0 = now()
    pinged = await connect(n)
    opened = now() - t0
    await asyncio.sleep(1.0)  # let the server settle (freed buffers, pending writes)
    rss1 = server.rss_bytes()
    cpu0, stolen0 = server.cpu_seconds(), stolen_seconds()
    edge0 = edge.cpu_seconds() if edge is not None else 0.0
    beats0 = pinged()
    await asyncio.sleep(window)
    cpu1, stolen1 = server.cpu_seconds(), stolen_seconds()
    beats = pinged() - beats0
    figures = {
        "connections": n,
        "connect_seconds": round(opened, 2),
        "rss_start_mib": round(rss0 / 2**20, 1),
        "rss_mib": round(rss1 / 2**20, 1),
        "rss_per_connection_kib": round((rss1 - rss0) / n / 1024, 2),
        "heartbeat_window_s": window,
        "pings_per_second": round(beats / window),
        "answered": beats,
        "heartbeat_cpu": round((cpu1 - cpu0) / window, 4),
        "server_core_stolen": round((stolen1 - stolen0) / window, 4),
    }
    if edge is not None:
        figures["edge_heartbeat_cpu"] = round((edge.cpu_seconds() - edge0) / window, 4)
    return figures


# -- pairing burst ------------------------------------------------------------------


async def pairing(
    h: Harness, server: Proc, players: list[Client], rate: float | None = None
) -> dict[str, Any]:
    """Every player sends ``prechat`` in the same instant (or, with ``rate``, at that
    many a second); we wait until both sides of each chat were told of its assignment."""
    h.assigned = Countdown(2 * len(players))
    h.player_assigned.clear()
    h.agent_assigned.clear()
    cpu0 = server.cpu_seconds()
    sent_at: dict[Client, float] = {}  # each player's prechat, by this machine's clock
    t0 = time.time()
    if rate is None:
        for c in players:
            h.prechat(c)
        sent_at = dict.fromkeys(players, t0)
    else:
        start, sent = now(), 0
        while sent < len(players):
            due = min(len(players), int((now() - start) * rate) + 1)
            while sent < due:
                h.prechat(players[sent])
                sent_at[players[sent]] = time.time()
                sent += 1
            await asyncio.sleep(max(0.0002, start + sent / rate - now()))
    await h.assigned.wait(300, "assignments")
    cpu1 = server.cpu_seconds()
    both = {c: max(h.player_assigned[c], h.agent_assigned[c]) for c in h.player_assigned}
    from_enqueued = [both[c] - h.queued_at[c] for c in both]
    from_sent = [both[c.state["chat"]] - at for c, at in sent_at.items()]
    span = max(both.values()) - t0
    return {
        "players": len(players),
        "arrivals_per_second": rate or "all at once",
        "pairings_per_second": round(len(players) / span),
        "burst_seconds": round(span, 3),
        "enqueued_to_notified_p50_ms": _ms(percentile(from_enqueued, 50)),
        "enqueued_to_notified_p99_ms": _ms(percentile(from_enqueued, 99)),
        "sent_to_notified_p50_ms": _ms(percentile(from_sent, 50)),
        "sent_to_notified_p99_ms": _ms(percentile(from_sent, 99)),
        "server_cpu_seconds": round(cpu1 - cpu0, 3),
    }


# -- durability ---------------------------------------------------------------------


def durability(
    db: Path, acked: list[Acked], queued: Iterable[str], assigned: Iterable[str]
) -> dict[str, Any]:
    """After the server was killed (SIGKILL): every acknowledged message is in the store
    exactly once, with the seq it was acked with; every chat's seqs run 1..n without a
    gap; every chat a player was told is queued is stored, and every chat a player and
    agent were told was assigned is stored with its agent."""
    con = sqlite3.connect(db)
    try:
        rows = con.execute("SELECT chat_id, client_id, seq FROM messages").fetchall()
        chats = dict(con.execute("SELECT id, agent_id FROM chats").fetchall())
    finally:
        con.close()
    stored: dict[tuple[str, str], list[int]] = defaultdict(list)
    seqs: dict[str, list[int]] = defaultdict(list)
    for chat, client_id, seq in rows:
        stored[(chat, client_id)].append(seq)
        seqs[chat].append(seq)
    missing = duplicated = wrong_seq = 0
    for a in acked:
        found = stored.get((a.chat, a.client_id), [])
        if not found:
            missing += 1
        elif len(found) > 1:
            duplicated += 1
        elif found[0] != a.seq:
            wrong_seq += 1
    acked_keys = {(a.chat, a.client_id) for a in acked}
    gaps = sum(1 for s in seqs.values() if sorted(s) != list(range(1, len(s) + 1)))
    queued, assigned = set(queued), set(assigned)
    lost_chats = sum(1 for chat in queued | assigned if chat not in chats)
    unassigned = sum(1 for chat in assigned if chats.get(chat) is None)
    return {
        "acked": len(acked_keys),
        "stored_messages": len(rows),
        "missing": missing,
        "duplicated": duplicated,
        "wrong_seq": wrong_seq,
        "chats_with_gaps": gaps,
        "chats_told": len(queued | assigned),
        "chats_not_stored": lost_chats,
        "assignments_not_stored": unassigned,
        "ok": not (missing or duplicated or wrong_seq or gaps or lost_chats or unassigned),
    }
