"""``canbao disputes …``: the dispute ledger from the command line (a daily job runs the digest)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from flask.cli import with_appcontext

from . import clock, state
from .disputes import digest, ledger
from .store import Store


@click.group("disputes", help="征缴争议台账。")
def disputes_group() -> None:
    pass


@disputes_group.command("digest", help="每日到期提醒：逐个乡镇（街道）和部门列出逾期、今日到期和"
                                       f"{digest.HORIZON}个工作日内到期的事项（只含编号、姓名（已遮掩）和剩余工作日）。")
@click.option("--date", "day", default=None, help="按哪一天计算，YYYY-MM-DD（默认今天）")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="每个收件方写一个 UTF-8 文本文件到这个目录（township-<代码>.txt、department-<部门>.txt）")
@with_appcontext
def digest_command(day: str | None, out: str | None) -> None:
    try:
        today = dt.date.fromisoformat(day) if day else clock.today()
    except ValueError:
        raise click.BadParameter(f"“{day}”不是日期，应写作 2026-10-12", param_hint="--date") from None
    store, grid, campaign = state.store(), state.current_grid(), state.campaign()
    ledgers = {}
    for name in store.names("disputes/"):
        township = name.split("/", 1)[1]
        ledgers[township] = [{**item, "ref": ledger.make_ref(township, item["doc_id"])}
                             for item in store.read(Store.disputes(township)).all(ledger.TABLE)]
    names = {unit["code"]: unit["name"] for unit in grid.units.values()}
    found = digest.for_everyone(ledgers, campaign.workdays, today, unit_names=names,
                                departments=campaign.disputes.departments)
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
    for stem, recipient, result in found:
        click.echo(f"{stem} {recipient}：{digest.summary(result.counts)}")
        if out:
            (Path(out) / f"{stem}.txt").write_text(digest.render_text(result, recipient), encoding="utf-8")
    click.echo(f"{today.isoformat()}：共 {len(found)} 个收件方有逾期或即将到期的事项。"
               + (f"文件已写入 {out}。" if out and found else ""))
