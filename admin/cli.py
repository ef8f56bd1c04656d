"""The ``xfjy`` command: Flask's CLI with the project's commands. Failures exit non-zero with one line."""
from __future__ import annotations

import os
import shutil
import sys
import threading
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from peewee import DatabaseError
from waitress import create_server
from waitress import serve as waitress_serve

from db import areas, imports, ledger, matching, reminders, schema, snapshot, users
from db import attachments as stored
from db import audit_pack as packs
from db import backup as backups
from db import demo as demo_data
from db.annual import annual_report, parse_year
from db.clock import now, parse_day
from db.database import database, database_url, is_postgres, open_database
from db.errors import DataImportError, XfjyError, storage_full
from db.models import User
from db.money import format_fen, parse_fen
from db.reports import build_report
from site_builder import audit, history, shards
from site_builder import serve as site_server
from site_builder.build import build
from site_builder.publish import check_build, live_release
from site_builder.publish import publish as publish_site
from site_builder.workers import default_workers

from . import create_app, mail
from .reports import annual_workbook_bytes, default_author, workbook_bytes
from .views.workflow import render_print_form


def _create_app():
    return create_app()


class XfjyGroup(FlaskGroup):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except DataImportError as exc:
            for problem in exc.problems[:20]:
                click.echo(f"  {problem}", err=True)
            if len(exc.problems) > 20:
                click.echo(f"  ……共 {len(exc.problems)} 处问题", err=True)
            raise click.ClickException(f"导入失败，未写入任何记录：{exc}") from exc
        except XfjyError as exc:
            raise click.ClickException(str(exc)) from exc
        except (DatabaseError, OSError) as exc:
            full = storage_full(exc)
            if full is not None:
                raise click.ClickException(str(full)) from exc
            if isinstance(exc, OSError):
                raise
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise click.ClickException(f"数据库错误：{detail}") from exc


cli = XfjyGroup(create_app=_create_app, add_default_commands=False, add_version_option=False,
                help="幸福家园 村社互助工程 管理命令")


def main() -> None:
    cli.main(prog_name="xfjy")


def _connect():
    database.connect(reuse_if_open=True)


@cli.command("init-db")
@with_appcontext
def init_db() -> None:
    """创建或升级数据库结构（按迁移脚本）。"""
    _connect()
    done = schema.upgrade()
    click.echo(f"数据库已就绪（{_where()}）" + (f"，应用迁移：{', '.join(done)}" if done else "，无需迁移"))


@cli.command("load-regions")
@with_appcontext
def load_regions() -> None:
    """载入内蒙古自治区各盟市、旗县市区的区划代码、批次和试点指标（附件1）。"""
    _connect()
    _require_schema()
    count = areas.load_regions()
    click.echo(f"已载入 {count} 个区划（自治区、14 个盟市级单位及其旗县市区）和三个批次")


@cli.command("demo")
@click.option("--villages", default=200, show_default=True, type=click.IntRange(1, 700_000), help="村社数")
@click.option("--donations", default=None, type=click.IntRange(0, 50_000_000), help="捐赠笔数（默认每村 60 笔）")
@click.option("--seed", default=1, show_default=True, type=int, help="随机种子（相同种子生成相同数据）")
@with_appcontext
def demo(villages: int, donations: int | None, seed: int) -> None:
    """生成演示数据：先 140 个试点村社（附件1），再其他村社；项目覆盖各状态，含捐赠、配捐、拨付、支出和公示。"""
    _connect()
    _require_schema()
    with _progress("生成演示数据") as bar:
        stats = demo_data.generate(villages, donations, seed=seed, attachments_root=_attachments(),
                                     progress=lambda pct: bar.update(pct - bar.pos))
    click.echo("演示数据已生成：" + "，".join(f"{k} {v}" for k, v in stats.items()))


@cli.command("import-donations")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_donations(file: Path) -> None:
    """导入公益平台导出的捐赠明细（CSV 或 XLSX；表头：交易号, 项目编号, 捐赠人, 金额, 捐赠时间, 公开姓名, 留言）。"""
    _connect()
    _require_schema()
    with _progress("检查并导入") as bar:
        result = imports.import_donations(file.read_bytes(), file.name, progress=lambda done, total: bar.update(
            int(100 * done / max(total, 1)) - bar.pos))
        bar.update(100 - bar.pos)
    click.echo(result.message)


