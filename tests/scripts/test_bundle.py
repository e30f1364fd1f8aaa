"""The GPU bundle's moving parts that a machine without a GPU can check: the launchers' library
search (lib/find_libs.sh), gpu_check.sh's no-GPU exit, and gpu_check_summary.py. The bundle build
itself (scripts/bundle.sh) is a full second build and is checked by hand, not here."""

import os
import shutil
import subprocess
import sys
import time

import pytest

from conftest import FIXTURE, REPO, SCRIPTS, tconv_binary

FIND_LIBS = os.path.join(SCRIPTS, "bundle", "find_libs.sh")


def fake_bundle(tmp_path, sonames):
    lib = tmp_path / "bundle" / "lib"
    lib.mkdir(parents=True)
    shutil.copy(FIND_LIBS, lib / "find_libs.sh")
    (lib / "gpu_libraries.txt").write_text("".join(s + "\n" for s in sonames))
    return lib


def fake_python(tmp_path, site):
    """A python3 on PATH whose site-packages is `site` (as the GPU machine's venv with the
    nvidia-* wheels)."""
    bindir = tmp_path / "pybin"
    bindir.mkdir()
    shim = bindir / "python3"
    shim.write_text(f"#!/bin/sh\nexec {sys.executable} -S -c "
                    f"\"import site, sys; site.getsitepackages = lambda: [{str(site)!r}]; "
                    f"site.getusersitepackages = lambda: ''; "
                    f"exec(sys.stdin.read())\"\n")
    shim.chmod(0o755)
    return bindir


def source_find_libs(lib, path_prefix, ld=""):
    script = f'. "{lib}/find_libs.sh" && echo "LD=$LD_LIBRARY_PATH"'
    env = {"PATH": f"{path_prefix}:/usr/bin:/bin", "LD_LIBRARY_PATH": ld,
           "TCONV_FIND_LIBS_VERBOSE": "1"}
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env,
                          timeout=60)


def test_find_libs_takes_a_missing_library_from_the_pip_wheels(tmp_path):
    so = "libtconvfake_cudnn.so.9"  # a name no loader cache has
    site = tmp_path / "site"
    wheel_lib = site / "nvidia" / "cudnn" / "lib"
    wheel_lib.mkdir(parents=True)
    (wheel_lib / so).write_text("not really a library")
    lib = fake_bundle(tmp_path, [so])
    res = source_find_libs(lib, fake_python(tmp_path, site))
    assert res.returncode == 0, res.stderr
    ld = [l for l in res.stdout.splitlines() if l.startswith("LD=")][0][3:]
    assert ld.split(":")[0] == str(wheel_lib)
    assert f"{so} from {wheel_lib}" in res.stderr


def test_find_libs_leaves_ld_library_path_alone_when_it_already_has_the_library(tmp_path):
    so = "libtconvfake_cublas.so.13"
    given = tmp_path / "given"
    given.mkdir()
    (given / so).write_text("x")
    site = tmp_path / "site"
    (site / "nvidia" / "cu13" / "lib").mkdir(parents=True)
    (site / "nvidia" / "cu13" / "lib" / so).write_text("x")
    lib = fake_bundle(tmp_path, [so])
    res = source_find_libs(lib, fake_python(tmp_path, site), ld=str(given))
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == f"LD={given}"


def test_find_libs_names_what_it_cannot_find_in_one_line(tmp_path):
    so = "libtconvfake_missing.so.1"
    site = tmp_path / "site"
    site.mkdir()
    lib = fake_bundle(tmp_path, [so])
    res = source_find_libs(lib, fake_python(tmp_path, site))
    assert res.returncode != 0
    lines = [l for l in res.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, res.stderr
    assert so in lines[0] and "pip" in lines[0]


def test_gpu_check_without_a_gpu_exits_2_in_seconds_with_one_line(tmp_path):
    bench = tconv_binary("tconv_bench")
    if bench is None:
        pytest.skip("tconv_bench is not built")
    probe = subprocess.run([bench, "--env"], capture_output=True, text=True, timeout=60)
    if probe.returncode == 0:
        pytest.skip("this machine has a GPU: the no-GPU path is not reachable")
    out = tmp_path / "out"
    t0 = time.time()
    res = subprocess.run(["bash", os.path.join(SCRIPTS, "gpu_check.sh"), str(out)],
                         capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, BIN_DIR=os.path.dirname(bench)))
    assert time.time() - t0 < 10
    assert res.returncode == 2, (res.stdout, res.stderr)
    lines = [l for l in (res.stdout + res.stderr).splitlines() if l.strip()]
    assert len(lines) == 1, lines
    assert "no CUDA device" in lines[0]
    assert not out.exists(), "nothing is written without a GPU"


def test_gpu_check_summary_names_steps_best_rows_and_failures(tmp_path):
    steps = tmp_path / "steps.tsv"
    steps.write_text("env\tran\t0\t\ntests\tfailed\t30\t10 passed, 2 failed, 0 skipped\n"
                     "memcheck\ttimed out\t70\tno errors reported, 12 rows verified, exit 124\n")
    env = tmp_path / "env.txt"
    env.write_text("gpu: FIXTURE GPU\n")
    out = tmp_path / "summary.md"
    res = subprocess.run([sys.executable, os.path.join(SCRIPTS, "gpu_check_summary.py"),
                          "--steps", str(steps), "--env", str(env), "--bench", FIXTURE,
                          "--peer", str(tmp_path / "absent.csv"), "--out", str(out),
                          "--budget", "450", "--elapsed", "400"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    md = out.read_text()
    assert "| tests | failed | 30 | 10 passed, 2 failed, 0 skipped |" in md
    assert "| memcheck | timed out |" in md
    assert "FIXTURE GPU" in md
    assert "peer.csv: not written." in md
    # The fixture's incorrect row is listed with its reason.
    assert "| incorrect |" in md
    # One pick per (shape, dtype, layout) that has a passed row: the fastest passed row.
    import csv
    with open(FIXTURE, newline="") as f:
        rows = list(csv.DictReader(f))
    section = md.split("## Best implementation per shape, dtype and layout", 1)[1]
    table = [l for l in section.splitlines() if l.startswith("| ") and not l.startswith("| shape")]
    assert table, section
    picked = 0
    for line in table:
        cells = [c.strip() for c in line.strip("|").split("|")]
        suite, shape = cells[0].split(" ")[0].split("/")
        best = [r for r in rows if (r["suite"], r["shape"], r["dtype"], r["layout"]) ==
                (suite, shape, cells[1], cells[2]) and r["status"] == "passed"]
        if not best:
            continue
        fastest = min(best, key=lambda r: float(r["time_ms_median"]))
        assert cells[3] == fastest["impl"], line
        picked += 1
    assert picked >= 10


def test_gpu_check_summary_without_csvs_still_writes_the_steps(tmp_path):
    steps = tmp_path / "steps.tsv"
    steps.write_text("env\tran\t0\t\n")
    out = tmp_path / "summary.md"
    res = subprocess.run([sys.executable, os.path.join(SCRIPTS, "gpu_check_summary.py"),
                          "--steps", str(steps), "--env", str(tmp_path / "none.txt"),
                          "--bench", str(tmp_path / "none.csv"), "--out", str(out)],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    md = out.read_text()
    assert "| env | ran | 0 |" in md and "bench.csv: not written." in md
