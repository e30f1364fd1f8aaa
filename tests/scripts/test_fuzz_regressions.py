"""The atheris targets (fuzz/python) on every seed and every saved finding, in the ordinary test run
(scripts/fuzz.sh fuzzes them; these need no atheris), and `tconv run` on the .npy headers that
once made it allocate gigabytes: refused with one line naming the file, with its resident memory
within 100 MB of what `tconv list` takes (the GPU libraries it links)."""

import importlib.util
import os
import subprocess
import sys

import pytest

from conftest import REPO, tconv_binary

FUZZ_PY = os.path.join(REPO, "fuzz", "python")
NPY_FINDINGS = os.path.join(REPO, "fuzz", "regressions", "npy")


def _targets():
    return sorted(f[len("fuzz_"):-len(".py")] for f in os.listdir(FUZZ_PY)
                  if f.startswith("fuzz_") and f.endswith(".py"))


def _load(name):
    spec = importlib.util.spec_from_file_location(f"fuzz_{name}",
                                                  os.path.join(FUZZ_PY, f"fuzz_{name}.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _inputs(name):
    out = []
    for kind in ("corpus", "regressions"):
        d = os.path.join(FUZZ_PY, kind, name)
        if os.path.isdir(d):
            out += [os.path.join(d, f) for f in sorted(os.listdir(d))]
    return out


def test_every_python_target_has_seeds_and_no_folder_is_unknown():
    names = set(_targets())
    assert names >= {"onnx_model", "results_csv", "shapes_file"}
    for name in names:
        assert len(os.listdir(os.path.join(FUZZ_PY, "corpus", name))) >= 2, name
    for kind in ("corpus", "regressions"):
        for d in os.listdir(os.path.join(FUZZ_PY, kind)):
            assert d in names, f"fuzz/python/{kind}/{d} names no target"


@pytest.mark.parametrize("name", _targets())
def test_seeds_and_findings_run_clean(name):
    pytest.importorskip("onnx") if name == "onnx_model" else None
    mod = _load(name)
    inputs = _inputs(name)
    assert inputs
    for path in inputs:
        with open(path, "rb") as f:
            mod.TestOneInput(f.read())  # raises on a broken contract


def test_inf_in_a_problem_field_is_one_line():
    import tconv_results as tr

    path = os.path.join(FUZZ_PY, "regressions", "results_csv", "inf_in_a_problem_field")
    with pytest.raises(tr.UserError, match=r"row 2: n = 'inf' is not an integer"):
        tr.read_csv_checked(path, ["suite"])


def _max_rss_kb(argv):
    """Peak resident memory (kB) and the result of argv, run from a fresh Python process so that
    RUSAGE_CHILDREN is that command's alone."""
    probe = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], "
             "capture_output=True, text=True); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
             "print(r.returncode); sys.stdout.write(r.stderr)")
    out = subprocess.run([sys.executable, "-c", probe] + argv, capture_output=True, text=True,
                         timeout=120, check=True).stdout.split("\n", 2)
    return int(out[0]), int(out[1]), out[2]


def test_tconv_run_refuses_gigabyte_headers_without_taking_the_memory(tmp_path):
    tconv = tconv_binary("tconv")
    base_kb, rc, _ = _max_rss_kb([tconv, "list"])
    assert rc == 0
    weight = os.path.join(REPO, "fuzz", "corpus", "npy", "f4_4d")
    for name in sorted(os.listdir(NPY_FINDINGS)):
        path = os.path.join(NPY_FINDINGS, name)
        out = tmp_path / "y.npy"
        kb, rc, err = _max_rss_kb([tconv, "run", "--impl", "ref_direct", "--input", path,
                                   "--weight", weight, "--output", str(out)])
        lines = err.strip().splitlines()
        assert rc == 1, (name, err)
        assert len(lines) == 1 and lines[0].startswith(f"tconv: error: {path}: "), (name, err)
        assert "needs" in lines[0] and "bytes of float32 data" in lines[0], err
        assert kb - base_kb < 100 * 1024, f"{name}: {kb} kB against tconv list's {base_kb} kB"
        assert not out.exists()


def test_tconv_run_refuses_an_output_larger_than_host_memory(tmp_path):
    tconv = tconv_binary("tconv")
    import numpy as np

    x = tmp_path / "x.npy"
    w = tmp_path / "w.npy"
    np.save(x, np.ones((1, 1, 2, 2), np.float32))
    np.save(w, np.ones((1, 1, 3, 3), np.float32))
    env = dict(os.environ, TCONV_HOST_MEMORY_BYTES="1000")
    # y: 1 x 1 x (1*1000 + 3) x (1*1000 + 3) elements from a 2x2 input with stride 1000.
    r = subprocess.run([tconv, "run", "--impl", "ref_direct", "--input", str(x), "--weight", str(w),
                        "--stride", "1000", "--output", str(tmp_path / "y.npy")],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 1, r.stderr
    assert r.stderr.startswith("tconv: error: the output y (1006009 elements) needs "), r.stderr
    assert "of host memory, 1000 B is available" in r.stderr
    assert not (tmp_path / "y.npy").exists()
