"""Pure rules behind issue 18: attempt windows, frame nesting, file names, origins,
identity-token claims, a live chat's memory bound, and logging once per interval."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging

import jwt
import pytest

from chatserver.core.conversation import Conversation, Player, Sender
from chatserver.core.files import content_disposition, safe_name
from chatserver.core.identity import verify_identity_token
from chatserver.exceptions import ClientError, LimitError
from chatserver.logs import OncePerInterval
from chatserver.protocol import decode_player, too_deep
from chatserver.throttle import FailureThrottle, Window, parse_limit
from chatserver.web.origins import same_origin

SECRET = "s" * 40
NOW = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_limits_parse() -> None:
    """'5/15 minutes' and '30/minute' are windows; nonsense is refused."""
    assert parse_limit("5/15 minutes") == (5, 900.0)
    assert parse_limit("30/minute") == (30, 60.0)
    assert parse_limit("5/day") == (5, 86400.0)
    for bad in ("five/minute", "5/fortnight", "0/minute", "5"):
        with pytest.raises(ValueError):
            parse_limit(bad)


def test_attempts_are_counted_before_they_are_checked() -> None:
    """The sixth attempt is refused while five are still being checked; a right one is
    given back; the window moves on."""
    clock = Clock()
    throttle = FailureThrottle("t", clock=clock, account="5/minute")
    pending = [throttle.attempt({"account": "a"}, "no") for _ in range(5)]
    with pytest.raises(LimitError) as refused:
        throttle.attempt({"account": "a"}, "no")
    assert refused.value.code == "too_many_attempts" and refused.value.extra["retry_after"] > 0
    pending[0].give_back()
    throttle.attempt({"account": "a"}, "no")  # the right one's place is free again
    throttle.attempt({"account": "b"}, "no")  # other keys are not touched
    clock.now += 61
    throttle.attempt({"account": "a"}, "no").give_back(clear=("account",))
    assert throttle.windows["account"].count("a") == 0


def test_a_window_forgets_its_oldest_keys_past_its_size() -> None:
    """Invented keys cannot grow a window without end."""
    window = Window("5/minute", max_keys=3)
    for key in "abcd":
        window.hit(key)
    assert list(window.hits) == ["b", "c", "d"]


def test_deep_frames_are_refused_before_decoding() -> None:
    """More than 16 levels is bad_frame; brackets in strings do not count."""
    assert not too_deep('{"type":"message","id":"a","text":"' + "[" * 5000 + '"}')
    assert not too_deep('{"a":"\\"' + "[" * 40 + '"}')
    assert too_deep('{"a":' + "[" * 17 + "]" * 17 + "}")
    with pytest.raises(ClientError) as err:
        decode_player('{"type":"ping","x":' + "[" * 999 + "]" * 999 + "}")
    assert err.value.code == "bad_frame"


@pytest.mark.parametrize(
    ("name", "kind", "kept"),
    [
        ("receipt.hta", "text/plain", "receipt.hta.txt"),
        ("bank\u202efdp.hta", "text/plain", "bankfdp.hta.txt"),
        ("in\u200bvoice.pdf", "application/pdf", "invoice.pdf"),
        ("photo.JPEG", "image/jpeg", "photo.JPEG"),
        ("photo.png", "image/jpeg", "photo.png.jpg"),
        ("", "application/pdf", "file.pdf"),
        ("../../etc/passwd", "text/plain", "passwd.txt"),
        ("x" * 300 + ".pdf", "application/pdf", "x" * 116 + ".pdf"),
    ],
)
def test_file_names_match_their_content(name: str, kind: str, kept: str) -> None:
    """No paths, controls or bidi overrides; the extension says what the content is."""
    assert safe_name(name, kind) == kept


def test_content_disposition_has_both_names() -> None:
    """RFC 6266: an ASCII fallback and the exact UTF-8 name."""
    assert content_disposition("attachment", 'dekont "ödeme".pdf') == (
        'attachment; filename="dekont __deme_.pdf"; '
        "filename*=UTF-8''dekont%20%22%C3%B6deme%22.pdf"
    )


def test_an_origin_must_match_the_scheme_too() -> None:
    """http://host is not the origin of a page served over https (or wss)."""
    assert same_origin("https://chat.example", "chat.example", "https")
    assert same_origin("https://chat.example", "chat.example", "wss")
    assert not same_origin("http://chat.example", "chat.example", "wss")
    assert not same_origin("https://evil.example", "chat.example", "https")


def _forged(exp: str) -> str:
    """A correctly signed token whose exp is JSON PyJWT cannot write (NaN, 1e400)."""
    enc = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=")  # noqa: E731
    head = enc(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = enc(b'{"sub": "m-1", "exp": ' + exp.encode() + b"}")
    sig = enc(hmac.new(SECRET.encode(), head + b"." + body, hashlib.sha256).digest())
    return (head + b"." + body + b"." + sig).decode()


@pytest.mark.parametrize("exp", ["NaN", "Infinity", "1e400"])
def test_a_token_that_never_expires_is_refused(exp: str) -> None:
    with pytest.raises(ClientError) as err:
        verify_identity_token(_forged(exp), SECRET, NOW)
    assert err.value.code == "identity_invalid"


def test_issuer_and_audience_can_be_required() -> None:
    """With identity_issuer/identity_audience set, a token must carry both, right."""
    good = jwt.encode({"sub": "m", "exp": NOW + 60, "iss": "casino", "aud": "chat"}, SECRET)
    assert verify_identity_token(good, SECRET, NOW, issuer="casino", audience="chat").member_id
    for claims in ({"iss": "casino"}, {"iss": "other", "aud": "chat"}, {"aud": "chat"}):
        other = jwt.encode({"sub": "m", "exp": NOW + 60, **claims}, SECRET)
        with pytest.raises(ClientError):
            verify_identity_token(other, SECRET, NOW, issuer="casino", audience="chat")


def test_a_long_chat_keeps_its_latest_messages_within_the_budget() -> None:
    """Past memory_chars the oldest messages leave memory; seqs stay addressable."""
    conv = Conversation("c", "s", Player("M", None, None, "technical"), 0.0, memory_chars=1000)
    for i in range(50):
        appended = conv.append(Sender.PLAYER, f"m{i}", "x" * 100, i)
        conv.committed(appended.message)  # type: ignore[union-attr]
    assert conv.kept_chars <= 1000 and conv.kept_from > 1
    assert conv.messages[-1].seq == 50 and conv.message(50) is conv.messages[-1]
    assert conv.message(1) is None and not conv.has_after(0)
    assert conv.has_after(conv.kept_from - 1)
    assert [m.seq for m in conv.after(48)] == [49, 50]


def test_repeated_errors_are_logged_once_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    """300 failures in one interval: one traceback, then one line counting the rest."""
    clock = Clock()
    log = OncePerInterval(logging.getLogger("test.once"), 10, clock)
    with caplog.at_level(logging.ERROR, "test.once"):
        for _ in range(300):
            try:
                raise ValueError("bad")
            except ValueError:
                log.exception("failed")
        clock.now += 11
        try:
            raise ValueError("bad")
        except ValueError:
            log.exception("failed")
    assert len(caplog.records) == 2
    assert "299 more" in caplog.records[1].getMessage()
