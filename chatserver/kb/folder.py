"""A knowledge base as a folder of Markdown files (``chatserver kb import|export DIR``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..exceptions import ClientError
from .articles import Article, parse_markdown_file, to_markdown_file

__all__ = ["read_folder", "write_folder"]


def read_folder(folder: Path, topics: Sequence[str] | None = None) -> list[Article]:
    """Every ``*.md`` under ``folder`` (any depth), checked; ClientError names the first bad
    file, and two files with one id are refused."""
    articles: dict[str, tuple[Path, Article]] = {}
    for path in sorted(folder.rglob("*.md")):
        where = str(path.relative_to(folder))
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ClientError("invalid_article", f"{where}: cannot read: {exc}") from exc
        article = parse_markdown_file(text, topics, where=where)
        if article.id in articles:
            other = articles[article.id][0].relative_to(folder)
            raise ClientError("invalid_article", f"{where}: id {article.id!r} is also in {other}")
        articles[article.id] = (path, article)
    return [article for _, article in articles.values()]


def write_folder(folder: Path, articles: Sequence[Article]) -> int:
    """Write each article to ``folder/<locale>/<id>.md``; how many were written."""
    for article in articles:
        target = folder / article.locale / f"{article.id}.md"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(to_markdown_file(article), encoding="utf-8")
    return len(articles)
