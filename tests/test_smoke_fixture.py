from conftest import VILLAGE_A


def test_enumerator_logs_in_and_sees_own_village(auth, client):
    assert auth.login("e001001").status_code == 302
    page = client.get("/e/").get_data(as_text=True)
    assert "临山村" in page
    assert client.get(f"/e/v/{VILLAGE_A}").status_code == 200
