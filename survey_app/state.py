"""Per-app state: the store, the grid and the form definitions, reached from requests.

Like flaskr's ``db.py``: ``init_app`` wires it in; views call the helpers.
Nothing here caches records between requests, so worker processes never
serve each other stale data; only values derived from a whole file (the grid, a
village's coverage row) are reused, and only while that file is unchanged.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, abort, current_app
from flask_login import current_user

from . import formdef, grid
from .registry import Scope
from .storage import Store


def init_app(app: Flask) -> None:
    data = Path(app.config["DATA"] or app.instance_path)
    data.mkdir(parents=True, exist_ok=True)
    store = Store(data)
    store.check()  # a corrupt shard stops start-up here, naming the file
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
    return Scope(frozenset(current_user.villages(current_grid())), current_user.username)
