"""A logged-in test client for the collection tests: registers people and pays through the JSON API."""

from __future__ import annotations

import datetime as dt
import uuid

from conftest import Auth, csrf_from
from helpers import submission
from stdnum.cn import ric


def born_on(day: dt.date, sequence: int = 11) -> str:
    """A valid ID number of someone born on ``day`` (a newborn, a student of a given age)."""
    body = f"370403{day:%Y%m%d}{sequence:03d}"
    return body + ric.calc_check_digit(body + "0")


class ApiClient:
    """An enumerator's phone or an office: JSON with the CSRF header, forms with the page's token."""

    default_channel = ""  # a test file whose payments are online unless it says otherwise sets one

    def __init__(self, app, username: str):
        self.client = app.test_client()
        auth = Auth(self.client)
        assert auth.login(username).status_code == 302
        self.token = auth.api_token()

    def post(self, path: str, body: dict):
        return self.client.post(path, json=body, headers={"X-CSRFToken": self.token})

    post_json = post

    def get(self, path: str):
        return self.client.get(path)

    def form(self, page: str, path: str, data: dict):
        token = csrf_from(self.client.get(page).get_data(as_text=True))
        return self.client.post(path, data={**data, "csrf_token": token})

    def register(self, household: str, **answers) -> str:
        response = self.post("/api/v1/submissions", submission(household, **answers))
        assert response.status_code == 201, response.get_json()
        return response.get_json()["id"]

    def payment(self, person: str, schemes: list[str], amount: str, **extra):
        """The answer to one payment, whatever it is."""
        body = {"uuid": str(uuid.uuid4()), "person": person, "schemes": schemes, "amount": amount,
                **({"channel": self.default_channel} if self.default_channel else {}), **extra}
        return self.post("/api/v1/payments", body)

    def pay(self, person: str, schemes: list[str], amount: str, **extra) -> list[str]:
        """A payment that must be recorded; its rows' ids."""
        response = self.payment(person, schemes, amount, **extra)
        assert response.status_code == 201, response.get_json()
        return response.get_json()["ids"]
