"""Hostile roster files (OWASP ASVS V12.1): zip bombs, sheets that lie about their size, files far
past the row limit.  Each is refused quickly, in Chinese, with bounded memory; a roster upload is
read by a background job, never by the request, and a refused file changes nothing."""

from __future__ import annotations

import io
import itertools
import random
import stat
import struct
import threading
import time
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from conftest import VILLAGE_A, VILLAGE_B, Auth, csrf_from
from helpers import new_id_number
from test_roster import HEADER, follow_job, upload, xlsx

from survey_app import jobs, roster, roster_jobs, sheets
from survey_app.sheets import SheetError
from survey_app.store import Store

NS = "http://schemas.openxmlformats.org"
MAIN = f"{NS}/spreadsheetml/2006/main"
REL = f"{NS}/officeDocument/2006/relationships"


# -- workbooks written part by part, the sheet streamed ---------------------------------------
def workbook(sheet_chunks: Iterable[bytes], strings: list[str] | None = None, level: int = 6) -> bytes:
    """An .xlsx as Excel lays it out, its sheet written from ``sheet_chunks`` as they come (a
    bomb of hundreds of MB never exists whole in memory); ``strings``: a shared-strings table."""
    sst = strings is not None
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as book:
        book.writestr("[Content_Types].xml", (
            f'<Types xmlns="{NS}/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            + ('<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
               'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>' if sst else "")
            + "</Types>"))
        book.writestr("_rels/.rels", f'<Relationships xmlns="{NS}/package/2006/relationships">'
                      f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/>'
                      "</Relationships>")
        book.writestr("xl/workbook.xml", f'<workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>'
                      '<sheet name="名单" sheetId="1" r:id="rId1"/></sheets></workbook>')
        book.writestr("xl/_rels/workbook.xml.rels", f'<Relationships xmlns="{NS}/package/2006/relationships">'
                      f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
                      + (f'<Relationship Id="rId2" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
                         if sst else "") + "</Relationships>")
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            for chunk in sheet_chunks:
                part.write(chunk)
        if sst:
            book.writestr("xl/sharedStrings.xml", f'<sst xmlns="{MAIN}">'
                          + "".join(f"<si><t>{escape(s)}</t></si>" for s in strings) + "</sst>")
    return out.getvalue()


def sheet(rows: Iterable[bytes], before: str = "", doctype: str = "") -> Iterator[bytes]:
    yield f'<?xml version="1.0"?>{doctype}<worksheet xmlns="{MAIN}">{before}<sheetData>'.encode()
    yield from rows
    yield b"</sheetData></worksheet>"


def row(values: Iterable[object], number: int | None = None) -> bytes:
    r = f' r="{number}"' if number is not None else ""
    return (f"<row{r}>" + "".join(f'<c t="inlineStr"><is><t>{escape(str(v))}</t></is></c>' for v in values)
            + "</row>").encode()


def person(n: int) -> list[str]:
    return [str(n), "张三", f"临山村{n}号", "张三", f"37040319900101{n % 10000:04d}", "户主", ""]


def bomb(megabytes: int) -> bytes:
    """A roster whose sheet is ``megabytes`` of one row repeated: ~230 : 1 when packed."""
    one = row(person(1))
    chunk = one * (2**20 // len(one))
    return workbook(sheet(itertools.chain([row(HEADER)], (chunk for _ in range(megabytes)))))


def _status_mb(key: str) -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(key)) / 1024


