"""信息比对 (seed 002, phase 3): the police household-registration extract against the insured lists.

The extract (户籍) says who lives in each village; the insured lists (参保名单,
one per scheme) say who is insured.  Each person of the extract is then
已参保确认 (insured under the same name, data complete: no visit needed),
需核实 (name differs, data incomplete, ID number unreadable), or 未参保 (in no
list); people only in an insured list are 需核实 too.  The 需核实 and 未参保
people of the extract become the villages' visit lists (comparison_report).

Files are read with sheets.iter_rows, one at a time and row by row, and reduced at once to
what the comparison needs: a county's files are never all in memory together.
A problem with a whole file stops everything; a problem with one row is
listed by row number and the rest is compared.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from . import formdef, idcard, sheets, textnorm
from .grid import Grid
from .i18n import _, lazy

MAX_ROWS = 300_000   # rows per file: a county's extract
MAX_LISTED = 500     # problems kept and shown per kind (all are counted)
COUNT_KEYS = ("confirmed", "name_differs", "incomplete", "invalid_id", "insured_only", "uninsured")
VERIFY_KEYS = ("name_differs", "incomplete", "invalid_id", "insured_only")
PROBLEM_KINDS = ("place", "duplicate", "invalid", "incomplete")
SCHEMES = {  # the form's file inputs; "mixed": each row's 险种 column says
    "resident_pension": lazy("城乡居民养老保险"), "resident_medical": lazy("城乡居民医疗保险"),
    "employee_pension": lazy("职工养老保险"), "employee_medical": lazy("职工医疗保险"),
    "mixed": lazy("多险种（按文件中的“险种”列）"),
}
VILLAGE_CODE = ("村（社区）代码", "村代码", "社区代码", "村（居）委会代码")
VILLAGE_NAME = ("村（社区）名称", "村（社区）", "村名称", "社区名称", "村（居）委会", "村（居）委会名称")
HUKOU_COLUMNS = {
    "village": VILLAGE_CODE, "village_name": VILLAGE_NAME, "house": ("户号", "户编号"),
    "head_name": ("户主姓名",), "address": ("门牌地址", "住址", "地址", "户籍地址"),
    "name": ("姓名",), "id_number": ("公民身份号码",), "relationship": ("与户主关系",),
    "phone": ("联系电话", "手机号码", "电话"),
}
INSURED_COLUMNS = {"name": ("姓名",), "id_number": ("公民身份号码",), "scheme": ("险种", "险种名称"),
                   "village": VILLAGE_CODE, "village_name": VILLAGE_NAME}
# What read_rows checks for numbers stored as numbers is the column 公民身份号码: other
# spellings of it are refused with the fix, never read with their last digits lost.
ID_SPELLINGS = ("身份证号码", "身份证号", "公民身份证号码", "身份号码", "证件号码")
COMPLETE = {"house": "户号", "name": "姓名", "address": "门牌地址", "relationship": "与户主关系"}
RELATIONSHIP_WORDS = {
    "head": ("本人", "户主本人"), "spouse": ("妻", "夫", "妻子", "丈夫"),
    "child": ("子", "女", "儿子", "女儿", "长子", "次子", "三子", "长女", "次女", "三女", "独生子",
              "独生女", "养子", "养女", "继子", "继女"),
    "parent": ("父亲", "母亲", "父", "母"),
    "grandchild": ("孙子", "孙女", "外孙子", "外孙女", "外孙"),
    "grandparent": ("祖父", "祖母", "外祖父", "外祖母"),
    "sibling": ("兄", "弟", "姐", "妹", "哥哥", "弟弟", "姐姐", "妹妹"),
    "child_in_law": ("儿媳", "女婿"),
}


class ComparisonError(ValueError):
    """A file cannot be compared at all; ``problems`` lists why, in Chinese.  Nothing was kept."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class Upload:
    """One uploaded file; ``read`` gives its bytes when it is its turn (one file in memory at a time)."""

    filename: str
    read: Callable[[], bytes]
    scheme: str = ""  # a key of SCHEMES (insured lists only)


@dataclass
class Outcome:
    counts: dict[str, dict[str, int]]            # village code ("" = no village known) → COUNT_KEYS
    problems: dict[str, dict[str, Any]]          # kind → {"count", "items": [[file, line, text]]}
    files: list[dict[str, Any]]
    houses: dict[str, dict[str, dict[str, Any]]]  # village → 户号 → house to visit
    notes: dict[str, int] = field(default_factory=dict)
    listed: dict[tuple[str, str], int] = field(default_factory=dict)

    def problem(self, kind: str, file: str, line: int, text: str) -> None:
        """Every problem is counted; the first MAX_LISTED of each kind in each file are listed."""
        entry = self.problems.setdefault(kind, {"count": 0, "items": []})
        entry["count"] += 1
        if self.listed.get((kind, file), 0) < MAX_LISTED:
            self.listed[(kind, file)] = self.listed.get((kind, file), 0) + 1
            entry["items"].append([file, line, text])


