"""The console's Turkish catalog covers every text its pages and scripts show (issue 19)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from chatserver.web.i18n import catalog, translator

CONSOLE = Path(__file__).parents[2] / "agent_console"
# a literal handed to _() in a template or T() in a script, whole (not one built up with +)
LITERAL = re.compile(r'\b(?:_|T)\("((?:[^"\\]|\\.)*)"\s*[,)]')


def shown_texts() -> set[str]:
    texts: set[str] = set()
    for path in [*CONSOLE.glob("templates/*.html"), *CONSOLE.glob("static/*.js")]:
        texts |= set(LITERAL.findall(path.read_text(encoding="utf-8")))
    # and the system lines console.js translates by event
    script = (CONSOLE / "static" / "console.js").read_text(encoding="utf-8")
    events = script[script.index("var EVENTS = {") : script.index("};", script.index("var EVENTS"))]
    texts |= set(re.findall(r': "([^"]+)"', events))
    return texts


def test_every_shown_text_has_a_turkish_translation() -> None:
    """No English leaks into the Turkish console."""
    tr = json.loads((CONSOLE / "i18n" / "tr.json").read_text(encoding="utf-8"))
    missing = sorted(t for t in shown_texts() if t not in tr)
    assert not missing, missing
    assert len(shown_texts()) > 80  # (the pattern still finds the texts)


def test_placeholders_survive_translation() -> None:
    """A translation keeps its text's {placeholders}, and they are filled in."""
    for english, turkish in catalog("tr").items():
        assert set(re.findall(r"\{\w+\}", english)) == set(re.findall(r"\{\w+\}", turkish)), english
    assert translator("tr")("Request number: {number}", number="7QM3R-XD2TK") == (
        "Talep numarası: 7QM3R-XD2TK"
    )
    assert translator("en")("Request {number}", number="X") == "Request X"
