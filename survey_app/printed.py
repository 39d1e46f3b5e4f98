"""Paper in the loop: QR scans from printed forms, and the staff print room.

``/q/<token>`` is what a phone camera opens from a printed sheet.  It needs a
login, and a token outside the user's area is a plain 404 — the same as a
token that does not exist.  A blank form's scan asks which household the new
person belongs to: the village's households, searched by head, address or member name.
``/s/print/`` lets township and district staff generate forms and notices for
their own area and download what was made; the households to print are found by
the same search and ticked, never typed as internal references.
"""

from __future__ import annotations

import threading
import time

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

from . import audit, documents, jobs, portal_site, registry, server, state, textnorm, tokens
from .i18n import _
from .registry import NotFound

bp = Blueprint("printed", __name__)

# Form batches render in a background thread: a 1,000-person village takes over a
# minute, longer than a phone or proxy will wait on one request.  Their records are
# in the store (jobs.py), so the print room lists them whichever worker serves it;
# a batch dies with its server process (its partial file is never published).


# -- scans ----------------------------------------------------------------------------------
@bp.route("/q/<token>")
def scan(token: str):
    if not current_user.is_authenticated:
        # A resident who scans their own form's code gets a word on what it is, not a bare
        # login page; nothing about the code (valid or not) is looked up for them.
        return render_template("printed/scan_public.html",
                               login=url_for("auth.login", next=request.full_path.rstrip("?")))
    entry = tokens.lookup(state.store(), token)
    if entry is None:
        abort(404)
    scope = state.scope()
    scope.require(entry["village"])
    if entry["person"] is not None:
        ref = registry.make_ref(entry["village"], entry["person"])
        registry.person(state.store(), scope, ref)  # a person since removed is a 404 too
        return redirect(url_for("enumerator.person", ref=ref))
    query = request.args.get("q", "").strip()[:50]
    houses = matching_households(scope, entry["village"], query)
    return render_template("printed/choose_household.html", token=entry["token"], q=query,
                           unit=state.current_grid().get(entry["village"]), households=houses)


def matching_households(scope, village: str, query: str, houses: list[dict] | None = None) -> list[dict]:
    """The village's households whose head, address or one of whose members matches ``query``."""
    store = state.store()
    houses = registry.households(store, scope, village) if houses is None else houses
    query = textnorm.fold_text(query)
    if not query:
        return houses
    members = {p["household"] for p in registry.persons_in(store, scope, village)
               if query in textnorm.fold_text(str(p["answers"].get("name", "")))}
    return [h for h in houses if query in textnorm.fold_text(f"{h['head_name']} {h['address']}")
            or h["doc_id"] in members]


# -- the staff print room ---------------------------------------------------------------------
@bp.route("/s/print/", methods=("GET", "POST"))
@login_required
def index():
    """The print room.  A POST here only searches (the 查找 button of the forms' form), keeping
    the ticked households; nothing is generated."""
    return _print_room()


MAX_LISTED = 200  # households listed at once for ticking; a search finds the others


def _print_room(status: int = 200):
    _require_staff()
    scope = state.scope()
    grid = state.current_grid()
    villages = [grid.get(v) for v in sorted(scope.villages)]
    townships = [u for level in ("city", "district", "township") for u in grid.children_of_level(level)
                 if set(grid.villages_under(u["code"])) <= scope.villages]
    files = documents.list_exports(current_app.config["EXPORTS_DIR"], scope.villages)
    village = request.values.get("village", "")
    village = village if village in scope.villages else (villages[0]["code"] if villages else "")
    query = request.values.get("q", "").strip()[:50]
    ticked = set(_household_refs()) if request.method == "POST" else set()
    houses = registry.households(state.store(), scope, village) if village else []
    found = matching_households(scope, village, query, houses) if village else []
    chosen = [h for h in houses if h["ref"] in ticked]
    rest = [h for h in found if h["ref"] not in ticked]
    return render_template("printed/index.html", villages=villages, townships=townships,
                           files=files, kinds=documents.KINDS, village=village, q=query,
                           households=chosen + rest[:MAX_LISTED], ticked=ticked,
                           unlisted=max(0, len(rest) - MAX_LISTED),
                           blank=request.form.get("blank", "0"),
                           loopback_url=_loopback_public_url(),
                           jobs=jobs.visible(state.store(), scope.villages)), status