@cli.command("import-villages")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_villages(file: Path) -> None:
    """导入村社名单（CSV 或 XLSX；表头见 README：村社代码, 村社名称, 乡镇/街道代码 …）。"""
    _connect()
    _require_schema()
    click.echo(imports.import_villages(file.read_bytes(), file.name).message)


@cli.command("create-user")
@click.option("--username", required=True)
@click.option("--password", required=True)
@click.option("--role", required=True, type=click.Choice(list(users.ROLE_AREA_LEVELS)))
@click.option("--area", "area_code", required=True, help="所辖区域的区划代码，如 150121（土默特左旗）")
@click.option("--name", "display_name", default="", help="姓名")
@click.option("--email", default="", help="电子邮箱（每日待办提醒，可不填）")
@with_appcontext
def create_user(username, password, role, area_code, display_name, email) -> None:
    """创建后台用户。"""
    _connect()
    _require_schema()
    user = users.create_user(username, password, role, area_code, display_name=display_name, email=email)
    click.echo(f"已创建用户 {user.username}（{user.unit}）")


@cli.command("fund-pool")
@click.option("--area", "area_code", required=True, help="慈善总会所在区划代码，如 150121（土默特左旗）")
@click.option("--amount", required=True, help="金额（元），如 50000.00")
@click.option("--source", required=True, help="资金来源，如 本级配套资金、企业定向捐赠（某某公司）")
@click.option("--on", "on", default=None, help="到账日期 YYYY-MM-DD（默认今天）")
@with_appcontext
def fund_pool(area_code: str, amount: str, source: str, on: str | None) -> None:
    """为慈善总会的配捐/以奖代补资金池入账（写明资金来源），余额可用于配捐规则。"""
    _connect()
    _require_schema()
    day = parse_day(on, "到账日期") if on else None
    area = areas.get_area(area_code)
    entry = matching.fund_pool(area, parse_fen(amount, allow_zero=False), source, on=day)
    click.echo(f"已入账 {format_fen(entry.amount)}（分录 #{entry.id}）：{entry.memo}；"
               f"资金池余额 {format_fen(ledger.balance(ledger.pool_account(area)))}")


@cli.command("report")
@click.option("--area", "area_code", required=True, help="统计区域的区划代码，如 150000（内蒙古自治区）")
@click.option("--as-of", "as_of", required=True, help="统计截止日期 YYYY-MM-DD")
@click.option("--from", "start", default=None, help="统计期间的起始日期 YYYY-MM-DD（默认自有记录起）")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="输出的 .xlsx 文件")
@click.option("--by", default=None, help="生成人（默认当前系统用户）")
@with_appcontext
def report(area_code: str, as_of: str, start: str | None, out: Path, by: str | None) -> None:
    """统计报表：区域内各级（盟市、旗县市区、乡镇、村社）截至某日的数字，写成 XLSX。"""
    _connect()
    _require_schema()
    built = build_report(area_code, parse_day(as_of, "统计截止日期"), parse_day(start, "起始日期") if start else None)
    out.write_bytes(workbook_bytes(built, by=by or default_author()))
    click.echo(f"已生成统计报表 {out}：{built.name}，{'、'.join(f'{lv.name} {len(lv.rows)} 行' for lv in built.levels)}")



@cli.command("annual-report")
@click.option("--area", "area_code", required=True, help="区划代码或村社代码，如 150100（呼和浩特市）")
@click.option("--year", required=True, help="年度，如 2025（当年的报告截至今天）")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="输出的 .xlsx 文件")
@click.option("--by", default=None, help="生成人（默认当前系统用户）")
@with_appcontext
def annual(area_code: str, year: str, out: Path, by: str | None) -> None:
    """年度报告：一个村社或区域一个自然年度的收支、拨付、项目与公示，写成 XLSX。"""
    _connect()
    _require_schema()
    built = annual_report(area_code, parse_year(year))
    out.write_bytes(annual_workbook_bytes(built, by=by or default_author()))
    f = built.figures
    click.echo(f"已生成 {built.name} {built.year} 年度报告 {out}：年初 {format_fen(f.opening)}，"
               f"收入 {format_fen(f.income)}，支出 {format_fen(f.outflow)}，年末 {format_fen(f.closing)}")

KEY_STATES = {"included": "已包含", "present": "未包含（只记录存在）", "absent": "不存在"}


