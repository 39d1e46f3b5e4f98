"""Login sessions, CSRF and the security headers every response carries."""

from __future__ import annotations

from flask import Flask, current_app, jsonify, redirect, render_template, request, url_for
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFError, CSRFProtect, ValidationError, validate_csrf

from . import state, users
from .i18n import _

csrf = CSRFProtect()
login_manager = LoginManager()

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = None  # sessions are server-side rows instead
    app.after_request(_security_headers)
    app.register_error_handler(CSRFError, _csrf_failed)


@login_manager.user_loader
def _load_account(token: str):
    """A live session's account: ended, expired, idle, disabled and superseded sessions load none."""
    config = current_app.config
    return users.account_for_session(state.store(), token, idle_minutes=config["SESSION_IDLE_MINUTES"],
                                     staff_idle_minutes=config["SESSION_IDLE_MINUTES_STAFF"])


@login_manager.unauthorized_handler
def _unauthorized():
    if request.path.startswith("/api/"):
        return jsonify(error="unauthorized", message=_("请先登录。")), 401
    return redirect(url_for("auth.login", next=request.full_path))


def large_post(max_mb: int):
    """The form and files of a POST allowed up to ``max_mb`` (a view exempt from the global CSRF
    check, which would read the body under the app's 2 MB limit first): the token is checked here,
    once the body is read.  RequestEntityTooLarge for a larger body; CSRFError (answered as any
    other) for a missing or wrong token."""
    request.max_content_length = max_mb * 1024 * 1024
    form, files = request.form, request.files
    try:
        validate_csrf(form.get("csrf_token"))
    except ValidationError as exc:
        raise CSRFError(exc.args[0] if exc.args else None) from None
    return form, files


def _csrf_failed(error: CSRFError):
    message = _("页面已过期或来源不明，请刷新页面后重新提交。")
    if request.path.startswith("/api/"):
        if not current_user.is_authenticated:  # no session at all: what login_required says
            return _unauthorized()
        return jsonify(error="csrf", message=message), 400
    return render_template("error.html", title=_("无法提交"), message=message), 400


def _security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    if request.path.startswith(("/e/", "/s/", "/d/", "/api/", "/q/")):
        response.headers["Cache-Control"] = "no-store"  # personal data stays off shared caches
    if current_app.config["HTTPS"] and current_app.config["HSTS_SECONDS"]:
        # the browser itself refuses plain http from then on: no first request to intercept
        response.headers["Strict-Transport-Security"] = f"max-age={int(current_app.config['HSTS_SECONDS'])}"
    return response
