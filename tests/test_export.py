"""Excel export: columns from the form definition, IDs as text, scope and an audit entry."""

from __future__ import annotations

import io

from conftest import VILLAGE_A, VILLAGE_B
from openpyxl import load_workbook

from survey_app import formdef
from survey_app.settings import defaults
from survey_app.store import Store


def sheet_of(response):
    return load_workbook(io.BytesIO(response.get_data())).active


def test_village_export_has_definition_columns_and_text_ids(auth, client, store):
    auth.login("township")
    response = client.get(f"/s/v/{VILLAGE_A}/export.xlsx")
    assert response.status_code == 200
    sheet = sheet_of(response)
    header = [c.value for c in sheet[1]]
    definition = formdef.load(defaults()["FORMS_DIR"], "registration")
    for field in definition.fields:
        if field.type != "confirm":
            assert field.label in header
    id_column = header.index("公民身份号码") + 1
    people = store.read(Store.village(VILLAGE_A)).all("persons")
    ids = [sheet.cell(row=r, column=id_column).value for r in range(2, sheet.max_row + 1)]
    assert sorted(ids) == sorted(p["answers"]["id_number"] for p in people)
    assert sheet.cell(row=2, column=id_column).number_format == "@"
    relation = [sheet.cell(row=r, column=header.index("与户主关系") + 1).value
                for r in range(2, sheet.max_row + 1)]
    assert "户主" in relation  # labels, not codes like "head"


def test_area_export_covers_only_the_area_and_is_audited(auth, client, store):
    auth.login("township")
    sheet = sheet_of(client.get("/s/export.xlsx"))
    villages = {sheet.cell(row=r, column=2).value for r in range(2, sheet.max_row + 1)}
    assert villages == {"临山村", "沙河崖社区", "于庄村"}
    audit = store.read(Store.SYSTEM).all("audit")
    assert audit[-1]["action"] == "export_xlsx" and audit[-1]["user"] == "township"
    assert client.get(f"/s/v/{VILLAGE_B}/export.xlsx").status_code == 404


def test_enumerators_cannot_export(auth, client):
    auth.login("e001001")
    assert client.get(f"/s/v/{VILLAGE_A}/export.xlsx").status_code == 404
