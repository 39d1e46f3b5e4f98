"""``canbao print …``: forms and notices from the command line, for whole villages at a time."""

from __future__ import annotations

import contextlib

import click
from flask.cli import with_appcontext

from . import documents, portal_site, state
from .registry import Scope


def _operator_scope() -> Scope:
    # Whoever runs the CLI on the server already holds the data directory: the whole grid.
    return Scope(frozenset(v["code"] for v in state.current_grid().villages), "cli")


def _report(export: documents.Export) -> None:
    click.echo(f"已生成“{export.meta['title']}”：{export.meta['pages']} 页 → {export.pdf}")


@click.group("print", help="打印一人一表登记表和村务公告（PDF，存入 exports/）。")
def print_group() -> None:
    pass


@print_group.command("forms", help="一个村（社区）的一人一表，每人一页 A4，带二维码。")
@click.option("--village", required=True, help="村（社区）代码，12位")
@click.option("--households", default="", help="只打印这些户：户编号，逗号分隔")
@click.option("--blank", default=0, show_default=True, type=int, help="另加空白表的数量")
@with_appcontext
def print_forms(village: str, households: str, blank: int) -> None:
    refs = [r for r in households.split(",") if r.strip()] or None
    bars: list = []
    with contextlib.ExitStack() as stack:
        def start(total: int) -> None:
            bars.append(stack.enter_context(click.progressbar(length=total, label="排版",
                                                              show_pos=True)))
        try:
            export = documents.print_forms(_operator_scope(), village=village, household_refs=refs,
                                           blank=blank, on_start=start,
                                           progress=lambda n: bars[0].update(n))
        except documents.DocumentError as exc:
            raise click.ClickException(str(exc)) from None
    _report(export)


@print_group.command("notice", help="村务公告：collection 集中征缴通知，roster 缴费清册公示（已缴费人员），"
                                    "progress 入户登记进度通报。")
@click.argument("kind", type=click.Choice(["collection", "roster", "progress"]))
@click.option("--village", default=None, help="村（社区）代码")
@click.option("--township", default=None, help="乡镇（街道）、区县或市的代码（仅进度通报）")
@with_appcontext
def print_notice(kind: str, village: str | None, township: str | None) -> None:
    if bool(village) == bool(township):
        raise click.UsageError("请指定 --village 或 --township 之一。")
    try:
        export = documents.print_notice(_operator_scope(), kind, village=village, township=township)
    except documents.DocumentError as exc:
        raise click.ClickException(str(exc)) from None
    _report(export)
    portal_site.after_printing(kind)
