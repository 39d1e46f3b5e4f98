"""The year's amounts, and one person's lines of the collection roll.

A *line* is one scheme a registered person joined this year (residents' pension
or residents' medical insurance): its tier, the standard amount, the part the
government pays for a special group, and the part the person pays.  Everything
here is a pure function of the person's answers and the campaign settings, so
the roll, the payment form, the reminders and the offline phone agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

SCHEMES = ("resident_pension", "resident_medical")
SCHEME_LABELS = {"resident_pension": "城乡居民基本养老保险", "resident_medical": "城乡居民基本医疗保险"}
SCHEME_SHORT = {"resident_pension": "居民养老", "resident_medical": "居民医疗"}
ALL = "all"   # a special group's share written "all": the government pays the whole amount (全额代缴)
FEN = 100


class RatesError(ValueError):
    """The campaign file's [collection] table is missing an amount or has a wrong one."""


@dataclass(frozen=True)
class Rates:
    """``[collection]`` of the campaign file.

    ``medical`` is the residents' medical contribution per person for ``year`` (缴费年度);
    a pension line's standard amount is its tier (the choice value is the yuan amount);
    ``government[group][scheme]`` is what the government pays for that special group,
    in fen, or the whole amount when :data:`ALL`.
    """

    year: int = 0
    medical: int = 0
    government: Mapping[str, Mapping[str, int | str]] = field(default_factory=dict)

    @property
    def configured(self) -> bool:
        return self.year > 0 and self.medical > 0


@dataclass(frozen=True)
class Line:
    scheme: str
    tier: str          # the pension tier's value ("500"), "" for medical
    standard: int      # fen
    government: int    # fen the government pays (special groups)
    group: str         # the special group, "" for everyone else

    @property
    def person(self) -> int:
        return self.standard - self.government

    @property
    def key(self) -> str:
        """What the line is: a payment settles it only while the key stays the same."""
        return f"{self.scheme}|{self.tier}|{self.group}"

    def as_dict(self) -> dict[str, Any]:
        return {"scheme": self.scheme, "tier": self.tier, "standard": self.standard,
                "government": self.government, "person": self.person, "group": self.group,
                "key": self.key}


def parse_rates(raw: Mapping[str, Any] | None, source: str = "campaign") -> Rates:
    if not raw:
        return Rates()
    try:
        year, medical = int(raw["year"]), yuan_to_fen(raw["medical"])
        government = {
            str(group): {str(scheme): (ALL if share == ALL else yuan_to_fen(share))
                         for scheme, share in shares.items()}
            for group, shares in raw.get("government", {}).items()}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RatesError(f"{source}: [collection] 缴费标准有误（{exc}）") from exc
    for group, shares in government.items():
        unknown = set(shares) - set(SCHEMES)
        if unknown:
            raise RatesError(f"{source}: 特殊人群“{group}”的险种 {sorted(unknown)} 不存在")
    return Rates(year, medical, government)


def yuan_to_fen(value: Any) -> int:
    """``400`` / ``"400.00"`` / ``"1,500"`` → fen; anything else (negative, more than two
    decimals, not a number) raises ValueError."""
    try:
        amount = Decimal(str(value).replace(",", "").replace("，", "").strip())
    except InvalidOperation:
        raise ValueError(f"不是金额：{value!r}") from None
    fen = amount * FEN
    if not amount.is_finite() or amount < 0 or fen != fen.to_integral_value():
        raise ValueError(f"不是金额：{value!r}")
    return int(fen)


def fen_to_yuan(fen: int) -> str:
    """1500 fen → "15.00" (the way receipts and the tax office's files write money)."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // FEN}.{abs(fen) % FEN:02d}"


def line_keys(answers: Mapping[str, Any], status: str = "registered") -> list[tuple[str, str, str]]:
    """(scheme, tier, group) of each line a person has, without any amounts: coverage counts
    these (a row keeps no money it would have to recompute when the year's amounts change).

    An incomplete form (暂存), someone who died, moved or cannot be found, or someone in
    the employees' schemes (then the residents' question was not asked) owes nothing:
    only ``enrolled`` answers make a line.
    """
    if status != "registered" or answers.get("situation") not in (None, "", "living"):
        return []
    group = str(answers.get("special_group") or "") if answers.get("person_category") == "special" else ""
    return [(scheme, str(answers.get("pension_tier") or "") if scheme == "resident_pension" else "", group)
            for scheme in SCHEMES if answers.get(scheme) == "enrolled"]


def lines(answers: Mapping[str, Any], rates: Rates, status: str = "registered") -> list[Line]:
    """The schemes a registered person living here joined, each with what is owed."""
    found = []
    for scheme, tier, group in line_keys(answers, status):
        standard = _standard(scheme, tier, rates)
        if standard is None:
            continue  # a pension line without a readable tier cannot be priced (never for a valid form)
        found.append(Line(scheme, tier, standard, _government(rates, group, scheme, standard), group))
    return found


def line_from_key(key: str, rates: Rates) -> Line | None:
    scheme, tier, group = (key.split("|") + ["", ""])[:3]
    standard = _standard(scheme, tier, rates)
    if scheme not in SCHEMES or standard is None:
        return None
    return Line(scheme, tier, standard, _government(rates, group, scheme, standard), group)


def amounts_due(roll: Mapping[str, int], rates: Rates) -> dict[str, int]:
    """What a coverage row's ``roll`` ({line key: persons}) owes: {"person", "government"} in fen."""
    due = {"person": 0, "government": 0}
    for key, count in roll.items():
        line = line_from_key(key, rates)
        if line is not None:
            due["person"] += line.person * count
            due["government"] += line.government * count
    return due


def _government(rates: Rates, group: str, scheme: str, standard: int) -> int:
    share = rates.government.get(group, {}).get(scheme, 0) if group else 0
    return standard if share == ALL else min(int(share), standard)


def _standard(scheme: str, tier: str, rates: Rates) -> int | None:
    if scheme == "resident_medical":
        return rates.medical
    try:
        return yuan_to_fen(tier)
    except ValueError:
        return None
