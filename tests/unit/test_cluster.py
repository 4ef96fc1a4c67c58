"""The cluster's pure parts: the tunnel envelope, and what a node needs to be reachable."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chatserver.cluster import Node
from chatserver.cluster.tunnels import envelope, parse
from chatserver.config import Settings
from chatserver.exceptions import ConfigError


def test_any_client_text_survives_the_envelope() -> None:
    text = json.dumps({"type": "message", "text": "a\nb\n\nc"}) + "\n\n"
    assert parse(envelope("f", "n_1/7", text)) == ("f", "n_1/7", text)
    assert parse(envelope("d", "n_1/7")) == ("d", "n_1/7", "")


@pytest.mark.parametrize(("host", "port"), [("0.0.0.0", 8000), ("127.0.0.1", 0)])
def test_a_node_must_know_how_others_reach_it(host: str, port: int) -> None:
    settings = Settings(redis_url="redis://127.0.0.1:6379/0", host=host, port=port)
    store: Any = None  # not reached
    with pytest.raises(ConfigError, match="node_url"):
        Node(settings, store, start_hub=None)  # type: ignore[arg-type]
