"""Decoding inbound frames: every malformed shape gets a stable code and field."""

from __future__ import annotations

import pytest

from chatserver.core.conversation import Message, Sender
from chatserver.exceptions import ProtocolError
from chatserver.protocol import (
    AgentHello,
    AgentMessage,
    PlayerHello,
    PlayerMessage,
    Prechat,
    decode_agent,
    decode_player,
    encode,
    message_dict,
    message_frame,
)


@pytest.mark.parametrize(
    ("raw", "code", "field"),
    [
        ("{not json", "bad_json", None),
        ("", "bad_json", None),
        ("[1, 2]", "bad_frame", None),
        ('"hello"', "bad_frame", None),
        ("{}", "bad_frame", "type"),
        ('{"type": 5}', "bad_frame", "type"),
        ('{"type": "launch"}', "unknown_type", "type"),
        ('{"type": "status", "status": "online"}', "unknown_type", "type"),  # agent-only
        ('{"type": "hello"}', "invalid_field", "v"),
        ('{"type": "hello", "v": "1"}', "invalid_field", "v"),
        ('{"type": "hello", "v": 1, "last_seq": -1}', "invalid_field", "last_seq"),
        ('{"type": "message", "text": "hi"}', "invalid_field", "id"),
        ('{"type": "message", "id": "", "text": "hi"}', "invalid_field", "id"),
        ('{"type": "message", "id": "' + "x" * 65 + '", "text": "hi"}', "invalid_field", "id"),
        ('{"type": "message", "id": "a", "text": 5}', "invalid_field", "text"),
        ('{"type": "typing", "active": "yes"}', "invalid_field", "active"),
        ('{"type": "prechat", "topic": "payments"}', "invalid_field", "age_confirmed"),
        ('{"type": "prechat", "topic": "", "age_confirmed": true}', "invalid_field", "topic"),
        (
            '{"type": "prechat", "topic": "x", "age_confirmed": true, "name": 3}',
            "invalid_field",
            "name",
        ),
    ],
)
def test_player_frame_errors(raw: str, code: str, field: str | None) -> None:
    """Each malformed player frame maps to one code, naming the field when there is one."""
    with pytest.raises(ProtocolError) as info:
        decode_player(raw)
    assert (info.value.code, info.value.field) == (code, field)
    assert info.value.message and "$." not in info.value.message


@pytest.mark.parametrize(
    ("raw", "code", "field"),
    [
        ('{"type": "prechat", "topic": "x", "age_confirmed": true}', "unknown_type", "type"),
        ('{"type": "message", "id": "a", "text": "hi"}', "invalid_field", "chat"),
        ('{"type": "status", "status": "busy"}', "invalid_field", "status"),
        ('{"type": "hello", "v": 1, "chats": {"c1": -2}}', "invalid_field", "chats"),
        ('{"type": "end"}', "invalid_field", "chat"),
    ],
)
def test_agent_frame_errors(raw: str, code: str, field: str | None) -> None:
    """The agent endpoint has its own frames and fields."""
    with pytest.raises(ProtocolError) as info:
        decode_agent(raw)
    assert (info.value.code, info.value.field) == (code, field)


def test_valid_frames_decode_to_types() -> None:
    """Well-formed frames become typed values; unknown extra fields are ignored."""
    hello = decode_player('{"type": "hello", "v": 1, "resume": "tok", "last_seq": 4, "x": 1}')
    assert hello == PlayerHello(v=1, resume="tok", last_seq=4)
    pre = decode_player(
        '{"type": "prechat", "topic": "bonus", "age_confirmed": true, "email": null}'
    )
    assert isinstance(pre, Prechat) and pre.email is None
    assert decode_player('{"type": "message", "id": "m", "text": ""}') == PlayerMessage("m", "")
    assert decode_agent('{"type": "message", "chat": "c", "id": "m", "text": "x"}') == AgentMessage(
        "c", "m", "x"
    )
    ah = decode_agent('{"type": "hello", "v": 1, "token": "t", "chats": {"c1": 3}}')
    assert isinstance(ah, AgentHello) and ah.chats == {"c1": 3}


def test_message_encoding() -> None:
    """Outbound messages carry seq, id, from, text, ts; agents also get chat."""
    msg = Message("c1", 3, "m1", Sender.AGENT, "<b>hi</b>", 1_700_000_000_000, 7, "Ayşe")
    player_side = message_frame(msg, chat=False)
    assert player_side == {
        "type": "message",
        "seq": 3,
        "id": "m1",
        "from": "agent",
        "text": "<b>hi</b>",
        "ts": 1_700_000_000_000,
        "name": "Ayşe",
    }
    assert message_frame(msg, chat=True)["chat"] == "c1"
    assert "type" not in message_dict(msg)
    assert encode({"type": "pong"}) == '{"type":"pong"}'


def test_a_ping_is_recognised_only_when_it_is_one() -> None:
    """What an edge node may answer itself: a well-formed ping, nothing that mentions one."""
    from chatserver.protocol import heartbeat_kind

    def is_ping(text: str) -> bool:
        return heartbeat_kind(text) == "ping"

    assert is_ping('{"type":"ping"}') and is_ping('{ "type" : "ping", "t": 5 }')
    assert not is_ping('{"type":"message","id":"1","text":"ping"}')
    assert not is_ping('{"type":"ping"')  # malformed: the hub answers with an error
    assert not is_ping('["ping"]') and not is_ping('{"type":"ping","x":"' + "y" * 300 + '"}')


def test_a_heartbeat_is_recognised_only_when_it_is_one() -> None:
    """What an edge node keeps to itself: a well-formed ping or pong."""
    from chatserver.protocol import heartbeat_kind

    assert heartbeat_kind('{"type":"pong"}') == "pong"
    assert heartbeat_kind('{ "type" : "ping" }') == "ping"
    assert heartbeat_kind('{"type":"message","id":"1","text":"pong"}') is None
    assert heartbeat_kind('{"type":"pong"') is None  # malformed: the hub answers with an error
    assert heartbeat_kind('{"type":"pong","x":"' + "y" * 300 + '"}') is None
