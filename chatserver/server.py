"""How chatserver runs under uvicorn: one configuration for the CLI, tests and benchmarks."""

from __future__ import annotations

import sys

import uvicorn
from starlette.types import ASGIApp

from .config import Settings

__all__ = ["uvicorn_config"]


def uvicorn_config(app: ASGIApp, settings: Settings, **overrides: object) -> uvicorn.Config:
    """uvloop + httptools + the sans-I/O websockets protocol, no per-message deflate.

    WebSocket keepalive is the application's own ``ping`` with an idle timeout
    (browsers cannot answer protocol pings from script), so uvicorn's pings are off.
    """
    # one log line per accepted WebSocket is too much for thousands of widgets
    level = "debug" if settings.log_level == "debug" else "warning"
    options: dict[str, object] = dict(
        host=settings.host,
        port=settings.port,
        loop="uvloop" if sys.platform != "win32" else "asyncio",
        http="httptools",
        ws="websockets-sansio",
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
