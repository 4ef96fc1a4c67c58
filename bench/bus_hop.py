"""The bus hop alone: ``python -m bench.bus_hop [--quick] [--json F]``.

A frame published on node A's ``RedisBus`` reaches node B (another process), which
publishes it back; half the round trip is what the bus adds to a frame that crosses
nodes. Paced at a fixed rate (p50, p99) and as a burst (frames/s). Baseline: the same
echo with bare redis-py pub/sub, no bus around it - the floor that Redis and the
client library set. (``python -m bench.run --only nodes`` measures the whole relay
across two nodes; this isolates the bus.)

It starts its own redis-server on a free port (the binary must be installed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from chatserver.bus.redisbus import RedisBus

from .harness import percentile
from .procs import redis_server

PREFIX = "bench:"


class _Echo:
    def __init__(self, bus: RedisBus) -> None:
        self.bus = bus

    def push(self, data: str) -> None:
        self.bus.publish("hop:b", data)


async def echo_node(url: str, bare: bool) -> None:
    """Node B: publish back every frame; prints ``ready`` once subscribed."""
    if bare:
        client = aioredis.from_url(url)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(PREFIX + "hop:a")
        print("ready", flush=True)
        async for msg in pubsub.listen():
            await client.publish(PREFIX + "hop:b", msg["data"])
    bus = RedisBus(url, node_id="node-b", prefix=PREFIX)
    await bus.start()
    bus.subscribe("hop:a", _Echo(bus))
    await bus.synced()
    print("ready", flush=True)
    await asyncio.Event().wait()


class _Clock:
    def __init__(self, n: int) -> None:
        self.sent: dict[str, float] = {}
        self.rtt: list[float] = []
        self.expected = n
        self.done = asyncio.Event()

    def push(self, data: str) -> None:
        self.arrived(data)

    def arrived(self, key: str) -> None:
        start = self.sent.pop(key, None)
        if start is not None:
            self.rtt.append(time.perf_counter() - start)
        if len(self.rtt) >= self.expected:
            self.done.set()


async def hop(url: str, bare: bool, rate: float, seconds: float, burst: int) -> dict[str, Any]:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.bus_hop",
        "--echo-bare" if bare else "--echo",
        url,
        stdout=asyncio.subprocess.PIPE,
    )
    assert child.stdout is not None
    assert (await asyncio.wait_for(child.stdout.readline(), 10)).strip() == b"ready"
    try:
        if bare:
            client = aioredis.from_url(url)
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            await pubsub.subscribe(PREFIX + "hop:b")
            clock = _Clock(0)

            async def reader() -> None:
                async for msg in pubsub.listen():
                    clock.arrived(msg["data"].decode())

            task = asyncio.create_task(reader())

            async def send(keys: list[str]) -> None:
                async with client.pipeline(transaction=False) as pipe:
                    for k in keys:
                        pipe.publish(PREFIX + "hop:a", k)
                    await pipe.execute()
        else:
            bus = RedisBus(url, node_id="node-a", prefix=PREFIX)
            await bus.start()
            clock = _Clock(0)
            bus.subscribe("hop:b", clock)
            await bus.synced()

            async def send(keys: list[str]) -> None:
                for k in keys:
                    bus.publish("hop:a", k)

        out: dict[str, Any] = {}
        # paced: one frame every 1/rate s (in 1 ms ticks)
        n = int(rate * seconds)
        clock.expected = n
        start = time.perf_counter()
        for i in range(n):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            key = f"p{i}"
            clock.sent[key] = time.perf_counter()
            await send([key])
        await asyncio.wait_for(clock.done.wait(), 30)
        out["paced_rate"] = rate
        out["hop_p50_ms"] = percentile(clock.rtt, 50) / 2 * 1000
        out["hop_p99_ms"] = percentile(clock.rtt, 99) / 2 * 1000
        # burst: everything at once, in chunks of 500
        clock.rtt, clock.done, clock.expected = [], asyncio.Event(), burst
        start = time.perf_counter()
        for lo in range(0, burst, 500):
            keys = [f"b{i}" for i in range(lo, min(burst, lo + 500))]
            now = time.perf_counter()
            for k in keys:
                clock.sent[k] = now
            await send(keys)
            await asyncio.sleep(0)
        await asyncio.wait_for(clock.done.wait(), 60)
        out["burst_frames_per_s"] = burst / (time.perf_counter() - start)
        if bare:
            task.cancel()
            await client.aclose()
        else:
            await bus.stop()
        return out
    finally:
        child.kill()
        await child.wait()


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    rate, seconds, burst = (500, 1, 2000) if args.quick else (2000, 10, 50_000)
    try:
        async with redis_server() as url:
            results = {
                "bus": await hop(url, False, rate, seconds, burst),
                "bare": await hop(url, True, rate, seconds, burst),
            }
    except FileNotFoundError as exc:
        raise SystemExit(f"bench.bus_hop: {exc}") from None
    bus, bare = results["bus"], results["bare"]
    print(f"bus hop at {bus['paced_rate']:.0f} frames/s (one way = half the round trip)")
    print(f"  RedisBus  p50 {bus['hop_p50_ms']:.3f} ms  p99 {bus['hop_p99_ms']:.3f} ms")
    print(f"  bare      p50 {bare['hop_p50_ms']:.3f} ms  p99 {bare['hop_p99_ms']:.3f} ms")
    ratio = bus["burst_frames_per_s"] / bare["burst_frames_per_s"]
    print(
        f"  burst: RedisBus {bus['burst_frames_per_s']:,.0f} frames/s, bare "
        f"{bare['burst_frames_per_s']:,.0f} frames/s ({ratio:.2f}x)"
    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bus_hop")
    parser.add_argument("--quick", action="store_true", help="seconds, not minutes")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--echo", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--echo-bare", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.echo or args.echo_bare:
        asyncio.run(echo_node(args.echo or args.echo_bare, bare=bool(args.echo_bare)))
        return
    results = asyncio.run(main_async(args))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
