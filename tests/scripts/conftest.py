"""Shared helpers of the script tests: paths, the fixture, running a script as a user would."""

import csv
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SCRIPTS = os.path.join(REPO, "scripts")
FIXTURE = os.path.join(REPO, "tests", "fixtures", "results_fixture.csv")

if SCRIPTS not in sys.path:
    sys.path.insert(0, SCRIPTS)

# Matplotlib must never try a display, in-process or in a subprocess.
os.environ.setdefault("MPLBACKEND", "Agg")


def read_rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def write_rows(path, rows, columns):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({c: r.get(c, "") for c in columns})


def fixture_columns():
    with open(FIXTURE, newline="", encoding="utf-8") as f:
        return next(csv.reader(f))


@pytest.fixture
def run_script(tmp_path):
    """Runs scripts/<name> with arguments in a fresh interpreter; returns CompletedProcess."""
    def run(name, *args, pre=None):
        env = dict(os.environ, MPLBACKEND="Agg", MPLCONFIGDIR=str(tmp_path / "mpl"),
                   PYTHONDONTWRITEBYTECODE="1")
        script = os.path.join(SCRIPTS, name)
        if pre is None:
            cmd = [sys.executable, script, *args]
        else:  # run a snippet first (e.g. hide a module), then the script as __main__
            code = (f"import sys, runpy; {pre}; sys.argv = {[script, *args]!r}; "
                    f"runpy.run_path({script!r}, run_name='__main__')")
            cmd = [sys.executable, "-c", code]
        return subprocess.run(cmd, capture_output=True, text=True, cwd=str(tmp_path), env=env,
                              timeout=120)
    return run


def assert_one_line_error(res, *needles):
    """Exit status 1, exactly one line on stderr, no traceback, mentioning each needle."""
    assert res.returncode == 1, (res.returncode, res.stdout, res.stderr)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    assert "Traceback" not in res.stderr
    assert "error" in lines[0]
    for n in needles:
        assert n in lines[0], (n, lines[0])


def tconv_binary(name):
    """Path of a built program (tconv, tconv_bench) or None when it is not built: the build folder
    is $TCONV_BUILD_DIR (set by CTest to its own build folder), else $BUILD_DIR (relative to the
    repository, as scripts/test.sh uses it), else build/."""
    d = os.environ.get("TCONV_BUILD_DIR") or os.environ.get("BUILD_DIR") or "build"
    path = os.path.join(d if os.path.isabs(d) else os.path.join(REPO, d), name)
    return path if os.path.isfile(path) and os.access(path, os.X_OK) else None


def require_binary(name):
    """The program's path; the test is skipped (never passed) when it is not built."""
    path = tconv_binary(name)
    if path is None:
        pytest.skip(f"{name} is not built (set TCONV_BUILD_DIR or BUILD_DIR to the build folder)")
    return path
