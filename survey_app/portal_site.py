"""Build the public portal from this app's data, and serve it at /portal/.

In production the folder is copied to any static host (rebuild it daily, e.g.
from cron, so "today" on the calendar stays right).  The server that serves it
itself rebuilds on the first request of a new day, and after staff print a
public notice, so what it shows is never a day or a notice behind.
"""

from __future__ import annotations

import time
from pathlib import Path

from filelock import FileLock, Timeout
from flask import Blueprint, abort, current_app, redirect, send_from_directory
from werkzeug.security import safe_join

from . import clock
from .atomicfile import remove_stale

bp = Blueprint("portal_site", __name__, url_prefix="/portal")
RETRY_SECONDS = 600  # after a failed daily rebuild, so a broken input does not cost every request


def build(output: Path | None = None, production: bool = False) -> Path:
    """Build the portal from the app's grid, campaign calendar, dispute form and published notices."""
    from . import portal, state  # Pelican takes 0.2 s to import: only when building
    from .documents import published_notices
    config = current_app.config
    return portal.build_portal(
        Path(output or config["PORTAL_OUTPUT"]), grid_units=list(state.current_grid().units.values()),
        campaign_file=Path(config["CAMPAIGN_FILE"]), notices=published_notices(config["EXPORTS_DIR"]),
        settings_file=portal.PUBLISHCONF if production else portal.PELICANCONF,
        forms_dir=config["FORMS_DIR"])


def rebuild_quietly() -> bool:
    """Rebuild the served portal; on failure log it and keep the old site (False)."""
    root = Path(current_app.config["PORTAL_OUTPUT"])
    # One builder at a time across threads and worker processes (each FileLock is
    # its own descriptor, so threads exclude each other too); the others serve the
    # current site, which stays whole because a build swaps in at the end.
    try:
        root.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(root.parent / f".{root.name}.build.lock", timeout=0):
            build(root)
        return True
    except Timeout:
        return False
    except Exception:  # the old site keeps being served; the log says why
        current_app.logger.exception("portal rebuild failed")
        current_app.extensions["canbao"]["portal_retry"] = time.monotonic() + RETRY_SECONDS
        return False


def after_printing(kind: str) -> None:
    """A public notice (collection notice, roster) belongs on the portal's notices page at once."""
    from .documents import PUBLIC_KINDS
    if kind in PUBLIC_KINDS:
        rebuild_quietly()


@bp.route("/")
@bp.route("/<path:path>")
def serve(path: str = "index.html"):
    from .portal import built_on
    root = Path(current_app.config["PORTAL_OUTPUT"])
    retry_at = current_app.extensions["canbao"].get("portal_retry", 0)
    # Pages only: a new day is noticed on the first page view, and assets stay a plain file send.
    if path.endswith(".html") and time.monotonic() >= retry_at \
            and built_on(root) not in (None, clock.today()):
        rebuild_quietly()  # about 0.1 s, once a day
    # A path leaving the folder (``..%2f``) is a 404 before anything outside is looked at, so
    # the answer never tells whether some folder exists on the server.
    inside = safe_join(str(root), path)
    if inside is None or not root.is_dir():
        abort(404)
    if Path(inside).is_dir():
        return redirect(f"/portal/{path.rstrip('/')}/index.html")
    return send_from_directory(root, path)


def remove_stale_builds(output: str | Path) -> list[Path]:
    """At start-up: the staging and retired folders of a build a crash cut short (portal.py's
    ``.<output>.building-*`` and ``.<output>.old-*``; a build takes well under a second)."""
    root = Path(output)
    if not root.parent.is_dir():
        return []
    return remove_stale(root.parent, [f".{root.name}.building-*", f".{root.name}.old-*"])
