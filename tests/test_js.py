"""The field client's outbox rules, run by node's test runner (tests/js/)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

JS_TESTS = Path(__file__).with_name("js")


def test_the_outbox_rules_pass_their_node_tests():
    node = shutil.which("node")
    assert node, "node is needed for tests/js (Debian's nodejs, present on this kind of machine)"
    result = subprocess.run([node, "--test", *sorted(map(str, JS_TESTS.glob("*.test.js")))],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout and "# pass 0" not in result.stdout
