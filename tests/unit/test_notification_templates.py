"""The notifications' wording comes from Jinja2 templates, one per language; an operator's
folder replaces a language's template, and a broken one stops the start with a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatserver.desk.messages import Composer
from chatserver.exceptions import ConfigError

LINK = "https://support.example/requests/view/s3cret?lang=tr"


def test_the_shipped_templates_in_both_languages() -> None:
    c = Composer()
    tr = c.compose("status", "tr", "ABCDE-FGHJK", "pending", follow=LINK, note="Dekont?")
    assert tr.subject == "Talebiniz ABCDE-FGHJK: sizden bilgi bekliyor"
    assert "Not: Dekont?" in tr.text and tr.text.endswith(f"takip etmek için: {LINK}\n")
    assert tr.sms == f"Talebiniz ABCDE-FGHJK sizden bilgi bekliyor. {LINK}"
    en = c.compose("awaiting_confirmation", "en", "ABCDE-FGHJK", "x", follow=LINK, answer="A")
    assert en.subject == "Is your request ABCDE-FGHJK resolved?"
    assert "Please tell us:\nA\n" in en.text and en.sms.endswith("Answer: A")
    reply = c.compose("reply", "en", "ABCDE-FGHJK", "open", follow=LINK, note="Paid.")
    assert "\n\nPaid.\n" in reply.text and "Note:" not in reply.text


def test_an_operators_template_replaces_one_language(tmp_path: Path) -> None:
    (tmp_path / "tr.txt").write_text(
        "{% macro subject(kind, number, status) %}CasinoX #{{ number }}{% endmacro %}"
        "{% macro email(kind, number, status, follow, answer, note) %}Selam! {{ follow }}"
        "{% endmacro %}"
        "{% macro sms(kind, number, status, follow, answer) %}CasinoX {{ number }}{% endmacro %}",
        encoding="utf-8",
    )
    c = Composer(str(tmp_path))
    mine = c.compose("created", "tr", "ABCDE-FGHJK", "open", follow=LINK)
    assert (mine.subject, mine.text, mine.sms) == (
        "CasinoX #ABCDE-FGHJK",
        f"Selam! {LINK}",
        "CasinoX ABCDE-FGHJK",
    )
    # English still comes from the shipped template
    assert c.compose("created", "en", "N", "open", follow=LINK).subject.startswith("We received")


def test_a_broken_template_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "en.txt").write_text("{% macro subject( %}", encoding="utf-8")
    with pytest.raises(ConfigError, match="en.txt"):
        Composer(str(tmp_path))
    (tmp_path / "en.txt").write_text("{% macro subject(kind) %}x{% endmacro %}", encoding="utf-8")
    with pytest.raises(ConfigError, match="email"):
        Composer(str(tmp_path))
    with pytest.raises(ConfigError, match="not a folder"):
        Composer(str(tmp_path / "missing"))