@cli.command("backup")
@click.argument("dest", type=click.Path(path_type=Path))
@click.option("--with-secret-key", is_flag=True, help="备份中包含本实例的密钥（默认只记录是否存在）")
@click.option("--keep-daily", type=click.IntRange(1), default=None, help="DEST 为目录时：保留最近几天的备份（每天最新一份）")
@click.option("--keep-monthly", type=click.IntRange(0), default=0, show_default=True,
              help="DEST 为目录时：另保留最近几个月的备份（每月最新一份）")
@with_appcontext
def backup(dest: Path, with_secret_key: bool, keep_daily: int | None, keep_monthly: int) -> None:
    """在系统运行时做一致的完整备份（一个 tar 文件）：全部数据表、被引用的全部附件和清单。

    DEST 是文件名，或已有的目录（在其中按时间命名，并可按 --keep-daily/--keep-monthly 轮换）。"""
    _connect()
    _require_schema()
    folder = dest if dest.is_dir() else None
    if keep_daily and folder is None:
        raise XfjyError("--keep-daily 需要 DEST 是已有的目录")
    target = folder / backups.archive_name(now()) if folder else dest
    made = backups.backup(target, _attachments(), secret_key=_secret_key_path(), include_secret=with_secret_key)
    tables = made.manifest["tables"]
    click.echo(f"已备份到 {made.path}（{made.size:,} 字节）：{len(tables)} 张表 {sum(t['rows'] for t in tables.values()):,} 行，"
               f"附件 {made.manifest['attachments']['count']} 个，公开历史第 {made.manifest['history']['seq']} 条，"
               f"密钥{KEY_STATES[made.manifest['secret_key']]}")
    if folder and keep_daily:
        for name in backups.to_prune(sorted(p.name for p in folder.iterdir()), keep_daily, keep_monthly):
            (folder / name).unlink()
            click.echo(f"已删除旧备份 {name}")
    if made.problems:
        for problem in made.problems:
            click.echo(f"  {problem}", err=True)
        raise XfjyError(f"备份已写出，但有 {len(made.problems)} 个附件无法备份（见上）")


@cli.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--into", "into", default=None, help="恢复到这个数据库（DATABASE_URL 形式，默认本实例的数据库）")
@click.option("--force", is_flag=True, help="目标不为空时先清空它（删除其中全部数据和附件）")
@with_appcontext
def restore(archive: Path, into: str | None, force: bool) -> None:
    """把备份恢复到空的实例（SQLite 或 PostgreSQL，可跨库），然后按清单逐项核对；有任何不符则退出码为 1。"""
    url = into or current_app.config["DATABASE_URL"]
    manifest = backups.read_manifest(archive)
    open_database(url).connect(reuse_if_open=True)
    held = backups.is_empty(_attachments())
    if held and not force:
        raise XfjyError(f"目标实例不是空的（{'；'.join(held[:3])}）：恢复到空实例，或加 --force 先清空它")
    if held:
        backups.wipe(url, _attachments())
        click.echo(f"已清空目标实例（{'；'.join(held[:3])}）")
    click.echo(f"正在恢复 {archive}（{manifest['backend']}，{manifest['created_at']} 备份，"
               f"结构 {manifest['migrations'][-1] if manifest['migrations'] else '空'}）……")
    done = backups.restore(archive, _attachments(), secret_key=_secret_key_path())
    click.echo(f"已恢复 {len(done.counts)} 张表 {sum(done.counts.values()):,} 行、附件 {done.attachments} 个；"
               f"公开历史第 {done.head[0]} 条 {done.head[1][:12]}；{done.secret_key}")
    if done.problems:
        for problem in done.problems[:50]:
            click.echo(f"  {problem}", err=True)
        raise XfjyError(f"恢复后的核对发现 {len(done.problems)} 处不符（见上）")
    click.echo("核对通过：各表行数、附件 SHA-256、账目自检和公开历史末条都与备份清单一致")


@cli.command("clean-attachments")
@click.option("--older-than", "minutes", type=click.IntRange(0), default=60, show_default=True,
              help="只删除这么多分钟以前写入的文件（正在上传的文件不会被删）")
@with_appcontext
def clean_attachments(minutes: int) -> None:
    """删除附件目录里没有任何记录引用的文件（上传或导入中断时留下的）。"""
    _connect()
    _require_schema()
    removed = stored.sweep(_attachments(), grace=timedelta(minutes=minutes))
    click.echo(f"已删除 {len(removed)} 个无人引用的附件文件" if removed else "没有无人引用的附件文件")


