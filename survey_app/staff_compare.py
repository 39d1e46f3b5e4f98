"""信息比对 pages of the staff area: upload the extract and the insured lists, see and keep the result.

Routes on ``staff.bp`` (its login and staff checks apply).  The upload may be a
county's files, far above the app's 2 MB request limit: this one view raises
the limit for itself, so it checks the CSRF token itself, after the limit is
set (Flask-WTF's own check would read the form first, under the small limit).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from . import comparison, documents, state
from . import comparison_report as report
from .comparison import SCHEMES, ComparisonError, Upload
from .i18n import _
from .registry import NotFound
from .security import csrf, large_post
from .spreadsheet import XLSX_MIMETYPE
from .staff import bp

MAX_UPLOAD_MB = 200  # all files of one comparison together: a county's extract and four lists


def _area() -> tuple[str, ...]:
    return tuple(current_user.area)


def _form(problems: list[str], status: int = 200):
    records = report.visible(state.store(), state.current_grid(), _area())
    return render_template("staff/compare.html", problems=problems, schemes=SCHEMES, records=records,
                           grid=state.current_grid(), max_mb=MAX_UPLOAD_MB,
                           max_rows=comparison.MAX_ROWS), status


@bp.route("/compare", methods=("GET", "POST"))
@csrf.exempt  # checked below, once the larger limit is in force
def compare():
    if request.method == "GET":
        return _form([])
    try:
        form, files = large_post(MAX_UPLOAD_MB)
    except RequestEntityTooLarge:
        return _form([_("上传的文件合计超过 %(n)d MB：请按乡镇（街道）拆分后分别比对。",
                         n=MAX_UPLOAD_MB)], 413)
    hukou = [f for f in files.getlist("hukou") if f.filename]
    insured = [Upload(f.filename, f.read, key) for key in SCHEMES
               for f in files.getlist(f"insured_{key}") if f.filename]
    problems = []
    if len(hukou) != 1:
        problems.append(_("请选择一个户籍信息文件。"))
    if not insured:
        problems.append(_("请至少选择一个参保名单文件。"))
    if problems:
        return _form(problems, 422)
    grid, scope = state.current_grid(), state.scope()
    try:
        outcome = comparison.compare(grid, scope.villages, state.registration_form(),
                                     Upload(hukou[0].filename, hukou[0].read), insured)
    except ComparisonError as exc:
        return _form(exc.problems, 422)
    doc_id = report.save(state.store(), grid, scope, _area(), outcome)
    flash(_("比对完成。"), "success")
    return redirect(url_for(".compare_result", doc_id=doc_id))


def _record(doc_id: int) -> dict:
    try:
        return report.get(state.store(), state.current_grid(), _area(), doc_id)
    except NotFound:
        abort(404)  # outside the area reads the same as absent


@bp.route("/compare/<int:doc_id>")
def compare_result(doc_id: int):
    record = _record(doc_id)
    grid = state.current_grid()
    return render_template("staff/compare_result.html", record=record, doc_id=doc_id,
                           rows=report.village_table(grid, record), stats=report.stats_rows(grid, record),
                           title=report.area_title(grid, record), schemes=SCHEMES)


@bp.route("/compare/<int:doc_id>/roster", methods=("POST",))
def compare_roster(doc_id: int):
    """The one action: 需核实 and 未参保 people of the extract into their villages' expected rosters."""
    messages = {"superseded": _("此后又做过同一范围的比对：请在最新的比对结果上生成。"),
                "done": _("本次比对已生成过入户调查名单，未重复导入。")}
    try:
        counts = report.create_rosters(state.store(), state.current_grid(), state.scope(), _area(),
                                       doc_id, messages)
    except NotFound:
        abort(404)
    except report.RosterRefused as exc:
        flash(str(exc), "warning")
        return redirect(url_for(".compare_result", doc_id=doc_id))
    flash(_("已生成 %(v)d 个村（社区）的入户调查名单：新增 %(h)d 户 %(p)d 人；"
            "已在系统中的 %(s)d 人未重复导入。", v=counts["villages"], h=counts.get("households", 0),
            p=counts.get("persons", 0), s=counts.get("skipped", 0)), "success")
    return redirect(url_for(".compare_result", doc_id=doc_id))


@bp.route("/compare/<int:doc_id>/stats.<any(xlsx, pdf):fmt>")
def compare_stats(doc_id: int, fmt: str):
    """附件1 未参保人员统计表, as Excel or as PDF (counts only: no personal data leaves)."""
    record = _record(doc_id)
    grid = state.current_grid()
    filename = f"unenrolled-{doc_id}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if fmt == "xlsx":
        return Response(report.stats_xlsx(grid, record), content_type=XLSX_MIMETYPE, headers=headers)
    html = render_template("documents/unenrolled_stats.html", title=report.area_title(grid, record),
                           rows=report.stats_rows(grid, record), record=record)
    with tempfile.TemporaryDirectory(prefix="canbao-stats-") as folder:
        target = Path(folder) / filename
        try:
            documents.render_pdf(html, target)
        except documents.DocumentError:
            abort(500)
        body = target.read_bytes()
    return Response(body, content_type="application/pdf", headers=headers)