def verify(counts: dict[str, int]) -> int:
    return sum(counts.get(k, 0) for k in VERIFY_KEYS)


def hukou_total(counts: dict[str, int]) -> int:
    return sum(counts.get(k, 0) for k in COUNT_KEYS if k != "insured_only")


# -- headers and places ---------------------------------------------------------------
def _fold(value: str | None) -> str:
    """textnorm.fold_text, skipped for plain ASCII (codes, numbers): a county's file has millions of cells."""
    if not value:
        return ""
    return value.strip() if value.isascii() else textnorm.fold_text(value)


@lru_cache(maxsize=65536)
def _name(raw: str) -> tuple[str, Any]:
    """The folded name and what is wrong with it ("" if nothing); names repeat, so remembered."""
    name = textnorm.person_name(raw)
    if not name:
        return "", ""
    try:
        formdef.CONSTRAINTS["person_name"](name)
    except formdef.FieldError as exc:
        return name, exc.args[0]  # made text where it is shown, in the reader's language
    return name, ""


def _header_key(text: str) -> str:
    return textnorm.fold_text(text).replace(" ", "").replace("(", "（").replace(")", "）")


def _columns(label: str, header: Iterable[str], columns: dict[str, tuple[str, ...]],
             required: Iterable[str]) -> dict[str, str]:
    """Which header names which column; ComparisonError naming every missing one."""
    present = {_header_key(h): h for h in header}
    found = {key: present[_header_key(name)] for key, names in columns.items()
             for name in reversed(names) if _header_key(name) in present}
    problems = []
    missing = [columns[key][0] for key in required if key not in found]
    if "village" in required and "village" not in found and "village_name" in found:
        missing.remove(columns["village"][0])
    if "id_number" not in found:
        renamed = next((present[_header_key(s)] for s in ID_SPELLINGS if _header_key(s) in present), None)
        if renamed:
            problems.append(_("%(f)s：请把表头“%(h)s”改为“公民身份号码”，并把该列设为“文本”格式",
                              f=label, h=renamed))
            missing.remove("公民身份号码")
    if missing:
        names = "、".join(n if n != VILLAGE_CODE[0] else f"{VILLAGE_CODE[0]}或{VILLAGE_NAME[0]}"
                         for n in missing)
        problems.append(_("%(f)s：缺少列：%(c)s（第一行应为表头）", f=label, c=names))
    if problems:
        raise ComparisonError(problems)
    return found


class Places:
    """The villages a user may compare, by code and by (unique) name."""

    def __init__(self, grid: Grid, villages: Iterable[str]):
        self.codes = frozenset(villages)
        self.by_name: dict[str, list[str]] = {}
        self.memo: dict[tuple[str, str], tuple[str | None, str | None]] = {}  # a few values, many rows
        for code in sorted(self.codes):
            unit = grid.get(code)
            if unit:
                self.by_name.setdefault(textnorm.fold_text(unit["name"]), []).append(code)

    def resolve(self, code: str, name: str) -> tuple[str | None, str | None]:
        """(village, None), or (None, why the row cannot be placed)."""
        if (code, name) not in self.memo:
            self.memo[(code, name)] = self._resolve(code, name)
        return self.memo[(code, name)]

    def _resolve(self, code: str, name: str) -> tuple[str | None, str | None]:
        code, name = textnorm.fold_code(code), textnorm.fold_text(name)
        if code:
            if code in self.codes:
                return code, None
            return None, _("村（社区）代码“%(c)s”不在网格中，或不在您的管辖范围内", c=code)
        if not name:
            return None, _("缺少村（社区）代码或名称")
        found = self.by_name.get(name, [])
        if len(found) == 1:
            return found[0], None
        if found:
            return None, _("村（社区）名称“%(n)s”在您的管辖范围内不止一个，请改用村（社区）代码", n=name)
        return None, _("村（社区）名称“%(n)s”不在您的管辖范围内", n=name)


def _read(label: str, upload: Upload, columns: dict[str, tuple[str, ...]],
          required: Iterable[str]) -> tuple[Iterator[dict[str, str]], dict[str, str]]:
    try:
        rows = sheets.iter_rows(upload.filename, upload.read())
        first = next(rows, None)
    except Exception as exc:
        raise _unreadable(label, exc) from None
    if first is None:
        raise ComparisonError([_("%(f)s：文件中没有数据行", f=label)])
    return _within_limit(label, first, rows), _columns(label, first.keys(), columns, required)