@cli.command("audit-pack")
@click.argument("project_code")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="输出的 zip 文件")
@click.option("--as-of", "as_of", default=None, help="截至日期 YYYY-MM-DD（默认今天）")
@with_appcontext
def audit_pack(project_code: str, out: Path, as_of: str | None) -> None:
    """生成一个项目的审计包（zip）：申报表、审核、捐赠、台账及公开历史、支出票据、公示、评估和核验程序。"""
    _connect()
    _require_schema()
    day = parse_day(as_of, "截至日期") if as_of else None
    pack = packs.build(packs.find_project(project_code), _attachments(), render_form=render_print_form, as_of=day)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".part")
    partial.write_bytes(pack.data)
    os.replace(partial, out)
    click.echo(f"已生成审计包 {out}（{len(pack.data):,} 字节，{pack.files} 个文件，分录 {pack.entries} 条，"
               f"票据/附件 {pack.receipts} 个）；解压后运行 python3 {pack.folder}/verify.py 核验")


@cli.command("verify", with_appcontext=False)
@click.argument("old", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("new", type=click.Path(exists=True, file_okay=False, path_type=Path))
def verify(old: Path, new: Path) -> None:
    """核验新版公示网站的公开历史是否完整延续旧版（OLD、NEW 为两份下载的网站目录）。"""
    try:
        problems = history.verify(old, new)
    except (OSError, ValueError, KeyError) as exc:
        raise click.ClickException(f"无法读取公开历史（data/history/、data/heads.json）：{exc}") from exc
    if problems:
        for problem in problems:
            click.echo(f"不一致：{problem}", err=True)
        raise SystemExit(1)
    old_links, new_links = history.read(old)[0], history.read(new)[0]
    added = len(new_links) - len(old_links)
    click.echo(f"核验通过：新版完整保留了旧版的 {len(old_links)} 条记录，并在其后新增 {added} 条；"
               f"最新哈希 {new_links[-1].hash if new_links else '（空）'}")


@cli.command("audit-site", with_appcontext=False)
@click.argument("site", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--workers", default=None, type=click.IntRange(1, 64), help="并行进程数（默认按 CPU 核数，最多 4）")
def audit_site(site: Path, workers: int | None) -> None:
    """只读已发布的网站（页面和开放数据），核对每个村社页面上的金额、结转说明和公示日历；有不符之处时列出并以 1 退出。"""
    found = audit.audit_site(site, workers=workers or min(os.cpu_count() or 1, 4))
    for mismatch in found[:200]:
        click.echo(str(mismatch))
    pages = len(list((site / "village").glob("*/index.html"))) if (site / "village").exists() else 0
    if found:
        raise click.ClickException(f"核对了 {pages} 个村社页面，发现 {len(found)} 处与公开数据不符")
    click.echo(f"核对了 {pages} 个村社页面，全部与公开数据相符")


@cli.command("build-site")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path), help="输出目录（会被清空）")
@click.option("--base-url", default=None, help="网站的公开地址，用于海报二维码（默认取配置 SITE_URL）")
@click.option("--workers", default=None, type=click.IntRange(1, 64), help="并行进程数（默认按 CPU 核数，最多 4）")
@click.option("--area", "area", default=None, help="只生成这个省级或盟市级单位的网站（区划代码，默认内蒙古自治区）")
@with_appcontext
def build_site(out: Path, base_url: str | None, workers: int | None, area: str | None) -> None:
    """只生成公示网站到指定目录（不替换正在发布的网站），并与发布一样检查链接、核对公开数据。"""
    _connect()
    _require_schema()
    base_url, workers = base_url or current_app.config["SITE_URL"], workers or default_workers()
    result = build(out, base_url=base_url, attachments=_attachments(), workers=workers, area=area,
                   sealed_from=live_release(Path(current_app.config["SITE_DIR"])))  # as publish --full does
    try:
        check_build(out.resolve(), result, base_url, workers)  # and checked as a publish is
    except XfjyError:
        shutil.rmtree(out, ignore_errors=True)
        raise
    click.echo(f"公示网站已生成到 {out}：页面 {result.pages}，数据与附件文件 {result.files}，用时 {result.seconds:.1f} 秒")


