"""Per-app state: the store, the grid and the form definitions, reached from requests.

Like flaskr's ``db.py``: ``init_app`` wires it in; views call the helpers.
Nothing here caches records between requests, so worker processes never
serve each other stale data; only values derived from a whole file (the grid, a
village's coverage row) are reused, and only while that file is unchanged.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from flask import Flask, abort, current_app
from flask_login import current_user

from . import formdef, grid
from .campaign import Campaign, load_campaign
from .collection.rates import Rates
from .registry import Scope
from .store import Store, open_store


def init_app(app: Flask) -> None:
    data = Path(app.config["DATA"] or app.instance_path)
    data.mkdir(parents=True, exist_ok=True)
    store = open_store(data, app.config["DATABASE_URL"], app.config["STORE_CACHE_MB"])
    # What a crash can leave is repaired here, and a damaged file stops start-up
    # naming itself; nothing is parsed whole, so starting costs the same for a city.
    for name in store.recover():
        app.logger.warning("数据分片 %s 在上次异常退出后已修复（残留内容保存在 recovered/）", name)
    app.extensions["canbao"] = {"store": store}


def store() -> Store:
    return current_app.extensions["canbao"]["store"]


def current_grid() -> grid.Grid:
    """The grid, re-read only when grid.json was replaced (any process may import one)."""
    return store().derived(Store.GRID, "grid", lambda: grid.load(store()))


def registration_form() -> formdef.FormDefinition:
    return formdef.load(current_app.config["FORMS_DIR"], "registration")


def household_form() -> formdef.FormDefinition:
    return formdef.load(current_app.config["FORMS_DIR"], "household")


def scope() -> Scope:
    if not current_user.is_authenticated:
        abort(401)
    return Scope(current_user.villages(current_grid()), current_user.username)


def campaign() -> Campaign:
    """The campaign file, read again only when it changes on disk (an office edits it mid-year)."""
    path = Path(current_app.config["CAMPAIGN_FILE"])
    return _campaign(str(path), path.stat().st_mtime_ns)


@lru_cache(maxsize=4)
def _campaign(path: str, _mtime: int) -> Campaign:
    return load_campaign(path)


def rates() -> Rates:
    """This year's amounts (campaign file, ``[collection]``)."""
    return campaign().collection


def payment_channels() -> list[str]:
    """The channels a person may pay by: the registration form's list (the one place they are named)."""
    return [c.value for c in registration_form().field("payment_channel").choices]


def dispute_form() -> formdef.FormDefinition:
    return formdef.load(current_app.config["FORMS_DIR"], "dispute")


def dispute_context():
    """The dispute ledger as the logged-in user may use it (disputes/ledger.py decides per item):
    staff their area's items, a department's people what was routed to their department in their
    area, anyone the items they took in."""
    from .disputes.ledger import Context, Viewer  # the ledger builds on registry, as this module
    if not current_user.is_authenticated:
        abort(401)
    viewer = Viewer(current_user.dispute_villages(current_grid()), current_user.username,
                    frozenset([current_user.department]) if current_user.department else frozenset(),
                    staff=current_user.is_staff)
    return Context(store(), viewer, campaign().disputes, campaign().workdays)
