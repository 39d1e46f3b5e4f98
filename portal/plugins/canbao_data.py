"""Pelican plugin: the portal pages drawn from the app's data, not from Markdown.

``survey_app.portal.build_portal`` puts public, render-ready views into the
``CANBAO`` setting (contact directory, campaign calendar, notices, the .ics
bytes, the dispute guide's figures and windows).  This generator renders them
with the theme's templates, copies the notice PDFs and writes the search index
over every page; ``fill_data`` puts data into the Markdown guides' tokens.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
import shutil
from pathlib import Path

import jinja2
from markupsafe import Markup, escape
from pelican import signals
from pelican.generators import Generator

WEEKDAYS = "一二三四五六日"


def cn_date(day: dt.date) -> str:
    return f"{day.month}月{day.day}日"


def cn_date_long(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def cn_weekday(day: dt.date) -> str:
    return "星期" + WEEKDAYS[day.weekday()]


def cn_weekday_short(day: dt.date) -> str:
    return "周" + WEEKDAYS[day.weekday()]


def plain_text(html: str) -> str:
    return Markup(html).striptags()


def by_order(pages):
    # Order: metadata is text; compare it as a number so page 10 follows page 9.
    return sorted(pages, key=lambda p: int(getattr(p, "order", 999)))


def _entry(title: str, url: str, *texts: str) -> dict[str, str]:
    return {"title": title, "url": url, "text": " ".join(t for t in texts if t)}


def _people(unit) -> list[str]:
    return [unit.name, *(f"{c.role}{c.name}" for c in unit.contacts)]


class CanbaoPages(Generator):
    """Calendar, contact directory, notices and the search index."""

    def generate_output(self, writer) -> None:
        data = self.settings["CANBAO"]
        entries = [
            *self._guides(),
            *self._calendar(writer, data),
            *self._contacts(writer, data["directory"]),
            *self._notices(writer, data["notices"]),
        ]
        self._write_bytes(
            "search.json", json.dumps(entries, ensure_ascii=False, separators=(",", ":")).encode()
        )

    def _render(self, writer, name: str, template: str, **kwargs) -> None:
        writer.write_file(
            name,
            self.get_template(template),
            self.context,
            relative_urls=self.settings["RELATIVE_URLS"],
            **kwargs,
        )

    def _write_bytes(self, name: str, payload: bytes) -> None:
        target = Path(self.output_path, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(payload)

    def _guides(self) -> list[dict[str, str]]:
        return [
            _entry(p.title, p.url, plain_text(p.summary), plain_text(p.content))
            for p in self.context["pages"]
        ]

    def _calendar(self, writer, data) -> list[dict[str, str]]:
        cal = data["calendar"]
        self._render(writer, "calendar.html", "calendar", calendar=cal)
        self._write_bytes(data["ics_name"], data["ics"])
        return [
            _entry(
                "征缴日历",
                "calendar.html",
                cal.title,
                *(f"{p.name} {cn_date(p.start)}至{cn_date(p.end)} {p.summary}" for p in cal.phases),
            )
        ]

    def _contacts(self, writer, directory) -> list[dict[str, str]]:
        self._render(writer, "contacts.html", "contacts", directory=directory)
        if directory.townships:
            # /portal/contacts/ is a folder the township pages live in: answer it too.
            self._render(writer, "contacts/index.html", "contacts", directory=directory)
        entries = []
        for township in directory.townships:
            self._render(writer, township.page, "township", township=township)
            # One entry per township, not per village: at 1,000 villages a
            # per-village index would more than double search.json.
            people = [p for unit in (township, *township.villages) for p in _people(unit)]
            entries.append(_entry(f"{township.name} 网格员联系表", township.page, *people))
        return entries

    def _notices(self, writer, notices) -> list[dict[str, str]]:
        self._render(writer, "notices.html", "notices", notices=notices)
        if notices:
            # Someone trimming a notice's address to /portal/notices/ gets the list, not a 404.
            self._render(writer, "notices/index.html", "notices", notices=notices)
        entries = []
        for notice in notices:
            self._render(writer, notice.page, "notice", notice=notice)
            target = Path(self.output_path, notice.pdf_url)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(notice.pdf, target)
            entries.append(
                _entry(
                    notice.title,
                    notice.page,
                    notice.kind_label,
                    notice.township_name,
                    notice.village_name,
                )
            )
        return entries


# Inline values: %payment.app%, %disputes.routine% ...  Blocks: a paragraph of its own holding
# %disputes.windows%, replaced by the theme template that draws it.
TOKEN = re.compile(r"%(payment|disputes)\.(\w+)%")
BLOCK = re.compile(r"<p>\s*%disputes\.(\w+)%\s*</p>")
BLOCKS = {"categories": "dispute_categories.html", "windows": "dispute_windows.html"}
WHAT = {"payment": "缴费设置", "disputes": "争议处理设置"}


@functools.lru_cache(maxsize=4)
def _theme(templates: str) -> jinja2.Environment:
    # Same escaping as the theme's own pages: names and windows come from village data.
    return jinja2.Environment(loader=jinja2.FileSystemLoader(templates), autoescape=True,
                              trim_blocks=True, lstrip_blocks=True)


def _values(data) -> dict[str, dict[str, str]]:
    disputes = data.get("disputes")
    return {"payment": data.get("payment") or {}, "disputes": disputes.tokens if disputes else {}}


def fill_data(content) -> None:
    """Put the campaign's settings and the grid's windows where a guide wrote a token.

    Guides are Markdown, not templates; the app, banks and channels differ by
    province (survey_app.portal.payment_view), the dispute limits, departments
    and windows by county (survey_app.portal_disputes), so they come from data.
    """
    data = content.settings.get("CANBAO")
    if not data:
        return
    values = _values(data)

    def fill_blocks(text):
        def one(match):
            name = match.group(1)
            if name not in BLOCKS or not data.get("disputes"):
                raise ValueError(f"{content.source_path}: 没有这个争议处理段落 %disputes.{name}%")
            template = _theme(str(Path(content.settings["THEME"], "templates"))).get_template(BLOCKS[name])
            return template.render(disputes=data["disputes"])

        return BLOCK.sub(one, text)

    def fill(text):
        def one(match):
            group, key = match.groups()
            if key not in values[group]:
                raise ValueError(f"{content.source_path}: 没有这个{WHAT[group]} %{group}.{key}%")
            return str(escape(values[group][key]))

        return TOKEN.sub(one, text)

    if getattr(content, "_content", None):
        content._content = fill(fill_blocks(content._content))
    if "summary" in content.metadata:
        content.metadata["summary"] = Markup(fill(str(content.metadata["summary"])))
    if getattr(content, "_summary", None):
        content._summary = Markup(fill(str(content._summary)))


def add_filters(generator) -> None:
    generator.env.filters.update(
        cn_date=cn_date,
        cn_date_long=cn_date_long,
        cn_weekday=cn_weekday,
        cn_weekday_short=cn_weekday_short,
        plain_text=plain_text,
        by_order=by_order,
    )


def get_generators(pelican):
    # Signals are process-wide: stay out of Pelican runs that are not ours.
    return CanbaoPages if "CANBAO" in pelican.settings else None


def register() -> None:
    signals.generator_init.connect(add_filters)
    signals.content_object_init.connect(fill_data)
    signals.get_generators.connect(get_generators)
