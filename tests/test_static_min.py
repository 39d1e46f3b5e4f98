"""Scripts and style sheets are sent minified (the phone's first-visit budget); the files stay as written."""

from __future__ import annotations

from pathlib import Path

import pytest

import survey_app

STATIC = Path(survey_app.__file__).parent / "static"


@pytest.mark.parametrize(("name", "mimetype"), [("field.js", "application/javascript"),
                                                ("app.js", "application/javascript"),
                                                ("app.css", "text/css")])
def test_scripts_and_styles_go_out_minified_and_cached_by_version(client, name, mimetype):
    source = (STATIC / name).read_text(encoding="utf-8")
    sent = client.get(f"/static/{name}")
    assert sent.status_code == 200 and sent.mimetype == mimetype
    body = sent.get_data(as_text=True)
    assert len(body) < len(source) - 200
    assert "// " not in body and "/* " not in body  # comments gone
    assert sent.headers["Cache-Control"] == "no-cache"
    again = client.get(f"/static/{name}", headers={"If-None-Match": sent.headers["ETag"]})
    assert again.status_code == 304
    versioned = client.get(f"/static/{name}?v=abc")
    assert versioned.headers["Cache-Control"] == "public, max-age=31536000, immutable"


def test_the_minified_field_client_still_runs(client, tmp_path):
    """The service worker imports the served copy: it must parse and expose the same rules."""
    import shutil
    import subprocess
    node = shutil.which("node")
    assert node
    script = tmp_path / "field.min.js"
    script.write_bytes(client.get("/static/field.js").get_data())
    check = ("const C = require(process.argv[1]); "
             "if (typeof C.rules.entry !== 'function' || C.rules.backoff(1, 0.5) !== 2000) process.exit(1);")
    result = subprocess.run([node, "-e", check, str(script)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_other_static_files_and_missing_ones_are_served_as_before(client):
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.get_data() == (STATIC / "favicon.svg").read_bytes()
    for missing in ("nothing.js", "../app.py", "%00.js", "print/../../app.js"):
        assert client.get(f"/static/{missing}").status_code == 404, missing
