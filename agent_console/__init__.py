"""The agent console: Jinja2 templates and static files, shipped as package data."""
