"""canbao (参保): field registration for the universal social-insurance drive."""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from pathlib import Path

from flask import Flask, has_request_context, redirect, session, url_for
from flask_babel import Babel
from flask_login import current_user

from . import settings
from .i18n import LANGUAGES


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(settings.defaults())
    app.config.from_mapping(settings.from_environment())
    if test_config:
        app.config.from_mapping(test_config)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path))
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=bool(app.config["HTTPS"]),
        WTF_CSRF_TIME_LIMIT=None,  # a form may stay open through a long household visit
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        BABEL_DEFAULT_LOCALE="zh_CN",
    )

    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix
        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)

    from . import security, state
    state.init_app(app)
    security.init_app(app)
    from . import diskfull, housekeeping
    diskfull.init_app(app)  # a full disk: 503, what was typed kept, a logout that still ends
    housekeeping.init_app(app)  # temporary files a crash left outside the store
    _compress(app)
    Babel(app, locale_selector=_locale)
    app.jinja_env.globals["lang"] = _locale

    from . import api, auth, desk, enumerator, portal_site, printed, staff, views
    for blueprint in (auth.bp, enumerator.bp, staff.bp, desk.bp, api.bp, portal_site.bp, printed.bp):
        app.register_blueprint(blueprint)
    views.init_app(app)

    @app.route("/")
    def index():
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login"))
        if current_user.is_department:
            return redirect(url_for("desk.home"))
        return redirect(url_for("staff.home" if current_user.is_staff else "enumerator.home"))

    from .cli import register_commands
    register_commands(app)
    return app


def _compress(app: Flask) -> None:
    """gzip text answers, static files included; exports stream as they are (a CSV export would
    otherwise be held whole, and an XLSX is zipped already)."""
    from flask_compress import Compress
    app.config.setdefault("COMPRESS_MIMETYPES", [
        "text/html", "text/css", "application/javascript", "text/javascript", "application/json",
        "image/svg+xml", "application/manifest+json", "application/yaml"])
    app.config.setdefault("COMPRESS_ALGORITHM", ["gzip"])
    app.config.setdefault("COMPRESS_ALGORITHM_STREAMING", ["gzip"])  # static files are sent as streams
    app.config.setdefault("COMPRESS_MIN_SIZE", 512)
    Compress(app)


def _locale() -> str:
    # Chinese unless the user picked another language: enumerators' phones
    # often send English Accept-Language headers they never chose.
    chosen = session.get("lang") if has_request_context() else None  # CLI: Chinese
    return chosen if chosen in LANGUAGES else "zh_CN"


def _instance_secret(instance: Path) -> str:
    instance.mkdir(parents=True, exist_ok=True)
    key_file = instance / "secret_key"
    if not key_file.exists():
        # created 0600 in one step: no moment in which another local user could read the key
        with contextlib.suppress(FileExistsError):  # another worker made it first: use theirs
            descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_hex(32))
    for _attempt in range(50):  # a worker that lost the race may read before the winner wrote
        key = key_file.read_text().strip()
        if key:
            return key
        time.sleep(0.02)
    raise RuntimeError(f"{key_file} is empty: remove it and start again")
