"""Template helpers and error pages shared by every blueprint."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_babel import get_locale
from werkzeug import exceptions as werkzeug_exceptions

from .i18n import lazy
from .privacy import scrub_logs
from .registry import NotFound


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(label=label, field_label=field_label, answer_text=answer_text)
    scrub_logs(app.logger, logging.getLogger("gunicorn.error"), logging.getLogger("gunicorn.access"))
    for status in (400, 404, 405, 413, 500):
        app.register_error_handler(status, _error_page)
    # Outside the caller's area and absent look the same: a plain 404.
    app.register_error_handler(NotFound, lambda _exc: _error_page(werkzeug_exceptions.NotFound()))


def label(item) -> str:
    """A form label, choice or title in the reader's language (Chinese is the source)."""
    english = getattr(item, "label_en", "") or getattr(item, "title_en", "")
    if str(get_locale()) == "en" and english:
        return english
    return getattr(item, "label", None) or getattr(item, "title", "")


def field_label(definition, name: str) -> str:
    """A field's label; the bare name for an answer kept from a field since removed."""
    found = definition.find(name)
    return label(found) if found else name


def answer_text(definition, name: str, value) -> str:
    """A stored answer as the reader sees it: a choice by its label, nothing as a dash."""
    if value in (None, ""):
        return "—"
    found = definition.find(name)
    choice = found.choice(value) if found else None
    return label(choice) if choice else str(value)


MESSAGES = {
    400: lazy("请求有误，未作任何修改。"),
    404: lazy("找不到该页面或记录。"),
    405: lazy("不支持该操作。"),
    413: lazy("提交的内容太大。"),
    500: lazy("服务器出错，您的数据未受影响，请稍后重试。"),
}


def _error_page(error):
    status = getattr(error, "code", 500) or 500
    message = str(MESSAGES.get(status) or lazy("出错了。"))
    if request.path.startswith("/api/"):
        return jsonify(error=str(status), message=message), status
    return render_template("error.html", title=str(status), message=message), status
