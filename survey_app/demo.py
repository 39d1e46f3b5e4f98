"""A demo district built on seed 001's places: 薛城区 (枣庄市) and its seven towns and streets.

Village names, people and phone numbers are invented (Faker, fixed seed).  ID
numbers use real county codes with correct check characters; a few residents
hold a 榆阳区 610802 number issued after their birth, the case stdnum rejects.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from faker import Faker
from stdnum.cn import ric

from . import clock, grid, roster_load, users
from .store import Store

DISTRICT = ("370403", "薛城区")
TOWNSHIPS = (
    ("370403001", "临城街道", ("临山村", "沙河崖社区", "于庄村")),
    ("370403002", "常庄街道", ("常庄社区", "西小庄村", "南常村")),
    ("370403003", "巨山街道", ("巨山社区", "东王庄村", "小南庄村")),
    ("370403101", "陶庄镇", ("陶庄村", "杨庄村", "奚村")),
    ("370403102", "邹坞镇", ("邹坞村", "岩湖村", "中陈郝村")),
    ("370403103", "沙沟镇", ("沙沟村", "房庄村", "曹庄村")),
    ("370403104", "周营镇", ("周营村", "前王庄村", "后西村")),
)
# Where residents' numbers were issued: mostly 薛城区, some neighbours, a few 榆阳区.
BIRTH_COUNTIES = ("370403",) * 12 + ("370402", "370404", "370481", "370406", "610802")
# Each township's service window (受理窗口), published by the portal's dispute guide.  Invented,
# and kept out of Faker so adding them changed none of the demo's names or numbers.
WINDOWS = ("便民服务中心一楼 社保医保综合窗口", "便民服务中心二楼 3号窗口（社会保障）",
           "党群服务中心一楼 便民服务大厅", "便民服务中心一楼 税务社保窗口")
DEMO_PASSWORD = "canbao-demo"
OFFICE_PREFIX = "0632-44"


def _contact(fake: Faker, role: str) -> dict[str, str]:
    return {"role": role, "name": fake.name(), "phone": _mobile(fake),
            "office_phone": f"{OFFICE_PREFIX}{fake.random_number(digits=5, fix_len=True)}"}


def _mobile(fake: Faker) -> str:
    return fake.random_element(("138", "139", "150", "157", "186", "188")) + \
        str(fake.random_number(digits=8, fix_len=True))


def build_units(fake: Faker) -> list[dict[str, Any]]:
    units = [{"code": DISTRICT[0], "level": "district", "name": DISTRICT[1], "parent": None,
              "contacts": [_contact(fake, "网格长")]}]
    for number, (code, name, villages) in enumerate(TOWNSHIPS):
        units.append({"code": code, "level": "township", "name": name, "parent": DISTRICT[0],
                      "contacts": [_contact(fake, "网格长"), _contact(fake, "网格员")],
                      "window": f"{name}{WINDOWS[number % len(WINDOWS)]}"})
        for index, village in enumerate(villages, start=1):
            units.append({"code": f"{code}{index:03d}", "level": "village", "name": village,
                          "parent": code,
                          "contacts": [_contact(fake, "网格长"), _contact(fake, "网格员")]})
    return grid.validate_units(units)


def id_number(rng: random.Random, birth: dt.date, male: bool, county: str | None = None) -> str:
    sequence = rng.randrange(0, 500) * 2 + (1 if male else 0)
    body = f"{county or rng.choice(BIRTH_COUNTIES)}{birth:%Y%m%d}{sequence:03d}"
    return body + ric.calc_check_digit(body + "0")


def _birth(rng: random.Random, today: dt.date, low: int, high: int) -> dt.date:
    return today - dt.timedelta(days=rng.randrange(low * 365, high * 365 + 1))


def build_household(fake: Faker, rng: random.Random, village: str, number: int,
                    today: dt.date) -> dict[str, Any]:
    surname = fake.last_name()
    head_male = rng.random() < 0.8
    head_birth = _birth(rng, today, 28, 80)
    people = [("head", head_male, head_birth, surname)]
    if rng.random() < 0.85:
        people.append(("spouse", not head_male, head_birth + dt.timedelta(days=rng.randrange(-900, 900)),
                       fake.last_name()))
    for _ in range(rng.choice((0, 1, 1, 2, 2, 3))):
        child_birth = max(head_birth + dt.timedelta(days=rng.randrange(20 * 365, 40 * 365)),
                          today - dt.timedelta(days=rng.randrange(30, 40 * 365)))
        if child_birth < today:
            people.append(("child", rng.random() < 0.5, child_birth, surname))
    members = []
    for relation, male, birth, family in people:
        given = fake.first_name_male() if male else fake.first_name_female()
        number_ = id_number(rng, birth, male)
        members.append({"name": family + given, "id_number": number_,
                        "sex": "male" if male else "female", "birth_date": birth.isoformat(),
                        "relationship": relation, "ethnicity": "01"})
    missing = 1 if rng.random() < 0.1 else 0  # someone the roster does not know yet
    return {"head_name": members[0]["name"], "address": f"{village}{rng.randint(1, 9)}组{number}号",
            "members_count": len(members) + missing, "phone": _mobile(fake), "members": members}


def load(store: Store, *, households_per_village: int = 24, seed: int = 2026,
         today: dt.date | None = None) -> list[dict[str, str]]:
    """Load the demo district into an empty store; return the demo accounts."""
    today = today or clock.today()
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    units = build_units(fake)
    grid.save(store, units)
    loaded = grid.load(store)
    for village in loaded.villages:
        houses = [build_household(fake, rng, village["name"], n, today)
                  for n in range(1, households_per_village + 1)]
        roster_load.import_roster(store, village["code"], houses)
    return create_accounts(store, loaded)


# One account per department the dispute desk routes to most, named by its key (campaign file).
DEMO_DEPARTMENTS = (("tax", "区税务局经办人"), ("medical", "区医保局经办人"), ("task_force", "征缴工作专班"))


def create_accounts(store: Store, loaded: grid.Grid) -> list[dict[str, str]]:
    first_township = loaded.townships[0]
    plan = [("admin", "district_admin", DISTRICT[0], "区县管理员"),
            ("township", "township_staff", first_township["code"], f"{first_township['name']}工作人员")]
    plan += [(f"e{v['code'][-6:]}", "enumerator", v["code"], f"{v['name']}网格员")
             for v in loaded.villages]
    plan += [(key, users.DEPARTMENT_ROLE, DISTRICT[0], name) for key, name in DEMO_DEPARTMENTS]
    accounts = []
    for username, role, area, display in plan:
        department = username if role == users.DEPARTMENT_ROLE else ""
        users.add_user(store, loaded, username=username, password=DEMO_PASSWORD, role=role,
                       area=[area], display_name=display, department=department,
                       departments=[key for key, _name in DEMO_DEPARTMENTS])
        accounts.append({"username": username, "password": DEMO_PASSWORD, "role": role,
                         "area": " / ".join(loaded.path_names(area))})
    return accounts
