"""Knowledge-base articles: the record, its checks, Markdown files with front matter, and
safe rendering.

Pure and synchronous. An article is Markdown; it is rendered by markdown-it (CommonMark, raw
HTML disabled) and the result is cleaned by nh3 (an HTML sanitizer with an allow-list), so
neither an editor's mistake nor a stolen editor account can put a script on the help page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
import nh3
import yaml
from markdown_it import MarkdownIt

from ..exceptions import ClientError
from .analyzer import LOCALES

__all__ = [
    "Article",
    "check_article",
    "parse_markdown_file",
    "plain_text",
    "render",
    "to_markdown_file",
]

ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
MAX_TITLE = 200
MAX_BODY = 100_000
MAX_TAGS = 20
MAX_TAG = 60

_MD = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    "table"
)
_TAGS = {
    "p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a", "h2", "h3",
    "h4", "hr", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
_MARKUP = re.compile(r"[*_`#>|]+|^\s*(?:[-+]|\d+[.)])\s+", re.M)
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")


class Article(msgspec.Struct, kw_only=True):
    id: str
    locale: str
    title: str
    body: str  # Markdown
    topic: str | None = None
    tags: list[str] = []
    published: bool = True
    updated_at: float = 0.0
    updated_by: str | None = None
    helpful: int = 0
    unhelpful: int = 0

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "locale": self.locale,
            "title": self.title,
            "topic": self.topic,
            "tags": list(self.tags),
            "published": self.published,
            "updated_at": self.updated_at,
        }


def check_article(
    fields: Mapping[str, Any], topics: Sequence[str] | None = None, *, where: str = "article"
) -> Article:
    """An ``Article`` from untrusted fields, or ``ClientError`` naming what is wrong."""

    def bad(field: str, message: str) -> ClientError:
        return ClientError("invalid_article", f"{where}: {message}", field=field)

    article_id = fields.get("id")
    if not isinstance(article_id, str) or not ID.match(article_id):
        raise bad("id", "id: lower-case letters, digits and dashes, at most 80")
    locale = fields.get("locale")
    if locale not in LOCALES:
        raise bad("locale", f"locale: one of {', '.join(LOCALES)}")
    title = fields.get("title")
    if not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE:
        raise bad("title", f"title: 1 to {MAX_TITLE} characters")
    body = fields.get("body", "")
    if not isinstance(body, str) or len(body) > MAX_BODY:
        raise bad("body", f"body: at most {MAX_BODY} characters of Markdown")
    topic = fields.get("topic") or None
    if topic is not None and (not isinstance(topic, str) or (topics and topic not in topics)):
        raise bad("topic", f"topic: unknown topic {topic!r}")
    tags = fields.get("tags") or []
    if isinstance(tags, str):
        tags = [t for t in (p.strip() for p in tags.split(",")) if t]
    if (
        not isinstance(tags, list)
        or len(tags) > MAX_TAGS
        or not all(isinstance(t, str) and 0 < len(t) <= MAX_TAG for t in tags)
    ):
        raise bad("tags", f"tags: at most {MAX_TAGS}, each 1 to {MAX_TAG} characters")
    published = fields.get("published", True)
    if not isinstance(published, bool):
        raise bad("published", "published: true or false")
    return Article(
        id=article_id,
        locale=locale,
        title=title.strip(),
        body=body.strip() + "\n" if body.strip() else "",
        topic=topic,
        tags=[t.strip() for t in tags],
        published=published,
    )


def render(markdown: str) -> str:
    """Safe HTML of an article's Markdown (links open outside and carry no referrer)."""
    html = _MD.render(markdown)
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes={"a": {"href", "title"}, "th": {"align"}, "td": {"align"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def plain_text(markdown: str) -> str:
    """The words of an article without Markdown marks, for the index and snippets."""
    text = _LINK.sub(r"\1", markdown)
    text = _MARKUP.sub("", text)
    return re.sub(r"[ \t]+", " ", text).strip()


def parse_markdown_file(text: str, topics: Sequence[str] | None = None, *, where: str) -> Article:
    """An article from a Markdown file with YAML front matter (id, title, locale, topic, tags,
    published)."""
    match = _FRONT.match(text)
    if not match:
        raise ClientError("invalid_article", f"{where}: no front matter (--- ... ---)")
    try:
        front = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        raise ClientError("invalid_article", f"{where}: front matter: {exc}") from exc
    if not isinstance(front, dict):
        raise ClientError("invalid_article", f"{where}: front matter is not a mapping")
    unknown = set(front) - {"id", "title", "locale", "topic", "tags", "published"}
    if unknown:
        raise ClientError("invalid_article", f"{where}: unknown keys {sorted(unknown)}")
    return check_article({**front, "body": text[match.end() :]}, topics, where=where)


def to_markdown_file(article: Article) -> str:
    """The Markdown file ``parse_markdown_file`` reads back into the same article."""
    front: dict[str, Any] = {"id": article.id, "title": article.title, "locale": article.locale}
    if article.topic:
        front["topic"] = article.topic
    if article.tags:
        front["tags"] = list(article.tags)
    if not article.published:
        front["published"] = False
    head = yaml.safe_dump(
        front, allow_unicode=True, sort_keys=False, width=1000, default_flow_style=None
    )
    return f"---\n{head}---\n{article.body}"
