"""Roster uploads as background jobs (jobs.py): no request waits while a workbook is read.

A village's roster takes seconds to read and check, and a hostile file is made
to take much longer: the upload's request only saves the file, privately, in
the data folder and starts a job.  A thread of the same process reads, checks
and loads the file, as the uploader (the audit names them), into the villages
of the uploader's area only, and writes how far it got to the job's record, so
the page the browser refreshes may be served by any worker process.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.datastructures import FileStorage

from . import jobs, roster, sheets
from .atomicfile import private_folder, remove_stale
from .formdef import FormDefinition
from .i18n import _
from .registry import Scope
from .store import Store

KIND = "roster"
FOLDER = "uploads"          # in the data folder, 0700; each file 0600 and gone when its job ends
PATTERN = "roster-*.upload"
AT_ONCE = 2                 # files one server process reads at a time (each may hold ~100 MB)
QUICK_SECONDS = 2.0         # the upload's request waits this long: a village's file is done by then
REPORT_SECONDS = 1.0        # at most one progress write to the jobs shard a second
KEPT_PROBLEMS = 500         # problems kept in the job's record to be shown (all are counted)
_slots = threading.BoundedSemaphore(AT_ONCE)


def start(app: Flask, store: Store, scope: Scope, definition: FormDefinition, village: str,
          upload: FileStorage) -> int:
    """Save the upload and start its job; RosterError when it is refused before any reading."""
    filename = upload.filename or ""
    sheets.check_filename(filename)
    if jobs.running(store, KIND, scope.username):
        raise roster.RosterError([_("您上传的上一份名单还在导入，请等它完成后再上传。")])
    return launch(app, store, KIND, village, scope.username, upload, _run, scope, definition, village)


def launch(app: Flask, store: Store, kind: str, area: str, user: str, upload: FileStorage,
           run: Callable[..., None], *args: Any) -> int:
    """Save an upload privately, record its job and read it in a thread: ``run(app, store, job_id,
    *args, filename, path)``.  The request waits QUICK_SECONDS, so a small file is done when the
    browser lands on the job's page.  Rosters and the tax office's files both start here."""
    filename = upload.filename or ""
    path = save(upload_folder(app), upload)
    try:
        job_id = jobs.start(store, village=area, user=user, kind=kind, filename=filename,
                            stage="queued", rows=0)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    worker = threading.Thread(target=run, name=f"{kind}-{job_id}", daemon=True,
                              args=(app, store, job_id, *args, filename, path))
    worker.start()
    worker.join(QUICK_SECONDS)
    return job_id


def upload_folder(app: Flask) -> Path:
    """The private uploads folder; what a crash left there is removed after an hour."""
    folder = private_folder(Path(app.config["DATA"] or app.instance_path) / FOLDER)
    remove_stale(folder, [PATTERN])
    return folder


def save(folder: Path, upload: FileStorage) -> Path:
    handle, name = tempfile.mkstemp(prefix="roster-", suffix=".upload", dir=folder)  # mode 0600
    try:
        with os.fdopen(handle, "wb") as out:
            shutil.copyfileobj(upload.stream, out, sheets.CHUNK)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def get(store: Store, job_id: int, village: str, user: str) -> dict[str, Any] | None:
    """The uploader's own job for this village, or None (another's reads the same as absent)."""
    job = jobs.get(store, job_id)
    if job is None or job.get("kind") != KIND or job["village"] != village or job["user"] != user:
        return None
    return job


def recent(store: Store, village: str, user: str) -> list[dict[str, Any]]:
    """The uploader's jobs for this village still running or ended within the hour, newest first."""
    found = [j for j in jobs.visible(store, [village], KIND) if j["user"] == user]
    return sorted(found, key=lambda j: j["started"], reverse=True)


def _run(app: Flask, store: Store, job_id: int, scope: Scope, definition: FormDefinition,
         village: str, filename: str, path: Path) -> None:
    with app.app_context():
        try:
            with slot(store, job_id):
                counts = roster.import_file(store, scope, definition, village, filename, path,
                                            progress=reporter(store, job_id))
        except sheets.SheetError as exc:
            jobs.finish(store, job_id, problems=exc.problems[:KEPT_PROBLEMS],
                        problem_count=len(exc.problems))
        except Exception:  # shown on the job's page; the server's log has the traceback
            app.logger.exception("roster job %s failed", job_id)
            jobs.finish(store, job_id, error=_("导入时出错。请打开本村名单核对后重新上传：同一文件再次导入"
                                               "不会重复。"))
        else:
            jobs.finish(store, job_id, counts=counts)
        finally:
            path.unlink(missing_ok=True)


@contextlib.contextmanager
def slot(store: Store, job_id: int) -> Iterator[None]:
    """At most AT_ONCE files read at once here; a job waiting its turn still says it is alive."""
    while not _slots.acquire(timeout=jobs.SILENT_SECONDS / 3):
        jobs.update(store, job_id)
    try:
        jobs.update(store, job_id, stage="reading")
        yield
    finally:
        _slots.release()


def reporter(store: Store, job_id: int) -> Callable[[str, int], None]:
    last = {"stage": "reading", "at": time.monotonic()}

    def report(stage: str, rows: int) -> None:
        now = time.monotonic()
        if stage != last["stage"] or now - last["at"] >= REPORT_SECONDS:
            jobs.update(store, job_id, stage=stage, rows=rows)
            last.update(stage=stage, at=now)
    return report
