"""One frozen settings object, from defaults < TOML file < ``CHATSERVER_*`` env < CLI flags.

Every field can be set in a TOML file (same name, lower case) given with
``--config`` or ``CHATSERVER_CONFIG``, or as ``CHATSERVER_<NAME>`` in the
environment (lists comma-separated, booleans ``1/0/true/false``). docs/deployment.md
lists them all with their meaning.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .core.files import DEFAULT_TYPES
from .core.topics import RoutingConfig, parse_routing
from .desk.sms import check_template
from .exceptions import ConfigError
from .privacy.crypto import parse_key
from .reports.schedule import parse_recipients, parse_schedule

__all__ = ["WEBHOOK_EVENTS", "Settings", "load_routing"]

# every event a webhook can carry (docs/integration.md, "Webhooks")
WEBHOOK_EVENTS = (
    "chat.ended",
    "request.created",
    "request.updated",
    "request.escalated",
    "request.awaiting_confirmation",
    "request.sla_breached",
    "qa.reviewed",
)

_ENV_PREFIX = "CHATSERVER_"


@dataclass(frozen=True, slots=True)
class Settings:
    # server
    host: str = "127.0.0.1"
    port: int = 8000
    db: str = "chatserver.db"
    # PostgreSQL instead of the SQLite file (postgresql://user@host:port/name)
    database_url: str = ""
    # one server per database: how long a starting server waits for another to let go
    claim_wait_seconds: float = 30.0
    # several nodes (docs/deployment.md): Redis joins them; node_url is how the other
    # nodes reach this one over HTTP (default http://host:port); heartbeats every so often
    redis_url: str = ""
    node_url: str = ""
    cluster_beat_seconds: float = 2.0
    log_level: str = "info"
    # /metrics for Prometheus, only with this bearer token (empty: /metrics is off)
    metrics_token: str = ""
    # browsers: origins (scheme://host[:port]) allowed to open /ws/player besides our own
    allowed_origins: tuple[str, ...] = ()
    # chats: departments and topics come from a TOML file (empty: the shipped default)
    routing_file: str = ""
    # with no agent online, players leave a message (False) or may wait in the queue (True)
    queue_without_agents: bool = False
    # what an agent records when ending a chat
    resolutions: tuple[str, ...] = (
        "resolved",
        "needs_follow_up",
        "escalated",
        "no_response",
        "spam",
    )
    # "today" on the supervisor's floor view, and departments without a time zone of their own
    timezone: str = "Europe/Istanbul"
    # identity: which checks are allowed; the platform's token secret; the member directory
    identity_modes: tuple[str, ...] = ("token", "directory", "guest")
    identity_secret: str = ""
    # required claims of identity tokens (empty: not checked)
    identity_issuer: str = ""
    identity_audience: str = ""
    directory_url: str = ""  # empty: the built-in members table
    directory_header: str = ""  # "Name: value" sent with every look-up
    directory_timeout_seconds: float = 3.0
    # an agent must answer a new chat within this time or it goes to the next agent (0: never)
    answer_timeout_seconds: float = 90.0
    # a player silent this long after the agent spoke is warned, then the chat ends (0: never)
    player_idle_warn_seconds: float = 300.0
    player_idle_end_seconds: float = 120.0
    # where the server is reached from outside (links in e-mails and webhooks)
    public_url: str = ""
    # attachments: kept outside any served folder, checked by content
    files_dir: str = "chatserver-files"
    files_key: str = ""  # AES-256 key for attachments at rest (empty: a key file beside files_dir)
    files_old_keys: tuple[str, ...] = ()  # earlier keys, still read (chatserver files rekey)
    max_file_bytes: int = 10 * 1024 * 1024
    max_files_per_chat: int = 20
    upload_types: tuple[str, ...] = DEFAULT_TYPES
    # CPU work (password checks, images, e-mails): threads per pool, and jobs that may wait
    pool_workers: int = 2
    pool_queue: int = 8
    # images larger than this (width x height, read before decoding) are refused
    max_image_pixels: int = 25_000_000
    # e-mail (transcripts, status changes); no smtp_host: no e-mail
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = "starttls"  # starttls | tls | none
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = "support@localhost"
    smtp_timeout_seconds: float = 10.0
    # a chat's transcript by e-mail: only to its pre-chat address, this often per chat
    # (failures count), this often per recipient per day, at most this large
    transcript_emails_per_chat: int = 2
    emails_per_recipient_per_day: int = 5
    max_transcript_email_bytes: int = 1024 * 1024
    # webhooks to the ticket system: signed with webhook_secret, retried with backoff
    webhook_urls: tuple[str, ...] = ()
    webhook_events: tuple[str, ...] = ()  # which events to send (empty: every one)
    webhook_secret: str = ""
    webhook_max_attempts: int = 8
    webhook_timeout_seconds: float = 10.0
    webhook_retry_base_seconds: float = 5.0
    player_grace_seconds: float = 300.0
    agent_grace_seconds: float = 60.0
    default_handle_seconds: float = 300.0
    # limits
    max_message_chars: int = 4000
    max_frame_bytes: int = 16 * 1024
    ws_max_bytes: int = 1024 * 1024
    max_messages_per_chat: int = 1000
    # frames per second per player connection, and per player session across its sockets
    player_rate: float = 5.0
    player_burst: int = 20
    # one player session opens at most this many sockets at once (tabs)
    max_sockets_per_session: int = 5
    # per client address: new player sessions and new chats (or left messages) a minute
    sessions_per_address_per_minute: int = 60
    chats_per_address_per_minute: int = 20
    # knowledge-base searches and answers to suggestions (/api/kb) per client address
    kb_searches_per_address_per_minute: int = 60
    # a running server picks up articles changed by `chatserver kb import` this often
    kb_refresh_seconds: float = 30.0
    # the hub adds ended chats, ratings and refusals to the reports' hourly rollups this often
    report_rollup_seconds: float = 10.0
    # the weekly report e-mail: to whom ("tr:lead@example.com"; no language: Turkish) and
    # when, in `timezone` (it covers the seven days before); nobody: no e-mail
    weekly_report_to: tuple[str, ...] = ()
    weekly_report_at: str = "mon 09:00"
    # a department without max_queue of its own takes at most this many waiting chats
    # personal data and access (docs/privacy.md)
    two_factor_required: tuple[str, ...] = ()  # roles that must sign in with a code, or "all"
    # SMS to players through the operator's provider (docs/integration.md, "Notifications")
    sms_url: str = ""
    sms_auth_header: str = ""  # "Name: value", e.g. "Authorization: Bearer ..."
    sms_template: str = '{"to": {{ to | tojson }}, "text": {{ text | tojson }}}'
    sms_content_type: str = "application/json"
    # days a request waits for the player's "resolved?" before it closes by itself
    confirm_close_days: float = 3.0
    # how often the hub node looks for requests past their resolution target (core.sla)
    sla_check_seconds: float = 30.0
    # where the links in the player's notifications open their request: the platform's page
    # with the widget (the link adds #cs-request=<secret>); empty: this server's request page
    follow_url: str = ""
    request_link_days: float = 14.0  # how long such a link works
    # the operator's own notification templates (tr.txt, en.txt; docs/integration.md)
    notification_templates_dir: str = ""
    # console single sign-on through OpenID Connect (empty issuer: off)
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_username_claim: str = "preferred_username"
    oidc_label: str = "Single sign-on"
    # days each kind is kept after its request closes (0: for ever); docs/privacy.md
    retention_attachments_days: int = 180
    retention_messages_days: int = 730
    retention_notes_days: int = 730
    retention_refusals_days: int = 365
    retention_deliveries_days: int = 30
    retention_notifications_days: int = 90
    retention_audit_days: int = 1825
    retention_run_seconds: float = 3600.0
    max_queue: int = 200
    # a live chat keeps at most this many characters of messages in memory (older
    # ones are read from the store when a client needs them)
    live_chat_memory_chars: int = 262_144
    agent_rate: float = 20.0
    agent_burst: int = 60
    flood_after: int = 30
    # HTTP: request heads must be whole within this size and time; bodies are limited per
    # route (uploads: max_file_bytes); proxies whose X-Forwarded-For/-Proto are believed
    max_header_bytes: int = 16 * 1024
    header_timeout_seconds: float = 10.0
    max_body_bytes: int = 64 * 1024
    forwarded_allow_ips: tuple[str, ...] = ("127.0.0.1", "::1")
    # connections
    # a WebSocket that has not sent its hello within this time is closed
    hello_timeout_seconds: float = 10.0
    idle_timeout_seconds: float = 75.0
    # the server pings each client this often (at least three times per idle timeout);
    # 0: clients ping, as the protocol's first version had them do
    ping_seconds: float = 25.0
    outbox_limit: int = 2000
    shutdown_timeout_seconds: float = 10.0
    # storage
    sqlite_synchronous: str = "full"
    write_batch_max: int = 512

    def hooks(self, event: str) -> tuple[str, ...]:
        """The webhook URLs that get ``event`` (none if ``webhook_events`` leaves it out)."""
        if self.webhook_events and event not in self.webhook_events:
            return ()
        return self.webhook_urls

    def __post_init__(self) -> None:
        positive = (
            "player_grace_seconds",
            "agent_grace_seconds",
            "default_handle_seconds",
            "max_message_chars",
            "max_frame_bytes",
            "ws_max_bytes",
            "max_messages_per_chat",
            "player_rate",
            "player_burst",
            "max_sockets_per_session",
            "sessions_per_address_per_minute",
            "chats_per_address_per_minute",
            "kb_searches_per_address_per_minute",
            "kb_refresh_seconds",
            "report_rollup_seconds",
            "retention_run_seconds",
            "sla_check_seconds",
            "max_queue",
            "live_chat_memory_chars",
            "agent_rate",
            "agent_burst",
            "flood_after",
            "idle_timeout_seconds",
            "hello_timeout_seconds",
            "max_header_bytes",
            "header_timeout_seconds",
            "max_body_bytes",
            "outbox_limit",
            "write_batch_max",
            "cluster_beat_seconds",
            "directory_timeout_seconds",
            "max_file_bytes",
            "max_files_per_chat",
            "max_image_pixels",
            "pool_workers",
            "smtp_timeout_seconds",
            "transcript_emails_per_chat",
            "emails_per_recipient_per_day",
            "max_transcript_email_bytes",
            "webhook_max_attempts",
            "webhook_timeout_seconds",
            "webhook_retry_base_seconds",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be greater than 0")
        if not 0 <= self.port <= 65535:
            raise ConfigError("port must be between 0 and 65535")
        if self.sqlite_synchronous not in ("full", "normal"):
            raise ConfigError("sqlite_synchronous must be 'full' or 'normal'")
        unknown_modes = set(self.identity_modes) - {"token", "directory", "guest"}
        if unknown_modes or not self.identity_modes:
            raise ConfigError("identity_modes: choose from token, directory, guest")
        if self.identity_secret and len(self.identity_secret) < 32:
            raise ConfigError("identity_secret must be at least 32 characters (HMAC-SHA256)")
        if self.metrics_token and len(self.metrics_token) < 16:
            raise ConfigError("metrics_token must be at least 16 characters")
        if self.directory_header and ":" not in self.directory_header:
            raise ConfigError("directory_header must look like 'Name: value'")
        unknown_events = set(self.webhook_events) - set(WEBHOOK_EVENTS)
        if unknown_events:
            raise ConfigError(
                f"webhook_events: choose from {', '.join(WEBHOOK_EVENTS)}"
                f" (not {', '.join(sorted(unknown_events))})"
            )
        if self.webhook_urls and len(self.webhook_secret) < 32:
            raise ConfigError("webhook_urls need a webhook_secret of at least 32 characters")
        if self.redis_url and not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError("redis_url must be redis://host:port/db, rediss://... or unix://...")
        if self.node_url and not self.node_url.startswith(("http://", "https://")):
            raise ConfigError(f"node_url {self.node_url!r} is not an http(s) URL")
        if self.pool_queue < 0:
            raise ConfigError("pool_queue must be 0 or more")
        if self.claim_wait_seconds < 0:
            raise ConfigError("claim_wait_seconds must be 0 or more")
        for url in (*self.webhook_urls, *((self.public_url,) if self.public_url else ())):
            if not url.startswith(("http://", "https://")):
                raise ConfigError(f"{url!r} is not an http(s) URL")
        unknown_types = set(self.upload_types) - set(DEFAULT_TYPES)
        if unknown_types:
            raise ConfigError(f"upload_types: cannot check {', '.join(sorted(unknown_types))}")
        for k in (self.files_key, *self.files_old_keys) if self.files_key else ():
            parse_key(k, "files_key")
        if self.files_old_keys and not self.files_key:
            raise ConfigError("files_old_keys need a files_key (the current key)")
        if self.oidc_issuer:
            if not self.oidc_issuer.startswith(("https://", "http://")):
                raise ConfigError("oidc_issuer must be the provider's https:// address")
            if not self.oidc_client_id or not self.oidc_client_secret:
                raise ConfigError("oidc_issuer needs oidc_client_id and oidc_client_secret")
        if self.sms_url and not self.sms_url.startswith(("http://", "https://")):
            raise ConfigError(f"sms_url {self.sms_url!r} is not an http(s) URL")
        if self.sms_auth_header and ":" not in self.sms_auth_header:
            raise ConfigError("sms_auth_header must look like 'Name: value'")
        check_template(self.sms_template)
        if self.confirm_close_days <= 0:
            raise ConfigError("confirm_close_days must be greater than 0")
        if self.notification_templates_dir and not os.path.isdir(self.notification_templates_dir):
            raise ConfigError(
                f"notification_templates_dir {self.notification_templates_dir!r} is not a folder"
            )
        if self.request_link_days <= 0:
            raise ConfigError("request_link_days must be greater than 0")
        if self.follow_url and (
            not self.follow_url.startswith(("http://", "https://")) or "#" in self.follow_url
        ):
            raise ConfigError(f"follow_url {self.follow_url!r} is not an http(s) URL without #")
        unknown_roles = set(self.two_factor_required) - {"agent", "supervisor", "admin", "all"}
        if unknown_roles:
            raise ConfigError(
                "two_factor_required: choose from agent, supervisor, admin, all"
                f" (not {', '.join(sorted(unknown_roles))})"
            )
        parse_schedule(self.weekly_report_at)
        parse_recipients(self.weekly_report_to)
        if self.smtp_security not in ("starttls", "tls", "none"):
            raise ConfigError("smtp_security must be starttls, tls or none")
        for name in (
            "retention_attachments_days",
            "retention_messages_days",
            "retention_notes_days",
            "retention_refusals_days",
            "retention_deliveries_days",
            "retention_notifications_days",
            "retention_audit_days",
            "answer_timeout_seconds",
            "ping_seconds",
            "player_idle_warn_seconds",
            "player_idle_end_seconds",
        ):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be 0 (off) or more")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"timezone {self.timezone!r} is not a known time zone") from exc
        for origin in self.allowed_origins:
            if origin != "*" and "://" not in origin:
                raise ConfigError(f"allowed_origins: {origin!r} is not scheme://host[:port]")

    @classmethod
    def load(
        cls,
        *,
        config_file: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> Settings:
        """Build settings from a TOML file, the environment and explicit overrides."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        path = config_file or env.get(_ENV_PREFIX + "CONFIG")
        if path:
            values.update(_read_toml(Path(path)))
        for f in _fields():
            raw = env.get(_ENV_PREFIX + f.name.upper())
            if raw is not None:
                values[f.name] = _from_env(f, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls._build(values)

    @classmethod
    def _build(cls, values: dict[str, Any]) -> Settings:
        known = {f.name: f for f in _fields()}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(unknown)}")
        return cls(**{k: _coerce(known[k], v) for k, v in values.items()})

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def two_factor_required_for(self, role: str) -> bool:
        return "all" in self.two_factor_required or role in self.two_factor_required

    @property
    def base_url(self) -> str:
        """The server's address for links that leave it (e-mails, webhooks)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"


def _fields() -> list[dataclasses.Field[Any]]:
    return list(dataclasses.fields(Settings))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    section = data.get("chatserver", data)
    if not isinstance(section, dict):
        raise ConfigError(f"config file {path}: [chatserver] must be a table")
    return dict(section)


def _kind(f: dataclasses.Field[Any]) -> Any:
    hints = typing.get_type_hints(Settings)
    return hints[f.name]


def _from_env(f: dataclasses.Field[Any], raw: str) -> Any:
    kind = _kind(f)
    if typing.get_origin(kind) is tuple:
        return tuple(p.strip() for p in raw.split(",") if p.strip())
    if kind is bool:
        low = raw.strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError(f"{_ENV_PREFIX}{f.name.upper()}: {raw!r} is not a boolean")
    return raw


def _coerce(f: dataclasses.Field[Any], value: Any) -> Any:
    kind = _kind(f)
    if isinstance(kind, types.UnionType):
        kind = next(a for a in typing.get_args(kind) if a is not type(None))
    try:
        if typing.get_origin(kind) is tuple:
            if isinstance(value, str):
                value = [p.strip() for p in value.split(",") if p.strip()]
            return tuple(str(v) for v in value)
        if kind is bool:
            if not isinstance(value, bool):
                raise TypeError
            return value
        if kind is int:
            if isinstance(value, bool):
                raise TypeError
            return int(value)
        if kind is float:
            if isinstance(value, bool):
                raise TypeError
            return float(value)
        return str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {f.name}: {value!r} is not a valid {kind}") from exc


def load_routing(settings: Settings) -> RoutingConfig:
    """The departments and topics: the settings' file, or the one shipped with chatserver."""
    if settings.routing_file:
        path = settings.routing_file
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read routing file {path}: {exc.strerror}") from exc
    else:
        path = "routing.toml (built in)"
        text = resources.files("chatserver").joinpath("routing.toml").read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"routing file {path} is not valid TOML: {exc}") from exc
    return parse_routing(data, settings.timezone)
