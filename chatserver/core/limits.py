"""Per-connection flood control: a token bucket with time passed in.

Each inbound frame costs one token; tokens refill at ``rate`` per second up to
``burst``. A frame that finds the bucket empty is refused (the client gets
``rate_limited`` with a retry hint); a client that keeps sending into an empty
bucket for ``flood_after`` frames in a row is flooding and gets disconnected.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TokenBucket"]


@dataclass(slots=True)
class TokenBucket:
    rate: float
    burst: float
    flood_after: int
    tokens: float = -1.0
    updated: float = 0.0
    refused_in_a_row: int = 0

    def take(self, now: float) -> float:
        """0.0 if the frame may pass, else seconds until one token is back."""
        if self.tokens < 0:
            self.tokens = self.burst
        else:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            self.refused_in_a_row = 0
            return 0.0
        self.refused_in_a_row += 1
        return (1.0 - self.tokens) / self.rate

    @property
    def flooding(self) -> bool:
        return self.refused_in_a_row >= self.flood_after
