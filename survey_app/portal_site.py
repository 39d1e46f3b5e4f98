"""Serve the built public portal at /portal/ so the demo shows it at once.

In production the folder is copied to any static host; this is a convenience.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, redirect, send_from_directory

bp = Blueprint("portal_site", __name__, url_prefix="/portal")


@bp.route("/")
@bp.route("/<path:path>")
def serve(path: str = "index.html"):
    root = Path(current_app.config["PORTAL_OUTPUT"])
    if not root.is_dir():
        abort(404)
    if (root / path).is_dir():
        return redirect(f"/portal/{path.rstrip('/')}/index.html")
    return send_from_directory(root, path)
