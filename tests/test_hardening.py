"""Security review (ASVS L2): reads on record, headers, private files, and a full disk.

A full disk is simulated by making the store's writes fail as the kernel does
(``OSError(ENOSPC)``): a real one cannot be made safely on a shared machine.  Where
this runs as root, one test also fills a real, tiny tmpfs.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from conftest import TOWNSHIP_A, VILLAGE_A, VILLAGE_B, Auth, csrf_from, first_household
from helpers import answers, submission

from survey_app import atomicfile, audit, create_app, diskfull, tokens, users
from survey_app.registry import Scope
from survey_app.store import Store, journal, local

HOUR = 3600


def _no_space(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


class FullDisk:
    """Switches the store's writes between working and failing as on a full disk."""

    def __init__(self, monkeypatch):
        self.monkeypatch = monkeypatch

    def fill(self) -> None:
        # every way the file store writes: an append, a new journal, a compaction, a new base
        self.monkeypatch.setattr(journal, "append", _no_space)
        self.monkeypatch.setattr(journal, "write_atomically", _no_space)
        self.monkeypatch.setattr(local, "write_atomically", _no_space)

    def free(self) -> None:
        self.monkeypatch.undo()


@pytest.fixture
def disk(monkeypatch):
    return FullDisk(monkeypatch)


def person_ref(store, village=VILLAGE_A) -> tuple[str, str, dict]:
    """A person of the village with an ID number: (person ref, household ref, record)."""
    found = next(p for p in store.read(Store.village(village)).all("persons")
                 if p["answers"].get("id_number"))
    return f"{village}.{found['doc_id']}", f"{village}.{found['household']}", found


def reads(store, area) -> list[dict]:
    return audit.entries(store, area)


# -- 1. reads of personal data are on record --------------------------------------------------
def test_the_person_form_is_one_audited_read_kept_out_of_the_village_file(auth, client, store):
    ref, house, _record = person_ref(store)
    auth.login("e001001")
    village_before = store.fingerprint(Store.village(VILLAGE_A))
    response = client.get(f"/e/h/{house}/register", query_string={"person": ref})
    assert response.status_code == 200
    entries = reads(store, VILLAGE_A)
    assert [(e["user"], e["action"], e["ref"]) for e in entries] == [("e001001", "read_person", ref)]
    # a read takes no lock of the village and changes nothing of it
    assert store.fingerprint(Store.village(VILLAGE_A)) == village_before
    assert audit.shard_name(VILLAGE_A).startswith("audit/")


def test_a_blank_form_and_a_refused_read_record_nothing(auth, client, store):
    _ref, house, _record = person_ref(store)
    auth.login("e001001")
    assert client.get(f"/e/h/{house}/register").status_code == 200  # a new person: nobody read
    other, _other_house, _r = person_ref(store, VILLAGE_B)
    assert client.get(f"/api/v1/persons/{other}").status_code == 404  # outside the area
    assert reads(store, VILLAGE_A) == [] and reads(store, VILLAGE_B) == []


def test_api_reads_are_audited(auth, client, store):
    ref, house, _record = person_ref(store)
    auth.login("e001001")
    assert client.get(f"/api/v1/persons/{ref}").status_code == 200
    assert client.get(f"/api/v1/households/{house}").status_code == 200
    assert client.get("/api/v1/bundle").status_code == 200
    actions = [(e["action"], e["ref"]) for e in reads(store, VILLAGE_A)]
    assert actions == [("api_read_person", ref), ("api_read_household", house),
                       ("api_bundle", VILLAGE_A)]


def test_the_household_page_listing_id_numbers_is_audited(auth, client, store):
    house = first_household(store, VILLAGE_A)["ref"]
    auth.login("e001001")
    assert client.get(f"/e/h/{house}").status_code == 200
    assert [(e["action"], e["ref"]) for e in reads(store, VILLAGE_A)] == [("read_household", house)]


def test_the_staff_village_page_is_audited(auth, client, store):
    auth.login("township")
    page = client.get(f"/s/v/{VILLAGE_A}")
    assert page.status_code == 200
    assert re.search(r"\d{17}[\dX]", page.get_data(as_text=True))  # why it is audited
    assert [(e["user"], e["action"], e["ref"]) for e in reads(store, VILLAGE_A)] == \
        [("township", "read_village", VILLAGE_A)]


