"""Several nodes: one runs the hub, the others tunnel their clients to it (node.py)."""

from .node import Node
from .proxy import EdgeProxy

__all__ = ["EdgeProxy", "Node"]