@contextmanager
def bounded(seconds: float, megabytes: float) -> Iterator[dict[str, float]]:
    """Time and memory of the block: how far the process's peak RSS rose above its RSS at the
    start (the peak is reset first through /proc/self/clear_refs), C allocations included."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # VmHWM := VmRSS
    base = _status_mb("VmRSS")
    started = time.monotonic()
    measured: dict[str, float] = {}
    try:
        yield measured
    finally:
        measured["seconds"] = round(time.monotonic() - started, 2)
        measured["peak_growth_mb"] = round(_status_mb("VmHWM") - base, 1)
    assert measured["seconds"] < seconds, measured
    assert measured["peak_growth_mb"] < megabytes, measured


def refused(content: bytes, filename: str = "名单.xlsx", **limits) -> str:
    with pytest.raises(SheetError) as caught:
        sheets.read_rows(filename, content, **limits)
    return "\n".join(caught.value.problems)


def data_state(store: Store) -> dict[str, bytes]:
    """Every shard but the jobs' (a refused upload leaves its job's record, saying why)."""
    return {name: state for name, state in store.fingerprints().items() if name != Store.JOBS}


# -- the reader --------------------------------------------------------------------------------
def test_a_zip_bomb_is_refused_from_its_directory_at_once():
    content = bomb(300)  # 300 MB of sheet in ~1.4 MB, like the 1.9 MB file that held a thread 198 s
    assert len(content) < 2 * 2**20
    with bounded(seconds=2, megabytes=20):
        message = refused(content)
    assert "解压后有 299 MB（最多 200 MB）" in message and "未读取" in message


def test_a_smaller_bomb_is_refused_by_its_compression_ratio():
    content = bomb(150)  # under the size limit, but no real sheet packs 230 : 1
    with bounded(seconds=2, megabytes=20):
        message = refused(content)
    assert "压缩时的" in message and "压缩炸弹" in message


def test_too_many_parts_are_refused_from_the_end_record_before_zipfile_reads_the_directory():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        for n in range(1200):
            archive.writestr(f"xl/media/{n}.bin", b"")
    assert "有 1201 个组成部分" in refused(out.getvalue())
    # an end record claiming a directory larger than any workbook's is not believed either
    small = bytearray(xlsx([person(1)]))
    at = small.rfind(b"PK\x05\x06")
    small[at + 12:at + 16] = struct.pack("<L", 50 * 2**20)
    assert "的目录有 51200 KB" in refused(bytes(small))


def test_a_sheet_claiming_every_column_is_read_as_wide_as_its_header():
    """<dimension ref="A1:XFD1048576"/> made every row a tuple of 16,384 cells."""
    rows = [row(HEADER)] + [row(person(n)) for n in range(1, 5001)]
    content = workbook(sheet(rows, before='<dimension ref="A1:XFD1048576"/>'))
    with bounded(seconds=10, megabytes=60):
        read = sheets.read_rows("名单.xlsx", content)
    assert len(read) == 5000 and list(read[0]) == HEADER


@pytest.mark.parametrize(("shape", "message"), [
    ("giant_row", "的一行或一个部分有"),
    ("far_row", "的工作表超过 1048576 行"),
    ("not_a_row", "含有不是行的内容"),
    ("doctype", "DOCTYPE"),
    ("wide_header", "表头超过 256 列"),
])
def test_sheets_shaped_to_fill_memory_are_refused_before_openpyxl_builds_them(shape, message):
    noise = random.Random(1)
    rows = [row(HEADER), row(person(1))]
    doctype = ""
    if shape == "giant_row":  # 1.3 MB of numbers in one row: ~40 MB once openpyxl has parsed it
        rows.append(b"<row>" + b"".join(b"<c><v>%d</v></c>" % noise.randrange(10**9)
                                        for _ in range(70_000)) + b"</row>")
    elif shape == "far_row":  # openpyxl fills the gap up to it with empty rows
        rows.append(row(person(2), number=2_000_000))
    elif shape == "not_a_row":  # kept whole by openpyxl, never freed
        rows.append(b"<kept>" + b"<x/>" * 1000 + b"</kept>")
    elif shape == "doctype":
        doctype = '<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">]>'
    elif shape == "wide_header":
        rows[0] = row([*HEADER, *(f"列{n}" for n in range(300))])
    with bounded(seconds=5, megabytes=60):
        assert message in refused(workbook(sheet(rows, doctype=doctype)))


def test_shared_strings_are_read_and_their_number_is_bounded(monkeypatch):
    strings = [*HEADER, "1", "王芳", "临山村1号", "370403199001011234", "户主"]
    cells = "".join(f'<c t="s"><v>{n}</v></c>' for n in range(7))
    data = "".join(f'<c t="s"><v>{n}</v></c>' for n in (7, 8, 9, 8, 10, 11))
    content = workbook(sheet([f"<row>{cells}</row>".encode(), f"<row>{data}</row>".encode()]), strings)
    assert sheets.read_rows("名单.xlsx", content) == [{
        "户编号": "1", "户主姓名": "王芳", "门牌地址": "临山村1号", "姓名": "王芳",
        "公民身份号码": "370403199001011234", "与户主关系": "户主", "联系电话": ""}]
    monkeypatch.setattr(sheets, "MAX_SHARED_STRINGS", 10)
    assert "有超过 10 个不同的文字" in refused(content)


def test_rows_past_the_limit_stop_the_reading_there():
    """All 60,000 rows take ~14 s to read; past a limit of 2,000 reading stops, ~1.5 s in all
    (most of it the check of the sheet's shape, one pass of expat that builds nothing)."""
    rows = (row(person(n)) for n in range(1, 60_001))
    content = workbook(sheet(itertools.chain([row(HEADER)], rows), before='<dimension ref="A1:G60001"/>'),
                       level=1)
    delivered = 0
    with bounded(seconds=8, megabytes=60), pytest.raises(SheetError) as caught:
        for _row in sheets.iter_rows("名单.xlsx", content, max_rows=2000):
            delivered += 1
    assert delivered == 2000 and caught.value.problems == ["一次最多导入 2000 行，请按村拆分文件"]


def test_a_csv_is_decoded_as_it_is_read_and_stops_at_the_limit_too():
    lines = [",".join(HEADER)] + [",".join(person(n)) for n in range(1, 300_001)]
    content = ("\r\n".join(lines) + "\r\n").encode("gb18030")
    delivered = 0
    with bounded(seconds=5, megabytes=30), pytest.raises(SheetError) as caught:
        for _row in sheets.iter_rows("名单.csv", content, max_rows=20_000):
            delivered += 1
    assert delivered == 20_000 and "一次最多导入 20000 行" in caught.value.problems[0]
    assert "超过 65536 个字符" in refused(b"a" * 100_000, "名单.csv")
    assert "超过 1048576 行" in refused(b",".join(h.encode() for h in HEADER) + b"\n" * 1_100_000, "名单.csv")


# -- the upload, as a background job -------------------------------------------------------------
def test_a_bomb_uploaded_through_the_browser_is_refused_on_its_job_page_and_changes_nothing(
        auth, client, store, data_dir):
    auth.login("township")
    before = data_state(store)
    with bounded(seconds=10, megabytes=100):
        response = upload(client, VILLAGE_A, "名单.xlsx", bomb(300))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "文件有 1 处问题，未导入任何数据" in page and "解压后有 299 MB" in page
    assert data_state(store) == before
    assert list((data_dir / "uploads").iterdir()) == []  # the upload is gone with its job


def test_an_upload_is_a_job_that_loads_as_the_uploader(auth, client, store):
    auth.login("township")
    number = new_id_number(1975)
    page = client.get(f"/s/v/{VILLAGE_A}/roster").get_data(as_text=True)
    sent = client.post(f"/s/v/{VILLAGE_A}/roster", content_type="multipart/form-data", data={
        "csrf_token": csrf_from(page),
        "file": (io.BytesIO(xlsx([[1, "赵刚", "临山村5组2号", "赵刚", number, "户主", ""]])), "名单.xlsx")})
    assert sent.status_code == 302 and f"/s/v/{VILLAGE_A}/roster/" in sent.headers["Location"]
    done = follow_job(client, sent.headers["Location"])
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/s/v/{VILLAGE_A}")
    assert "新增 1 户 1 人" in client.get(f"/s/v/{VILLAGE_A}").get_data(as_text=True)
    audit = [a for a in store.read(Store.village(VILLAGE_A)).all("audit") if a["action"] == "import_roster"]
    assert audit[-1]["user"] == "township"
    assert "（已导入）" in client.get(f"/s/v/{VILLAGE_A}/roster").get_data(as_text=True)


def test_the_job_page_refreshes_while_the_file_is_read_and_is_the_uploaders_own(
        app, auth, client, store, data_dir, monkeypatch):
    release = threading.Event()
    real_import = roster.import_file

    def held(*args, **kwargs):
        assert release.wait(30)
        return real_import(*args, **kwargs)
    monkeypatch.setattr(roster, "import_file", held)
    monkeypatch.setattr(roster_jobs, "QUICK_SECONDS", 0)
    auth.login("township")
    page = client.get(f"/s/v/{VILLAGE_A}/roster").get_data(as_text=True)
    content = xlsx([[2, "钱进", "临山村5组3号", "钱进", new_id_number(1976), "户主", ""]])
    sent = client.post(f"/s/v/{VILLAGE_A}/roster", content_type="multipart/form-data",
                       data={"csrf_token": csrf_from(page), "file": (io.BytesIO(content), "名单.xlsx")})
    location = sent.headers["Location"]
    try:
        running = client.get(location)
        assert running.status_code == 202 and running.headers["Refresh"] == "2"
        assert "名单.xlsx" in running.get_data(as_text=True)
        # the upload waits in a private file of the data folder
        folder = data_dir / "uploads"
        [saved] = list(folder.iterdir())
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700 and stat.S_IMODE(saved.stat().st_mode) == 0o600
        assert saved.read_bytes() == content
        # one file at a time per user
        again = upload(client, VILLAGE_A, "名单.xlsx", content)
        assert again.status_code == 422 and "上一份名单还在导入" in again.get_data(as_text=True)
        other = app.test_client()
        Auth(other).login("admin")  # covers the village, but did not upload the file
        assert other.get(location).status_code == 404
        assert other.get(location.replace(VILLAGE_A, VILLAGE_B)).status_code == 404
    finally:
        release.set()
    assert follow_job(client, location).status_code == 302
    assert list((data_dir / "uploads").iterdir()) == []


def test_a_job_whose_process_died_reads_as_failed(auth, client, store, monkeypatch):
    auth.login("township")
    job = jobs.start(store, village=VILLAGE_A, user="township", kind="roster", filename="名单.xlsx",
                     stage="reading", rows=4000)
    assert client.get(f"/s/v/{VILLAGE_A}/roster/{job}").status_code == 202
    later = time.time() + jobs.SILENT_SECONDS + 1
    monkeypatch.setattr(jobs.time, "time", lambda: later)
    failed = client.get(f"/s/v/{VILLAGE_A}/roster/{job}")
    assert failed.status_code == 500 and "导入进程意外中止" in failed.get_data(as_text=True)
    assert jobs.visible(store, {VILLAGE_A}) == []  # the print room lists print jobs only


def test_rows_of_another_village_are_not_loaded_through_this_villages_page(auth, client, store):
    auth.login("township")
    before = data_state(store)
    header = ["村（社区）代码", *HEADER]
    response = upload(client, VILLAGE_A, "名单.xlsx", xlsx([[VILLAGE_B, *person(3)[:4], new_id_number(1980),
                                                              "户主", ""]], header))
    assert response.status_code == 422
    assert f"村（社区）代码 {VILLAGE_B} 不是本村" in response.get_data(as_text=True)
    assert data_state(store) == before


def test_the_command_line_uses_the_same_bounded_reader(app, tmp_path, store):
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(bomb(300))
    before = data_state(store)
    started = time.monotonic()
    result = app.test_cli_runner().invoke(args=["roster", "import", str(path), "--village", VILLAGE_A])
    assert result.exit_code == 1 and "解压后有 299 MB" in result.output
    assert time.monotonic() - started < 5 and data_state(store) == before


def test_files_read_from_disk_and_from_memory_alike(tmp_path):
    content = xlsx([person(1), person(2)])
    path = tmp_path / "x.upload"
    path.write_bytes(content)
    assert sheets.read_rows("名单.xlsx", Path(path)) == sheets.read_rows("名单.xlsx", content)
