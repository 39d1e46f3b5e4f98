"""Log in and out.  One message for unknown users and wrong passwords alike.

The throttle's policy (growing delays per account, per account and address, and
per address; never a lock-out) is described in ``users.py``.  Every login,
failed login and logout goes on the system audit, with the client's address.

``/password`` changes one's own password.  An account whose password a manager
chose (created or reset in ``/s/users``) must change it first: until then every
other page leads there, and the API answers 401 (the phone pauses its uploads).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user

from . import state, throttle, users
from .i18n import LANGUAGES, _

bp = Blueprint("auth", __name__)


# The dummy hash is made when the app is, so the first unknown username costs no more than others.
bp.record_once(lambda _state: users.dummy_hash())


@bp.route("/login", methods=("GET", "POST"))
def login():
    if request.method == "GET":
        return render_template("auth/login.html")
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    if not username or not password:  # no guess was made: nothing to check, count or audit
        flash(_("请输入用户名和密码。"), "error")
        return render_template("auth/login.html", username=username), 400
    cfg = current_app.config
    store = state.store()
    address = request.remote_addr or ""
    keys = throttle.LoginKeys.of(username, address, current_app.secret_key)
    try:
        account = users.authenticate(store, username, password, keys=keys,
                                     throttle=throttle.Throttle.from_config(cfg), hours=cfg["SESSION_HOURS"])
    except throttle.LoginDelayed as delayed:
        # Not audited one by one: waiting attempts write nothing, so hammering costs no disk.
        flash(_("登录失败次数过多，请%(s)d秒后再试。", s=delayed.seconds), "error")
        return (render_template("auth/login.html", username=username), 429,
                {"Retry-After": str(delayed.seconds)})
    if account is None:
        known = users.find_user(store, username) is not None
        users.audit_login(store, "login_failed", username if known else users.name_for_audit(username),
                          address=address, known=known)
        flash(_("用户名或密码不正确。"), "error")
        return render_template("auth/login.html", username=username), 401
    users.audit_login(store, "login", account.username, address=address)
    lang = session.get("lang")
    session.clear()  # nothing from before login survives into the new session
    if lang:
        session["lang"] = lang
    login_user(account)
    if account.must_change:
        return redirect(url_for(".change_password", next=_safe_next(request.args.get("next"))))
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
    users.audit_login(state.store(), "logout", current_user.username, address=request.remote_addr or "")
    logout_user()
    session.clear()
    flash(_("已退出登录。"), "info")
    return redirect(url_for("auth.login"))


# What an account that must change its password may still reach (the rest leads to /password).
UNTIL_CHANGED = frozenset(("auth.change_password", "auth.logout", "auth.login", "auth.set_language",
                           "static", "enumerator.service_worker", "enumerator.manifest"))


@bp.before_app_request
def _password_first():
    if request.endpoint in UNTIL_CHANGED or not current_user.is_authenticated \
            or not current_user.must_change:
        return None
    if request.path.startswith("/api/"):
        return jsonify(error="password_change", message=_("请先修改密码。")), 401
    target = request.full_path if request.method == "GET" else None
    return redirect(url_for("auth.change_password", next=_safe_next(target)))


@bp.route("/password", methods=("GET", "POST"))
@login_required
def change_password():
    """Change one's own password: the current one again, the new one twice; other sessions end."""
    forced = current_user.must_change
    following = _safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("auth/password.html", forced=forced, following=following, problems=[])
    new = request.form.get("new_password", "")
    problems = []
    if new != request.form.get("confirm_password", ""):
        problems.append(_("两次输入的新密码不一致。"))
    else:
        try:
            users.change_own_password(state.store(), current_user.username, current_user.get_id(),
                                      request.form.get("current_password", ""), new)
        except users.AccountError as exc:
            problems = str(exc).split("；")
    if problems:
        return render_template("auth/password.html", forced=forced, following=following,
                               problems=problems), 422
    flash(_("密码已修改；此账号在其他设备上的登录均已结束。"), "success")
    return redirect(following or url_for("index"))


@bp.route("/lang/<code>", methods=("POST",))
def set_language(code: str):
    if code in LANGUAGES:
        session["lang"] = code
    return redirect(_safe_next(request.form.get("next")) or url_for("index"))
