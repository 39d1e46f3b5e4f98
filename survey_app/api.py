"""JSON API, /api/v1: the one path every submission can take (web form, offline client).

Described in ``openapi.yaml`` beside this module.  Authentication is the login
session; state-changing calls carry the CSRF token in ``X-CSRFToken``
(``GET /api/v1/session`` hands it out).
"""

from __future__ import annotations

from importlib.resources import files

import orjson
from flask import Blueprint, Response, jsonify, request, url_for
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf

from . import audit, coverage, duplicates, formdef, registry, review, state
from .collection import roll
from .i18n import _, lazy
from .registry import Conflict, Duplicate, Invalid, NotFound

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# A form is one object of plain answers; nothing a client sends legitimately nests deeper.
MAX_JSON_DEPTH = 8


class BadBody(ValueError):
    """A request body that is not one JSON object the store could keep: 422, nothing written.

    Never a 500: the phone's outbox retries a 5xx for ever, and the same bytes fail the same way.
    """

    def __init__(self, code: str, message):
        super().__init__(code)
        self.code = code
        self.message = message


BAD_JSON = lazy("请求体不是有效的 JSON，未保存。")
BAD_CHARACTERS = lazy("请求体含有无法保存的字符（如不成对的 UTF-16 代理项或非 UTF-8 编码），未保存。"
                      "请检查输入的内容。")
TOO_DEEP = lazy("请求体嵌套层数过多（最多 %(n)d 层），未保存。", n=MAX_JSON_DEPTH)
NOT_AN_OBJECT = lazy("请求体应为 JSON 对象。")


def _error(status: int, code: str, message: str, **extra):
    return jsonify(error=code, message=message, **extra), status


@bp.errorhandler(NotFound)
def _not_found(_exc):
    return _error(404, "not_found", _("找不到该记录。"))


@bp.errorhandler(404)
def _no_route(_exc):
    return _error(404, "not_found", _("找不到该记录。"))


@bp.errorhandler(405)
def _bad_method(exc):
    # Only a 405 raised inside an API view comes here; an unrouted method is answered
    # by the app's handler (views._error_page), as JSON too.  Both keep Allow.
    response, status = _error(405, "method_not_allowed", _("不支持该请求方法。"))
    if getattr(exc, "valid_methods", None):
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response, status