def _within_limit(label: str, first: dict[str, str],
                  rows: Iterator[dict[str, str]]) -> Iterator[dict[str, str]]:
    """The rows, stopping at the one past MAX_ROWS: a file is never read further than that."""
    yield first
    count = 1
    try:
        for row in rows:
            count += 1
            if count > MAX_ROWS:
                if next(rows, None) is None:
                    raise ComparisonError([_("%(f)s：有 %(n)d 行，一次最多比对 %(m)d 行；请按乡镇（街道）"
                                             "拆分文件", f=label, n=count, m=MAX_ROWS)])
                raise ComparisonError([_("%(f)s：超过 %(m)d 行，一次最多比对这么多；请按乡镇（街道）拆分文件",
                                         f=label, m=MAX_ROWS)])
            yield row
    except ComparisonError:
        raise
    except Exception as exc:
        raise _unreadable(label, exc) from None


def _unreadable(label: str, exc: Exception) -> ComparisonError:
    if isinstance(exc, sheets.SheetError):
        return ComparisonError([f"{label}：{p}" for p in exc.problems])
    # a damaged sheet, a CSV cell past csv's size limit: bad input, not a fault
    return ComparisonError([_("%(f)s：无法读取该文件（%(e)s），请用 Excel 或 WPS 另存后再上传",
                              f=label, e=type(exc).__name__)])


def _id_problem(raw: str) -> tuple[idcard.IdNumber | None, str]:
    number = idcard.normalise(raw)
    if not number:
        return None, _("缺少公民身份号码")
    if idcard.LEGACY_PATTERN.match(number):
        return None, _("15位旧号码，须与证件核对后改为18位")
    try:
        return idcard.parse(number), ""
    except idcard.IdNumberError as exc:
        return None, str(exc.args[0])


# -- the comparison -------------------------------------------------------------------
def compare(grid: Grid, villages: Iterable[str], definition: formdef.FormDefinition,
            hukou: Upload, insured: list[Upload]) -> Outcome:
    """Compare; raise ComparisonError when any file cannot be used (every such problem listed)."""
    places = Places(grid, villages)
    outcome = Outcome({code: dict.fromkeys(COUNT_KEYS, 0) for code in sorted(places.codes)}, {}, [], {})
    problems: list[str] = []
    known: dict[str, list] = {}  # ID → [name, or None when the lists disagree; village, "" or None]
    for number, upload in enumerate(insured, start=1):
        try:
            _read_insured(outcome, places, upload, number, known)
        except ComparisonError as exc:
            problems += exc.problems
    try:
        _Hukou(outcome, places, definition, known).read(hukou)
    except ComparisonError as exc:
        problems = exc.problems + problems
    if problems:
        raise ComparisonError(problems)
    hukou_label = outcome.files[0]["label"]
    for entry in outcome.problems.values():  # the extract's rows first, then each list's
        entry["items"].sort(key=lambda item: item[0] != hukou_label)
    for _name, village in known.values():  # what is left was in no row of the extract
        if village is None:
            outcome.notes["insured_outside"] = outcome.notes.get("insured_outside", 0) + 1
        else:
            outcome.counts.setdefault(village, dict.fromkeys(COUNT_KEYS, 0))["insured_only"] += 1
    return outcome


def _read_insured(outcome: Outcome, places: Places, upload: Upload, number: int,
                  known: dict[str, list]) -> None:
    label = _("参保名单%(n)d“%(f)s”", n=number, f=upload.filename)
    rows, columns = _read(label, upload, INSURED_COLUMNS, ("name", "id_number"))
    schemes: dict[str, int] = {}
    line = 1
    for row in rows:  # one at a time: each row's memory goes as it is used
        raw = {key: _fold(row.get(header)) for key, header in columns.items()}
        line += 1
        parsed, why = _id_problem(raw["id_number"])
        if parsed is None:
            outcome.problem("invalid", label, line, why)
            continue
        scheme = raw.get("scheme") or (str(SCHEMES[upload.scheme]) if upload.scheme in SCHEMES
                                       and upload.scheme != "mixed" else "")
        schemes[scheme] = schemes.get(scheme, 0) + 1
        village = ""
        if raw.get("village") or raw.get("village_name"):
            village, _why = places.resolve(raw.get("village", ""), raw.get("village_name", ""))
        name = _name(raw["name"])[0]
        entry = known.get(parsed.number)
        if entry is None:
            known[parsed.number] = [name, village]
        else:
            if entry[0] != name:
                entry[0] = None  # two lists, two names: someone has to look
            if entry[1] in ("", None) and village:
                entry[1] = village
    outcome.files.append({"role": "insured", "name": upload.filename, "rows": line - 1, "label": label,
                          "scheme": str(SCHEMES.get(upload.scheme, "")),
                          "schemes": dict(sorted(schemes.items(), key=lambda kv: -kv[1])[:8])})


