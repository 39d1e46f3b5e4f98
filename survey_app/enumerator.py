"""Enumerator pages (入户调查员): my villages → a household → one form per person.

The same pages work with no signal: a service worker keeps generic *shells*
of them (``/e/shell/…``, rendered here from the same templates and the one
form definition), and on the phone the page script fills a shell from the
data kept there (see ``static/field.js``).
"""

from __future__ import annotations

import json
import uuid

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import login_required

from . import audit, coverage, duplicates, registry, review, state, tokens
from .i18n import _
from .registry import Duplicate, Invalid
from .views import asset, asset_version, field_label

bp = Blueprint("enumerator", __name__, url_prefix="/e")


PUBLIC_ENDPOINTS = ("enumerator.service_worker", "enumerator.manifest")  # no personal data in them
SHELLS = {"home": "enumerator/home.html", "village": "enumerator/village.html",
          "household": "enumerator/household.html", "form": "enumerator/person_form.html",
          "household-form": "enumerator/household_form.html", "pay": "enumerator/pay.html",
          "dispute": "enumerator/dispute.html"}
STATIC_CACHED = ("app.css", "app.js", "field.js", "favicon.svg", "icon-192.png")


@bp.before_request
def _require_login():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    return login_required(lambda: None)()


@bp.route("/")
def home():
    scope = state.scope()
    grid = state.current_grid()
    rows = registry.coverage(state.store(), grid, sorted(scope.villages))
    # forms the township returned (初审): the comment says what to correct
    returned = [p for code in sorted(scope.villages)
                for p in registry.persons_in(state.store(), scope, code) if review.returned(p)]
    return render_template("enumerator/home.html", rows=rows, returned=returned)


@bp.route("/v/<village>")
def village(village: str):
    scope = state.scope()
    query = request.args.get("q", "").strip()
    houses = registry.households(state.store(), scope, village)
    if query:
        # Enumerators ask for a person as often as for a household head.
        by_member = {p["household"] for p in registry.persons_in(state.store(), scope, village)
                     if query in p["answers"].get("name", "")}
        houses = [h for h in houses if query in h["head_name"] or query in h["address"]
                  or h["doc_id"] in by_member]
    unit = state.current_grid().get(village)
    return render_template("enumerator/village.html", unit=unit, households=houses, q=query)


@bp.route("/v/<village>/households/new", methods=("GET", "POST"))
def new_household(village: str):
    scope = state.scope()
    scope.require(village)
    definition = state.household_form()
    errors = {}
    # A blank printed form scanned for someone in a household not yet on the list:
    # carry its code through, so the next page is that person's form, not a rescan.
    paper_token = tokens.normalise(request.values.get("token"))
    if request.method == "POST":
        payload = request.form.to_dict()
        payload.pop("csrf_token", None)
        payload.pop("token", None)
        try:
            ref, _created = registry.add_household(state.store(), scope, definition, village,
                                                   payload)
        except Invalid as exc:
            errors = exc.errors
        except registry.Conflict as conflict:
            return redirect(url_for(".household", ref=conflict.ref))
        else:
            flash(_("已添加家庭户，请逐一登记家庭成员。"), "success")
            if paper_token:
                return redirect(url_for(".register", ref=ref, token=paper_token))
            return redirect(url_for(".household", ref=ref))
    unit = state.current_grid().get(village)
    return render_template("enumerator/household_form.html", unit=unit, definition=definition,
                           values=request.form, errors=errors, paper_token=paper_token,
                           submission_id=request.form.get("uuid") or str(uuid.uuid4())), \
        422 if errors else 200


@bp.route("/h/<ref>")
def household(ref: str):
    scope = state.scope()
    home = registry.household(state.store(), scope, ref)
    people = registry.members(state.store(), scope, ref)
    audit.record_read(state.store(), scope, "read_household", home["ref"])  # lists ID numbers
    return render_template("enumerator/household.html", home=home, people=people,
                           progress=coverage.household_progress(home, people),
                           returned={p["ref"] for p in people if review.returned(p)},
                           unit=state.current_grid().get(home["village"]), form=state.registration_form())


@bp.route("/p/<ref>")
def person(ref: str):
    found = registry.person(state.store(), state.scope(), ref)
    home_ref = registry.make_ref(found["village"], found["household"])
    return redirect(url_for(".register", ref=home_ref, person=ref))


