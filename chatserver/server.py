"""How chatserver runs under uvicorn: one configuration for the CLI, tests and benchmarks."""

from __future__ import annotations

import gc
import sys

import uvicorn
from starlette.types import ASGIApp

from .config import Settings
from .web.direct import DirectWebSocketProtocol
from .web.httpguard import guarded_http

__all__ = ["tune_runtime", "uvicorn_config"]

# Young collections every 50,000 allocations rather than 700, and the full ones far
# rarer: with tens of thousands of connections alive a full collection walks millions
# of objects (a pause of 100 ms and more, straight into every latency figure). Short-lived
# garbage is freed by reference counting anyway; the collector is only for cycles. What
# lives long per message (core.conversation.Message, its idempotency key) is not tracked
# at all, so a busy chat server reaches even the young threshold rarely.
GC_THRESHOLDS = (50_000, 20, 100)


# The commit thread releases the GIL while SQLite writes and syncs; to hand the result
# back it needs the GIL again, which a busy event loop keeps up to the switch interval
# (5 ms by default). Every acknowledgement waits for that hand-over. Measured with
# bench/ at 2,000 msg/s: 1 ms halves the median latency against 5 ms.
SWITCH_INTERVAL = 0.001


def tune_runtime() -> None:
    """Collect once, then leave what startup made (modules, the app) out of later
    collections, and collect less often (see GC_THRESHOLDS); hand the GIL over
    sooner (see SWITCH_INTERVAL). For the server process only, not for library use."""
    sys.setswitchinterval(SWITCH_INTERVAL)
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def uvicorn_config(app: ASGIApp, settings: Settings, **overrides: object) -> uvicorn.Config:
    """uvloop + httptools + the sans-I/O websockets protocol (with the hub's direct lane,
    chatserver/web/direct.py), no per-message deflate.

    WebSocket keepalive is the application's own ``ping`` with an idle timeout
    (browsers cannot answer protocol pings from script), so uvicorn's pings are off.
    """
    # one log line per accepted WebSocket is too much for thousands of widgets
    level = "debug" if settings.log_level == "debug" else "warning"
    options: dict[str, object] = dict(
        host=settings.host,
        port=settings.port,
        loop="uvloop" if sys.platform != "win32" else "asyncio",
        http=guarded_http(settings),
        # the client's address and scheme from X-Forwarded-For/-Proto, only when the
        # connection comes from one of these proxies (docs/deployment.md)
        proxy_headers=True,
        forwarded_allow_ips=list(settings.forwarded_allow_ips),
        ws=DirectWebSocketProtocol,
        ws_max_size=settings.ws_max_bytes,
        ws_per_message_deflate=False,
        ws_ping_interval=None,
        ws_ping_timeout=None,
        lifespan="on",
        log_level=level,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=int(settings.shutdown_timeout_seconds),
    )
    options.update(overrides)
    return uvicorn.Config(app, **options)  # type: ignore[arg-type]