def fake_printed_file(exports: Path, kind: str = "forms", area: str = VILLAGE_A) -> str:
    """A printed file as documents/ publishes it (no rendering: the download is what is tested)."""
    name = f"{kind}-{area}-093000-ab23.pdf"
    relative = f"{TOWNSHIP_A}/2026-11-21/{name}"
    (exports / TOWNSHIP_A / "2026-11-21").mkdir(parents=True)
    (exports / relative).write_bytes(b"%PDF-1.7\n")
    meta = {"kind": kind, "area": area, "villages": [area], "path": relative, "title": "t",
            "created_at": "2026-11-21T09:30:00+08:00", "pages": 1, "bytes": 9,
            "township_name": "临城街道", "village_name": "临山村", "kind_label": "", "user": "township"}
    (exports / relative).with_suffix(".json").write_text(json.dumps(meta), encoding="utf-8")
    return relative


def test_a_printed_file_download_is_audited(app, auth, client, store):
    relative = fake_printed_file(Path(app.config["EXPORTS_DIR"]))
    auth.login("township")
    response = client.get(f"/s/print/files/{relative}")
    assert response.status_code == 200
    response.close()
    entries = reads(store, VILLAGE_A)
    assert [(e["user"], e["action"], e["ref"], e["file"]) for e in entries] == \
        [("township", "download_forms", VILLAGE_A, relative)]


def _everything_but_logins(store) -> dict[str, bytes]:
    return {n: f for n, f in store.fingerprints().items() if not n.startswith(("sessions/", "throttle/"))}


def test_getting_an_export_has_no_side_effect_but_its_audit_entry(app, auth, client, store):
    auth.login("township")
    exports = Path(app.config["EXPORTS_DIR"])
    before = _everything_but_logins(store)
    for url in ("/s/print/", f"/s/a/{TOWNSHIP_A}/export.csv", f"/s/v/{VILLAGE_A}/export.xlsx"):
        response = client.get(url)
        assert response.status_code == 200, url
        response.get_data()
    after = _everything_but_logins(store)
    changed = {n for n in set(before) | set(after) if before.get(n) != after.get(n)}
    assert changed == {Store.SYSTEM}  # no job, no token, no file record: the audit entries only
    added = [e for e in store.read(Store.SYSTEM).all("audit")][-2:]
    assert [e["action"] for e in added] == ["export_csv", "export_xlsx"]
    assert not exports.exists() or not any(exports.rglob("*"))  # no file made by a GET


# -- 2. headers ----------------------------------------------------------------------------------
def test_hsts_only_when_served_over_https(data_dir, tmp_path, client):
    assert "Strict-Transport-Security" not in client.get("/login").headers
    secure = create_app({"TESTING": True, "DATA": str(data_dir), "SECRET_KEY": "x", "HTTPS": 1,
                         "EXPORTS_DIR": str(tmp_path / "exports"), "PORTAL_OUTPUT": str(tmp_path / "p")})
    answer = secure.test_client().get("/login")
    assert answer.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_qr_landing_pages_are_not_cached(auth, client, store):
    token = tokens.issue_blank(store, Scope(frozenset({VILLAGE_A}), "test"), VILLAGE_A, 1)[0]
    assert client.get(f"/q/{token}").headers["Cache-Control"] == "no-store"  # the login redirect
    auth.login("e001001")
    page = client.get(f"/q/{token}")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"


def test_the_portal_never_tells_whether_a_server_folder_exists(app, client, data_dir):
    root = Path(app.config["PORTAL_OUTPUT"])
    root.mkdir()
    (root / "index.html").write_text("<p>门户</p>", encoding="utf-8")
    assert (root.parent / data_dir.name).is_dir()  # a real folder beside the portal
    deep = "..%2f" * (len(root.parts) + 2)
    answers_ = [client.get(path) for path in (
        f"/portal/..%2f{data_dir.name}", "/portal/..%2fnonexistent", f"/portal/{deep}etc",
        f"/portal/{deep}no-such-folder", "/portal/%2e%2e/%2e%2e/etc", f"/portal/..%2f{data_dir.name}/")]
    assert {a.status_code for a in answers_} == {404}
    assert len({a.get_data() for a in answers_}) == 1
    assert client.get("/portal/").status_code == 200  # the portal itself is still served


# -- 3. private files, and what a crash leaves -----------------------------------------------------
@contextlib.contextmanager
def umask(value: int):
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_the_data_folder_is_private_whatever_the_umask(data_dir, tmp_path):
    data_dir.chmod(0o755)
    with umask(0):
        create_app({"TESTING": True, "DATA": str(data_dir), "SECRET_KEY": "x",
                    "EXPORTS_DIR": str(tmp_path / "e"), "PORTAL_OUTPUT": str(tmp_path / "p")})
        fresh = tmp_path / "fresh" / "data"
        create_app({"TESTING": True, "DATA": str(fresh), "SECRET_KEY": "x",
                    "EXPORTS_DIR": str(tmp_path / "e"), "PORTAL_OUTPUT": str(tmp_path / "p")})
    assert mode(data_dir) == 0o700
    assert mode(fresh) == 0o700


