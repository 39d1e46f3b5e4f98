"""Paper in the loop: QR scans from printed forms, and the staff print room.

``/q/<token>`` is what a phone camera opens from a printed sheet.  It needs a
login, and a token outside the user's area is a plain 404 — the same as a
token that does not exist.  ``/s/print/`` lets township and district staff
generate forms and notices for their own area and download what was made.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user, login_required

from . import documents, registry, state, tokens
from .registry import NotFound

bp = Blueprint("printed", __name__)


# -- scans ----------------------------------------------------------------------------------
@bp.route("/q/<token>")
@login_required
def scan(token: str):
    entry = tokens.lookup(state.store(), token)
    if entry is None:
        abort(404)
    scope = state.scope()
    scope.require(entry["village"])
    if entry["person"] is not None:
        ref = registry.make_ref(entry["village"], entry["person"])
        registry.person(state.store(), scope, ref)  # a person since removed is a 404 too
        return redirect(url_for("enumerator.person", ref=ref))
    houses = registry.households(state.store(), scope, entry["village"])
    return render_template("printed/choose_household.html", token=entry["token"],
                           unit=state.current_grid().get(entry["village"]), households=houses)


# -- the staff print room ---------------------------------------------------------------------
@bp.route("/s/print/")
@login_required
def index():
    return _print_room()


def _print_room(status: int = 200):
    _require_staff()
    scope = state.scope()
    grid = state.current_grid()
    villages = [grid.get(v) for v in sorted(scope.villages)]
    townships = [t for t in grid.townships
                 if set(grid.villages_under(t["code"])) <= scope.villages]
    files = documents.list_exports(current_app.config["EXPORTS_DIR"], scope.villages)
    return render_template("printed/index.html", villages=villages, townships=townships,
                           files=files, kinds=documents.KINDS), status


@bp.route("/s/print/forms", methods=("POST",))
@login_required
def make_forms():
    _require_staff()
    refs = [r for r in request.form.get("households", "").replace("，", ",").split(",") if r.strip()]
    try:
        blank = int(request.form.get("blank") or 0)
    except ValueError:
        return _failed("空白表数量应为整数。")
    return _generate(lambda scope: documents.print_forms(
        scope, village=request.form.get("village", ""), household_refs=refs or None, blank=blank))


@bp.route("/s/print/notice", methods=("POST",))
@login_required
def make_notice():
    _require_staff()
    kind = request.form.get("kind", "")
    area = request.form.get("area", "")
    by_township = kind == "progress" and len(area) == 9
    return _generate(lambda scope: documents.print_notice(
        scope, kind, village=None if by_township else area, township=area if by_township else None))


def _generate(make):
    try:
        export = make(state.scope())
    except (documents.DocumentError, NotFound) as exc:
        message = str(exc) if isinstance(exc, documents.DocumentError) else \
            "找不到该村（社区），或不在您的管辖范围内。"
        return _failed(message)
    flash(f"已生成“{export.meta['title']}”，共 {export.meta['pages']} 页。", "success")
    return redirect(url_for(".index"))


def _failed(message: str):
    flash(f"{message}未生成文件。" if "未生成" not in message else message, "error")
    return _print_room(status=400)


@bp.route("/s/print/files/<path:relative>")
@login_required
def download(relative: str):
    _require_staff()
    pdf = documents.export_file(current_app.config["EXPORTS_DIR"], relative, state.scope().villages)
    if pdf is None:
        abort(404)
    return send_file(pdf, mimetype="application/pdf", as_attachment=True, download_name=pdf.name)


def _require_staff() -> None:
    if not current_user.is_staff:
        abort(404)
