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

from . import metrics
from .cluster import EdgeProxy, Node
from .config import Settings, load_routing
from .desk.desk import RequestDesk
from .desk.dispatch import notifications_for
from .desk.timers import DeskTimers
from .directory import make_directory
from .exceptions import ClientError, StoreError
from .files import file_store
from .hub import Hub
from .kb.service import KnowledgeBase
from .mail import make_notifier
from .privacy.retention import Retention, policy_of
from .reports.schedule import parse_recipients
from .reports.service import Reports, WeeklyMail
from .store import database_label, make_store
from .throttle import FailureThrottle, Window
from .web import admin, answer, api, console, escalations, openapi, security, tracking, widget
from .web import audit as audit_web
from .web import files as files_web
from .web import kb as kb_web
from .web import privacy as privacy_web
from .web import qa as qa_web
from .web import reports as reports_web
from .web import sso as sso_web
from .web.auth import SignInThrottle
from .web.errors import client_error, http_error, server_error
from .web.followup_files import followup_file
from .web.httpguard import BodyLimit
from .web.pages import CONSOLE_DIR
from .web.ws import agent_ws, player_ws
from .webhooks import Dispatcher

__all__ = ["create_app"]

log = logging.getLogger("chatserver")


def create_app(
    settings: Settings, *, on_fatal: Callable[[StoreError], None] | None = None
) -> Starlette:
    """The application. ``on_fatal`` is called if the store fails for good (the CLI exits)."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        routing = load_routing(settings)  # a broken routing file stops start-up here
        files = file_store(settings)
        store = make_store(settings)
        await store.open()
        app.state.settings = settings
        app.state.store = store
        directory = make_directory(settings, store)
        dispatcher = Dispatcher(store, settings)
        hub: Hub | None = None
        node: Node | None = None

        async def start_hub() -> Hub:
            nonlocal hub
            hub = Hub(settings, store, routing=routing, directory=directory, on_fatal=on_fatal)
            hub.files = files
            hub.notifier = make_notifier(settings, hub.pools.mail)
            hub.dispatcher = dispatcher
            hub.desk = RequestDesk(
                store, settings, hub.routing, clock=hub.clock, poke=hub.poke_webhooks,
                changed=hub.request_changed,
            )  # fmt: skip
            hub.notifications = notifications_for(settings, store)
            hub.notifications.start()
            hub.desk_timers = DeskTimers(hub.desk, settings, clock=hub.clock)
            hub.desk_timers.start()
            await hub.start()
            kb = KnowledgeBase(store, hub.pools.search, hub.routing.topics)
            await kb.load()
            kb.start(settings.kb_refresh_seconds)
            app.state.kb = kb
            topics = {t.id: t.department for t in hub.routing.topics.values()}
            reports = Reports(store, hub.pools.reports, topics, timezone=settings.timezone)
            reports.start(settings.report_rollup_seconds)
            if settings.smtp_host and hub.notifier is not None:
                weekly = WeeklyMail(
                    parse_recipients(settings.weekly_report_to),
                    settings.weekly_report_at,
                    settings.smtp_from,
                    settings.base_url,
                    hub.notifier.mailer,
                    hub.pools.mail,
                )
                reports.start_weekly(weekly)
                app.state.weekly_mail = weekly
            app.state.reports = reports
            retention = Retention(
                store, files, policy_of(settings), clock=hub.clock, run=hub.pools.files.run
            )
            retention.start(settings.retention_run_seconds)
            app.state.retention = retention
            dispatcher.start()  # deliveries left from before a restart go out now
            app.state.hub = hub
            hub.lookups = app.state.lookup_throttle  # one count for the widget and the page
            return hub

        try:
            applied = await store.migrate()
            if applied:
                log.info(
                    "database %s migrated to version %d", database_label(settings), applied[-1]
                )
            if settings.redis_url:
                node = Node(settings, store, start_hub, on_fatal)
                app.state.node = node
                try:
                    await node.start()
                except BaseException:
                    await node.stop()
                    raise
            elif await store.claim(settings.claim_wait_seconds):
                await start_hub()
            else:
                raise StoreError(
                    f"another chatserver is serving {database_label(settings)}; without"
                    " CHATSERVER_REDIS_URL, one server per database (stop the other one first)"
                )
            try:
                yield
            finally:
                if node is not None:
                    await node.stop()
                kb_running: KnowledgeBase | None = getattr(app.state, "kb", None)
                if kb_running is not None:
                    await kb_running.stop()
                purges: Retention | None = getattr(app.state, "retention", None)
                if purges is not None:
                    await purges.stop()
                rollups: Reports | None = getattr(app.state, "reports", None)
                if rollups is not None:
                    await rollups.stop()
                if hub is not None:
                    if hub.desk_timers is not None:
                        await hub.desk_timers.stop()
                    if hub.notifications is not None:
                        await hub.notifications.stop()
                    await hub.stop()
                    log.info("stopped cleanly: %d writes committed", hub.writer.ops_written)
        finally:
            await dispatcher.stop()
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
        Route("/metrics", api.metrics),
        Route("/api/topics", api.topics),
        Route("/api/openapi.json", openapi.spec),
        Route("/api/requests", api.list_requests),
        Route("/api/requests/lookup", tracking.lookup_api, methods=["POST"]),
        Route("/api/requests/followup/files", followup_file, methods=["POST"]),
        Route("/api/requests/followup", tracking.follow_up_api, methods=["POST"]),
        Route("/api/requests/{number}", api.get_request),
        Route("/api/requests/{number}/status", tracking.set_status, methods=["POST"]),
        Route("/api/requests/{number}/transcript", tracking.request_transcript),
        Route("/api/requests/{number}/files", tracking.request_files),
        Route("/api/chats/{chat}/files", files_web.upload, methods=["POST"]),
        Route("/api/files/{file}", files_web.download),
        Route("/api/files/{file}/thumbnail", files_web.download),
        Route("/requests/lookup", tracking.lookup_page, methods=["GET", "POST"]),
        Route("/requests/view/{secret}", tracking.link_page, methods=["GET", "POST"]),
        Route("/requests/answer/{secret}", answer.answer_page, methods=["GET", "POST"]),
        Route("/api/kb/search", kb_web.search_api),
        Route("/api/kb/outcome", kb_web.outcome_api, methods=["POST"]),
        Route("/api/kb/articles/{article_id}", kb_web.article_api),
        Route("/api/kb/articles/{article_id}/vote", kb_web.vote_api, methods=["POST"]),
        Route("/help", kb_web.help_page),
        Route("/help/{article_id}", kb_web.article_page),
        Route("/help/{article_id}/vote", kb_web.vote_form, methods=["POST"]),
        Route("/console/kb", kb_web.editor_list, methods=["GET"]),
        Route("/console/kb", kb_web.article_save, methods=["POST"]),
        Route("/console/kb/new", kb_web.article_edit),
        Route("/console/kb/suggest", kb_web.suggest_api),
        Route("/console/kb/{article_id}", kb_web.article_edit),
        Route("/console/kb/{article_id}/delete", kb_web.article_delete, methods=["POST"]),
        Route("/console", console.workspace),
        Route("/console/login", console.login_page, methods=["GET"]),
        Route("/console/login", console.login, methods=["POST"]),
        Route("/console/sso", sso_web.start, methods=["GET"]),
        Route("/console/sso/callback", sso_web.callback, methods=["GET"]),
        Route("/console/login/code", security.code_page, methods=["GET"]),
        Route("/console/login/code", security.code_submit, methods=["POST"]),
        Route("/console/security", security.security_page, methods=["GET"]),
        Route("/console/security/enrol", security.enrol, methods=["POST"]),
        Route("/console/privacy", privacy_web.console_page, methods=["GET"]),
        Route("/console/privacy/export", privacy_web.console_export, methods=["POST"]),
        Route("/console/privacy/link", privacy_web.console_link, methods=["POST"]),
        Route("/console/privacy/erase", privacy_web.console_erase, methods=["POST"]),
        Route("/console/audit", audit_web.audit_page, methods=["GET"]),
        Route("/api/audit", audit_web.audit_api, methods=["GET"]),
        Route("/api/privacy/subjects", privacy_web.subjects_api, methods=["GET"]),
        Route("/api/privacy/subjects/export", privacy_web.export_api, methods=["POST"]),
        Route("/api/privacy/subjects/erase", privacy_web.erase_api, methods=["POST"]),
        Route("/api/privacy/subjects/link", privacy_web.link_api, methods=["POST"]),
        Route("/privacy/export/{secret}", privacy_web.player_export, methods=["GET"]),
        Route("/console/logout", console.logout, methods=["POST"]),
        Route("/console/language", console.language, methods=["POST"]),
        Route("/console/floor", console.floor),
        Route("/console/reports", reports_web.reports_page),
        Route("/api/reports", reports_web.report_api),
        Route("/console/requests", console.requests_page),
        Route("/console/requests/{number}", console.request_page),
        Route("/console/requests/{number}/export.{fmt:str}", console.export),
        Route("/console/requests/{number}/status", console.status_form, methods=["POST"]),
        Route("/console/requests/{number}/take", escalations.take, methods=["POST"]),
        Route("/console/requests/{number}/reply", escalations.reply, methods=["POST"]),
        Route("/console/escalations", escalations.escalations_page),
        Route("/console/inbox", escalations.inbox_page),
        Route("/console/qa", qa_web.queue_page),
        Route("/console/qa/mine", qa_web.mine_page),
        Route("/console/qa/{number}", qa_web.review_page, methods=["GET"]),
        Route("/console/qa/{number}", qa_web.save_review, methods=["POST"]),
        Route("/console/admin/webhooks", admin.webhooks_page, methods=["GET"]),
        Route("/console/admin/webhooks/{delivery}/redeliver", admin.redeliver, methods=["POST"]),
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
        middleware=[Middleware(BodyLimit, settings=settings), Middleware(EdgeProxy), cors],
        lifespan=lifespan,
        exception_handlers={
            ClientError: client_error,
            HTTPException: http_error,
            Exception: server_error,
        },
    )
    app.state.metrics = metrics.registry(app.state)
    app.state.signin_throttle = SignInThrottle()
    app.state.kb_window = Window(f"{settings.kb_searches_per_address_per_minute}/minute")
    # failed request look-ups per address, and per request number from anywhere
    app.state.lookup_throttle = FailureThrottle(
        "lookup", address="10/15 minutes", request="10/15 minutes"
    )
    return app