def test_files_printed_before_are_made_private_at_start_up(data_dir, tmp_path):
    exports = tmp_path / "exports"
    with umask(0o022):
        relative = fake_printed_file(exports)
    assert mode(exports / relative) == 0o644 and mode(exports) == 0o755
    create_app({"TESTING": True, "DATA": str(data_dir), "SECRET_KEY": "x",
                "EXPORTS_DIR": str(exports), "PORTAL_OUTPUT": str(tmp_path / "p")})
    assert mode(exports / relative) == 0o600 and mode((exports / relative).with_suffix(".json")) == 0o600
    assert {mode(exports), mode(exports / TOWNSHIP_A), mode((exports / relative).parent)} == {0o700}


def test_whole_file_writes_are_private_whatever_the_umask(tmp_path):
    with umask(0):
        atomicfile.write_atomically(tmp_path / "a.json", b"{}")
        atomicfile.write_atomically(tmp_path / "public.html", b"<p>", mode=0o644)
    assert mode(tmp_path / "a.json") == 0o600
    assert mode(tmp_path / "public.html") == 0o644


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    for inner in [path, *(path.rglob("*") if path.is_dir() else ())]:
        os.utime(inner, (then, then), follow_symlinks=False)


def test_temporary_files_a_crash_left_go_at_start_up_and_fresh_ones_stay(data_dir, tmp_path):
    exports, portal = tmp_path / "exports", tmp_path / "site" / "output"
    day = exports / TOWNSHIP_A / "2026-11-21"
    day.mkdir(parents=True)
    portal.parent.mkdir()
    old = [day / ".forms-370403001001-093000-ab23.pdf.partial", day / "canbao-print-x1y2",
           day / ".forms-370403001001-093000-ab23.json.k2j3.tmp", portal.parent / ".output.building-q1",
           portal.parent / ".output.old-q2", data_dir / "backups" / "canbao-20261121-093000.partial",
           data_dir / "villages" / ".370403001001.json.abc.tmp"]
    young = [day / ".forms-370403001001-101500-cd45.pdf.partial", day / "canbao-print-busy",
             portal.parent / ".output.building-now"]
    kept = [day / "forms-370403001001-093000-ab23.pdf", portal.parent / "unrelated.partial"]
    for path in old + young + kept:
        if path.suffix in (".pdf", ".partial", ".tmp") and "backups" not in path.parts:
            path.write_bytes(b"x")
        else:
            (path / "inner").mkdir(parents=True)
            (path / "inner" / "00001.pdf").write_bytes(b"x")
    for path in old + kept:
        age(path, 2 * HOUR)
    # a batch still at work: its folder is old, but it wrote a chunk a moment ago
    age(day / "canbao-print-busy", 2 * HOUR)
    (day / "canbao-print-busy" / "00002.pdf").write_bytes(b"x")
    create_app({"TESTING": True, "DATA": str(data_dir), "SECRET_KEY": "x",
                "EXPORTS_DIR": str(exports), "PORTAL_OUTPUT": str(portal)})
    assert [p for p in old if p.exists()] == []
    assert [p for p in young + kept if not p.exists()] == []


# -- 4. a full disk ------------------------------------------------------------------------------
def test_a_full_disk_answers_the_api_503_and_the_outbox_item_goes_through_later(auth, client, store, disk):
    house = first_household(store, VILLAGE_A)["ref"]
    auth.login("e001001")
    headers = {"X-CSRFToken": auth.api_token()}
    payload = submission(house)
    before = _everything_but_logins(store)
    disk.fill()
    refused = client.post("/api/v1/submissions", json=payload, headers=headers)
    assert refused.status_code == 503
    assert refused.get_json()["error"] == "storage_full"
    assert "存储空间已满" in refused.get_json()["message"]
    assert int(refused.headers["Retry-After"]) > 0
    disk.free()
    assert _everything_but_logins(store) == before
    again = client.post("/api/v1/submissions", json=payload, headers=headers)  # the outbox's retry
    assert again.status_code == 201, again.get_json()
    # field.js keeps an item answered 503 in the outbox and sends it again (tests/js: "retry")


