"""`cutover check` and `cutover run` on valid and invalid config files."""

import re
import subprocess

import pytest

from proxy_process import binary_path, free_port, render_config, run_cli


@pytest.fixture(autouse=True)
def _need_binary():
    if not binary_path().exists():
        pytest.fail(f"cutover binary not found at {binary_path()} (set CUTOVER_BIN)")


def _valid_text():
    return render_config(free_port(), pools={"blue": ["127.0.0.1:9001"],
                                              "green": ["127.0.0.1:9002"]},
                         weights={"blue": 90, "green": 10},
                         limits={"header_bytes": 8192, "body_bytes": 0},
                         log={"access": False, "access_path": "-", "level": "info"},
                         headers={"x_forwarded_for": True, "x_forwarded_proto": True})


def _line_of(text, needle):
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in config")


def _error_lines(path, stderr, only_errors=True):
    """Parsed (line, key, message) of each error; with only_errors every stderr line must
    be one (`check`), else lines not naming the file are ignored (`run` may log more)."""
    lines = [l for l in stderr.splitlines() if l.strip()]
    if not only_errors:
        lines = [l for l in lines if l.startswith(f"{path}:")]
    pattern = re.compile(re.escape(str(path)) + r":(\d+): ([A-Za-z0-9_.\[\]\"-]+): (.+)$")
    parsed = []
    for l in lines:
        m = pattern.match(l)
        assert m, f"error line not formatted FILE:LINE: key.path: message: {l!r}"
        parsed.append((int(m.group(1)), m.group(2), m.group(3)))
    return parsed


def test_check_accepts_valid_config(tmp_path):
    path = tmp_path / "ok.toml"
    path.write_text(_valid_text())
    r = run_cli("check", "--config", str(path))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"config OK: {path}"


def test_check_reports_unknown_key_with_line_and_path(tmp_path):
    text = _valid_text().replace("[limits]\n", "[limits]\nheader_bites = 10\n")
    path = tmp_path / "typo.toml"
    path.write_text(text)
    r = run_cli("check", "--config", str(path))
    assert r.returncode == 1
    assert "config OK" not in r.stdout
    errors = _error_lines(path, r.stderr)
    assert (_line_of(text, "header_bites"), "limits.header_bites") in \
        [(line, key) for line, key, _ in errors], r.stderr


def test_check_reports_weights_not_summing_to_100(tmp_path):
    text = _valid_text().replace("green = 10 }", "green = 20 }")
    path = tmp_path / "sum.toml"
    path.write_text(text)
    r = run_cli("check", "--config", str(path))
    assert r.returncode == 1
    errors = _error_lines(path, r.stderr)
    assert any(key.startswith("routing.weights") and line == _line_of(text, "weights =")
               for line, key, _ in errors), r.stderr


def test_check_reports_every_error_one_per_line(tmp_path):
    text = (_valid_text()
            .replace('idle = "5s"', 'idle = "5 parsecs"')
            .replace("[limits]\n", "[limits]\nbogus = 1\n"))
    path = tmp_path / "many.toml"
    path.write_text(text)
    r = run_cli("check", "--config", str(path))
    assert r.returncode == 1
    errors = _error_lines(path, r.stderr)
    keys = {key: line for line, key, _ in errors}
    assert keys.get("timeouts.idle") == _line_of(text, "5 parsecs"), r.stderr
    assert keys.get("limits.bogus") == _line_of(text, "bogus = 1"), r.stderr


def test_check_reports_unknown_pool_in_weights(tmp_path):
    text = _valid_text().replace("weights = { blue = 90, green = 10 }",
                                 "weights = { blue = 90, purple = 10 }")
    path = tmp_path / "pool.toml"
    path.write_text(text)
    r = run_cli("check", "--config", str(path))
    assert r.returncode == 1
    errors = _error_lines(path, r.stderr)
    assert any(key.startswith("routing.weights") for _, key, _ in errors), r.stderr


def test_check_reports_toml_syntax_error_with_line(tmp_path):
    text = _valid_text().replace("[routing]", "[routing\n")
    path = tmp_path / "syntax.toml"
    path.write_text(text)
    r = run_cli("check", "--config", str(path))
    assert r.returncode == 1
    assert re.search(re.escape(str(path)) + r":\d+: ", r.stderr), r.stderr


def test_check_missing_file_fails(tmp_path):
    path = tmp_path / "absent.toml"
    r = run_cli("check", "--config", str(path))
    assert r.returncode == 1
    assert str(path) in r.stderr


def test_run_refuses_invalid_config(tmp_path):
    text = _valid_text().replace("[limits]\n", "[limits]\nheader_bites = 10\n")
    path = tmp_path / "bad.toml"
    path.write_text(text)
    try:
        r = run_cli("run", "--config", str(path), timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail("cutover run kept running on an invalid config")
    assert r.returncode == 1
    errors = _error_lines(path, r.stderr, only_errors=False)
    assert any(key == "limits.header_bites" for _, key, _ in errors), r.stderr
