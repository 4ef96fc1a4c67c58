"""Knowledge-base articles: checks, Markdown files with front matter, safe rendering."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatserver.config import Settings, load_routing
from chatserver.exceptions import ClientError
from chatserver.kb.articles import (
    Article,
    check_article,
    parse_markdown_file,
    plain_text,
    render,
    to_markdown_file,
)
from chatserver.kb.folder import read_folder, write_folder


def test_render_is_sanitized() -> None:
    """Raw HTML, scripts and javascript: links never reach the page."""
    html = render(
        "Hi <script>alert(1)</script> **bold**\n\n[x](javascript:alert(1)) [ok](https://a.example)"
        '\n\n<img src=x onerror="alert(1)">'
    )
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html
    assert "<strong>bold</strong>" in html
    assert 'href="https://a.example"' in html and "noopener" in html


def test_plain_text_drops_markup() -> None:
    assert plain_text("**Hesabım → Bonuslar** and [link](https://x)\n\n1. one") == (
        "Hesabım → Bonuslar and link\none"
    )


def test_front_matter_round_trip() -> None:
    """An article written to a file reads back the same."""
    article = Article(
        id="cekim-suresi", locale="tr", title="Çekim: ne zaman?", body="Gövde **kalın**.\n",
        topic="payments", tags=["çekim", "süre"], published=False,
    )  # fmt: skip
    back = parse_markdown_file(to_markdown_file(article), ["payments"], where="x.md")
    assert back == article


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("no front matter", "no front matter"),
        ("---\nid: Bad Id\ntitle: t\nlocale: tr\n---\nx", "id:"),
        ("---\nid: a\ntitle: t\nlocale: de\n---\nx", "locale"),
        ("---\nid: a\ntitle: t\nlocale: tr\ntopic: nope\n---\nx", "unknown topic"),
        ("---\nid: a\ntitle: t\nlocale: tr\ncolour: red\n---\nx", "unknown keys"),
        ("---\nid: [a\n---\nx", "front matter"),
    ],
)
def test_bad_files_name_the_problem(text: str, says: str) -> None:
    with pytest.raises(ClientError) as caught:
        parse_markdown_file(text, ["payments"], where="kb/a.md")
    assert caught.value.code == "invalid_article"
    assert "kb/a.md" in caught.value.message and says in caught.value.message


def test_check_article_tags_from_a_string() -> None:
    a = check_article({"id": "a", "locale": "en", "title": " T ", "body": "b", "tags": "x, y"})
    assert (a.title, a.tags, a.body) == ("T", ["x", "y"], "b\n")


def test_folder_round_trip_and_duplicate_ids(tmp_path: Path) -> None:
    """Export then import gives the same articles; one id in two files is refused."""
    articles = [
        Article(id="a", locale="tr", title="A", body="x\n"),
        Article(id="b", locale="en", title="B", body="y\n", tags=["t"]),
    ]
    assert write_folder(tmp_path, articles) == 2
    assert sorted(read_folder(tmp_path), key=lambda a: a.id) == articles
    (tmp_path / "copy.md").write_text((tmp_path / "tr" / "a.md").read_text())
    with pytest.raises(ClientError, match="also in"):
        read_folder(tmp_path)


def test_the_sample_knowledge_base_is_valid() -> None:
    """examples/kb parses: every article has a unique id and a known topic."""
    root = Path(__file__).resolve().parents[2]
    routing = load_routing(Settings())
    articles = read_folder(root / "examples" / "kb", list(routing.topics))
    assert {a.locale for a in articles} == {"tr", "en"} and len(articles) >= 40
