"""Quality review: which finished requests are reviewed, and how a review scores.

The routing file's ``[qa]`` table sets the share of resolved requests sampled at random and the
rubric (criteria with weights). Requests are also always reviewed when the player rated 1 or 2,
when they were escalated, and when their topic is a complaint (``confirm_close``). A review
answers each criterion from 0 to 5; the score is their weighted mean on 0-100.

Pure: the sample is decided by the request number's hash, so every node decides alike.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..exceptions import ClientError, ConfigError

__all__ = ["Criterion", "QaConfig", "parse_qa", "reasons", "score"]

MAX_ANSWER = 5


@dataclass(frozen=True, slots=True)
class Criterion:
    id: str
    labels: Mapping[str, str]
    weight: float = 1.0


_DEFAULT: tuple[Criterion, ...] = (
    Criterion("greeting", {"tr": "Karşılama ve kimlik doğrulama", "en": "Greeting and checks"}, 1),
    Criterion("understanding", {"tr": "Sorunu anlama", "en": "Understanding the issue"}, 2),
    Criterion("accuracy", {"tr": "Doğru ve eksiksiz bilgi", "en": "Accurate, complete answer"}, 3),
    Criterion("tone", {"tr": "Üslup ve nezaket", "en": "Tone and courtesy"}, 1),
    Criterion("closing", {"tr": "Kapanış ve sonraki adımlar", "en": "Closing and next steps"}, 1),
)


@dataclass(frozen=True, slots=True)
class QaConfig:
    share: float = 0.1  # of resolved and closed requests, at random
    criteria: tuple[Criterion, ...] = field(default=_DEFAULT)


def parse_qa(raw: object) -> QaConfig:
    if raw is None:
        return QaConfig()
    if not isinstance(raw, Mapping):
        raise ConfigError("routing: [qa] must be a table")
    share = raw.get("share", 0.1)
    if not isinstance(share, int | float) or isinstance(share, bool) or not 0 <= share <= 1:
        raise ConfigError("qa: share is a number from 0 to 1")
    criteria = _DEFAULT
    if "criteria" in raw:
        items = raw["criteria"]
        if not isinstance(items, list) or not items:
            raise ConfigError("qa: criteria is a list of tables")
        out = []
        for i, c in enumerate(items, 1):
            if not isinstance(c, Mapping) or not isinstance(c.get("id"), str):
                raise ConfigError(f"qa criterion {i}: needs an id")
            labels = c.get("labels", {})
            weight = c.get("weight", 1)
            if not isinstance(labels, Mapping) or not isinstance(weight, int | float):
                raise ConfigError(f"qa criterion {c['id']}: labels is a table, weight a number")
            if weight <= 0:
                raise ConfigError(f"qa criterion {c['id']}: weight must be above 0")
            out.append(Criterion(c["id"], dict(labels), float(weight)))
        criteria = tuple(out)
    return QaConfig(float(share), criteria)


def reasons(
    number: str,
    share: float,
    *,
    rating: int | None,
    escalated: bool,
    complaint: bool,
) -> list[str]:
    """Why a finished request goes to review (empty: it does not)."""
    out = []
    if rating is not None and rating <= 2:
        out.append("low_rating")
    if escalated:
        out.append("escalated")
    if complaint:
        out.append("complaint")
    h = int.from_bytes(hashlib.sha256(number.encode()).digest()[:8], "big") / 2**64
    if h < share:
        out.append("sample")
    return out


def score(criteria: Sequence[Criterion], answers: Mapping[str, object]) -> float:
    """The weighted mean of the answers (0-5 each) on 0-100; ClientError names a missing or
    wrong answer."""
    total = weights = 0.0
    for c in criteria:
        value = answers.get(c.id)
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_ANSWER:
            raise ClientError("invalid_answer", f"score {c.id} from 0 to {MAX_ANSWER}", field=c.id)
        total += c.weight * value
        weights += c.weight
    return round(100 * total / (weights * MAX_ANSWER), 1)
