"""``/requests/answer/<secret>``: the player answers "is it resolved?" from the link in their
e-mail or SMS (the widget asks the same at the end of the chat). "Yes" closes the request,
"no" escalates it to supervisors (core.lifecycle). The link works while the request awaits
the answer, at most ``confirm_close_days``; a wrong link counts against the address like a
failed request look-up."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..core.requests import format_request_number
from ..exceptions import ClientError
from ..hub import Hub
from ..security import token_hash
from .origins import client_address, same_origin
from .pages import render

__all__ = ["answer_page"]

_TEXT = {
    "tr": {
        "title": "Talebiniz çözüldü mü?",
        "question": "{number} numaralı talebinizin çözüldüğünü düşünüyoruz. Sizce çözüldü mü?",
        "yes": "Evet, çözüldü",
        "no": "Hayır, çözülmedi",
        "closed": "Teşekkürler. Talebiniz kapatıldı.",
        "escalated": "Teşekkürler. Talebinizi bir yöneticiye ilettik; size dönüş yapacağız.",
        "expired": "Bu bağlantının süresi doldu ya da talep zaten yanıtlandı.",
    },
    "en": {
        "title": "Is your request resolved?",
        "question": "We think your request {number} is resolved. Is it?",
        "yes": "Yes, it is resolved",
        "no": "No, it is not",
        "closed": "Thank you. Your request is closed.",
        "escalated": "Thank you. We passed your request to a supervisor: they will answer.",
        "expired": "This link has expired, or the request was answered already.",
    },
}


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


async def answer_page(request: Request) -> Response:
    """GET shows the question; POST ``resolved=yes|no`` answers it."""
    lang = "en" if request.query_params.get("lang") == "en" else "tr"
    t = _TEXT[lang]
    hub = _hub(request)
    throttle = request.app.state.lookup_throttle
    try:
        attempt = throttle.attempt({"address": client_address(request)}, "too many failed links")
    except ClientError as err:
        return _page(request, lang, t, message=err.message, status=429)
    number = await hub.store.request_by_answer_token(token_hash(request.path_params["secret"]))
    rec = await hub.store.request(number) if number else None
    live = (
        rec is not None
        and rec.status == "awaiting_confirmation"
        and (rec.awaiting_since or 0) > hub.clock() - hub.settings.confirm_close_days * 86400
    )
    if rec is None or not live:
        return _page(request, lang, t, message=t["expired"], status=404)
    attempt.give_back()
    shown = format_request_number(rec.number)
    if request.method == "POST":
        origin = request.headers.get("origin")
        if origin is not None and not same_origin(
            origin, request.headers.get("host"), request.url.scheme
        ):
            return _page(request, lang, t, message=t["expired"], status=403)
        form = await request.form()
        resolved = form.get("resolved") == "yes"
        assert hub.desk is not None
        done = await hub.desk.answer(rec.number, resolved, by="player (link)")
        if done is None:
            return _page(request, lang, t, message=t["expired"], status=409)
        return _page(request, lang, t, message=t["closed" if resolved else "escalated"])
    return _page(request, lang, t, question=t["question"].format(number=shown))


def _page(
    request: Request,
    lang: str,
    t: dict[str, str],
    *,
    question: str | None = None,
    message: str | None = None,
    status: int = 200,
) -> Response:
    context: dict[str, Any] = {"lang": lang, "t": t, "question": question, "message": message}
    return render(request, "answer.html", context, status)
