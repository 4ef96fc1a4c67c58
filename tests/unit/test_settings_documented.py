"""Every setting is documented in the README's table (issue 18: every limit a documented
setting)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from chatserver.config import Settings


def test_every_setting_is_in_the_readme() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    missing = [f.name for f in dataclasses.fields(Settings) if f"`{f.name}`" not in readme]
    assert not missing, missing
