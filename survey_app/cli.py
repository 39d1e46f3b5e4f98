"""The ``canbao`` command: Flask's CLI group bound to the app factory."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from . import portal_site
from .store import CorruptShard, StoreFormatError


def _create_app():
    from . import create_app
    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=True,
             help="canbao 参保: 全民参保登记入户采集系统")
def cli():
    pass


@cli.command("migrate", with_appcontext=False,
             help="把旧版（canbao 1）的数据目录转换为当前格式；原目录先完整保留一份。")
@click.option("--data", "data", envvar="CANBAO_DATA", required=True, type=click.Path(file_okay=False),
              help="数据目录（默认取 CANBAO_DATA）")
def migrate_command(data: str) -> None:
    from . import migrate
    kept, count = migrate.migrate(Path(data))
    click.echo(f"已转换 {count} 条记录；旧目录原样保留在 {kept}。")


def main() -> None:
    try:
        cli.main(prog_name="canbao")
    except (CorruptShard, StoreFormatError) as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)


def _store():
    from . import state
    return state.store()


def _grid():
    from . import state
    return state.current_grid()


def register_commands(app: Flask) -> None:
    from .disputes_cli import disputes_group
    from .print_cli import print_group
    for command in (demo, serve, backup, restore, check, user, grid_group, roster_group,
                    submissions_group, portal_group, print_group, collection_group, disputes_group):
        app.cli.add_command(command)


def _serve(host: str, port: int, workers: int | None = None, threads: int | None = None) -> None:
    from . import server
    config = current_app.config
    try:
        server.check_port(host, port)
    except server.PortBusy as exc:
        raise click.ClickException(str(exc)) from None
    warning = server.public_url_warning(config["PUBLIC_URL"])
    if warning and not server.is_loopback(host):
        click.echo(warning, err=True)  # phones reach this server, but not the address in its QR codes
    shown_workers = workers or config["WORKERS"] or "每个 CPU 核一个"
    click.echo(f"canbao 正在 http://{host}:{port}/ 上服务（gunicorn，工作进程 {shown_workers}，"
               f"每进程 {threads or config['THREADS']} 个线程）。Ctrl+C 停止。")
    server.serve(config, host, port, workers, threads)


@click.command("serve", help="用生产级 WSGI 服务器（gunicorn，多进程）提供服务。")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=None, type=int, help="工作进程数（默认取设置 WORKERS：每核一个）")
@click.option("--threads", default=None, type=int, help="每个工作进程的线程数（默认取设置 THREADS）")
@with_appcontext
def serve(host: str, port: int, workers: int | None, threads: int | None) -> None:
    _serve(host, port, workers, threads)


@click.command("demo", help="载入演示区县（薛城区）、构建门户，并在 127.0.0.1:5000 上服务。")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="只载入数据，不启动服务。")
@click.option("--households", default=24, show_default=True, type=int, help="每村演示户数")
@with_appcontext
def demo(host: str, port: int, no_serve: bool, households: int) -> None:
    from . import demo as demo_data
    from . import users
    store = _store()
    if _grid().units:
        click.echo(f"数据目录 {store.root} 已有网格数据，跳过载入（删除该目录可重新生成）。")
        accounts = [{"username": a.username, "password": "(已设置)", "role": a.role,
                     "area": " / ".join(_grid().path_names(a.area[0]))}
                    for a in users.list_users(store)]
    else:
        accounts = demo_data.load(store, households_per_village=households)
        from .campaign import load_campaign
        from .disputes import demo as demo_disputes
        demo_disputes.load(store, _grid(), load_campaign(current_app.config["CAMPAIGN_FILE"]),
                           current_app.config["FORMS_DIR"])
    _build_portal_quietly()
    click.echo("演示账号：")
    for account in accounts:
        click.echo(f"  {account['username']:<10} {account['password']:<12} "
                   f"{account['role']:<15} {account['area']}")
    if not no_serve:
        click.echo(f"手机浏览器打开 http://{host}:{port}/ 登录；公众门户在 /portal/。")
        _serve(host, port)


def _build_portal_quietly() -> None:
    out = portal_site.build()
    click.echo(f"门户已构建：{out}")


@click.command("backup", help="在服务运行时写一份一致的、带时间戳的数据快照。")
@click.option("--to", "destination", type=click.Path(file_okay=False), default=None)
@with_appcontext
def backup(destination: str | None) -> None:
    snapshot = _store().backup(destination)
    click.echo(f"已备份到 {snapshot}")


@click.command("check", help="逐个完整读取数据分片并核对登记进度统计；有损坏时指出文件并以非零状态退出。")
@click.option("--repair", is_flag=True, help="按记录重算登记进度统计，改正不符之处。")
@with_appcontext
def check(repair: bool) -> None:
    from . import coverage
    store = _store()
    started = time.monotonic()
    count = store.check()
    wrong = coverage.rebuild(store, store.village_codes(), repair=repair)
    click.echo(f"{count} 个数据分片均完好（用时 {time.monotonic() - started:.1f} 秒）。")
    from . import server
    warning = server.public_url_warning(current_app.config["PUBLIC_URL"])
    if warning:
        click.echo(warning, err=True)  # a warning only: the exit status is about the data
    if wrong and repair:
        click.echo(f"已按记录改正 {len(wrong)} 个村（社区）的登记进度统计：{'、'.join(wrong)}")
    elif wrong:
        click.echo(f"{len(wrong)} 个村（社区）的登记进度统计与记录不符：{'、'.join(wrong)}；"
                   "运行 canbao check --repair 改正。", err=True)
        raise SystemExit(1)


@click.command("restore", help="把 canbao backup 的快照载入当前的数据目录或数据库（须为空）。")
@click.argument("snapshot", type=click.Path(exists=True, file_okay=False))
@with_appcontext
def restore(snapshot: str) -> None:
    from .store import LocalStore
    store = _store()
    if store.names():
        raise click.ClickException("当前的数据目录或数据库不是空的：只能恢复到空的存储中。")
    count = store.load_records(LocalStore(snapshot).records())
    click.echo(f"已恢复 {count} 条记录。")


@click.group("user", help="账号管理。")
def user() -> None:
    pass


@user.command("add", help="添加或更新账号（更新时该账号已有的登录全部结束）。AREA 为区县、乡镇或村的代码"
                           "（调查员可多个）。密码至少10位，不能是常见密码、连续字符或包含用户名。")
@click.argument("username")
@click.option("--role", type=click.Choice(["city_admin", "district_admin", "township_staff", "enumerator",
                                           "department"]), required=True)
@click.option("--area", multiple=True, required=True, help="负责区域代码，可重复")
@click.option("--department", default="", help="部门经办人员的部门代码（如 tax、hrss、medical）")
@click.option("--name", "display_name", default="")
@click.password_option(prompt="密码", confirmation_prompt="再次输入密码")
@with_appcontext
def user_add(username: str, role: str, area: tuple[str, ...], department: str, display_name: str,
             password: str) -> None:
    from . import users
    from .campaign import load_campaign
    known = [key for key, _name in load_campaign(current_app.config["CAMPAIGN_FILE"]).disputes.departments]
    try:
        account = users.add_user(_store(), _grid(), username=username, password=password,
                                 role=role, area=list(area), display_name=display_name,
                                 department=department, departments=known)
    except users.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"已保存账号 {account.username}（{account.role_name}）；该账号此前的登录（如有）均已结束。")


@user.command("list", help="列出全部账号及其状态。")
@with_appcontext
def user_list() -> None:
    from . import users
    for account in users.list_users(_store()):
        status = "已停用" if account.disabled else "正常"
        click.echo(f"{account.username:<12} {account.role_name:<12} {status:<4} {' '.join(account.area)}")


def _cli_actor() -> str:
    """Who ran the command, for the audit: the operating-system account."""
    import getpass
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _change_account(change, username: str, done: str, **kwargs) -> None:
    from . import users
    try:
        change(_store(), username, actor=_cli_actor(), **kwargs)
    except users.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(done)


@user.command("disable", help="停用账号：不能再登录，已有的登录立即全部结束。")
@click.argument("username")
@with_appcontext
def user_disable(username: str) -> None:
    from . import users
    _change_account(users.disable_user, username, f"已停用账号 {username}，其所有登录均已结束。")


@user.command("enable", help="重新启用已停用的账号。")
@click.argument("username")
@with_appcontext
def user_enable(username: str) -> None:
    from . import users
    _change_account(users.enable_user, username, f"已启用账号 {username}。")


@user.command("remove", help="删除账号，其所有登录随之结束（已登记的数据和审计记录保留）。")
@click.argument("username")
@click.confirmation_option(prompt="确定删除该账号？")
@with_appcontext
def user_remove(username: str) -> None:
    from . import users
    _change_account(users.remove_user, username, f"已删除账号 {username}，其所有登录均已结束。")


@user.command("password", help="修改账号密码；该账号所有已有的登录随之结束。")
@click.argument("username")
@click.password_option(prompt="新密码", confirmation_prompt="再次输入新密码")
@with_appcontext
def user_password(username: str, password: str) -> None:
    from . import users
    _change_account(users.set_password, username, f"已修改账号 {username} 的密码，其所有登录均已结束。",
                    password=password)


@click.group("grid", help="区县—乡镇—村三级网格。")
def grid_group() -> None:
    pass


@grid_group.command("import", help="从 YAML 或 CSV 文件导入网格及网格长、网格员联系方式。")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def grid_import(path: str) -> None:
    from . import grid
    try:
        count = grid.import_file(_store(), path)
    except grid.GridError as exc:
        _fail_listing("网格文件有以下问题，未作任何修改：", exc.problems)
    click.echo(f"已导入 {count} 个网格单元。")


def _fail_listing(heading: str, problems: list[str]) -> None:
    """Print every problem of a file, then exit 1: staff fix them all in one pass."""
    click.echo(heading, err=True)
    for problem in problems:
        click.echo(f"  - {problem}", err=True)
    raise SystemExit(1)


@click.group("roster", help="应登记名单（入户调查对象）。")
def roster_group() -> None:
    pass


@roster_group.command("import", help="把 .xlsx 或 .csv 名单导入一个村（--village），或按“村（社区）代码”列"
                                      "导入多个村；可一次给多个文件。有错误时逐行列出，该文件不导入任何数据。")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--village", default=None, help="村（社区）代码；不给时按文件的“村（社区）代码”列导入")
@with_appcontext
def roster_import(paths: tuple[str, ...], village: str | None) -> None:
    from . import registry, state
    grid = _grid()
    if village is not None and (grid.get(village) is None or grid.get(village)["level"] != "village"):
        raise click.ClickException(f"{village} 不是网格中的村（社区）代码")
    everywhere = registry.Scope(frozenset(v["code"] for v in grid.villages), "cli")
    for path in paths:
        _import_one_roster(everywhere, state.registration_form(), village, Path(path))


def _import_one_roster(scope, definition, village: str | None, path: Path) -> None:
    from . import roster, sheets
    started = time.monotonic()
    try:
        counts = roster.import_file(_store(), scope, definition, village, path.name, path.read_bytes(),
                                    max_rows=None)
    except sheets.SheetError as exc:  # the file unreadable, or its rows wrong (RosterError)
        _fail_listing(f"{path.name} 有以下问题，未导入该文件的任何数据：", exc.problems[:200] + (
            [f"……另有 {len(exc.problems) - 200} 处问题"] if len(exc.problems) > 200 else []))
    seconds = time.monotonic() - started
    click.echo(f"{path.name}：{counts['villages']} 个村（社区），用时 {seconds:.1f} 秒。"
               f"{roster.report(counts)}")


@click.group("submissions", help="登记表（一人一表）。")
def submissions_group() -> None:
    pass


@submissions_group.command(
    "import", help="导入从手机导出的待上传文件（.json）：待上传表单和草稿，按 uuid 去重，逐条报告结果。")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--user", "username", default=None, help="表单所属账号（默认取文件中的账号）")
@with_appcontext
def submissions_import(path: str, username: str | None) -> None:
    from . import outbox_import, registry, users
    try:
        data = outbox_import.read(Path(path).read_bytes())
    except outbox_import.ImportFileError as exc:
        raise click.ClickException(str(exc)) from None
    username = username or str(data.get("user") or "")
    account = users.find_user(_store(), username)
    if account is None:
        raise click.ClickException(f"账号“{username}”不存在：用 --user 指定表单所属的账号。")
    scope = registry.Scope(_grid().villages_of_area(account["area"]), username)
    outcomes = outbox_import.load(_store(), scope, data)
    for outcome in outcomes:
        what = {"household": "家庭户", "payment": "缴费", "dispute": "争议"}.get(outcome.kind, "人员")
        tail = f" {outcome.ref}" + (f" 回执号 {outcome.receipt}" if outcome.receipt else "")
        click.echo(f"  {outcome.label}（{what}）：{outcome.result}{tail if outcome.ref else ''}")
    failed = sum(1 for o in outcomes if not o.ok)
    click.echo(f"共 {len(outcomes)} 条（含草稿，人员草稿按“暂存”导入）："
               f"导入或已有 {len(outcomes) - failed} 条，未导入 {failed} 条。")
    if failed:
        raise SystemExit(1)


@click.group("collection", help="征缴：缴费数据。")
def collection_group() -> None:
    pass


@collection_group.command("import", help="导入税务部门的缴费明细（.xlsx 或 .csv），按公民身份号码逐行核对；"
                                          "有任何一行不对时不导入任何数据并逐行列出；再次导入同一文件不会重复。")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--user", "username", required=True, help="导入人账号（乡镇、区县工作人员）：只核对其辖区")
@with_appcontext
def collection_import(path: str, username: str) -> None:
    from . import registry, sheets, state, users
    from .collection import taxfile
    account = users.find_user(_store(), username)
    if account is None or account["role"] == "enumerator":
        raise click.ClickException(f"“{username}”不是乡镇（街道）或区县工作人员的账号。")
    scope = registry.Scope(_grid().villages_of_area(account["area"]), username)
    try:
        report = taxfile.import_file(_store(), scope, state.rates(), state.payment_channels(),
                                     Path(path).name, Path(path), max_rows=None)
    except sheets.SheetError as exc:
        _fail_listing(f"{Path(path).name} 有以下问题，未导入任何数据：", exc.problems)
    for row in report.errors:
        click.echo(f"  第{row.line}行 {row.as_problem()['id']}：{row.message}", err=True)
    counts = report.counts
    click.echo(f"共 {counts['rows']} 行：新增缴费 {counts['new']}，已核对补记税票号 {counts['confirmed']}，"
               f"无变化 {counts['unchanged']}，有问题 {counts['error']}。"
               + ("" if report.applied else "有问题的行须改正，未导入任何数据。"))
    if not report.applied:
        raise SystemExit(1)


@click.group("portal", help="公众政策门户（Pelican 静态站点）。")
def portal_group() -> None:
    pass


@portal_group.command("build", help="用 Pelican 构建门户到输出目录（含已生成的村务公告）。")
@click.option("--output", type=click.Path(file_okay=False), default=None)
@click.option("--production", is_flag=True, help="用 publishconf.py（正式发布的网址）")
@with_appcontext
def portal_build(output: str | None, production: bool) -> None:
    out = portal_site.build(Path(output) if output else None, production)
    click.echo(f"门户已构建：{out}")


if __name__ == "__main__":
    main()
