"""chatserver: a self-hosted real-time live-chat support server."""

__all__ = ["__version__"]

__version__ = "0.1.0"
