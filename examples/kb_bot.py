"""A bot that answers players from the knowledge base and hands the chat to people.

Run it next to a server (the bot account is made once, by an admin)::

    chatserver agent add helper --name "Asistan" --bot --department '*'
    chatserver token create helper --label "knowledge-base bot"
    python examples/kb_bot.py --server http://127.0.0.1:8000 --token cst_...

and mark topics ``bot_first = true`` in the routing file. For each chat the bot gets, it
searches the knowledge base (``GET /api/kb/search``) for the player's latest message and
answers with the best article, then asks whether that answered the question. "Yes" ends
the chat as resolved; "no", a question it has no article for, or a second question hands
the chat to the queue (``handoff``), with a summary for the agent who takes it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import websockets

YES = re.compile(r"^\s*(evet|yes|olur|tamam|ok|sağol|tesekkur|teşekkür|thanks?)\b", re.I)
ASK = "Bu yanıt sorunuzu çözdü mü? (evet / hayır)\nDid this answer your question? (yes / no)"


@dataclass
class Chat:
    id: str
    asked: str | None = None  # the article offered, until the player answers
    said: list[str] = field(default_factory=list)


class Bot:
    def __init__(self, server: str, token: str) -> None:
        self.server = server.rstrip("/")
        parts = urlsplit(self.server)
        scheme = "wss" if parts.scheme == "https" else "ws"
        self.ws_url = f"{scheme}://{parts.netloc}/ws/agent"
        self.token = token
        self.chats: dict[str, Chat] = {}
        self.sent = 0
        self.http = httpx.AsyncClient(base_url=self.server, timeout=10)

    async def run(self) -> None:
        """Serve chats until the connection closes (or the task is cancelled)."""
        try:
            async with websockets.connect(self.ws_url) as ws:
                self.ws = ws
                await self.send(type="hello", v=1, token=self.token, status="online")
                async for raw in ws:
                    await self.handle(json.loads(raw))
        finally:
            await self.http.aclose()

    async def send(self, **frame: Any) -> None:
        await self.ws.send(json.dumps(frame))

    async def say(self, chat: str, text: str) -> None:
        self.sent += 1
        await self.send(type="message", chat=chat, id=f"bot-{self.sent}", text=text)

    async def handle(self, f: dict[str, Any]) -> None:
        kind = f.get("type")
        if kind == "ping":
            await self.send(type="pong")
        elif kind == "welcome":
            for summary in f.get("chats", []):
                await self.assigned(summary)
        elif kind == "assigned":
            await self.assigned(f)
        elif kind == "message" and f.get("from") == "player" and f.get("chat") in self.chats:
            await self.player_said(self.chats[f["chat"]], f.get("text") or "")
        elif kind in ("unassigned", "ended"):
            self.chats.pop(f.get("chat", ""), None)

    async def assigned(self, summary: dict[str, Any]) -> None:
        chat = self.chats.setdefault(summary["chat"], Chat(summary["chat"]))
        texts = [m["text"] for m in summary.get("history", []) if m.get("from") == "player"]
        if texts:
            await self.player_said(chat, texts[-1])

    async def player_said(self, chat: Chat, text: str) -> None:
        chat.said.append(text)
        if chat.asked is not None:
            if YES.match(text):
                await self.say(chat.id, "Sevindik! · Glad it helped!")
                await self.send(type="end", chat=chat.id, resolution="resolved")
            else:
                await self.hand_off(chat, "not_answered")
            return
        found = await self.search(text)
        if not found:
            await self.hand_off(chat, "no_article")
            return
        best = found[0]
        chat.asked = best["id"]
        await self.say(chat.id, f"{best['title']}\n{best['snippet']}\n{best['url']}\n\n{ASK}")

    async def search(self, text: str) -> list[dict[str, Any]]:
        try:
            r = await self.http.get("/api/kb/search", params={"q": text[:500], "limit": 1})
            r.raise_for_status()
            results: list[dict[str, Any]] = r.json()["results"]
            return results
        except (httpx.HTTPError, KeyError, ValueError):
            return []

    async def hand_off(self, chat: Chat, reason: str) -> None:
        summary = "Player said: " + " / ".join(t[:300] for t in chat.said)
        if chat.asked:
            summary += f"\nOffered article: {chat.asked}"
        self.chats.pop(chat.id, None)
        await self.send(type="handoff", chat=chat.id, reason=reason, summary=summary)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="http://127.0.0.1:8000")
    parser.add_argument("--token", required=True, help="the bot account's API token")
    args = parser.parse_args()
    asyncio.run(Bot(args.server, args.token).run())


if __name__ == "__main__":
    main()
