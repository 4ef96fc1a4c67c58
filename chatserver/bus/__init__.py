"""Fan-out of frames to topic subscribers: in this process (LocalBus) or across nodes (RedisBus)."""

from .base import Bus, Subscriber
from .local import LocalBus
from .redisbus import RedisBus

__all__ = ["Bus", "LocalBus", "RedisBus", "Subscriber"]
