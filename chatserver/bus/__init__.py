"""Cross-connection (and later cross-node) fan-out behind the ``Bus`` interface."""

from .base import Bus, Subscriber
from .local import LocalBus
from .redisbus import RedisBus

__all__ = ["Bus", "LocalBus", "RedisBus", "Subscriber"]
