"""Starlette routes: thin adapters between HTTP/WebSocket and the hub."""
