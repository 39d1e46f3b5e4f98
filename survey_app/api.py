"""JSON API, /api/v1: the one path every submission can take (web form, offline client).

Described in ``openapi.yaml`` beside this module.  Authentication is the login
session; state-changing calls carry the CSRF token in ``X-CSRFToken``
(``GET /api/v1/session`` hands it out).
"""

from __future__ import annotations

from importlib.resources import files

from flask import Blueprint, Response, jsonify, request, url_for
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf

from . import formdef, registry, state
from .i18n import _
from .registry import Conflict, Duplicate, Invalid, NotFound

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _error(status: int, code: str, message: str, **extra):
    return jsonify(error=code, message=message, **extra), status


@bp.errorhandler(NotFound)
def _not_found(_exc):
    return _error(404, "not_found", _("找不到该记录。"))


@bp.errorhandler(404)
def _no_route(_exc):
    return _error(404, "not_found", _("找不到该记录。"))


@bp.errorhandler(405)
def _bad_method(_exc):
    return _error(405, "method_not_allowed", _("不支持该请求方法。"))


@bp.errorhandler(Invalid)
def _invalid(exc: Invalid):
    return _error(422, "invalid", _("表单有错误，未保存。"),
                  errors={k: str(v) for k, v in exc.errors.items()},
                  warnings={k: [str(m) for m in v] for k, v in exc.warnings.items()})


@bp.route("/openapi.yaml")
def openapi():
    text = files("survey_app").joinpath("openapi.yaml").read_text(encoding="utf-8")
    return Response(text, mimetype="application/yaml")


@bp.route("/session")
@login_required
def session_info():
    return jsonify(username=current_user.username, role=current_user.role,
                   villages=sorted(state.scope().villages), csrf_token=generate_csrf())


@bp.route("/forms/<form_id>")
@login_required
def form_definition(form_id: str):
    if form_id not in ("registration", "household"):
        raise NotFound(form_id)
    loader = state.registration_form if form_id == "registration" else state.household_form
    return jsonify(formdef.to_json(loader()))


@bp.route("/bundle")
@login_required
def bundle():
    """Everything an enumerator's phone keeps for the day: their villages' households and people.

    Only the caller's own villages (a city's staff do not carry a city in a phone); the
    answers are there so a roster person's form opens pre-filled with no signal.
    """
    if current_user.is_staff:
        return _error(404, "not_found", _("找不到该记录。"))
    scope, store, grid = state.scope(), state.store(), state.current_grid()
    villages = []
    for code in sorted(scope.villages):
        unit = grid.get(code) or {"name": code}
        villages.append({
            "code": code, "name": unit["name"], "township": (grid.township_of(code) or {}).get("name", ""),
            "households": [_household_json(h) for h in registry.households(store, scope, code)],
            "persons": [_person_json(p) for p in registry.persons_in(store, scope, code)],
        })
    return jsonify(username=current_user.username, generated_at=registry.now_iso(), villages=villages)


@bp.route("/villages/<village>/households")
@login_required
def list_households(village: str):
    houses = registry.households(state.store(), state.scope(), village)
    return jsonify(households=[_household_json(h) for h in houses])


@bp.route("/villages/<village>/households", methods=("POST",))
@login_required
def create_household(village: str):
    body = _json_body()
    _refuse_unknown_fields(body, state.household_form())
    try:
        ref, created = registry.add_household(state.store(), state.scope(),
                                              state.household_form(), village, body)
    except Conflict as conflict:
        return _error(409, "uuid_conflict", _("该 uuid 已用于内容不同的提交，未作任何修改。"),
                      existing=conflict.ref)
    return jsonify(id=ref, replayed=not created), 201 if created else 200, \
        {"Location": url_for(".get_household", ref=ref)}


@bp.route("/households/<ref>")
@login_required
def get_household(ref: str):
    scope = state.scope()
    home = registry.household(state.store(), scope, ref)
    people = registry.members(state.store(), scope, ref)
    return jsonify(**_household_json(home), members=[_person_json(p) for p in people])


@bp.route("/persons/<ref>")
@login_required
def get_person(ref: str):
    return jsonify(_person_json(registry.person(state.store(), state.scope(), ref)))


@bp.route("/submissions", methods=("POST",))
@login_required
def submit():
    body = _json_body()
    _refuse_unknown_fields(body, state.registration_form())
    try:
        saved = registry.submit(state.store(), state.scope(), state.registration_form(), body)
    except Duplicate as dup:
        extra = {"existing": dup.ref} if dup.in_scope else {}
        place = "".join(state.current_grid().path_names(dup.village_code)[1:])
        return _error(409, "duplicate_id_number",
                      _("该公民身份号码已在“%(p)s”登记。", p=place), village=place, **extra)
    except Conflict as conflict:
        return _error(409, "uuid_conflict", _("该 uuid 已用于内容不同的提交，未作任何修改。"),
                      **({"existing": conflict.ref} if conflict.ref else {}))
    status = 201 if not saved.replayed else 200
    return jsonify(id=saved.ref, receipt=saved.receipt, replayed=saved.replayed,
                   status="incomplete" if saved.missing else "registered", missing=saved.missing,
                   warnings={k: [str(m) for m in v] for k, v in saved.warnings.items()},
                   **({"household_size": saved.household_size} if saved.household_size else {})), \
        status, {"Location": url_for(".get_person", ref=saved.ref)}


def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Invalid(formdef.Result(errors={"body": _("请求体应为 JSON 对象。")}))
    return body


def _refuse_unknown_fields(body: dict, definition: formdef.FormDefinition) -> None:
    unknown = set(body) - definition.field_names - registry.ENVELOPE
    if unknown:
        raise Invalid(formdef.Result(errors={k: _("未知字段。") for k in sorted(unknown)}))


def _household_json(home: dict) -> dict:
    keys = ("ref", "village", "head_name", "address", "members_count", "phone", "registered")
    return {("id" if k == "ref" else k): home.get(k) for k in keys}


def _person_json(found: dict) -> dict:
    return {"id": found["ref"], "village": found["village"],
            "household": registry.make_ref(found["village"], found["household"]),
            "status": found["status"], "receipt": found.get("receipt"),
            "missing": found.get("missing", []), "answers": found.get("answers", {})}