def _loopback_public_url() -> str | None:
    """PUBLIC_URL when it names the server's own machine, so the print room can warn before printing.

    Shown whoever asks, even from the server itself: the QR codes are scanned by phones, never by
    the machine that printed them, so where the request came from changes nothing.
    """
    url = current_app.config["PUBLIC_URL"]
    return url if server.public_url_warning(url) else None


def _household_refs() -> list[str]:
    """The ticked households (one value each), or refs typed with commas as before."""
    return [r.strip() for value in request.form.getlist("households")
            for r in value.replace("，", ",").split(",") if r.strip()]


@bp.route("/s/print/forms", methods=("POST",))
@login_required
def make_forms():
    _require_staff()
    refs = _household_refs()
    try:
        blank = int(request.form.get("blank") or 0)
    except ValueError:
        return _failed(_("空白表数量应为整数。"))
    return _start_forms_job(state.scope(), request.form.get("village", ""), refs or None, blank)


def _start_forms_job(scope, village: str, refs, blank: int):
    """Check the request and count the pages here; render in a background thread."""
    app = current_app._get_current_object()
    store = state.store()
    job: dict = {"id": None, "error": None}
    checked = threading.Event()

    def started(pages: int) -> None:
        job["id"] = jobs.start(store, village=village, user=scope.username, pages=pages)
        job["pages"] = pages
        checked.set()

    def run() -> None:
        with app.app_context():
            try:
                documents.print_forms(scope, village=village, household_refs=refs, blank=blank,
                                      progress=lambda n: jobs.progress(store, job["id"], n),
                                      on_start=started)
            except (documents.DocumentError, NotFound) as exc:
                job["error"] = _explain(exc)
            except Exception:  # shown in the print room; the server's log has the traceback
                app.logger.exception("print job %s failed", job["id"])
                job["error"] = _("排版出错，请稍后重试。")
            finally:
                if job["id"] is not None:
                    jobs.finish(store, job["id"], job["error"])
                checked.set()

    threading.Thread(target=run, name=f"print-{village}", daemon=True).start()
    checked.wait()
    if job["id"] is None:
        return _failed(job["error"] or _("排版出错，请稍后重试。"))  # refused before rendering
    flash(_("正在生成 %(n)d 页，完成后出现在下方列表中，可先离开本页。", n=job["pages"]), "success")
    return redirect(url_for(".index"))


def wait_for_jobs(store, seconds: float) -> bool:
    """True once no batch is rendering (for tests and a graceful shutdown)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not jobs.running(store):
            return True
        time.sleep(0.05)
    return False


@bp.route("/s/print/notice", methods=("POST",))
@login_required
def make_notice():
    _require_staff()
    kind = request.form.get("kind", "")
    area = request.form.get("area", "")
    unit = state.current_grid().get(area)
    by_township = kind == "progress" and bool(unit) and unit["level"] != "village"
    return _generate(lambda scope: documents.print_notice(
        scope, kind, village=None if by_township else area, township=area if by_township else None))


def _generate(make):
    try:
        export = make(state.scope())
    except (documents.DocumentError, NotFound) as exc:
        return _failed(_explain(exc))
    portal_site.after_printing(export.meta["kind"])
    flash(_("已生成“%(t)s”，共 %(n)d 页。", t=export.meta["title"], n=export.meta["pages"]),
          "success")
    return redirect(url_for(".index"))


def _explain(exc: Exception) -> str:
    if isinstance(exc, documents.DocumentError):
        return str(exc)
    return _("找不到该村（社区），或不在您的管辖范围内。")


def _failed(message: str):
    flash(message if "未生成" in message else _("%(m)s未生成文件。", m=message), "error")
    return _print_room(status=400)


@bp.route("/s/print/files/<path:relative>")
@login_required
def download(relative: str):
    _require_staff()
    pdf = documents.export_file(current_app.config["EXPORTS_DIR"], relative, state.scope().villages)
    if pdf is None:
        abort(404)
    audit.record_download(state.store(), state.scope(), relative)
    return send_file(pdf, mimetype="application/pdf", as_attachment=True, download_name=pdf.name)


def _require_staff() -> None:
    if not current_user.is_staff:
        abort(404)
