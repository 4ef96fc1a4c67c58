"""OpenAPI paths of data-subject requests and the audit trail (merged into ``openapi.SPEC``)."""

from __future__ import annotations

from typing import Any

__all__ = ["PATHS"]

_ERROR = {"$ref": "#/components/schemas/Error"}
_ADMIN: list[dict[str, list[str]]] = [{"bearer": []}, {"console": []}]


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERRORS = {
    "400": _json(_ERROR, "Bad input (see error.code)"),
    "401": _json(_ERROR, "No or bad credentials"),
    "403": _json(_ERROR, "Not an admin or privacy officer, or the token lacks the admin scope"),
}
_NAMES: dict[str, Any] = {
    "member_id": {"type": "string"},
    "username": {"type": "string"},
    "email": {"type": "string"},
}
_SUBJECT: dict[str, Any] = {
    "type": "object",
    "description": "Any of them; matched in any case",
    "properties": _NAMES,
}
_ZIP = {
    "description": "subject.json, summary.html and files/",
    "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
}

PATHS: dict[str, Any] = {
    "/api/privacy/subjects": {
        "get": {
            "summary": "What is kept about a person (docs/privacy.md)",
            "security": _ADMIN,
            "parameters": [
                {"name": n, "in": "query", "schema": {"type": "string"}}
                for n in ("member_id", "username", "email")
            ],
            "responses": {"200": _json({"type": "object"}), **_ERRORS},
        }
    },
    "/api/privacy/subjects/export": {
        "post": {
            "summary": "Everything about a person as one ZIP, nothing about anyone else",
            "security": _ADMIN,
            "requestBody": _json(_SUBJECT),
            "responses": {"200": _ZIP, **_ERRORS},
        }
    },
    "/api/privacy/subjects/erase": {
        "post": {
            "summary": "Erase a person: personal fields, messages, notes, files; numbers stay",
            "security": _ADMIN,
            "requestBody": _json(
                {
                    **_SUBJECT,
                    "required": ["reason"],
                    "properties": {**_SUBJECT["properties"], "reason": {"type": "string"}},
                }
            ),  # fmt: skip
            "responses": {
                "200": _json({"type": "object"}),
                "409": _json(_ERROR, "A chat of theirs is in progress"),
                **_ERRORS,
            },
        }
    },
    "/api/privacy/subjects/link": {
        "post": {
            "summary": "A link the person opens for 7 days to download their archive",
            "security": _ADMIN,
            "requestBody": _json(_SUBJECT),
            "responses": {"200": _json({"type": "object"}), **_ERRORS},
        }
    },
    "/privacy/export/{secret}": {
        "get": {
            "summary": "The person's archive, while the link lives",
            "parameters": [
                {"name": "secret", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {"200": _ZIP, "404": _json(_ERROR, "link_expired")},
        }
    },
    "/api/audit": {
        "get": {
            "summary": "The audit trail, newest first (admins; reading it is recorded)",
            "security": _ADMIN,
            "parameters": [
                {"name": n, "in": "query", "schema": {"type": "string"}}
                for n in ("actor", "action", "target", "since", "until", "before", "format")
            ],
            "responses": {
                "200": {
                    "description": "JSON {entries, next_before}, or CSV with format=csv",
                    "content": {
                        "application/json": {"schema": {"type": "object"}},
                        "text/csv": {"schema": {"type": "string"}},
                    },
                },
                **_ERRORS,
            },
        }
    },
}
