"""What the portal's dispute guide (有问题找谁, content/pages/problems.md) says from data.

The guide describes the dispute ledger's flow (survey_app/disputes/) from the
public's side.  Its figures and lists are not typed into the Markdown: the time
limit of each class and the departments come from ``[disputes]`` of the campaign
file, the channels and the seven categories from the intake form
(forms/dispute.toml), and each township's window and office phone from the grid.
So an office that changes a limit, adds a department or moves a window changes
the page at the next build.
"""

from __future__ import annotations

from dataclasses import dataclass

from .campaign import Campaign
from .disputes.rules import CLASSES, ESCALATION_HOLDER
from .formdef import FormDefinition
from .portal_directory import Directory, PublicUnit

# Where an escalated item goes, named as the seed names them, should the campaign file list no
# departments at all (then items are not routed, but the guide still says who takes over).
HOLDER_FALLBACK = {"task_force": "工作专班", "leading_group": "领导小组办公室"}
DEPARTMENTS_FALLBACK = "税务、人社、医保"


@dataclass(frozen=True)
class WindowRow:
    """One township's line in the guide's table: public fields only."""

    township: str
    page: str  # the township's contact page, for its grid members
    window: str
    phone: str
    # Set when the township has no office line and the district's is shown instead.
    phone_of: str = ""


@dataclass(frozen=True)
class DistrictWindows:
    name: str
    rows: tuple[WindowRow, ...]


@dataclass(frozen=True)
class DisputeGuide:
    # Inline values a guide writes as %disputes.<key>% (limits in working days, names).
    tokens: dict[str, str]
    categories: tuple[str, ...]
    districts: tuple[DistrictWindows, ...]


def _district_windows(district: PublicUnit) -> DistrictWindows:
    own = district.office_phone
    rows = []
    for town in district.children:
        phone = town.office_phone
        rows.append(WindowRow(town.name, town.page, town.window, phone or own,
                              "" if phone or not own else district.name))
    return DistrictWindows(district.name, tuple(rows))


def _tokens(campaign: Campaign, form: FormDefinition) -> dict[str, str]:
    rules = campaign.disputes
    escalation = set(ESCALATION_HOLDER.values())
    routed = [name for key, name in rules.departments if key not in escalation]
    tokens = {level: str(rules.limits[level]) for level in CLASSES}
    tokens.update({key: dict(rules.departments).get(key, name) for key, name in HOLDER_FALLBACK.items()})
    tokens["departments"] = "、".join(routed) or DEPARTMENTS_FALLBACK
    tokens["channels"] = "、".join(c.label for c in form.field("channel").choices)
    return tokens


def dispute_guide(campaign: Campaign, form: FormDefinition, directory: Directory) -> DisputeGuide:
    """The guide's data; ``directory`` is public_directory's (private numbers already gone)."""
    return DisputeGuide(
        _tokens(campaign, form),
        tuple(c.label for c in form.field("category").choices),
        tuple(_district_windows(d) for d in directory.districts),
    )
