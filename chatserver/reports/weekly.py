"""The weekly report e-mail: when it is due, and the message (HTML with its charts as PNG
images, in the recipient's language).

Pure apart from drawing the charts with Pillow; building a message is CPU work the caller
runs on the mail pool.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from PIL import Image, ImageDraw

from .schedule import LANGUAGES

__all__ = ["last_week", "weekly_mail"]

_TEXT = {
    "en": {
        "subject": "Support report, {first} to {last}",
        "title": "Support report",
        "chats": "Chats",
        "answered": "Answered",
        "offline": "Messages left",
        "wait": "Queue wait, median",
        "frt": "First response, average",
        "csat": "Satisfaction (4-5 of 5)",
        "nps": "NPS",
        "per_day": "Chats per day",
        "per_hour": "Chats by hour of the day",
        "agents": "Agents",
        "more": "Every figure, with filters and exports:",
    },
    "tr": {
        "subject": "Destek raporu, {first} – {last}",
        "title": "Destek raporu",
        "chats": "Görüşmeler",
        "answered": "Yanıtlanan",
        "offline": "Bırakılan mesajlar",
        "wait": "Sıra bekleme, ortanca",
        "frt": "İlk yanıt, ortalama",
        "csat": "Memnuniyet (5 üzerinden 4-5)",
        "nps": "NPS",
        "per_day": "Günlük görüşmeler",
        "per_hour": "Günün saatlerine göre görüşmeler",
        "agents": "Temsilciler",
        "more": "Tüm rakamlar, filtreler ve dışa aktarma:",
    },
}
assert set(_TEXT) == set(LANGUAGES)


def last_week(at: float, tz: str) -> tuple[date, date]:
    """The seven local days before the day of ``at``."""
    day = datetime.fromtimestamp(at, ZoneInfo(tz)).date()
    return day - timedelta(days=7), day - timedelta(days=1)


def _chart(values: Sequence[float], labels: Sequence[str], colour: str) -> bytes:
    """A small bar chart as PNG: e-mail clients show images, not scripts."""
    width, height, pad = 560, 200, 28
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    top = max(values) if values and max(values) > 0 else 1
    n = max(len(values), 1)
    slot = (width - 2 * pad) / n
    draw.line([(pad, height - pad), (width - pad, height - pad)], fill="#8c959f")
    for i, v in enumerate(values):
        x0 = pad + i * slot + slot * 0.15
        y0 = height - pad - (height - 2 * pad) * (v / top)
        draw.rectangle([x0, y0, x0 + slot * 0.7, height - pad], fill=colour)
        if len(labels) <= 12 or i % 3 == 0:
            draw.text((x0, height - pad + 4), labels[i], fill="#1f2328")
        if v:
            draw.text((x0, y0 - 12), f"{v:g}", fill="#1f2328")
    out = io.BytesIO()
    img.save(out, "PNG", optimize=True)
    return out.getvalue()


def weekly_mail(report: Mapping[str, Any], lang: str, sender: str, to: str, base_url: str) -> bytes:
    """The weekly report e-mail for one recipient, text and HTML with two charts."""
    t = _TEXT[lang]
    days = report["days"]
    first, last = days[0]["day"], days[-1]["day"]
    totals = report["totals"]

    def pct(v: float | None) -> str:
        return "–" if v is None else f"{round(v * 100)} %"

    figures = [
        (t["chats"], str(totals["chats"])),
        (t["answered"], str(totals["answered"])),
        (t["offline"], str(totals["offline"])),
        (t["wait"], "–" if totals["wait_p50"] is None else f"≤ {totals['wait_p50']} s"),
        (
            t["frt"],
            "–"
            if totals["first_response_avg"] is None
            else f"{totals['first_response_avg']:.0f} s",
        ),
        (t["csat"], pct(totals["csat"])),
        (t["nps"], "–" if totals["nps"] is None else f"{totals['nps']:+.0f}"),
    ]
    per_day = _chart([d["chats"] for d in days], [d["day"][5:] for d in days], "#0b5cad")
    per_hour = _chart(report["hours_of_day"], [str(h) for h in range(24)], "#b26b00")
    day_id, hour_id = make_msgid(), make_msgid()
    link = f"{base_url}/console/reports?from={first}&to={last}"
    text = "\n".join(
        [f"{t['title']}: {first} – {last}", ""]
        + [f"{name}: {value}" for name, value in figures]
        + ["", f"{t['agents']}:"]
        + [f"  {a['agent']}: {a['answered']}" for a in report["agents"]]
        + ["", t["more"], link]
    )
    rows = "".join(
        f"<tr><td>{escape(name)}</td><td><strong>{escape(value)}</strong></td></tr>"
        for name, value in figures
    )
    agents = "".join(
        f"<tr><td>{escape(a['agent'])}</td><td>{a['answered']}</td></tr>" for a in report["agents"]
    )
    html = (
        f'<html lang="{lang}"><body style="font-family:Arial,sans-serif;color:#1f2328">'
        f"<h1>{escape(t['title'])}</h1><p>{escape(first)} – {escape(last)}</p>"
        f'<table cellpadding="4">{rows}</table>'
        f"<h2>{escape(t['per_day'])}</h2>"
        f'<img src="cid:{day_id[1:-1]}" alt="{escape(t["per_day"])}" width="560" height="200">'
        f"<h2>{escape(t['per_hour'])}</h2>"
        f'<img src="cid:{hour_id[1:-1]}" alt="{escape(t["per_hour"])}" width="560" height="200">'
        f'<h2>{escape(t["agents"])}</h2><table cellpadding="4">{agents}</table>'
        f'<p>{escape(t["more"])} <a href="{escape(link)}">{escape(link)}</a></p></body></html>'
    )
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = t["subject"].format(first=first, last=last)
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    related = msg.get_payload()[1]  # type: ignore[index]
    assert isinstance(related, EmailMessage)
    for cid, png in ((day_id, per_day), (hour_id, per_hour)):
        related.add_related(png, "image", "png", cid=cid)
    return bytes(msg)
