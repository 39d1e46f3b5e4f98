"""Scripts and style sheets go out minified; the files in ``static/`` stay as written.

A phone on a weak signal pays for every byte of the first visit (tests/test_ui.py holds
the whole of it to a budget), and the comments that make ``field.js`` readable are a
third of it.  So ``/static/*.js`` and ``*.css`` are answered with rjsmin's and rcssmin's
output, made once per file and assets' version (:func:`views.asset_version` changes with
every file, so a stale copy is never served).  The source files are what ``tests/js``
runs and what anyone reads; anything else under ``/static/`` is sent by Flask as before.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import rcssmin
import rjsmin
from flask import Flask, Response, current_app, request
from werkzeug.security import safe_join

from .views import asset_version

MINIFIERS = {".js": ("application/javascript", rjsmin.jsmin),
             ".css": ("text/css", rcssmin.cssmin)}


def init_app(app: Flask) -> None:
    plain = app.view_functions.get("static")
    if plain is None:  # no static folder: nothing to serve
        return

    def static(filename: str):
        minified = _answer(filename)
        return minified if minified is not None else plain(filename=filename)

    app.view_functions["static"] = static


def _answer(filename: str) -> Response | None:
    kind = MINIFIERS.get(Path(filename).suffix)
    path = safe_join(current_app.static_folder, filename) if kind else None
    if path is None:
        return None
    try:
        if not Path(path).is_file():
            return None
    except (OSError, ValueError):  # a NUL or an over-long name in the URL: Flask answers 404
        return None
    body, etag = _minified(path, asset_version())
    response = Response(body, mimetype=kind[0])
    response.set_etag(etag)
    response.headers["Cache-Control"] = "no-cache"  # a versioned URL gets a year (views)
    return response.make_conditional(request)


@lru_cache(maxsize=64)
def _minified(path: str, version: str) -> tuple[bytes, str]:
    """The file's minified text and its entity tag; ``version`` only keys the cache."""
    minify = MINIFIERS[Path(path).suffix][1]
    body = minify(Path(path).read_text(encoding="utf-8")).encode("utf-8")
    return body, hashlib.sha256(body).hexdigest()[:16]
