"""From a document's HTML to its PDF (render.py does the work), and what the templates share:
QR codes, public URLs, dates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import qrcode
from flask import current_app
from markupsafe import Markup

from .. import clock

SCHEME = "canbao:"
STATIC_PREFIX = SCHEME + "static/"
BASE_URL = STATIC_PREFIX
CHUNK_PAGES = 40          # small enough that one chunk's layout stays well under 200 MB
RENDER_SECONDS = 60       # per chunk or single document, before it is killed


class DocumentError(ValueError):
    """Bad input for a document (unknown village, foreign household…): nothing was written."""


class RenderTimeout(DocumentError):
    pass


@dataclass
class Rendered:
    pages: int
    fetched: list[str] = field(default_factory=list)


def render_pdf(html: str, target: Path, seconds: float | None = None) -> Rendered:
    """Render one document in a child process (see render.py); WeasyPrint loads only when used."""
    from .. import render
    return render.render_pdf(html, target, seconds)


def render_chunks(chunks: Iterable[str], target: Path, **options: Any) -> Rendered:
    from .. import render
    return render.render_chunks(chunks, target, **options)


def qr_svg(data: str, size_mm: int = 24) -> Markup:
    """An inline SVG QR code (qrcode's matrix, no Pillow).  ``data`` is our own URL, never user text.

    Dark modules are drawn as one path of horizontal runs rather than
    qrcode's one square per module: a third of the path for WeasyPrint to parse
    on each of a thousand sheets.
    """
    code = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(data)
    code.make(fit=True)
    matrix = code.get_matrix()
    runs = []
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                runs.append(f"M{start} {y}h{x - start}v1h{start - x}z")
            x += 1
    n = len(matrix)
    return Markup(f'<svg xmlns="http://www.w3.org/2000/svg" width="{size_mm}mm" height="{size_mm}mm" '
                  f'viewBox="0 0 {n} {n}" shape-rendering="crispEdges">'
                  f'<path d="{"".join(runs)}" fill="#000"/></svg>')


def public_url(path: str) -> str:
    return current_app.config["PUBLIC_URL"].rstrip("/") + path


def token_url(token: str) -> str:
    return public_url(f"/q/{token}")


def cn_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def today() -> dt.date:
    return clock.today()


def template(name: str):
    # The app's environment autoescapes .html; documents never use url_for or
    # gettext, so they render the same from the CLI as from a request.
    return current_app.jinja_env.get_template(name)