def test_a_full_disk_shows_the_person_form_again_with_everything_typed(auth, client, store, disk):
    house = first_household(store, VILLAGE_A)["ref"]
    auth.login("e001001")
    page = client.get(f"/e/h/{house}/register").get_data(as_text=True)
    typed = answers(name="赵雨桐", phone="13912340000")
    form_uuid = str(uuid.uuid4())
    disk.fill()
    response = client.post(f"/e/h/{house}/register",
                           data={**typed, "uuid": form_uuid, "csrf_token": csrf_from(page)})
    html = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "服务器存储空间已满" in html
    for value in ("赵雨桐", typed["id_number"], "13912340000", form_uuid):
        assert f'value="{value}"' in html, value
    disk.free()
    saved = client.post(f"/e/h/{house}/register",
                        data={**typed, "uuid": form_uuid, "csrf_token": csrf_from(html)})
    assert saved.status_code == 302


def test_a_full_disk_shows_the_household_form_again(auth, client, disk):
    auth.login("e001001")
    page = client.get(f"/e/v/{VILLAGE_A}/households/new").get_data(as_text=True)
    disk.fill()
    response = client.post(f"/e/v/{VILLAGE_A}/households/new", data={
        "head_name": "钱多多", "address": "临山村9组99号", "members_count": "3",
        "uuid": str(uuid.uuid4()), "csrf_token": csrf_from(page)})
    html = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "服务器存储空间已满" in html and 'value="钱多多"' in html and 'value="临山村9组99号"' in html


def test_any_other_page_at_a_full_disk_is_a_clear_503(auth, client, store, disk):
    ref, house, _record = person_ref(store)
    auth.login("e001001")
    disk.fill()  # even a read is refused when it cannot be put on record
    response = client.get(f"/e/h/{house}/register", query_string={"person": ref})
    assert response.status_code == 503
    assert "服务器存储空间已满，暂时无法打开此页面" in response.get_data(as_text=True)


def test_a_session_that_cannot_be_loaded_at_a_full_disk_is_a_503_too(auth, client, monkeypatch):
    """Loading a session may write (its last-seen time): the error page must not fail on it."""
    auth.login("e001001")
    monkeypatch.setattr(users, "account_for_session", _no_space)
    for url in ("/e/", f"/e/v/{VILLAGE_A}"):
        response = client.get(url)
        assert response.status_code == 503, url
        assert "服务器存储空间已满" in response.get_data(as_text=True)
    assert client.get("/api/v1/session").status_code == 503


def test_other_os_errors_are_still_a_plain_500(data_dir, tmp_path, monkeypatch):
    app = create_app({"TESTING": True, "PROPAGATE_EXCEPTIONS": False, "DATA": str(data_dir),
                      "SECRET_KEY": "x", "EXPORTS_DIR": str(tmp_path / "e"),
                      "PORTAL_OUTPUT": str(tmp_path / "p")})
    client = app.test_client()
    Auth(client).login("e001001")

    def broken(*_a, **_k):
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(journal, "append", broken)
    house = first_household(app.extensions["canbao"]["store"], VILLAGE_A)["ref"]
    response = client.post("/api/v1/submissions", json=submission(house),
                           headers={"X-CSRFToken": Auth(client).api_token()})
    assert response.status_code == 500


def test_logging_out_at_a_full_disk_still_ends_the_session_everywhere(data_dir, tmp_path, disk, app,
                                                                      auth, client, store):
    auth.login("e001001")
    stolen = client.get_cookie("session").value
    token = csrf_from(client.get("/e/").get_data(as_text=True))
    disk.fill()
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 503
    assert "已退出登录" in response.get_data(as_text=True)
    assert client.get("/e/").status_code == 302  # this browser: logged out
    # a copy of the cookie, in this process and in another worker process of the same data
    for served_by in (app, create_app({"TESTING": True, "SECRET_KEY": "test-secret", "DATA": str(data_dir),
                                       "EXPORTS_DIR": str(tmp_path / "e"),
                                       "PORTAL_OUTPUT": str(tmp_path / "p")})):
        other = served_by.test_client()
        other.set_cookie("session", stolen)
        assert other.get("/e/").status_code == 302
        assert other.get("/api/v1/session").status_code == 401
    # once the disk has room, the row itself goes and the revocation is forgotten
    disk.free()
    revoked = app.extensions["canbao"]["revoked"]
    revoked.flush(store, app.config["SESSION_HOURS"])
    assert revoked.pending == {}
    assert not (revoked.folder and revoked.folder.exists())  # nothing left behind in RAM
    assert store.read(Store.SYSTEM) is not None
    sessions = [s for name in store.names("sessions/") for s in store.read(name).all("sessions")]
    assert all(s["username"] != "e001001" for s in sessions)


