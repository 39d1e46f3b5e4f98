"""The exports folder: where a printed PDF and its description land (private, audited), and how
they are listed, served, published and cleaned up."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import secrets
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app

from .. import clock, registry, state
from ..atomicfile import private_folder, remove_stale, write_atomically
from ..registry import Scope
from ..store import Store
from .area import Area
from .pdf import Rendered

KINDS = {
    "forms": "全民参保登记表（一人一表）",
    "collection": "城乡居民社会保险费集中征缴通知",
    "roster": "城乡居民社会保险费缴费清册公示",
    "progress": "全民参保入户登记进度通报",
    "roll": "城乡居民社会保险费征收清册",          # collection/papers.py: the village agent's roll
    "reminders": "城乡居民社会保险费缴费提醒单",    # collection/papers.py: slips for households that owe
}
PUBLIC_KINDS = ("collection", "roster")
FILE_NAME = re.compile(r"^[a-z]+-\d{9,12}-\d{6}-[a-z0-9]{4}\.pdf$")
PDF_MODE = 0o600          # printed forms carry ID numbers: the server's account alone reads them
# What a crash leaves in exports/<township>/<day>/: a PDF being rendered, a batch's chunk folder
# (render.py), a description being written (atomicfile).
TEMPORARY = ("*/*/.*.pdf.partial", "*/*/canbao-print-*", "*/*/.*.json.*.tmp")


@dataclass
class Export:
    pdf: Path
    meta: dict[str, Any]
    fetched: list[str] = field(default_factory=list)

    @property
    def relative(self) -> str:
        return self.meta["path"]


def _new_export_path(exports_dir: Path, township: str, kind: str, area: str) -> Path:
    now = clock.now()
    folder = exports_dir / township / now.date().isoformat()
    for level in (exports_dir, folder.parent, folder):  # 0700: printed forms carry ID numbers
        private_folder(level)
    suffix = "".join(secrets.choice("abcdefghjkmnpqrstuvwxyz23456789") for _ in range(4))
    return folder / f"{kind}-{area}-{now:%H%M%S}-{suffix}.pdf"


def _publish(exports_dir: Path, tmp_pdf: Path, target: Path, meta: dict[str, Any]) -> Export:
    """Move the finished PDF into place, then write its description (listing reads only those)."""
    os.chmod(tmp_pdf, PDF_MODE)  # again: a joined batch is pdfunite's (or a moved part's) file
    os.replace(tmp_pdf, target)
    meta = {**meta, "path": str(target.relative_to(exports_dir)), "bytes": target.stat().st_size}
    write_atomically(target.with_suffix(".json"), json.dumps(meta, ensure_ascii=False).encode("utf-8"))
    return Export(target, meta)


def remove_stale_temporaries(exports_dir: str | Path) -> list[Path]:
    """At start-up: partial PDFs and chunk folders of renders a crash cut short (not touched for
    an hour; a render at work writes a chunk at least every RENDER_SECONDS)."""
    root = Path(exports_dir)
    return remove_stale(root, TEMPORARY) if root.is_dir() else []


def make_private(exports_dir: str | Path) -> int:
    """Files printed before files were made private (0644 in 0755 folders), made 0600 in 0700
    folders: once, while the exports folder itself is not yet 0700.  Returns how many changed."""
    root = Path(exports_dir)
    if not root.is_dir() or root.stat().st_mode & 0o777 == 0o700 or root.stat().st_uid != os.geteuid():
        return 0
    changed = 0
    for folder, subfolders, files in os.walk(root):
        for name, wanted in [*((d, 0o700) for d in subfolders), *((f, PDF_MODE) for f in files)]:
            if name.startswith("."):
                continue  # the repository's .gitkeep, not a printed file: no warning on a fresh clone
            path = Path(folder) / name
            with contextlib.suppress(OSError):
                status = path.lstat()
                if not stat.S_ISLNK(status.st_mode) and status.st_uid == os.geteuid() \
                        and status.st_mode & 0o777 != wanted:
                    path.chmod(wanted)
                    changed += 1
    private_folder(root)
    return changed


def list_exports(exports_dir: str | Path, villages: Iterable[str]) -> list[dict[str, Any]]:
    """Generated files whose every village is in ``villages``, newest first."""
    allowed = set(villages)
    found = [m for m in _all_meta(Path(exports_dir)) if set(m.get("villages", ())) <= allowed]
    return sorted(found, key=lambda m: m["created_at"], reverse=True)


def _all_meta(exports_dir: Path) -> list[dict[str, Any]]:
    if not exports_dir.is_dir():
        return []
    metas = []
    for path in exports_dir.glob("*/*/*.json"):
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # a half-copied or foreign file is not ours to list
        if isinstance(meta, dict) and meta.get("kind") in KINDS and path.with_suffix(".pdf").is_file():
            metas.append(meta)
    return metas


def published_notices(exports_dir: str | Path) -> list[dict[str, Any]]:
    """The public notices (collection and roster) in the shape ``build_portal(notices=…)`` takes."""
    root = Path(exports_dir)
    latest: dict[tuple, dict[str, Any]] = {}
    for meta in sorted(_all_meta(root), key=lambda m: m["created_at"]):
        if meta["kind"] in PUBLIC_KINDS:  # a reprint replaces the earlier posting
            latest[(meta["kind"], meta["township_name"], meta["village_name"])] = meta
    return [
        {"title": m["title"], "kind": m["kind"], "village_name": m["village_name"],
         "township_name": m["township_name"], "pdf": root / m["path"],
         "published": dt.date.fromisoformat(m["created_at"][:10])}
        for m in latest.values()
    ]


def export_file(exports_dir: str | Path, relative: str, villages: Iterable[str]) -> Path | None:
    """The PDF at ``relative`` if it is one of ours and the caller may read it."""
    parts = relative.split("/")
    if len(parts) != 3 or not FILE_NAME.match(parts[2]):
        return None
    pdf = Path(exports_dir).joinpath(*parts)
    allowed = {m["path"] for m in list_exports(exports_dir, villages)}
    return pdf if relative in allowed else None


def _audit(store: Store, scope: Scope, export: Export) -> None:
    # Audit entries name the file, never a person: no ID or phone number.
    villages = export.meta["villages"]
    name = Store.village(villages[0]) if len(villages) == 1 else Store.SYSTEM
    with store.transaction(name) as shards:
        registry.write_audit(shards[name], scope, f"print_{export.meta['kind']}",
                        export.meta["area"], file=export.relative, pages=export.meta["pages"])


def export_meta(kind: str, area: Area, scope: Scope, **extra: Any) -> dict[str, Any]:
    """What the folder keeps beside a printed file: which kind, which area, who, when."""
    return {"kind": kind, "kind_label": KINDS[kind], "area": area.code,
            "village_name": area.name if area.is_village else "",
            "township": area.township["code"], "township_name": area.township["name"],
            "villages": list(area.villages), "user": scope.username,
            "created_at": registry.now_iso(), **extra}


def produce(scope: Scope, area: Area, kind: str, meta: dict[str, Any],
            render: Callable[[Path], Rendered]) -> Export:
    """Render into a private temporary file, publish it with its meta, and audit the print."""
    exports_dir = Path(current_app.config["EXPORTS_DIR"])
    target = _new_export_path(exports_dir, area.township["code"], kind, area.code)
    tmp = target.with_name(f".{target.name}.partial")
    # Made here, private, before the renderer opens it (it keeps the mode of the file it truncates).
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PDF_MODE))
    try:
        rendered = render(tmp)
        export = _publish(exports_dir, tmp, target, {**meta, "pages": rendered.pages})
    finally:
        tmp.unlink(missing_ok=True)
    export.fetched = rendered.fetched
    _audit(state.store(), scope, export)
    return export
