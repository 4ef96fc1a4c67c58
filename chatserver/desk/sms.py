"""Sending an SMS through the operator's own provider: a plain HTTP request whose address,
authorization header and body are settings (``sms_url``, ``sms_auth_header``,
``sms_template``), so any provider with an HTTP API fits without code.

The body template is Jinja2 with ``to`` and ``text``; ``| tojson`` quotes them for a JSON
body (the default: ``{"to": {{ to | tojson }}, "text": {{ text | tojson }}}``)."""

from __future__ import annotations

import httpx
from jinja2 import Environment, StrictUndefined, TemplateSyntaxError

from ..exceptions import ConfigError

__all__ = ["DEFAULT_TEMPLATE", "SmsError", "SmsGateway", "check_template"]

DEFAULT_TEMPLATE = '{"to": {{ to | tojson }}, "text": {{ text | tojson }}}'
_env = Environment(undefined=StrictUndefined, autoescape=False)


class SmsError(Exception):
    pass


def check_template(template: str) -> None:
    try:
        _env.from_string(template).render(to="+905550000000", text="test")
    except (TemplateSyntaxError, ValueError) as exc:
        raise ConfigError(f"sms_template: {exc}") from exc


class SmsGateway:
    def __init__(
        self,
        url: str,
        *,
        auth_header: str = "",
        template: str = DEFAULT_TEMPLATE,
        content_type: str = "application/json",
        timeout: float = 10.0,
    ) -> None:
        self.url = url
        self.headers = {"Content-Type": content_type, "User-Agent": "chatserver-sms"}
        if auth_header:
            name, _, value = auth_header.partition(":")
            self.headers[name.strip()] = value.strip()
        self.template = _env.from_string(template)
        self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=False)

    async def send(self, to: str, text: str) -> None:
        body = self.template.render(to=to, text=text).encode()
        try:
            r = await self._client.post(self.url, content=body, headers=self.headers)
        except httpx.HTTPError as exc:
            why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise SmsError(why) from None
        if not 200 <= r.status_code < 300:
            raise SmsError(f"HTTP {r.status_code}")

    async def close(self) -> None:
        await self._client.aclose()
