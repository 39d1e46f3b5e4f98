"""Department accounts (部门经办人员: 税务, 医保, 工作专班 …): created in the browser by the district's
administrator with a department and an area, and kept to the dispute desk — no registration data."""

from __future__ import annotations

from conftest import VILLAGE_A, first_household
from test_office import NEW_PASSWORD, create, logged_in, system_audit

from survey_app import users

DISTRICT = "370403"


def test_a_district_admin_creates_a_department_account_with_its_department(app, store):
    client = logged_in(app, "admin").client
    form = client.get("/s/users/new?role=department").get_data(as_text=True)
    assert 'name="department"' in form and ">税务</option>" in form and ">领导小组办公室</option>" in form
    assert f'value="{DISTRICT}"' in form
    done = create(client, role="department", username="tax_wang", display_name="王税务",
                  area=[DISTRICT], department="tax")
    assert done.status_code == 200, done.get_data(as_text=True)
    account = users.get_account(store, "tax_wang")
    assert (account.role, account.department, account.area) == ("department", "tax", (DISTRICT,))
    listing = client.get("/s/users").get_data(as_text=True)
    assert "部门经办人员（税务）" in listing
    added = [a for a in system_audit(store) if a["action"] == "user_added" and a["ref"] == "tax_wang"]
    assert added and added[0].get("department") == "tax"


def test_a_department_account_needs_a_known_department(app, store):
    client = logged_in(app, "admin").client
    for department in ("", "police"):
        refused = create(client, role="department", username="dep_x", area=[DISTRICT], department=department)
        assert refused.status_code == 422
        assert "部门应为" in refused.get_data(as_text=True)
    assert users.get_account(store, "dep_x") is None


def test_township_staff_cannot_create_department_accounts(app):
    client = logged_in(app, "township").client
    assert client.get("/s/users/new?role=department").status_code == 404
    assert client.get("/s/users/tax").status_code == 404


def test_the_cli_adds_a_department_account_and_refuses_a_missing_department(app, store):
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["user", "add", "med_li", "--role", "department", "--area", DISTRICT,
                             "--department", "medical", "--password", NEW_PASSWORD])
    assert ok.exit_code == 0, ok.output
    assert users.get_account(store, "med_li").department == "medical"
    refused = runner.invoke(args=["user", "add", "med_x", "--role", "department", "--area", DISTRICT,
                                  "--password", NEW_PASSWORD])
    assert refused.exit_code != 0 and "部门应为" in refused.output
    refused = runner.invoke(args=["user", "add", "e_x", "--role", "enumerator", "--area", VILLAGE_A,
                                  "--department", "tax", "--password", NEW_PASSWORD])
    assert refused.exit_code != 0 and "只有部门经办人员账号属于部门" in refused.output


def test_a_department_account_lands_on_the_desk_and_sees_no_registration_data(app, store):
    client = logged_in(app, "tax").client
    landing = client.get("/")
    assert landing.status_code == 302 and landing.headers["Location"].endswith("/d/")
    household = first_household(store, VILLAGE_A)["ref"]
    for url in ("/s/", f"/s/v/{VILLAGE_A}", "/s/users", "/s/collection"):
        assert client.get(url).status_code == 404, url
    for url in (f"/e/v/{VILLAGE_A}", f"/e/h/{household}", f"/api/v1/households/{household}"):
        assert client.get(url).status_code == 404, url
