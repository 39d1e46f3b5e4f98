"""The seed-002 city as files the product imports: 榆林市 in 2016, 606,974 people to visit.

Seed 002 (附件1) gives the number of unregistered residents of each of the 12
counties; the township and village counts (226 and 4,181 in all) are spread
over the counties half evenly and half by population, as real counties of
very different size still have similar numbers of towns.  Everything is
deterministic for a seed.  ID numbers carry each county's real code (2016
codes: 神木县 610821, 横山县 610823 …), valid check characters, and are
distinct across the city; :class:`IdNumbers` keeps handing out new ones for
the people the benchmark registers later, however many are asked for.

Written files: ``city.yaml`` for ``canbao grid import`` and one CSV per county
with a 村（社区）代码 column for ``canbao roster import``.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from stdnum.cn import ric

CITY = ("610800", "榆林市")
COUNTIES = (  # code, name, unregistered residents (seed 002, 附件1)
    ("610802", "榆阳区", 146963), ("610821", "神木县", 23507), ("610822", "府谷县", 37196),
    ("610823", "横山县", 60521), ("610824", "靖边县", 55888), ("610825", "定边县", 61627),
    ("610826", "绥德县", 51160), ("610827", "米脂县", 34436), ("610828", "佳县", 38345),
    ("610829", "吴堡县", 14775), ("610830", "清涧县", 32519), ("610831", "子洲县", 50037),
)
TOTAL_PERSONS = 606974
TOWNSHIPS, VILLAGES = 226, 4181
ROSTER_HEADER = ["村（社区）代码", "户编号", "户主姓名", "门牌地址", "姓名", "公民身份号码", "与户主关系"]
PLACE_SYLLABLES = "安宝北昌城大店东二丰高古河红花黄家金井孔老李刘柳马米南牛前桥清三沙上石双水四寺宋孙" \
                  "太王吴西下小新杨阳榆张赵镇中周庄"
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰建国志红文斌宇浩凯鹏飞鑫波辉海燕梅琳晨"


def apportion(total: int, weights: list[float], minimum: int = 0) -> list[int]:
    """Integers in proportion to ``weights`` adding up to exactly ``total`` (largest remainder),
    each at least ``minimum``."""
    rest = total - minimum * len(weights)
    raw = [rest * w / sum(weights) for w in weights]
    parts = [int(r) for r in raw]
    for index in sorted(range(len(raw)), key=lambda i: raw[i] - parts[i], reverse=True)[:rest - sum(parts)]:
        parts[index] += 1
    return [minimum + part for part in parts]


class IdNumbers:
    """Valid, distinct ID numbers of a county, as many as asked for.

    Numbers go birth date by birth date; each date has 500 sequence numbers per
    sex, so uniqueness needs no memory of the numbers already given.  A source
    starting at ``first_sequence`` 250 never meets the roster's numbers (a
    county's roster uses far fewer than 250 a day).
    """

    def __init__(self, county: str, rng: random.Random, first_sequence: int = 0):
        self.county = county
        self.rng = rng
        self.first = first_sequence
        self.used: dict[tuple[dt.date, bool], int] = {}

    def next(self, birth: dt.date, male: bool) -> str:
        while self.used.get((birth, male), self.first) >= 500:
            birth += dt.timedelta(days=1)
        sequence = self.used.get((birth, male), self.first)
        self.used[(birth, male)] = sequence + 1
        body = f"{self.county}{birth:%Y%m%d}{sequence * 2 + (1 if male else 0):03d}"
        return body + ric.calc_check_digit(body + "0")


@dataclass
class Village:
    code: str
    name: str
    persons: int
    households: int = 0  # filled in when the roster is written


@dataclass
class Township:
    code: str
    name: str
    villages: list[Village] = field(default_factory=list)


@dataclass
class County:
    code: str
    name: str
    persons: int
    townships: list[Township] = field(default_factory=list)

    @property
    def villages(self) -> list[Village]:
        return [v for t in self.townships for v in t.villages]


def _place_name(rng: random.Random, used: set[str], suffix: str) -> str:
    while True:
        name = "".join(rng.choice(PLACE_SYLLABLES) for _ in range(2)) + suffix
        if name not in used:
            used.add(name)
            return name


def plan(scale: float = 1.0, counties: int = 12, seed: int = 2016) -> list[County]:
    """The city's counties, townships and villages, with each village's number of people.

    ``scale`` < 1 keeps the shape with fewer villages and people (the --quick run).
    """
    rng = random.Random(seed)
    chosen = COUNTIES[:counties]
    persons = [max(1, round(p * scale)) for _c, _n, p in chosen]
    shares = [0.5 / len(chosen) + 0.5 * p / sum(persons) for p in persons]
    township_counts = apportion(max(len(chosen), round(TOWNSHIPS * scale * len(chosen) / 12)), shares, 1)
    village_counts = [max(v, t) for v, t in zip(
        apportion(round(VILLAGES * scale * len(chosen) / 12), shares), township_counts, strict=True)]
    result = []
    for (code, name, _p), people, townships, villages in zip(chosen, persons, township_counts,
                                                             village_counts, strict=True):
        county = County(code, name, people)
        used: set[str] = set()
        per_township = apportion(villages, [rng.uniform(0.6, 1.4) for _ in range(townships)], 1)
        for t in range(townships):
            street = t < 3 and people > 50000  # a county seat's first townships are streets
            town_code = f"{code}{(t + 1) if street else (100 + t + 1):03d}"
            township = Township(town_code, _place_name(rng, used, "街道" if street else "镇"))
            for v in range(per_township[t]):
                name = _place_name(rng, used, "社区" if street else "村")
                township.villages.append(Village(f"{town_code}{v + 1:03d}", name, 0))
            county.townships.append(township)
        for village, size in zip(county.villages, apportion(people, [rng.uniform(0.5, 1.5)
                                                                     for _ in county.villages]), strict=True):
            village.persons = size
        result.append(county)
    return result


def grid_yaml(counties: list[County]) -> str:
    return yaml.safe_dump({"city": {
        "code": CITY[0], "name": CITY[1],
        "districts": [{"code": c.code, "name": c.name, "townships": [
            {"code": t.code, "name": t.name,
             "villages": [{"code": v.code, "name": v.name} for v in t.villages]}
            for t in c.townships]} for c in counties]}}, allow_unicode=True, sort_keys=False)


def _household_sizes(persons: int, rng: random.Random) -> list[int]:
    sizes = []
    while persons > 0:
        size = min(persons, rng.choices((1, 2, 3, 4, 5, 6), weights=(12, 28, 25, 20, 10, 5))[0])
        sizes.append(size)
        persons -= size
    return sizes


def _members(size: int, rng: random.Random, ids: IdNumbers, today: dt.date) -> Iterator[tuple[str, str, str]]:
    """(name, ID number, relationship) of one household."""
    surname = rng.choice(SURNAMES)
    head_age = rng.randint(26, 82)
    male = rng.random() < 0.8
    plan_ = [("户主", head_age, male, surname)]
    if size > 1:
        plan_.append(("配偶", head_age + rng.randint(-4, 4), not male, rng.choice(SURNAMES)))
    for _ in range(size - len(plan_)):
        if head_age > 60 and rng.random() < 0.4:
            plan_.append(("孙子女", rng.randint(1, 20), rng.random() < 0.5, surname))
        else:
            plan_.append(("子女", max(0, head_age - rng.randint(20, 35)), rng.random() < 0.5, surname))
    for relation, age, is_male, family in plan_:
        birth = today - dt.timedelta(days=age * 365 + rng.randint(0, 364))
        name = family + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        yield name, ids.next(birth, is_male), relation


def write_files(folder: Path, counties: list[County], seed: int = 2016,
                today: dt.date = dt.date(2017, 1, 15)) -> dict[str, IdNumbers]:
    """Write city.yaml and one roster CSV per county; returns each county's ID-number source."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "city.yaml").write_text(grid_yaml(counties), encoding="utf-8")
    sources = {}
    for county in counties:
        rng = random.Random(f"{seed}-{county.code}")
        ids = sources[county.code] = IdNumbers(county.code, rng)
        with open(folder / f"roster-{county.code}.csv", "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(ROSTER_HEADER)
            for village in county.villages:
                sizes = _household_sizes(village.persons, rng)
                village.households = len(sizes)
                for number, size in enumerate(sizes, start=1):
                    members = list(_members(size, rng, ids, today))
                    address = f"{village.name}{rng.randint(1, 9)}组{number}号"
                    writer.writerows([village.code, number, members[0][0], address, name, id_number, relation]
                                     for name, id_number, relation in members)
    return sources


def roster_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("roster-*.csv"))