@cli.command("publish")
@click.option("--wait", is_flag=True, help="已有发布在进行时等待它结束，而不是退出")
@click.option("--base-url", default=None, help="网站的公开地址（默认取配置 SITE_URL）")
@click.option("--workers", default=None, type=click.IntRange(1, 64), help="并行进程数（默认按 CPU 核数，最多 4）")
@click.option("--full", is_flag=True, help="全部重新生成（默认只重新生成数据有变化的村社）")
@click.option("--area", "area", default=None, help="只发布这个省级或盟市级单位的网站（区划代码，默认内蒙古自治区）")
@click.option("--requested-by", default="", hidden=True)
@with_appcontext
def publish(wait: bool, base_url: str | None, workers: int | None, full: bool, area: str | None,
            requested_by: str) -> None:
    """生成公示网站并原子替换正在发布的版本；失败时保留上一版。每晚由定时任务运行。"""
    _connect()
    _require_schema()
    site = Path(current_app.config["SITE_DIR"])
    with _progress("生成并发布") as bar:
        run = publish_site(site, base_url=base_url or current_app.config["SITE_URL"], attachments=_attachments(),
                           wait=wait, requested_by=requested_by or "命令行", workers=workers or default_workers(),
                           full=full, area=area, progress=lambda pct: bar.update(max(0, pct - bar.pos)))
    click.echo(f"公示网站已发布到 {site}：页面 {run.pages}，数据与附件文件 {run.files}，用时 {run.seconds:.1f} 秒")


@cli.command("publish-shards")
@click.option("--area", "codes", multiple=True, required=True, help="一个分片：省级或盟市级单位的区划代码（可重复）")
@click.option("--redis", "redis_url", default=lambda: os.environ.get("XFJY_REDIS_URL", "redis://127.0.0.1:6379/0"),
              show_default="XFJY_REDIS_URL 或 redis://127.0.0.1:6379/0", help="任务队列（RQ）所用的 Redis")
@click.option("--queue", "queue_name", default=shards.QUEUE, show_default=True, help="队列名")
@click.option("--replica", default=None, help="分片任务读取的数据库（只读副本的 URL；默认与本命令相同）")
@click.option("--root", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="各分片的发布目录（默认 实例目录/shards）")
@click.option("--base-url", default=None, help="合并后网站的公开地址（默认取配置 SITE_URL）；分片在其下的 <区划代码>/")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="每个分片任务的并行进程数")
@click.option("--full", is_flag=True, help="各分片全部重新生成")
@click.option("--timeout", default=3 * 3600, show_default=True, type=int, help="等待全部分片完成的秒数")
@with_appcontext
def publish_shards(codes, redis_url: str, queue_name: str, replica: str | None, root: Path | None,
                   base_url: str | None, workers: int, full: bool, timeout: int) -> None:
    """把各分片的生成放入任务队列（由各机器上的 xfjy shard-worker 执行），完成后合并为一个网站（实例目录/shards/site）。"""
    _connect()
    _require_schema()
    root = (root or Path(current_app.instance_path) / "shards").absolute()
    base = (base_url or current_app.config["SITE_URL"]).rstrip("/") + "/"
    for code in codes:
        areas.get_area(code)
    snapshot.prepare()  # the writes of a publish, once, on the primary: the jobs only read
    jobs = [shards.ShardJob(code, str(root), f"{base}{code}/", replica or database_url(), str(_attachments()), workers, full)
            for code in codes]
    try:
        done = shards.wait(shards.enqueue(jobs, redis_url, queue_name), timeout)
    except shards.ShardFailed as exc:
        raise click.ClickException(str(exc)) from exc
    for figures in done:
        click.echo(f"分片 {figures['area']}：页面 {figures['pages']}，重新生成村社 {figures['rendered']}，"
                   f"{figures['bytes'] / 2**20:,.0f} MB，"
                   f"用时 {figures['seconds']:.1f} 秒，内存峰值 {figures['max_rss_mb']:,.0f} MB")
    site = root / "site"
    release = shards.assemble(site, {f["area"]: Path(f["release"]) for f in done})
    click.echo(f"已合并为一个网站：{site} → {release.name}")


@cli.command("shard-worker")
@click.option("--redis", "redis_url", default=lambda: os.environ.get("XFJY_REDIS_URL", "redis://127.0.0.1:6379/0"),
              show_default="XFJY_REDIS_URL 或 redis://127.0.0.1:6379/0")