def test_a_torn_write_at_a_full_disk_leaves_the_store_whole(auth, client, store, monkeypatch):
    """The kernel may take part of an append before saying no space is left."""
    house = first_household(store, VILLAGE_A)["ref"]
    auth.login("e001001")
    headers = {"X-CSRFToken": auth.api_token()}

    class HalfWrites:
        def __getattr__(self, name):
            return getattr(os, name)

        @staticmethod
        def write(fd, data):
            if len(data) > 1:
                return os.write(fd, bytes(data[: len(data) // 2]))
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(journal, "os", HalfWrites())
    monkeypatch.setattr(journal, "write_atomically", _no_space)
    monkeypatch.setattr(journal, "cut_torn_tail", _no_space)  # keeping the cut bytes needs room too
    payload = submission(house)
    assert client.post("/api/v1/submissions", json=payload, headers=headers).status_code == 503
    monkeypatch.undo()
    assert client.post("/api/v1/submissions", json=payload, headers=headers).status_code == 201
    assert store.check() > 0
    second = client.post("/api/v1/submissions", json=submission(house), headers=headers)
    assert second.status_code == 201


def _can_mount_tmpfs() -> bool:
    # An extra check on a real filesystem: the full-disk tests above, with the store's writes
    # failing ENOSPC, run everywhere; a container may forbid mount even to root.
    return os.geteuid() == 0 and shutil.which("mount") is not None


@pytest.mark.skipif(not _can_mount_tmpfs(), reason="挂载 tmpfs 需要 root")
def test_a_real_full_filesystem_answers_503(demo_template, tmp_path):
    mountpoint = tmp_path / "small"
    mountpoint.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(mountpoint)],
                             capture_output=True)
    if mounted.returncode:
        pytest.skip(f"无法挂载 tmpfs：{mounted.stderr.decode(errors='replace')}")
    try:
        data = mountpoint / "data"
        shutil.copytree(demo_template, data, ignore=shutil.ignore_patterns("locks"))
        app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATA": str(data),
                          "EXPORTS_DIR": str(tmp_path / "e"), "PORTAL_OUTPUT": str(tmp_path / "p")})
        client = app.test_client()
        auth = Auth(client)
        assert auth.login("e001001").status_code == 302
        store = app.extensions["canbao"]["store"]
        house = first_household(store, VILLAGE_A)["ref"]
        headers = {"X-CSRFToken": auth.api_token()}
        filler = os.open(mountpoint / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
        try:  # every last byte taken
            for size in (65536, 1):
                with contextlib.suppress(OSError):
                    while os.write(filler, b"\0" * size):
                        pass
        finally:
            os.close(filler)
        payload = submission(house)
        refused = client.post("/api/v1/submissions", json=payload, headers=headers)
        assert refused.status_code == 503, refused.get_data(as_text=True)
        os.unlink(mountpoint / "filler")
        assert client.post("/api/v1/submissions", json=payload, headers=headers).status_code == 201
        store.close()
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def test_what_counts_as_a_full_disk():
    assert diskfull.is_disk_full(OSError(errno.ENOSPC, "x"))
    assert diskfull.is_disk_full(OSError(errno.EDQUOT, "x"))
    assert not diskfull.is_disk_full(OSError(errno.EIO, "x"))

    class PgDiskFull(Exception):
        sqlstate = "53100"

    try:
        try:
            raise PgDiskFull()
        except PgDiskFull as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as outer:
        assert diskfull.is_disk_full(outer)


def test_a_page_that_writes_nothing_still_opens_at_a_full_disk(auth, client, monkeypatch, disk):
    """The session's last-seen time is best effort: a full disk does not shut the home page."""
    auth.login("e001001")
    monkeypatch.setattr(users, "clock", lambda: time.time() + 2 * users.SEEN_EVERY)
    disk.fill()
    assert client.get("/e/").status_code == 200


def test_a_fresh_clone_s_exports_folder_is_made_private_without_a_word(tmp_path):
    from survey_app import documents
    exports = tmp_path / "exports"
    exports.mkdir(mode=0o755)
    (exports / ".gitkeep").write_text("")
    assert documents.make_private(exports) == 0  # nothing printed before: no warning at start-up
    assert mode(exports) == 0o700


def test_the_generated_secret_key_is_private_from_its_first_byte(tmp_path):
    from survey_app import _instance_secret
    with umask(0o022):
        key = _instance_secret(tmp_path / "instance")
    key_file = tmp_path / "instance" / "secret_key"
    assert mode(key_file) == 0o600 and len(key) == 64
    assert _instance_secret(tmp_path / "instance") == key  # made once, then read
