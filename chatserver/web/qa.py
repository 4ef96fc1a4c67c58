"""Quality review in the console: ``/console/qa`` (supervisors and admins) lists the requests
picked for review (core.qa) and each agent's score; ``/console/qa/<number>`` scores one with
the rubric; ``/console/qa/mine`` shows an agent their own reviews. A saved review is sent as
the ``qa.reviewed`` webhook and recorded in the audit trail."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from .. import transcripts
from ..core.qa import score
from ..core.requests import format_request_number, parse_request_number
from ..exceptions import ClientError
from ..hub import Hub
from ..privacy.policy import may_see
from ..store import EnqueueWebhooks
from ..store.outbox import WEBHOOK_INSERT, webhook_rows
from .access import audit, session_caller, visible_request
from .auth import checked_form
from .console import page_session
from .pages import render

__all__ = ["mine_page", "queue_page", "review_page", "save_review"]

_ROLES = ("supervisor", "admin")


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


async def queue_page(request: Request) -> Response:
    session = await page_session(request, _ROLES)
    if isinstance(session, Response):
        return session
    hub = _hub(request)
    who = session_caller(request, session).principal
    todo = []
    for review in await hub.store.qa_reviews(done=False):
        rec = await hub.store.request(review.number)
        if rec is not None and may_see(
            who, rec.chat.department, rec.chat.agent_id, scope="requests:read"
        ):
            todo.append(review)
    agents = {a.id: a.name for a in await hub.store.list_agents()}
    scores = [
        (agents.get(agent_id, f"#{agent_id}"), s, n)
        for agent_id, (s, n) in sorted((await hub.store.qa_scores()).items())
    ]
    context = {
        "me": session,
        "todo": todo,
        "scores": scores,
        "done": await hub.store.qa_reviews(done=True, limit=50),
        "shown": format_request_number,
        "when": transcripts.when,
    }
    return render(request, "qa_queue.html", context)


async def review_page(request: Request, error: ClientError | None = None) -> Response:
    session = await page_session(request, _ROLES)
    if isinstance(session, Response):
        return session
    hub = _hub(request)
    rec = await visible_request(
        request, session_caller(request, session), request.path_params["number"]
    )
    review = await hub.store.qa_review(rec.number)
    if review is None:
        return render(
            request, "error.html", {"me": session, "message": "Not picked for review."}, 404
        )
    context = {
        "me": session,
        "rec": rec,
        "review": review,
        "criteria": hub.routing.qa.criteria,
        "number": format_request_number(rec.number),
        "entries": transcripts.entries(rec, internal=True),
        "when": transcripts.when,
        "error": error,
    }
    return render(request, "qa_review.html", context, error.http_status if error else 200)


async def save_review(request: Request) -> Response:
    session = await page_session(request, _ROLES)
    if isinstance(session, Response):
        return session
    form = await checked_form(request, session)
    hub = _hub(request)
    caller = session_caller(request, session)
    rec = await visible_request(request, caller, request.path_params["number"], action=None)
    criteria = hub.routing.qa.criteria
    try:
        points = score(criteria, form)
    except ClientError as err:
        return await review_page(request, err)
    answers = {c.id: int(form[c.id]) for c in criteria}
    comment = form.get("comment", "").strip()[:2000] or None
    number = format_request_number(parse_request_number(rec.number))
    rows = []
    if hub.settings.webhook_urls:
        body: dict[str, object] = {
            "request": {"number": number},
            "agent": rec.chat.agent_id,
            "reviewer": session.agent.name,
            "score": points,
            "answers": answers,
            "comment": comment,
        }
        hooks = hub.settings.hooks("qa.reviewed")
        op = EnqueueWebhooks("qa.reviewed", hooks, lambda: body, time.time())
        rows = [(WEBHOOK_INSERT, webhook_rows(op))]
    await hub.store.qa_save(
        rec.number, reviewer_id=session.agent.id, score=points, answers=answers,
        comment=comment, now=hub.clock(), rows=rows,
    )  # fmt: skip
    hub.poke_webhooks()
    await audit(request, caller, "qa.review", rec.number, {"score": points})
    return RedirectResponse("/console/qa", status_code=303)


async def mine_page(request: Request) -> Response:
    """GET /console/qa/mine: an agent's own reviews and score."""
    session = await page_session(request)
    if isinstance(session, Response):
        return session
    hub = _hub(request)
    reviews = await hub.store.qa_reviews(done=True, agent_id=session.agent.id)
    mine = (await hub.store.qa_scores()).get(session.agent.id)
    context = {
        "me": session,
        "reviews": reviews,
        "score": mine,
        "criteria": {c.id: c for c in hub.routing.qa.criteria},
        "shown": format_request_number,
        "when": transcripts.when,
    }
    return render(request, "qa_mine.html", context)
