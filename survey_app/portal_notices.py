"""The portal's notices page: the collection notices and rosters staff printed for the public."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .portal_errors import PortalError

NOTICE_KINDS = {"collection": "缴费通知", "roster": "缴费名单公示"}


@dataclass(frozen=True)
class NoticeView:
    slug: str
    title: str
    kind: str
    kind_label: str
    village_name: str
    township_name: str
    published: dt.date
    pdf: Path

    @property
    def page(self) -> str:
        return f"notices/{self.slug}.html"

    @property
    def pdf_url(self) -> str:
        return f"notices/{self.slug}.pdf"


def _notice_slug(notice: Mapping[str, Any]) -> str:
    # Stable across rebuilds (same notice, same address) and ASCII only.
    key = "|".join(str(notice[k]) for k in ("kind", "township_name", "village_name", "published", "title"))
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:8]
    return f"{notice['published']:%Y%m%d}-{notice['kind']}-{digest}"


def notice_views(notices: Iterable[Mapping[str, Any]]) -> tuple[NoticeView, ...]:
    views = []
    for notice in notices:
        if notice["kind"] not in NOTICE_KINDS:
            raise PortalError(f"未知的公告类型：{notice['kind']!r}")
        pdf = Path(notice["pdf"])
        if not pdf.is_file():
            raise PortalError(f"公告“{notice['title']}”的 PDF 不存在：{pdf}")
        views.append(
            NoticeView(
                _notice_slug(notice),
                notice["title"],
                notice["kind"],
                NOTICE_KINDS[notice["kind"]],
                notice["village_name"],
                notice["township_name"],
                notice["published"],
                pdf,
            )
        )
    if len({v.slug for v in views}) != len(views):
        raise PortalError("有两份公告的标题、村、类型和日期完全相同")
    return tuple(sorted(views, key=lambda v: (v.published, v.slug), reverse=True))