class _Hukou:
    """The extract, row by row: each person counted in one class, the rest kept for the visit list."""

    def __init__(self, outcome: Outcome, places: Places, definition: formdef.FormDefinition,
                 known: dict[str, list]):
        self.outcome = outcome
        self.places = places
        self.known = known
        self.seen: dict[str, int] = {}
        self.info: dict[tuple[str, str], dict[str, str]] = {}  # each household's head, address, phone
        labels = {c.label: c.value for c in definition.field("relationship").choices}
        self.relationships = {**{w: v for v, words in RELATIONSHIP_WORDS.items() for w in words}, **labels}

    def read(self, upload: Upload) -> None:
        self.label = _("户籍文件“%(f)s”", f=upload.filename)
        required = ("village", "house", "address", "name", "id_number", "relationship")
        rows, columns = _read(self.label, upload, HUKOU_COLUMNS, required)
        line = 1
        for raw in rows:  # one at a time: each row's memory goes as it is used
            line += 1
            self.row(line, {key: _fold(raw.get(header)) for key, header in columns.items()})
        total = line - 1
        for village, houses in self.outcome.houses.items():
            for number, house in houses.items():
                house.update(self.info[(village, number)])
        self.info.clear()
        self.outcome.files.insert(0, {"role": "hukou", "name": upload.filename, "rows": total,
                                      "label": self.label})

    def row(self, line: int, row: dict[str, str]) -> None:
        village, why = self.places.resolve(row.get("village", ""), row.get("village_name", ""))
        if village is None:
            self.outcome.problem("place", self.label, line, why)
            return
        counts = self.outcome.counts[village]
        parsed, why = _id_problem(row["id_number"])
        if parsed is None:
            self.outcome.problem("invalid", self.label, line, why)
            counts["invalid_id"] += 1
            return
        if parsed.number in self.seen:
            self.outcome.problem("duplicate", self.label, line,
                                 _("公民身份号码与第%(n)d行重复，只计一次", n=self.seen[parsed.number]))
            return
        self.seen[parsed.number] = line
        name, missing = self._name_and_gaps(row)
        if missing:
            self.outcome.problem("incomplete", self.label, line, "；".join(missing))
        insured = self.known.pop(parsed.number, None)
        if insured is None:
            kind = "uninsured"
        elif insured[0] != name or not name:
            kind = "name_differs"
        else:
            kind = "incomplete" if missing else "confirmed"
        counts[kind] += 1
        house_key = (village, row.get("house") or f"无户号-第{line}行")  # data, not interface text
        relationship = self.relationships.get(row["relationship"].replace(" ", ""), "other")
        self._note_house(house_key, row, relationship == "head")
        if kind != "confirmed":
            member = {"name": name or (insured or [""])[0] or "", "id_number": parsed.number,
                      "sex": parsed.sex, "birth_date": parsed.birth_date.isoformat(),
                      "relationship": relationship}
            self._house(house_key)["members"].append(member)

    def _name_and_gaps(self, row: dict[str, str]) -> tuple[str, list[str]]:
        """The folded name, and what makes the row incomplete (phrases for the problem list)."""
        gaps = [label for key, label in COMPLETE.items() if not row.get(key)]
        missing = [_("缺少%(f)s", f="、".join(gaps))] if gaps else []
        name, wrong = _name(row.get("name", ""))
        return name, missing + [str(wrong)] if wrong else missing

    def _note_house(self, key: tuple[str, str], row: dict[str, str], head: bool) -> None:
        """A household's head name, address and phone: the head's row first, else any row's."""
        info = self.info.setdefault(key, {"head_name": "", "address": "", "phone": ""})
        found = {"head_name": _name(row.get("head_name") or (row["name"] if head else ""))[0],
                 "address": row.get("address", ""), "phone": textnorm.phone(row.get("phone", ""))}
        for field_name, value in found.items():
            if value and (head or not info[field_name]):
                info[field_name] = value

    def _house(self, key: tuple[str, str]) -> dict[str, Any]:
        village, number = key
        houses = self.outcome.houses.setdefault(village, {})
        return houses.setdefault(number, {"number": number, "members": []})


def finish_houses(outcome: Outcome) -> dict[str, list[dict[str, Any]]]:
    """The visit lists as roster_load.import_rosters takes them: village → houses with members_count."""
    rosters: dict[str, list[dict[str, Any]]] = {}
    for village, houses in outcome.houses.items():
        for house in houses.values():
            house["members_count"] = len(house["members"])
        rosters[village] = list(houses.values())
    return rosters
