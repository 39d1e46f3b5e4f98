"""Template helpers and error pages shared by every blueprint."""

from __future__ import annotations

import hashlib
import logging
from functools import cache
from pathlib import Path

from flask import Flask, current_app, jsonify, render_template, request, url_for
from flask_babel import get_locale
from werkzeug import exceptions as werkzeug_exceptions

from .i18n import lazy
from .privacy import scrub_logs
from .registry import NotFound


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(label=label, field_label=field_label, answer_text=answer_text,
                                 phone_texts=phone_texts, asset=asset)
    app.after_request(_cache_versioned_assets)
    from . import static_min  # scripts and styles sent minified (the first visit's budget)
    static_min.init_app(app)
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


PHONE_TEXTS = {  # what field.js and app.js say, translated here like every other string
    "online": lazy("在线"), "offline": lazy("无网络"),
    "waiting": lazy("待上传 %n 条"), "to_fix": lazy("需修改 %n 条"),
    "paused_login": lazy("登录已过期：重新登录后自动上传"),
    "refreshed_at": lazy("数据更新于 %t"), "never_refreshed": lazy("手机上还没有数据"),
    "stale": lazy("手机上的数据已超过7天未更新，不能再用；请联网后点“更新数据”。"),
    "never_refreshed_offline": lazy("手机上还没有数据：请先联网打开一次“我的村”。"),
    "uploaded": lazy("已上传"), "needs_fix": lazy("需修改"), "not_uploaded": lazy("待上传"),
    "draft": lazy("草稿"), "draft_saved": lazy("草稿保存于 %t"), "unnamed": lazy("（未填姓名）"),
    "registered_of": lazy("已登记 %r / %e 人"), "people_of": lazy("%r/%n人"),
    "registered": lazy("已登记"), "incomplete": lazy("未完成"), "pending": lazy("待登记"),
    "previous_unsent": lazy("这部手机上还有用户 %u 的 %n 条登记或草稿未上传。"
                            "点“确定”先把它们导出为文件再清除；点“取消”直接清除。"),
    "logout_unsent": lazy("还有 %n 条登记或草稿没有上传。退出会清除手机上的全部数据，它们会先导出为文件保存。"
                          "确定退出吗？"),
    "required_left": lazy("还有 %n 项必填未答"), "required_done": lazy("必填项已全部填写"),
    "errors_count": lazy("有 %n 处需要修改，尚未上传："), "draft_restored": lazy("已恢复 %t 保存的草稿。"),
    "queued": lazy("已保存在手机上，有网络时自动上传。"), "saved": lazy("已上传。回执号 %r"),
    "saved_missing": lazy("已暂存上传，还缺 %n 项。回执号 %r"),
    "login_waiting": lazy("这部手机上有 %n 条登记还没有上传；登录后会自动上传，不会丢失。"),
    "returned": lazy("退回"), "returned_comment": lazy("退回意见：%c"),
}


def phone_texts() -> dict[str, str]:
    return {key: str(text) for key, text in PHONE_TEXTS.items()}


def asset(filename: str) -> str:
    """A static file's URL carrying the assets' version: cached for a year, replaced on change."""
    return url_for("static", filename=filename, v=asset_version())


def asset_version() -> str:
    return _asset_version(current_app.static_folder, current_app.config["FORMS_DIR"])


@cache
def _asset_version(static_folder: str, forms_dir: str) -> str:
    """Changes whenever a static file, a template or a form definition does (the service worker
    then installs again and keeps the new shells)."""
    digest = hashlib.sha256()
    folders = (Path(static_folder), Path(forms_dir), Path(__file__).parent / "templates")
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.suffix in (".css", ".js", ".png", ".svg", ".toml", ".html"):
                digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:12]


def _cache_versioned_assets(response):
    if request.path.startswith("/static/") and request.args.get("v") and response.status_code == 200:
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


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
    # A 405 says which methods the URL takes (RFC 9110): werkzeug's exception knows them.
    methods = getattr(error, "valid_methods", None)
    headers = {"Allow": ", ".join(methods)} if methods else {}
    if request.path.startswith("/api/"):
        return jsonify(error=str(status), message=message), status, headers
    return render_template("error.html", title=str(status), message=message), status, headers
