"""征缴: staff import the tax office's roll or payment detail (collection.taxfile) as a background job.

Routes on ``staff.bp`` (its login and staff checks apply).  As a roster upload
(roster_jobs), the request only saves the file privately and starts a job; a
thread reads, checks and writes it as the uploader, into the uploader's area
only, and the job's record (readable by every worker process) keeps the counts
and the rows in error — their ID numbers masked.  The file of a township may be
larger than the app's 2 MB request limit, so this one view raises the limit for
itself and checks the CSRF token itself, as the comparison upload does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from . import clock, exports, jobs, roster_jobs, sheets, state
from .collection import taxfile
from .collection.rates import Rates
from .i18n import _
from .registry import Scope
from .security import csrf, large_post
from .spreadsheet import Column, csv_stream, xlsx_stream
from .staff import bp
from .store import Store

KIND = "taxfile"
MAX_UPLOAD_MB = 20      # a township's year: ~60,000 rows is ~6 MB of CSV
KEPT_ERRORS = 5000      # rows in error kept in the job's record for the page and the download
SHOWN_ERRORS = 200      # rows in error listed on the page (the download has them all)
ERROR_COLUMNS = [Column("行号", 8), Column("公民身份号码（隐去部分）", 22, text=True), Column("险种", 24),
                 Column("金额", 10, text=True), Column("税票号", 24, text=True), Column("问题", 60)]


def _area_key() -> str:
    """Whose area a job belongs to: its page and list are shown within that area only."""
    return ",".join(sorted(current_user.area))


def _form(problems: list[str], status: int = 200):
    recent = sorted((j for j in jobs.visible(state.store(), [_area_key()], KIND)
                     if j["user"] == current_user.username), key=lambda j: j["started"], reverse=True)
    return render_template("staff/taxfile.html", problems=problems, recent=recent, max_mb=MAX_UPLOAD_MB,
                           max_rows=taxfile.MAX_ROWS, year=state.rates().year), status


@bp.route("/collection/import", methods=("GET", "POST"))
@csrf.exempt  # checked below, once the larger limit is in force
def import_taxfile():
    """Upload the tax office's detail (.xlsx or .csv); the browser is sent to the job's page."""
    if request.method == "GET":
        return _form([])
    try:
        form, files = large_post(MAX_UPLOAD_MB)
    except RequestEntityTooLarge:
        return _form([_("文件超过 %(n)d MB：请按乡镇（街道）拆分后分别导入。", n=MAX_UPLOAD_MB)], 413)
    upload = files.get("file")
    if upload is None or not upload.filename:
        return _form([_("请选择要导入的缴费明细文件。")], 422)
    try:
        sheets.check_filename(upload.filename)
    except sheets.SheetError as exc:
        return _form(exc.problems, 422)
    store, scope = state.store(), state.scope()
    if jobs.running(store, KIND, scope.username):
        return _form([_("您上传的上一份缴费明细还在导入，请等它完成后再上传。")], 422)
    job_id = roster_jobs.launch(current_app._get_current_object(), store, KIND, _area_key(), scope.username,
                                upload, _run, scope, state.rates(), state.payment_channels())
    return redirect(url_for(".taxfile_job", job_id=job_id))


def _run(app: Flask, store: Store, job_id: int, scope: Scope, rates: Rates, channels: list[str],
         filename: str, path: Path) -> None:
    with app.app_context():
        try:
            with roster_jobs.slot(store, job_id):  # one budget of files read at once with rosters
                report = taxfile.import_file(store, scope, rates, channels, filename, path,
                                             progress=roster_jobs.reporter(store, job_id))
        except sheets.SheetError as exc:  # the file itself (TaxFileError among them): nothing written
            jobs.finish(store, job_id, problems=exc.problems[:KEPT_ERRORS], problem_count=len(exc.problems))
        except Exception:  # shown on the job's page; the server's log has the traceback
            app.logger.exception("taxfile job %s failed", job_id)
            jobs.finish(store, job_id, error=_("导入时出错。各村（社区）的缴费按村一次写入：请重新导入"
                                               "同一文件，已写入的行会显示为“无变化”。"))
        else:
            errors = report.errors
            jobs.finish(store, job_id, counts=report.counts, applied=report.applied,
                        errors=[row.as_problem() for row in errors[:KEPT_ERRORS]], error_count=len(errors))
        finally:
            path.unlink(missing_ok=True)


def _job(job_id: int) -> dict[str, Any]:
    """The user's own import in their own area, else 404 (another's reads the same as absent)."""
    job = jobs.get(state.store(), job_id)
    if job is None or job.get("kind") != KIND or job["user"] != current_user.username \
            or job["village"] != _area_key():
        abort(404)
    return job


@bp.route("/collection/import/<int:job_id>")
def taxfile_job(job_id: int):
    """202 and a Refresh header while the job runs; then its report (422 when nothing was written
    because of the rows or the file, 500 when the job failed)."""
    job = _job(job_id)
    page = render_template("staff/taxfile_job.html", job=job, shown=SHOWN_ERRORS)
    if job["done"] is None:
        return page, 202, {"Refresh": "2"}
    if job["error"]:
        return page, 500
    return page, 422 if job.get("problems") or not job.get("applied") else 200


@bp.route("/collection/import/<int:job_id>/errors.<any(csv, xlsx):fmt>")
def taxfile_errors(job_id: int, fmt: str):
    """The rows in error as a spreadsheet to hand back to whoever fixes the file (IDs masked)."""
    job = _job(job_id)
    if job["done"] is None:
        abort(404)
    rows = [[p["line"], p["id"], p["scheme"], p["amount"], p["ticket"], p["message"]]
            for p in job.get("errors") or []]
    rows += [["", "", "", "", "", problem] for problem in job.get("problems") or []]
    if fmt == "csv":
        body = b"".join(csv_stream(ERROR_COLUMNS, rows))
    else:
        body = b"".join(xlsx_stream(ERROR_COLUMNS, rows, sheet_name="导入问题", now=clock.now()))
    name = exports.filename(f"taxfile-errors-{job_id}", fmt)
    return Response(body, content_type=exports.MIMETYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
