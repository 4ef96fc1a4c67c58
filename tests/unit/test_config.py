"""Settings: defaults, TOML, environment and overrides, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatserver.config import Settings, load_routing
from chatserver.exceptions import ConfigError


def test_defaults() -> None:
    """Out of the box: localhost:8000, a local SQLite file, the default topics."""
    s = Settings.load(env={})
    assert (s.host, s.port, s.db) == ("127.0.0.1", 8000, "chatserver.db")
    assert s.player_grace_seconds == 300 and s.agent_grace_seconds == 60
    assert "payments" in load_routing(s).topics


def test_precedence_toml_env_overrides(tmp_path: Path) -> None:
    """TOML < CHATSERVER_* < explicit overrides; None overrides are ignored."""
    cfg = tmp_path / "chat.toml"
    cfg.write_text('[chatserver]\nport = 9000\nhost = "0.0.0.0"\nresolutions = ["a", "b"]\n')
    env = {
        "CHATSERVER_PORT": "9100",
        "CHATSERVER_ALLOWED_ORIGINS": "https://a.example, https://b.example",
    }
    s = Settings.load(config_file=cfg, env=env, port=None, db="x.db")
    assert (s.host, s.port, s.db, s.resolutions) == ("0.0.0.0", 9100, "x.db", ("a", "b"))
    assert s.allowed_origins == ("https://a.example", "https://b.example")
    assert Settings.load(env={"CHATSERVER_CONFIG": str(cfg)}).port == 9000


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"CHATSERVER_PORT": "eighty"}, "port"),
        ({"CHATSERVER_PORT": "70000"}, "port"),
        ({"CHATSERVER_PLAYER_GRACE_SECONDS": "0"}, "player_grace_seconds"),
        ({"CHATSERVER_SQLITE_SYNCHRONOUS": "off"}, "sqlite_synchronous"),
        ({"CHATSERVER_ALLOWED_ORIGINS": "example.com"}, "allowed_origins"),
        ({"CHATSERVER_IDENTITY_MODES": "token,password"}, "identity_modes"),
        ({"CHATSERVER_IDENTITY_SECRET": "too-short"}, "identity_secret"),
        ({"CHATSERVER_METRICS_TOKEN": "short-token"}, "metrics_token"),
        ({"CHATSERVER_DIRECTORY_HEADER": "no colon"}, "directory_header"),
        ({"CHATSERVER_ANSWER_TIMEOUT_SECONDS": "-1"}, "answer_timeout_seconds"),
        ({"CHATSERVER_REDIS_URL": "localhost:6379"}, "redis_url"),
        ({"CHATSERVER_NODE_URL": "10.0.0.5:8000"}, "node_url"),
        ({"CHATSERVER_CLUSTER_BEAT_SECONDS": "0"}, "cluster_beat_seconds"),
        ({"CHATSERVER_CLAIM_WAIT_SECONDS": "-1"}, "claim_wait_seconds"),
    ],
)
def test_bad_values_are_named(env: dict[str, str], fragment: str) -> None:
    """A value that cannot work is refused at start-up, naming the setting."""
    with pytest.raises(ConfigError) as info:
        Settings.load(env=env)
    assert fragment in str(info.value)


def test_bad_files(tmp_path: Path) -> None:
    """Missing files, broken TOML and unknown keys are reported, not ignored."""
    with pytest.raises(ConfigError, match="cannot read"):
        Settings.load(config_file=tmp_path / "missing.toml", env={})
    bad = tmp_path / "bad.toml"
    bad.write_text("port = = 1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        Settings.load(config_file=bad, env={})
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("prot = 1")
    with pytest.raises(ConfigError, match="unknown setting"):
        Settings.load(config_file=unknown, env={})


def test_routing_file(tmp_path: Path) -> None:
    """A routing file of one's own replaces the shipped one; mistakes are named."""
    good = tmp_path / "routing.toml"
    good.write_text('[[departments]]\nid = "vip"\n[[topics]]\nid = "vip"\ndepartment = "vip"\n')
    assert list(load_routing(Settings(routing_file=str(good))).topics) == ["vip"]
    with pytest.raises(ConfigError, match="cannot read routing file"):
        load_routing(Settings(routing_file=str(tmp_path / "missing.toml")))
    bad = tmp_path / "bad.toml"
    bad.write_text("[[departments]\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_routing(Settings(routing_file=str(bad)))