@bp.errorhandler(BadBody)
def _bad_body(exc: BadBody):
    message = str(exc.message)
    return _error(422, exc.code, message, errors={"body": message})


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
    answers are there so a roster person's form opens pre-filled with no signal, and each
    person on the collection roll carries this year's lines so a payment can be taken too.
    """
    if current_user.is_staff:
        return _error(404, "not_found", _("找不到该记录。"))
    scope, store, grid, rates = state.scope(), state.store(), state.current_grid(), state.rates()

    def person_json(p: dict) -> dict:
        entry = roll.entry(p, None, p["village"], rates)
        return {**_person_json(p), "collection": entry and {
            "state": entry["state"], "owed_person": entry["owed_person"],
            "lines": [{"scheme": part["scheme"], "tier": part["line"].tier, "person": part["line"].person,
                       "government": part["line"].government, "paid_person": part["paid_person"],
                       "owed_person": part["owed_person"], "settled": part["settled"]}
                      for part in entry["lines"]]}}

    villages = []
    for code in sorted(scope.villages):
        unit = grid.get(code) or {"name": code}
        villages.append({
            "code": code, "name": unit["name"], "township": (grid.township_of(code) or {}).get("name", ""),
            "households": [_household_json(h) for h in registry.households(store, scope, code)],
            "persons": [person_json(p) for p in registry.persons_in(store, scope, code)],
        })
    audit.record_reads(store, scope, "api_bundle", [v["code"] for v in villages])
    return jsonify(username=current_user.username, generated_at=registry.now_iso(), year=rates.year,
                   villages=villages)


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
    home = {**home, "registered": coverage.household_progress(home, people)["registered"]}
    audit.record_read(state.store(), scope, "api_read_household", home["ref"])
    return jsonify(**_household_json(home), members=[_person_json(p) for p in people])


@bp.route("/persons/<ref>")
@login_required
def get_person(ref: str):
    found = registry.person(state.store(), state.scope(), ref)
    audit.record_read(state.store(), state.scope(), "api_read_person", found["ref"])
    return jsonify(_person_json(found))


@bp.route("/submissions", methods=("POST",))
@login_required
def submit():
    body = _json_body()
    _refuse_unknown_fields(body, state.registration_form())
    try:
        saved = registry.submit(state.store(), state.scope(), state.registration_form(), body)
    except Duplicate as dup:
        return _duplicate(dup)
    except Conflict as conflict:
        return _error(409, "uuid_conflict", _("该 uuid 已用于内容不同的提交，未作任何修改。"),
                      **({"existing": conflict.ref} if conflict.ref else {}))
    status = 201 if not saved.replayed else 200
    return jsonify(id=saved.ref, receipt=saved.receipt, replayed=saved.replayed,
                   status="incomplete" if saved.missing else "registered", missing=saved.missing,
                   warnings={k: [str(m) for m in v] for k, v in saved.warnings.items()},
                   **({"household_size": saved.household_size} if saved.household_size else {})), \
        status, {"Location": url_for(".get_person", ref=saved.ref)}


def _duplicate(dup: Duplicate):
    """409 for a number registered already; what it says follows :mod:`duplicates`."""
    answer = duplicates.settle(state.store(), state.scope(), state.current_grid(), dup)
    if answer.throttled:
        minutes = -(-answer.retry_after // 60)
        response, status = _error(429, "too_many_duplicates",
                                  _("核对到已登记身份号码的次数过多，请%(m)d分钟后再试；"
                                    "如有疑问请联系乡镇（街道）核实。", m=minutes))
        response.headers["Retry-After"] = str(answer.retry_after)
        return response, status
    if not answer.place:
        return _error(409, "duplicate_id_number",
                      _("该公民身份号码已在其他地区登记，请勿重复登记；请联系乡镇（街道）核实。"))
    extra = {"existing": dup.ref} if answer.in_scope else {}
    return _error(409, "duplicate_id_number", _("该公民身份号码已在“%(p)s”登记。", p=answer.place),
                  village=answer.place, **extra)


def _json_body() -> dict:
    """The request's JSON object, read the way the store writes (orjson), or :class:`BadBody`.

    orjson refuses lone UTF-16 surrogates (``"\\ud800"``), invalid UTF-8, NaN and
    Infinity, which the store's writer could not keep; integers past 64 bits come back
    as floats, which it can.  Depth is bounded here, far below any recursion limit.
    """
    if not request.is_json:
        raise BadBody("invalid_json", NOT_AN_OBJECT)
    try:
        body = orjson.loads(request.get_data(cache=True))
    except orjson.JSONDecodeError as exc:
        reason = str(exc)
        if "surrogate" in reason or "UTF-8" in reason:  # orjson's words; tests pin them
            raise BadBody("invalid_characters", BAD_CHARACTERS) from None
        if "depth" in reason or "recursion" in reason:
            raise BadBody("too_deep", TOO_DEEP) from None
        raise BadBody("invalid_json", BAD_JSON) from None
    if not isinstance(body, dict):
        raise BadBody("invalid_json", NOT_AN_OBJECT)
    if _depth(body) > MAX_JSON_DEPTH:
        raise BadBody("too_deep", TOO_DEEP)
    return body


def _depth(value) -> int:
    """Nesting depth of parsed JSON, walked with a stack (no recursion to exhaust)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if level > MAX_JSON_DEPTH:
                break
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _refuse_unknown_fields(body: dict, definition: formdef.FormDefinition) -> None:
    unknown = set(body) - definition.field_names - registry.ENVELOPE
    if unknown:
        raise Invalid(formdef.Result(errors={k: _("未知字段。") for k in sorted(unknown)}))


def _household_json(home: dict) -> dict:
    keys = ("ref", "village", "head_name", "address", "members_count", "phone", "registered")
    return {("id" if k == "ref" else k): home.get(k) for k in keys}


def _person_json(found: dict) -> dict:
    body = {"id": found["ref"], "village": found["village"],
            "household": registry.make_ref(found["village"], found["household"]),
            "status": found["status"], "receipt": found.get("receipt"),
            "missing": found.get("missing", []), "answers": found.get("answers", {})}
    state = review.review_state(found)
    if state:  # the township's 初审: a returned form's comment says what to correct, offline too
        decided = found.get("review") or {}
        body["review"] = {"state": state, "comment": decided.get("comment", ""), "at": decided.get("at")}
    return body


# payments (征缴) and dispute intake (征缴争议) on this blueprint
from . import api_disputes, api_payments  # noqa: E402,F401
