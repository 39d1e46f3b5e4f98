"""A full disk: a clear 503 in Chinese, what the user typed kept, and a logout that still ends.

With no space left, a store write raises ``OSError(ENOSPC)`` (``EDQUOT`` past a quota;
PostgreSQL answers SQLSTATE 53100).  Nothing of the transaction is acknowledged, so the
answer is 503 "try again later", never a generic 500:

* the JSON API answers 503 JSON with ``Retry-After``: a phone's outbox keeps the item and
  sends it again (``field.js`` retries every 5xx);
* a web form posted without the phone script is shown again with every answer and the same
  ``uuid``, so pressing 保存 later cannot register the person twice;
* a logout whose session row cannot be removed still ends the session (fail closed): the
  cookie is cleared and the session's hash is put on a revocation list that needs no disk
  (this process's memory, and a marker in ``/dev/shm``, RAM shared by every worker process
  of this machine).  Each request refuses a revoked session, and the row is removed for good
  as soon as the store can be written again.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import threading
import time
import uuid
from pathlib import Path

from flask import (
    Flask,
    current_app,
    flash,
    g,
    jsonify,
    render_template,
    request,
    session,
)
from flask_login import current_user, logout_user

from .i18n import lazy
from .store import Store
from .users import token_hash

FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
DISK_FULL_SQLSTATE = "53100"
RETRY_AFTER_SECONDS = 120
FLUSH_EVERY_SECONDS = 30
SHARED_MEMORY = Path("/dev/shm")

MESSAGE = lazy("服务器存储空间已满，您填写的内容没有保存，请稍后再试。")
READ_MESSAGE = lazy("服务器存储空间已满，暂时无法打开此页面，请稍后再试。")
FORM_MESSAGE = lazy("服务器存储空间已满，这次提交没有保存。您填写的内容都还在下面，请稍后再点“保存”"
                    "（不会重复登记）。")
LOGOUT_MESSAGE = lazy("您已退出登录。服务器存储空间已满，请通知管理员清理磁盘。")


def is_disk_full(error: BaseException | None) -> bool:
    """ENOSPC/EDQUOT, or PostgreSQL's disk_full, anywhere in the chain of causes."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in FULL_ERRNOS:
            return True
        if getattr(error, "sqlstate", None) == DISK_FULL_SQLSTATE:
            return True
        error = error.__cause__ or error.__context__
    return False


def init_app(app: Flask) -> None:
    app.register_error_handler(OSError, _disk_full)
    if app.config.get("DATABASE_URL"):
        from psycopg import errors as pg_errors  # only where PostgreSQL is used
        app.register_error_handler(pg_errors.DiskFull, _disk_full)
    app.extensions.setdefault("canbao", {})["revoked"] = Revoked(_shared_folder(app))
    app.before_request(_refuse_revoked_session)


# -- the answer ------------------------------------------------------------------------------
def _disk_full(error: Exception):
    if not is_disk_full(error):
        raise error  # not ours: the usual 500, logged as before
    # The path only: a query string or a form may hold a name or an ID number.
    current_app.logger.error("存储空间已满：%s %s", request.method, request.path)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if request.endpoint == "auth.logout":
        return _end_session_without_disk(), 503, headers
    message = MESSAGE if request.method not in ("GET", "HEAD") else READ_MESSAGE
    if request.path.startswith("/api/"):
        return jsonify(error="storage_full", message=str(message)), 503, headers
    _settle_user()
    keep = KEEP_TYPED.get(request.endpoint or "")
    if keep is not None and request.method == "POST":
        flash(str(FORM_MESSAGE), "error")  # shown at the top of the form rendered next
        try:
            body, _status = keep()
            return body, 503, headers
        except Exception:  # the plain page below still says what happened
            session.pop("_flashes", None)
            current_app.logger.exception("could not show the form again")
    return render_template("error.html", title="503", message=str(message)), 503, headers


def _settle_user() -> None:
    """The page shows who is logged in: a session that could not be loaded because loading it
    writes (its last-seen time) is shown as nobody's rather than turning this answer into a 500."""
    if "_login_user" in g:
        return
    try:
        current_user._get_current_object()
    except Exception:
        g._login_user = current_app.login_manager.anonymous_user()


def _person_form():
    """The person form as posted (the view's own renderer, so it looks as after a refusal)."""
    from . import enumerator, registry, state
    scope, store = state.scope(), state.store()
    home = registry.household(store, scope, request.view_args["ref"])
    existing = registry.target_person(store, scope, home, request.values.get("person") or None)
    return enumerator._render_form(home, existing, request.form, {}, {},
                                   request.form.get("uuid") or str(uuid.uuid4()))


