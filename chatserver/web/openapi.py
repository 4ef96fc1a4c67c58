"""GET /api/openapi.json: the REST API and the webhooks, described as OpenAPI 3.1."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from .. import __version__
from ..config import WEBHOOK_EVENTS
from .openapi_privacy import PATHS as PRIVACY_PATHS

__all__ = ["SPEC", "spec"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERR = {
    "400": _json(_ref("Error"), "Bad input (see error.code)"),
    "401": _json(_ref("Error"), "No or bad credentials"),
    "404": _json(_ref("Error"), "Not found"),
}
_NUMBER = {
    "name": "number",
    "in": "path",
    "required": True,
    "description": "A request number, e.g. 7QM3R-XD2TK (any case, hyphen optional)",
    "schema": {"type": "string"},
}
_AGENT: list[dict[str, list[str]]] = [{"bearer": []}, {"console": []}]

SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "chatserver",
        "version": __version__,
        "description": "Live-chat support server: requests, transcripts, attachments. "
        "Errors are {error: {code, message, field?}}; codes are listed in docs/protocol.md.",
    },
    "components": {
        "securitySchemes": {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "chatserver token create",
            },
            "console": {"type": "apiKey", "in": "cookie", "name": "cs_session"},
            "session": {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "Session <the widget's resume token>",
            },
        },
        "schemas": {
            "KbResult": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "locale": {"enum": ["tr", "en"]},
                    "title": {"type": "string"},
                    "topic": {"type": ["string", "null"]},
                    "snippet": {"type": "string"},
                    "score": {"type": "number"},
                    "url": {"type": "string"},
                },
            },
            "Error": {
                "type": "object",
                "properties": {
                    "error": {
                        "type": "object",
                        "required": ["code", "message"],
                        "properties": {
                            "code": {"type": "string"},
                            "message": {"type": "string"},
                            "field": {"type": "string"},
                        },
                    }
                },
            },
            "File": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "name": {"type": "string"},
                    "type": {"type": "string"},
                    "size": {"type": "integer"},
                    "sha256": {"type": "string"},
                    "url": {"type": "string"},
                    "thumbnail_url": {"type": "string"},
                },
            },
            "TranscriptEntry": {
                "type": "object",
                "properties": {
                    "seq": {"type": "integer"},
                    "id": {"type": "string"},
                    "from": {"enum": ["player", "agent", "system", "note"]},
                    "text": {"type": "string"},
                    "ts": {"type": "integer", "description": "epoch milliseconds"},
                    "internal": {"type": "boolean"},
                    "file": _ref("File"),
                },
            },
            "Request": {
                "type": "object",
                "properties": {
                    "number": {"type": "string"},
                    "status": {"enum": ["open", "pending", "resolved", "closed"]},
                    "created_at": {"type": "string", "format": "date-time"},
                    "updated_at": {"type": "string", "format": "date-time"},
                    "chat": {"type": "object"},
                    "player": {"type": "object"},
                    "agent": {"type": ["object", "null"]},
                    "satisfaction": {"type": ["object", "null"]},
                    "resolution": {"type": ["string", "null"]},
                    "transcript": {"type": "array", "items": _ref("TranscriptEntry")},
                },
            },
            "RequestSummary": {
                "type": "object",
                "properties": {
                    "number": {"type": "string"},
                    "status": {"type": "string"},
                    "created_at": {"type": "string", "format": "date-time"},
                    "topic": {"type": "string"},
                    "player": {"type": "object"},
                    "agent": {"type": ["string", "null"]},
                },
            },
            "PublicStatus": {
                "type": "object",
                "properties": {
                    "number": {"type": "string"},
                    "status": {"type": "string"},
                    "topic": {"type": "string"},
                    "history": {"type": "array", "items": {"type": "object"}},
                    "messages": {
                        "type": "array",
                        "items": {"type": "object"},
                        "description": "written on the request after its chats: from, name,"
                        " text, at, and file {name, type, size} when one was added",
                    },
                },
            },
            "WebhookBody": {
                "type": "object",
                "description": "Signed: X-Chatserver-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "
                "'<t>.<body>'>; de-duplicate on X-Chatserver-Delivery",
                "properties": {
                    "event": {"enum": list(WEBHOOK_EVENTS)},
                    "request": {"type": "object"},
                    "player": {"type": "object"},
                    "chat": {"type": "object"},
                    "agent": {"type": ["object", "null"]},
                    "timings": {"type": "object"},
                    "satisfaction": {"type": ["object", "null"]},
                    "attachments": {"type": "array", "items": _ref("File")},
                },
            },
        },
    },
    "paths": {
        "/healthz": {
            "get": {"summary": "Liveness", "responses": {"200": _json({"type": "object"})}}
        },
        "/readyz": {
            "get": {
                "summary": "Readiness: the store answers",
                "responses": {"200": _json({"type": "object"}), "503": _json(_ref("Error"))},
            }
        },
        "/metrics": {
            "get": {
                "summary": "This node's figures in Prometheus's text format (metrics_token)",
                "responses": {
                    "200": {"description": "Prometheus text format"},
                    "401": _json(_ref("Error")),
                    "404": _json(_ref("Error")),
                },
            }
        },
        "/api/topics": {
            "get": {
                "summary": "Pre-chat topics with labels and whether they are open",
                "responses": {"200": _json({"type": "object"})},
            }
        },
        "/api/requests": {
            "get": {
                "summary": "Search requests, newest first",
                "security": _AGENT,
                "parameters": [
                    {"name": n, "in": "query", "schema": {"type": "string"}}
                    for n in ("q", "username", "email", "since", "until", "before", "limit")
                ],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "requests": {"type": "array", "items": _ref("RequestSummary")},
                                "next_before": {"type": ["string", "null"]},
                            },
                        }
                    ),
                    **_ERR,
                },
            }
        },
        "/api/requests/lookup": {
            "post": {
                "summary": "A player's own request by number and e-mail or username",
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["number", "contact"],
                                "properties": {
                                    "number": {"type": "string"},
                                    "contact": {"type": "string"},
                                },
                            }
                        }
                    }
                },
                "responses": {
                    "200": _json(_ref("PublicStatus")),
                    **_ERR,
                    "429": _json(_ref("Error")),
                },
            }
        },
        "/api/requests/followup": {
            "post": {
                "summary": "The player writes on their request after the chat",
                "requestBody": _json(
                    {
                        "type": "object",
                        "required": ["number", "contact", "text"],
                        "properties": {
                            "number": {"type": "string"},
                            "contact": {"type": "string"},
                            "text": {"type": "string"},
                        },
                    }
                ),
                "responses": {"201": _json(_ref("PublicStatus")), **_ERR},
            }
        },
        "/api/requests/followup/files": {
            "post": {
                "summary": "The player adds a file to their request after its chats",
                "requestBody": {
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["file"],
                                "properties": {
                                    "number": {"type": "string"},
                                    "contact": {"type": "string"},
                                    "identity": {
                                        "type": "string",
                                        "description": "the member's token, with number",
                                    },
                                    "link": {
                                        "type": "string",
                                        "description": "a notification link's secret",
                                    },
                                    "text": {"type": "string"},
                                    "file": {"type": "string", "format": "binary"},
                                },
                            }
                        }
                    }
                },
                "responses": {
                    "201": _json(_ref("PublicStatus")),
                    **_ERR,
                    "413": _json(_ref("Error"), "Too large"),
                    "415": _json(_ref("Error"), "Type not allowed (decided by content)"),
                },
            }
        },
        "/api/requests/{number}": {
            "get": {
                "summary": "A request with its transcript (internal notes marked)",
                "security": _AGENT,
                "parameters": [_NUMBER],
                "responses": {"200": _json(_ref("Request")), **_ERR},
            }
        },
        "/api/requests/{number}/status": {
            "post": {
                "summary": "Change the status (the player is e-mailed; webhooks are sent)",
                "security": _AGENT,
                "parameters": [_NUMBER],
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["status"],
                                "properties": {
                                    "status": {"enum": ["open", "pending", "resolved", "closed"]},
                                    "note": {"type": "string"},
                                },
                            }
                        }
                    }
                },
                "responses": {"200": _json(_ref("Request")), **_ERR, "409": _json(_ref("Error"))},
            }
        },
        "/api/requests/{number}/transcript": {
            "get": {
                "summary": "The transcript as JSON, plain text or a printable HTML page",
                "security": _AGENT,
                "parameters": [
                    _NUMBER,
                    {"name": "format", "in": "query", "schema": {"enum": ["json", "txt", "html"]}},
                ],
                "responses": {"200": {"description": "The transcript"}, **_ERR},
            }
        },
        "/api/requests/{number}/files": {
            "get": {
                "summary": "The chat's attachments",
                "security": _AGENT,
                "parameters": [_NUMBER],
                "responses": {"200": _json({"type": "object"}), **_ERR},
            }
        },
        "/api/chats/{chat}/files": {
            "post": {
                "summary": "Attach a file to a live chat (it becomes a message with a seq)",
                "security": [{"session": []}, *_AGENT],
                "parameters": [
                    {"name": "chat", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "requestBody": {
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["file"],
                                "properties": {
                                    "file": {"type": "string", "format": "binary"},
                                    "id": {
                                        "type": "string",
                                        "description": "client id (idempotent)",
                                    },
                                },
                            }
                        }
                    }
                },
                "responses": {
                    "201": _json({"type": "object"}, "Stored"),
                    "200": _json({"type": "object"}, "Already stored (same id)"),
                    **_ERR,
                    "413": _json(_ref("Error"), "Too large"),
                    "415": _json(_ref("Error"), "Type not allowed (decided by content)"),
                    "422": _json(_ref("Error"), "Damaged image"),
                },
            }
        },
        "/api/files/{file}": {
            "get": {
                "summary": "Download an attachment (the chat's player or an agent)",
                "security": [{"session": []}, *_AGENT],
                "parameters": [
                    {"name": "file", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {"200": {"description": "The file, as an attachment"}, **_ERR},
            }
        },
        "/api/files/{file}/thumbnail": {
            "get": {
                "summary": "An image attachment's thumbnail (JPEG)",
                "security": [{"session": []}, *_AGENT],
                "parameters": [
                    {"name": "file", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {"200": {"description": "image/jpeg"}, **_ERR},
            }
        },
        "/api/reports": {
            "get": {
                "summary": "Figures over local days from the hourly rollups (supervisors, admins)",
                "security": _AGENT,
                "parameters": [
                    {"name": n, "in": "query", "schema": {"type": "string"}}
                    for n in ("from", "to", "department", "topic", "agent", "locale")
                ]
                + [
                    {"name": "format", "in": "query", "schema": {"enum": ["json", "csv"]}},
                    {
                        "name": "table",
                        "in": "query",
                        "schema": {"enum": ["days", "agents", "hours_of_day", "refusals"]},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "The report (JSON), or one of its tables (CSV)",
                        "content": {
                            "application/json": {"schema": {"type": "object"}},
                            "text/csv": {"schema": {"type": "string"}},
                        },
                    },
                    **_ERR,
                },
            }
        },
        "/api/kb/search": {
            "get": {
                "summary": "Published knowledge-base articles for a question, best first",
                "parameters": [
                    {"name": "q", "in": "query", "required": True, "schema": {"type": "string"}},
                    {"name": "locale", "in": "query", "schema": {"enum": ["tr", "en"]}},
                    {"name": "topic", "in": "query", "schema": {"type": "string"}},
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 20},
                    },
                ],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {"results": {"type": "array", "items": _ref("KbResult")}},
                        }
                    ),
                    **_ERR,
                    "429": _json(_ref("Error"), "Too many searches from this address"),
                },
            }
        },
        "/api/kb/articles/{id}": {
            "get": {
                "summary": "A published article, its Markdown rendered as safe HTML",
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {"200": _json({"type": "object"}), **_ERR},
            }
        },
        "/api/kb/articles/{id}/vote": {
            "post": {
                "summary": "Was this article helpful?",
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "requestBody": _json(
                    {
                        "type": "object",
                        "required": ["helpful"],
                        "properties": {"helpful": {"type": "boolean"}},
                    }
                ),
                "responses": {"204": {"description": "Counted"}, **_ERR},
            }
        },
        "/api/kb/outcome": {
            "post": {
                "summary": "What a player shown suggested articles did",
                "requestBody": _json(
                    {
                        "type": "object",
                        "required": ["outcome"],
                        "properties": {
                            "outcome": {"enum": ["self_served", "needed_agent"]},
                            "topic": {"type": ["string", "null"]},
                            "locale": {"type": "string"},
                            "article": {"type": ["string", "null"]},
                        },
                    }
                ),
                "responses": {"204": {"description": "Counted"}, **_ERR},
            }
        },
    },
    "webhooks": {
        event: {
            "post": {
                "summary": summary,
                "requestBody": {"content": {"application/json": {"schema": _ref("WebhookBody")}}},
                "responses": {"200": {"description": "Any 2xx delivers; anything else is retried"}},
            }
        }
        for event, summary in (
            ("request.created", "A request was created (from a chat or an offline message)"),
            ("chat.ended", "A chat ended (a new request's, or a later chat on one)"),
            ("request.updated", "A request's status or the player's rating changed"),
            ("request.awaiting_confirmation", "A request waits for its player's confirmation"),
            ("request.escalated", "A request went to supervisors"),
            ("request.sla_breached", "A request missed its resolution target"),
            ("qa.reviewed", "A supervisor reviewed a finished request"),
        )
    },
}


SPEC["paths"].update(PRIVACY_PATHS)


async def spec(request: Request) -> JSONResponse:
    return JSONResponse(SPEC)
