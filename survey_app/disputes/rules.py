"""Classes (分类分级), their time limits and the departments items are routed to."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..workdays import WorkCalendar

CLASSES = ("routine", "difficult", "major")   # 日常 / 疑难 / 重大, in order of escalation
CLASS_LABELS = {"routine": "日常", "difficult": "疑难", "major": "重大"}
DEFAULT_LIMITS = {"routine": 5, "difficult": 15, "major": 30}
# Where an escalated item goes (seed 003): 疑难 to the working group for joint handling,
# 重大 to the county leading group's office.
ESCALATION_HOLDER = {"difficult": "task_force", "major": "leading_group"}


class DisputeSettingsError(ValueError):
    """``[disputes]`` of the campaign file names an unknown class or a bad limit."""


@dataclass(frozen=True)
class DisputeRules:
    limits: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    departments: tuple[tuple[str, str], ...] = ()  # (key, name), in the order lists show them

    def department_name(self, key: str) -> str:
        return dict(self.departments).get(key, key)

    def due(self, calendar: WorkCalendar, level: str, since: dt.date) -> dt.date:
        """The date an item of class ``level`` that entered it on ``since`` must be closed by."""
        return calendar.add(since, self.limits[level])


def parse_rules(raw: Mapping[str, Any] | None, source: str = "campaign") -> DisputeRules:
    raw = raw or {}
    limits = {**DEFAULT_LIMITS, **raw.get("limits", {})}
    for level, days in limits.items():
        if level not in CLASSES or not isinstance(days, int) or days < 1:
            raise DisputeSettingsError(f"{source}: [disputes.limits] {level} = {days!r} 有误")
    try:
        departments = tuple((str(d["key"]), str(d["name"])) for d in raw.get("departments", ()))
    except (KeyError, TypeError) as exc:
        raise DisputeSettingsError(f"{source}: [[disputes.departments]] 缺少 {exc}") from exc
    keys = [key for key, _ in departments]
    missing = set(ESCALATION_HOLDER.values()) - set(keys) if departments else set()
    if len(set(keys)) != len(keys) or missing:
        raise DisputeSettingsError(f"{source}: 部门代码重复，或缺少 {sorted(missing)}")
    return DisputeRules(limits, departments)
