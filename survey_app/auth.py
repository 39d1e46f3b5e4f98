"""Log in and out.  One message for unknown users and wrong passwords alike."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user

from . import state, users
from .i18n import LANGUAGES, _

bp = Blueprint("auth", __name__)


def _throttle_keys(username: str) -> list[str]:
    return [f"user:{username.lower()}", f"addr:{request.remote_addr}"]


@bp.route("/login", methods=("GET", "POST"))
def login():
    if request.method == "GET":
        return render_template("auth/login.html")
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    cfg = current_app.config
    keys = _throttle_keys(username)
    store = state.store()
    if users.failed_recently(store, keys, cfg["LOGIN_WINDOW_SECONDS"], time.time()) \
            >= cfg["LOGIN_MAX_FAILURES"]:
        minutes = cfg["LOGIN_WINDOW_SECONDS"] // 60
        flash(_("登录失败次数过多，请%(m)d分钟后再试。", m=minutes), "error")
        return render_template("auth/login.html", username=username), 429
    account = users.authenticate(
        store, username, password, keys=keys, window=cfg["LOGIN_WINDOW_SECONDS"],
        hours=cfg["SESSION_HOURS"])
    if account is None:
        flash(_("用户名或密码不正确。"), "error")
        return render_template("auth/login.html", username=username), 401
    lang = session.get("lang")
    session.clear()  # nothing from before login survives into the new session
    if lang:
        session["lang"] = lang
    login_user(account)
    return redirect(_safe_next(request.args.get("next")) or url_for("index"))


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc and target.startswith("/") else None


@bp.route("/logout", methods=("POST",))
@login_required
def logout():
    users.end_session(state.store(), current_user.get_id())
    logout_user()
    session.clear()
    flash(_("已退出登录。"), "info")
    return redirect(url_for("auth.login"))


@bp.route("/lang/<code>", methods=("POST",))
def set_language(code: str):
    if code in LANGUAGES:
        session["lang"] = code
    return redirect(_safe_next(request.form.get("next")) or url_for("index"))
