"""How chatserver runs under uvicorn: one configuration for the CLI, tests and benchmarks."""

from __future__ import annotations

import gc
import importlib
import logging
import re
import sys
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from .config import Settings

__all__ = ["TESTED_UVICORN", "protocols", "tune_runtime", "uvicorn_config"]

log = logging.getLogger("chatserver")

# chatserver's own protocols subclass uvicorn's (web/direct.py, web/httpproto.py), whose
# classes are not a public API: they are used with the uvicorn versions they were tested
# with, and any other version gets uvicorn's plain protocols (and one warning)
TESTED_UVICORN = ((0, 35), (0, 55))  # oldest and newest minor version tested
_NEEDED = {
    "uvicorn.protocols.http.httptools_impl.HttpToolsProtocol": (
        "data_received",
        "on_message_begin",
        "on_headers_complete",
        "connection_made",
        "connection_lost",
    ),
    "uvicorn.protocols.websockets.websockets_sansio_impl.WebSocketsSansIOProtocol": (
        "handle_connect",
        "send_receive_event_to_app",
        "handle_parser_exception",
    ),
}

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


def _minor(version: str) -> tuple[int, int]:
    """``"0.55.0"`` -> (0, 55); raises ValueError for what is not a version."""
    m = re.match(r"(\d+)\.(\d+)", version)
    if m is None:
        raise ValueError(version)
    return int(m.group(1)), int(m.group(2))


_TESTED_RANGE = "uvicorn>={}.{},<{}.{}".format(
    *TESTED_UVICORN[0], TESTED_UVICORN[1][0], TESTED_UVICORN[1][1] + 1
)


def _why_not_ours(version: str) -> str | None:
    """Why chatserver's protocols cannot be used with this uvicorn (None: they can)."""
    try:
        if not TESTED_UVICORN[0] <= _minor(version) <= TESTED_UVICORN[1]:
            return f"uvicorn {version} is not a version chatserver was tested with"
    except ValueError:
        return f"uvicorn's version {version!r} cannot be read"
    for path, methods in _NEEDED.items():
        module_name, _, name = path.rpartition(".")
        try:
            cls = getattr(importlib.import_module(module_name), name)
        except (ImportError, AttributeError):
            return f"uvicorn {version} has no {path}"
        missing = [m for m in methods if not callable(getattr(cls, m, None))]
        if missing:
            return f"uvicorn {version}'s {name} has no {', '.join(missing)}"
    return None


def protocols(settings: Settings, version: str | None = None) -> tuple[Any, Any]:
    """uvicorn's ``http`` and ``ws``: chatserver's own (head limits; the hub's direct lane)
    with a tested uvicorn, else uvicorn's plain ones, with one warning saying what is lost."""
    why = _why_not_ours(version or uvicorn.__version__)
    if why is not None:
        log.warning(
            "%s: using uvicorn's plain protocols (no request-head limits, no direct lane;"
            " everything else works). Install a tested uvicorn (%s) for them.",
            why,
            _TESTED_RANGE,
        )
        return "httptools", "websockets-sansio"
    from .web.direct import DirectWebSocketProtocol
    from .web.httpproto import guarded_http

    return guarded_http(settings), DirectWebSocketProtocol


def uvicorn_config(app: ASGIApp, settings: Settings, **overrides: object) -> uvicorn.Config:
    """uvloop + httptools + the sans-I/O websockets protocol (with the hub's direct lane,
    chatserver/web/direct.py), no per-message deflate.

    WebSocket keepalive is the application's own ``ping`` with an idle timeout
    (browsers cannot answer protocol pings from script), so uvicorn's pings are off.
    """
    http, ws = protocols(settings)
    # one log line per accepted WebSocket is too much for thousands of widgets
    level = "debug" if settings.log_level == "debug" else "warning"
    options: dict[str, object] = dict(
        host=settings.host,
        port=settings.port,
        loop="uvloop" if sys.platform != "win32" else "asyncio",
        http=http,
        # the client's address and scheme from X-Forwarded-For/-Proto, only when the
        # connection comes from one of these proxies (docs/deployment.md)
        proxy_headers=True,
        forwarded_allow_ips=list(settings.forwarded_allow_ips),
        ws=ws,
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
