"""Shared fixtures: a real data directory with a small demo district, and logged-in clients."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil

import pytest
from pg_server import PgServer, Unavailable

from survey_app import create_app, demo
from survey_app.store import LocalStore, Store, open_location

TODAY = dt.date(2026, 11, 21)
PASSWORD = demo.DEMO_PASSWORD
VILLAGE_A = "370403001001"  # 临城街道 临山村, enumerator e001001
VILLAGE_B = "370403002001"  # 常庄街道 常庄社区, enumerator e002001
TOWNSHIP_A = "370403001"    # the demo township account's area


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory):
    """The demo district built once per run (hashing passwords is slow); tests copy it."""
    root = tmp_path_factory.mktemp("demo-template")
    demo.load(LocalStore(root), households_per_village=4, today=TODAY)
    return root


@pytest.fixture
def data_dir(tmp_path, demo_template):
    target = tmp_path / "data"
    shutil.copytree(demo_template, target, ignore=shutil.ignore_patterns("locks"))
    return target


@pytest.fixture(scope="session")
def pg_server():
    """A private PostgreSQL cluster for the run.  In CI a PostgreSQL test that cannot run fails."""
    try:
        server = PgServer().start()
    except Unavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI 中 PostgreSQL 测试必须运行：{exc}")
        pytest.skip(f"PostgreSQL 不可用：{exc}")
    yield server
    server.stop()


BACKENDS = ["files", "postgres"]


@pytest.fixture(params=BACKENDS)
def any_store(request, tmp_path, demo_template):
    """The demo district in each backend, so the store's suite runs on both (as TinyDB's does)."""
    if request.param == "files":
        target = tmp_path / "data"
        shutil.copytree(demo_template, target, ignore=shutil.ignore_patterns("locks"))
        store = open_location(str(target))
    else:
        store = open_location(request.getfixturevalue("pg_server").new_database())
        store.load_records(LocalStore(demo_template).records())
    yield store
    store.close()


@pytest.fixture
def app(tmp_path, data_dir):
    """An app on a private copy of the demo data, CSRF on as in production."""
    return create_app({
        "TESTING": True, "SECRET_KEY": "test-secret", "DATA": str(data_dir),
        "EXPORTS_DIR": str(tmp_path / "exports"), "PORTAL_OUTPUT": str(tmp_path / "portal"),
    })


@pytest.fixture
def store(app):
    return app.extensions["canbao"]["store"]


@pytest.fixture
def client(app):
    return app.test_client()


def csrf_from(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


class Auth:
    """Log a test client in and out the way a browser does, CSRF token included."""

    def __init__(self, client):
        self.client = client

    def login(self, username: str, password: str = PASSWORD):
        token = csrf_from(self.client.get("/login").get_data(as_text=True))
        return self.client.post("/login", data={"username": username, "password": password,
                                                "csrf_token": token})

    def api_token(self) -> str:
        return self.client.get("/api/v1/session").get_json()["csrf_token"]

    def logout(self):
        token = csrf_from(self.client.get("/e/").get_data(as_text=True))
        return self.client.post("/logout", data={"csrf_token": token})


@pytest.fixture
def auth(client):
    return Auth(client)


def first_household(store: Store, village: str) -> dict:
    house = store.read(Store.village(village)).all("households")[0]
    return {**house, "ref": f"{village}.{house['doc_id']}"}


class FakeClock:
    """The users module's clock, moved by hand: delays and timeouts are tested without sleeping."""

    def __init__(self, start: float = 1_800_000_000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    from survey_app import users
    fake = FakeClock()
    monkeypatch.setattr(users, "clock", fake)
    return fake
