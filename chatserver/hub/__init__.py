"""The hub: owns live connections and chats; the only layer that awaits the store."""

from .agent import handle_agent_frame
from .connection import Connection
from .hub import Hub
from .player import handle_player_frame
from .serve import serve_connection, serve_direct

__all__ = [
    "Connection",
    "Hub",
    "handle_agent_frame",
    "handle_player_frame",
    "serve_connection",
    "serve_direct",
]