def _household_form():
    from . import state, tokens
    village = request.view_args["village"]
    state.scope().require(village)
    return render_template("enumerator/household_form.html", unit=state.current_grid().get(village),
                           definition=state.household_form(), values=request.form, errors={},
                           paper_token=tokens.normalise(request.values.get("token")),
                           submission_id=request.form.get("uuid") or str(uuid.uuid4())), 200


KEEP_TYPED = {"enumerator.register": _person_form, "enumerator.new_household": _household_form}


# -- a logout that cannot write ------------------------------------------------------------
def _end_session_without_disk() -> str:
    token = session.get("_user_id")
    if token:
        _revoked().add(token)
    logout_user()
    session.clear()
    g.pop("_login_user", None)
    return render_template("error.html", title="503", message=str(LOGOUT_MESSAGE))


def _refuse_revoked_session() -> None:
    revoked = _revoked()
    token = session.get("_user_id")
    if token and revoked.has(token):
        session.clear()  # before Flask-Login loads the user: the request is anonymous
        g.pop("_login_user", None)
    revoked.flush_later(current_app._get_current_object())


def _revoked() -> Revoked:
    return current_app.extensions["canbao"]["revoked"]


def _shared_folder(app: Flask) -> Path | None:
    """A folder in RAM shared by the processes serving this data (None: memory only)."""
    if not SHARED_MEMORY.is_dir():
        return None
    store = app.extensions.get("canbao", {}).get("store")
    where = store.location if store is not None else str(app.config.get("DATA") or app.instance_path)
    key = hashlib.sha256(where.encode("utf-8")).hexdigest()[:16]
    return SHARED_MEMORY / f"canbao-{os.geteuid()}-{key}"


def _private_to_us(folder: Path) -> bool:
    status = folder.lstat()
    return (status.st_uid == os.geteuid() and status.st_mode & 0o077 == 0
            and not folder.is_symlink() and folder.is_dir())


class Revoked:
    """Sessions ended while their rows could not be removed, until the rows are gone."""

    def __init__(self, folder: Path | None):
        self.folder = folder
        self.pending: dict[str, float] = {}  # token hash -> when revoked
        self.lock = threading.Lock()
        self.next_flush = 0.0

    def add(self, token: str) -> None:
        hashed = token_hash(token)
        with self.lock:
            self.pending[hashed] = time.time()
        for _attempt in range(3) if self.folder is not None else ():  # a flush may remove the folder
            with contextlib.suppress(OSError):  # memory alone still covers this process
                self.folder.mkdir(mode=0o700, exist_ok=True)
                if not _private_to_us(self.folder):  # made by someone else: not to be trusted
                    current_app.logger.warning("%s 不属于本服务，退出登录只在本进程生效", self.folder)
                    return
                os.close(os.open(self.folder / hashed, os.O_WRONLY | os.O_CREAT, 0o600))
                return

    def has(self, token: str) -> bool:
        hashed = token_hash(token)
        if hashed in self.pending:
            return True
        return self.folder is not None and os.path.exists(self.folder / hashed)

    def _all(self) -> dict[str, float]:
        found = dict(self.pending)
        if self.folder is not None:
            with contextlib.suppress(OSError), os.scandir(self.folder) as entries:
                for entry in entries:
                    if len(entry.name) == 64 and all(c in "0123456789abcdef" for c in entry.name):
                        with contextlib.suppress(OSError):
                            found.setdefault(entry.name, entry.stat().st_mtime)
        return found

    def flush_later(self, app: Flask) -> None:
        """Now and then (a look every half minute), remove the rows of revoked sessions."""
        now = time.monotonic()
        if now < self.next_flush:
            return
        self.next_flush = now + FLUSH_EVERY_SECONDS
        if self.pending or self._folder_used():
            self.flush(app.extensions["canbao"]["store"], app.config["SESSION_HOURS"])

    def _folder_used(self) -> bool:
        if self.folder is None:
            return False
        try:
            with os.scandir(self.folder) as entries:
                return any(True for _entry in entries)
        except OSError:
            return False

    def flush(self, store: Store, session_hours: float) -> None:
        for hashed, since in self._all().items():
            if time.time() - since < session_hours * 3600:
                try:
                    with store.transaction(Store.sessions(hashed)) as shards:
                        shards[Store.sessions(hashed)].remove("sessions", token_hash=hashed)
                except Exception:  # still full (or busy): the marker stays, the session stays refused
                    return
            # the row is gone (or the session has expired anyway): forget the revocation
            with self.lock:
                self.pending.pop(hashed, None)
            if self.folder is not None:
                with contextlib.suppress(OSError):
                    os.unlink(self.folder / hashed)
        if self.folder is not None:
            with contextlib.suppress(OSError):  # only once empty: another worker may just add one
                os.rmdir(self.folder)
