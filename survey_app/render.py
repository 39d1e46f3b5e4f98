"""The rendering engine behind documents/: WeasyPrint in forked children, with a deadline.

WeasyPrint may only fetch the app's own static files, through a private
``canbao:`` scheme; every other URL (file:, http:, data:, whatever a
resident's name might smuggle in) is refused and recorded.  This module is
imported only when something is printed (WeasyPrint takes 0.7 s to load).
"""

from __future__ import annotations

import functools
import mimetypes
import multiprocessing
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from multiprocessing import connection
from pathlib import Path

from flask import current_app
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from . import documents
from .documents import BASE_URL, STATIC_PREFIX, DocumentError, Rendered, RenderTimeout


# -- the fetcher ------------------------------------------------------------------------
class StaticOnlyFetcher(URLFetcher):
    """Serve files under the static folder via ``canbao:static/…``; refuse everything else."""

    def __init__(self, static_root: str | Path):
        super().__init__(allowed_protocols=("canbao",), fail_on_errors=False)
        self.root = Path(static_root).resolve()
        self.requested: list[str] = []

    def fetch(self, url: str, headers: Mapping[str, str] | None = None) -> URLFetcherResponse:
        self.requested.append(url)
        path = self._static_path(url)
        if path is None:
            raise ValueError(f"refused: {url[:80]}")
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": kind})

    def _static_path(self, url: str) -> Path | None:
        if not url.startswith(STATIC_PREFIX) or any(c in url for c in "?#\\%"):
            return None
        path = (self.root / url[len(STATIC_PREFIX):]).resolve()
        return path if path.is_relative_to(self.root) and path.is_file() else None


# -- rendering in a child process ----------------------------------------------------------
def _render_child(html: str, static_root: str, target: str, conn) -> None:
    fetcher = StaticOnlyFetcher(static_root)
    try:
        document = HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher).render()
        document.write_pdf(target)
        conn.send(("ok", len(document.pages), fetcher.requested))
    except Exception as exc:  # reported to the parent, which raises it as a DocumentError
        conn.send(("error", f"{type(exc).__name__}: {exc}", fetcher.requested))
    finally:
        conn.close()


class _Job:
    """One forked render with a deadline."""

    def __init__(self, html: str, static_root: str, target: Path, seconds: float):
        context = multiprocessing.get_context("fork")
        self.receive, send = context.Pipe(duplex=False)
        self.process = context.Process(target=_render_child,
                                       args=(html, static_root, str(target), send), daemon=True)
        self.process.start()
        send.close()
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds

    def result(self) -> Rendered:
        try:
            if not self.receive.poll(max(0.0, self.deadline - time.monotonic())):
                raise RenderTimeout(f"排版超过 {self.seconds:.0f} 秒未完成，已停止。")
            status, detail, fetched = self.receive.recv()
        except EOFError:
            raise DocumentError("排版进程意外退出。") from None
        finally:
            self.stop()
        if status != "ok":
            raise DocumentError(f"排版失败：{detail}")
        return Rendered(detail, fetched)

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.receive.close()


def render_pdf(html: str, target: Path, seconds: float | None = None) -> Rendered:
    """Render one document; raise RenderTimeout if it takes longer than ``seconds``."""
    return _Job(html, current_app.static_folder, target, seconds or documents.RENDER_SECONDS).result()


def render_chunks(chunks: Iterable[str], target: Path, *, workers: int = 2,
                  progress: Callable[[int], None] | None = None) -> Rendered:
    """Render HTML chunks in parallel children and join them, in order, into ``target``.

    ``chunks`` may be a generator: the next chunk's HTML is built while the
    children lay out the previous ones.
    """
    static_root = current_app.static_folder
    _warm_up(static_root)
    with tempfile.TemporaryDirectory(prefix="canbao-print-", dir=target.parent) as tmp:
        parts: list[Path] = []
        results: list[Rendered] = []
        running: list[_Job] = []
        try:
            for index, html in enumerate(chunks):
                if len(running) >= max(1, workers):
                    results.append(_finish(_first_done(running), progress))
                parts.append(Path(tmp) / f"{index:05d}.pdf")
                running.append(_Job(html, static_root, parts[-1], documents.RENDER_SECONDS))
            while running:
                results.append(_finish(_first_done(running), progress))
        finally:
            for job in running:
                job.stop()
        _join_pdfs(parts, target)
    return Rendered(sum(r.pages for r in results), [u for r in results for u in r.fetched])


@functools.cache
def _warm_up(static_root: str) -> None:
    """Lay out one tiny fixed page in this process, once.

    WeasyPrint imports modules and builds caches lazily on its first render;
    done here, every forked child inherits them instead of each redoing it
    (that made a 1,000-form batch ~20 % slower).
    """
    html = '<link rel="stylesheet" href="canbao:static/print/print.css"><p>参保 ☐☑ 0123</p>'
    HTML(string=html, base_url=BASE_URL, url_fetcher=StaticOnlyFetcher(static_root)).write_pdf()


def _first_done(running: list[_Job]) -> _Job:
    """Take the job that finishes (or runs out of time) first, so no core waits on a slower sibling."""
    soonest = min(job.deadline for job in running)
    ready = connection.wait([job.receive for job in running],
                            timeout=max(0.0, soonest - time.monotonic()))
    job = next((j for j in running if j.receive in ready), None) or \
        min(running, key=lambda j: j.deadline)
    running.remove(job)
    return job


def _finish(job: _Job, progress: Callable[[int], None] | None) -> Rendered:
    rendered = job.result()
    if progress:
        progress(rendered.pages)
    return rendered


def _join_pdfs(parts: list[Path], target: Path) -> None:
    if len(parts) == 1:
        shutil.move(parts[0], target)
        return
    subprocess.run(["pdfunite", *map(str, parts), str(target)], check=True,
                   capture_output=True, timeout=documents.RENDER_SECONDS)


# -- pieces shared by templates -------------------------------------------------------------
