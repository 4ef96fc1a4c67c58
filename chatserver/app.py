"""``create_app(settings)``: the Starlette application; its lifespan builds Store, Bus and Hub."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from .config import Settings, load_routing
from .directory import make_directory
from .exceptions import ClientError, StoreError
from .hub import Hub
from .store import make_store
from .web import admin, api, console, widget
from .web.auth import SignInThrottle
from .web.errors import client_error, http_error, server_error
from .web.pages import CONSOLE_DIR
from .web.ws import agent_ws, player_ws

__all__ = ["create_app"]

log = logging.getLogger("chatserver")


def create_app(
    settings: Settings, *, on_fatal: Callable[[StoreError], None] | None = None
) -> Starlette:
    """The application. ``on_fatal`` is called if the store fails for good (the CLI exits)."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        routing = load_routing(settings)  # a broken routing file stops start-up here
        store = make_store(settings)
        await store.open()
        directory = make_directory(settings, store)
        try:
            applied = await store.migrate()
            if applied:
                log.info("database %s migrated to version %d", settings.db, applied[-1])
            hub = Hub(settings, store, routing=routing, directory=directory, on_fatal=on_fatal)
            await hub.start()
            app.state.hub = hub
            try:
                yield
            finally:
                await hub.stop()
                log.info("stopped cleanly: %d writes committed", hub.writer.ops_written)
        finally:
            await directory.close()
            await store.close()

    routes = [
        Route("/", widget.demo),
        Route("/favicon.ico", lambda request: Response(status_code=204)),
        Route("/widget.js", widget.widget_js),
        Route("/widget/demo.js", widget.demo_js),
        Route("/widget/i18n/{locale}.json", widget.catalog),
        Route("/healthz", api.healthz),
        Route("/readyz", api.readyz),
        Route("/api/topics", api.topics),
        Route("/api/requests", api.list_requests),
        Route("/api/requests/{number}", api.get_request),
        Route("/console", console.workspace),
        Route("/console/login", console.login_page, methods=["GET"]),
        Route("/console/login", console.login, methods=["POST"]),
        Route("/console/logout", console.logout, methods=["POST"]),
        Route("/console/floor", console.floor),
        Route("/console/requests", console.requests_page),
        Route("/console/requests/{number}", console.request_page),
        Route("/console/requests/{number}/export.{fmt:str}", console.export),
        Route("/console/admin/agents", admin.agents_page, methods=["GET"]),
        Route("/console/admin/agents", admin.agent_add, methods=["POST"]),
        Route("/console/admin/agents/{agent_id:int}", admin.agent_update, methods=["POST"]),
        Route("/console/admin/canned", admin.canned_page, methods=["GET"]),
        Route("/console/admin/canned", admin.canned_save, methods=["POST"]),
        Route(
            "/console/admin/canned/{canned_id:int}/delete", admin.canned_delete, methods=["POST"]
        ),
        Mount("/console/static", StaticFiles(directory=CONSOLE_DIR / "static"), name="console"),
        WebSocketRoute("/ws/player", player_ws),
        WebSocketRoute("/ws/agent", agent_ws),
    ]
    # pages on allowed origins may call the public API (topics) from the widget
    cors = Middleware(
        CORSMiddleware,
        allow_origins=list(settings.allowed_origins),
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type"],
        max_age=600,
    )
    app = Starlette(
        routes=routes,
        middleware=[cors],
        lifespan=lifespan,
        exception_handlers={
            ClientError: client_error,
            HTTPException: http_error,
            Exception: server_error,
        },
    )
    app.state.signin_throttle = SignInThrottle()
    return app