@bp.route("/h/<ref>/register", methods=("GET", "POST"))
def register(ref: str):
    scope = state.scope()
    store = state.store()
    home = registry.household(store, scope, ref)
    person_ref = request.values.get("person") or None
    # The one rule registry.submit applies too: a person of another household, in this
    # village or another one of the area, is not found here (404), whether shown or saved.
    existing = registry.target_person(store, scope, home, person_ref)
    definition = state.registration_form()
    if request.method == "GET":
        audit.record_read(store, scope, "read_person", existing and existing["ref"])
        address_defaults = {"hukou_address": home["address"], "residence": home["address"],
                            "situation": "living"}
        values = {**address_defaults, **(existing["answers"] if existing else {})}
        return _render_form(home, existing, values, {}, {}, str(uuid.uuid4()))
    payload = {**request.form.to_dict(), "household": ref, "person": person_ref}
    payload.pop("csrf_token", None)
    paper_token = payload.pop("token", None)  # a blank printed form's QR, carried through the form
    try:
        saved = registry.submit(store, scope, definition, payload)
    except Invalid as exc:
        return _render_form(home, existing, request.form, exc.errors, exc.warnings,
                            request.form.get("uuid") or str(uuid.uuid4()), status=422)
    except Duplicate as dup:
        return _duplicate(home, existing, dup)
    except registry.Conflict:
        flash(_("这份表单已提交过且内容不同，请重新打开再填写。"), "error")
        return redirect(url_for(".household", ref=ref))
    if paper_token and saved.created:
        tokens.bind(store, scope, paper_token, saved.ref)
    if saved.missing:
        flash(_("已暂存，还缺 %(n)d 项：%(f)s。回执号 %(r)s", n=len(saved.missing),
                f="、".join(field_label(definition, m) for m in saved.missing), r=saved.receipt),
              "warning")
    else:
        flash(_("已保存。回执号 %(r)s", r=saved.receipt), "success")
    if saved.household_size:
        flash(_("家庭人口数已改为 %(n)d 人（名单上的人数）。", n=saved.household_size), "warning")
    for messages in saved.warnings.values():
        for message in messages:
            flash(str(message), "warning")
    return redirect(url_for(".household", ref=ref))


def _duplicate(home, existing, dup: Duplicate):
    """What the form says about a number registered already: see :mod:`duplicates`."""
    answer = duplicates.settle(state.store(), state.scope(), state.current_grid(), dup)
    if answer.throttled:
        minutes = -(-answer.retry_after // 60)
        errors = {"id_number": _("核对到已登记身份号码的次数过多，请%(m)d分钟后再试；"
                                 "如有疑问请联系乡镇（街道）核实。", m=minutes)}
        page, status = _render_form(home, existing, request.form, errors, {}, str(uuid.uuid4()), status=429)
        return page, status, {"Retry-After": str(answer.retry_after)}
    if answer.in_scope:
        flash(_("该公民身份号码已有登记记录，已为您打开。"), "warning")
        found = registry.person(state.store(), state.scope(), dup.ref)
        return redirect(url_for(".register", ref=registry.make_ref(found["village"],
                                found["household"]), person=dup.ref))
    if answer.place:
        message = _("该公民身份号码已在“%(p)s”登记，请勿重复登记；如有疑问请联系乡镇。", p=answer.place)
    else:
        message = _("该公民身份号码已在其他地区登记，请勿重复登记；请联系乡镇（街道）核实。")
    return _render_form(home, existing, request.form, {"id_number": message}, {}, str(uuid.uuid4()),
                        status=409)


def _render_form(home, existing, values, errors, warnings, submission_id, status=200):
    changes = registry.history(state.store(), existing) if existing else []
    return render_template(
        "enumerator/person_form.html", home=home, existing=existing, values=values,
        errors=errors, warnings=warnings, definition=state.registration_form(),
        submission_id=submission_id, unit=state.current_grid().get(home["village"]),
        changes=changes,
    ), status


# -- working with no signal -------------------------------------------------------------
@bp.route("/shell/<kind>")
def shell(kind: str):
    """A page with no one's data in it, for the service worker to keep; the phone fills it."""
    if kind not in SHELLS:
        abort(404)
    blank = {"ref": "", "village": "", "head_name": "", "address": "", "members_count": 0, "doc_id": 0}
    unit = {"code": "", "name": ""}
    return render_template(SHELLS[kind], shell=kind, rows=[], households=[], people=[], q="",
                           home=blank, unit=unit, existing=None, values={"situation": "living"},
                           errors={}, warnings={}, changes=[], paper_token=None, submission_id="",
                           definition=state.household_form() if kind == "household-form"
                           else state.registration_form(), form=state.registration_form())


@bp.route("/sw.js")
def service_worker():
    """Served from /e/ so that it controls the enumerator pages; its version follows the assets."""
    version = asset_version()
    body = render_template("enumerator/sw.js", version=version, shells=list(SHELLS),
                           assets=[asset(f) for f in STATIC_CACHED])
    return Response(body, mimetype="application/javascript", headers={"Cache-Control": "no-cache"})


@bp.route("/manifest.webmanifest")
def manifest():
    icons = [{"src": asset("icon-192.png"), "sizes": "192x192", "type": "image/png"},
             {"src": asset("icon-512.png"), "sizes": "512x512", "type": "image/png"},
             {"src": asset("favicon.svg"), "sizes": "any", "type": "image/svg+xml"}]
    body = {"name": "全民参保登记 · 入户采集", "short_name": "参保登记", "lang": "zh-CN",
            "start_url": url_for(".home"), "scope": url_for(".home"), "display": "standalone",
            "background_color": "#f3f5f8", "theme_color": "#0b5cad", "icons": icons}
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/manifest+json")


# 征缴 at the door: recording a payment, reminders, the agent's remittance sheet; disputes heard there
from . import enumerator_collection, enumerator_disputes, enumerator_remittance  # noqa: E402,F401