@click.option("--queue", "queue_name", default=shards.QUEUE, show_default=True, help="队列名")
@click.option("--burst", is_flag=True, help="队列空了就退出")
def shard_worker(redis_url: str, queue_name: str, burst: bool) -> None:
    """在本机执行公示网站分片任务（与 rq worker xfjy-shards 相同）。"""
    shards.work(redis_url, queue_name, burst=burst)


@cli.command("remind")
@click.option("--dry-run", is_flag=True, help="只打印每人的待办提醒，不发送（不需要邮件服务器）")
@click.option("--on", "on", default=None, help="按这一天计算待办 YYYY-MM-DD（默认今天）")
@with_appcontext
def remind(dry_run: bool, on: str | None) -> None:
    """给每位有待办的用户发送当天的待办提醒邮件（审核、待拨付、7 天内须公示和已逾期的公示）；每晚发布后运行。"""
    config = mail.MailConfig.from_app(current_app.config)
    if config is None and not dry_run:
        click.echo("未配置 MAIL_SERVER，未发送提醒")
        return
    _connect()
    _require_schema()
    day = parse_day(on, "日期") if on else None
    links = mail.Links(current_app._get_current_object())
    people = User.select().where(User.active == True).order_by(User.id)  # noqa: E712
    digests = ((reminders.digest_for(user, day), mail.user_address(user)) for user in people)
    if dry_run:
        shown = 0
        for digest, address in digests:
            if not digest.empty:
                click.echo(mail.preview(digest, address, links) + "-" * 40)
                shown += 1
        click.echo(f"试运行：{shown} 人有待办，未发送邮件")
        return
    outcome = mail.send_digests(digests, config, links, echo=lambda line: click.echo(line, err=True))
    skipped = outcome.no_address + outcome.nothing
    click.echo(f"待办提醒：已发送 {outcome.sent} 封，失败 {len(outcome.failed)} 封；"
               f"跳过 {skipped} 人（无邮箱地址 {outcome.no_address} 人，无待办 {outcome.nothing} 人）")
    if outcome.failed:
        raise SystemExit(1)


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--site-port", default=8000, show_default=True, type=int, help="公示网站的端口（0 表示不启动）")
@click.option("--threads", default=8, show_default=True, type=int)
@with_appcontext
def serve(host: str, port: int, site_port: int, threads: int) -> None:
    """用 waitress 启动工作后台和公示网站（生产可用的 WSGI 服务器）。未设置 XFJY_SITE_URL 时，网站地址取本机所启动的公示网站。"""
    _connect()
    app = current_app._get_current_object()
    if site_port:
        if not os.environ.get("XFJY_SITE_URL"):  # the dashboard's link and 立即发布's QR codes follow the port
            app.config["SITE_URL"] = _served_site_url(host, site_port)
        server = create_server(site_server.site_app(app.config["SITE_DIR"]), host=host, port=site_port, threads=4)
        threading.Thread(target=server.run, name="public-site", daemon=True).start()
        click.echo(f"公示网站：http://{host}:{site_port}/")
    click.echo(f"工作后台：http://{host}:{port}/")
    demo_users = list(User.select().where(User.username.startswith("demo-")).order_by(User.id))
    if demo_users:
        click.echo(f"演示账号（密码均为 {demo_data.DEMO_PASSWORD}）：")
        for user in demo_users:
            click.echo(f"  {user.username:<18} {user.unit}")
    database.close()
    waitress_serve(app, host=host, port=port, threads=threads)


def _served_site_url(host: str, port: int) -> str:
    """The address of the site ``serve`` starts, as a browser on this machine reaches it."""
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


@contextmanager
def _progress(label: str):
    """A percentage bar on a terminal's stderr; silent when output goes to a file or a pipe."""
    if sys.stderr.isatty():
        with click.progressbar(length=100, label=label, file=sys.stderr) as bar:
            yield bar
    else:
        with open(os.devnull, "w") as sink, click.progressbar(length=100, label=label, file=sink) as bar:
            yield bar


def _where() -> str:
    url = current_app.config["DATABASE_URL"]
    return url.split("@")[-1] if is_postgres() else url.replace("sqlite:///", "")


def _attachments() -> Path:
    return Path(current_app.config["ATTACHMENTS_DIR"])


def _secret_key_path() -> Path:
    return Path(current_app.instance_path) / "secret_key"


def _require_schema() -> None:

    if schema.pending():
        raise XfjyError("数据库结构不是最新，请先运行 xfjy init-db")


if __name__ == "__main__":
    main()
