"""scripts/gpu_check.sh's control flow on a machine without a GPU, with stand-in binaries that
answer as tconv_bench and tconv_tests would on a GPU: the step order, the per-step results and
counts, the --resume loop after a device fault (exit 4), the file limit, and the summary. What the
real binaries do on a GPU is for the GPU run itself; this pins down the script that drives it."""

import csv
import os
import subprocess
import textwrap

from conftest import FIXTURE, SCRIPTS

FAKE_BENCH = textwrap.dedent('''\
    #!/usr/bin/env python3
    # Stand-in for tconv_bench on a GPU machine (see test_gpu_check_flow.py).
    import csv, os, sys
    args = sys.argv[1:]
    state = os.environ["FAKE_STATE"]
    log = open(os.path.join(state, "calls.txt"), "a")
    log.write(" ".join(args) + "\\n")
    if "--env" in args:
        print("libraries loaded by this binary:\\n  cublas 13.1.0 from /fake/libcublas.so.13")
        print("gpu: FAKE H200, sm_90, 132 SMs, 139.8 GiB")
        sys.exit(0)
    if "--dry-run" in args:
        print("suite,shape,dtype,layout,impl,can_implement,reason,gflop,min_bytes,operand_bytes,extra_bytes")
        for impl in ("gather", "phase_gemm", "cudnn_find"):
            print(f"smoke,stride2,fp32,nchw,{impl},yes,,0.001,1000,1000,0")
        sys.exit(0)
    out = args[args.index("--csv") + 1]
    with open(os.environ["FAKE_FIXTURE"], newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    suite = "smoke" if "smoke" in args else "networks"
    faulted = os.path.join(state, suite + ".faulted")
    if "--resume" in args and os.path.exists(out):
        with open(out, newline="") as f:
            kept = list(csv.reader(f))[1:]
    else:
        kept = []
    if not os.path.exists(faulted):
        # First process: a few rows, then a device fault.
        new = body[0:3] if suite == "smoke" else body[6:8]
        open(faulted, "w").close()
        code = 4
    else:
        new = body[3:6] if suite == "smoke" else body[8:10]
        code = 0
    with open(out, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\\n")
        w.writerow(header)
        w.writerows(kept + new)
    for i, r in enumerate(new):
        print(f"[{i + 1}/{len(new)}] {r[0]}/{r[1]} {r[header.index('impl')]}: {r[header.index('status')]}",
              file=sys.stderr)
    if code == 4:
        print("tconv_bench: stopping after a device fault in smoke/x gather fp32 nchw; rerun with --resume",
              file=sys.stderr)
    sys.exit(code)
    ''')

FAKE_TESTS = textwrap.dedent('''\
    #!/bin/sh
    echo "[ RUN      ] GpuImpls.A"
    echo "[       OK ] GpuImpls.A (5 ms)"
    echo "[ RUN      ] GpuImpls.B"
    echo "[       OK ] GpuImpls.B (5 ms)"
    echo "[ RUN      ] GpuCudnn.C"
    echo "[  FAILED  ] GpuCudnn.C (7 ms)"
    echo "[ RUN      ] GpuTimerTest.D"
    echo "[  SKIPPED ] GpuTimerTest.D (0 ms)"
    echo "[  PASSED  ] 2 tests."
    echo "[  SKIPPED ] 1 test, listed below:"
    echo "[  SKIPPED ] GpuTimerTest.D"
    echo "[  FAILED  ] 1 test, listed below:"
    echo "[  FAILED  ] GpuCudnn.C"
    exit 1
    ''')


def test_gpu_check_runs_every_step_resumes_after_a_fault_and_writes_at_most_8_files(tmp_path):
    bindir = tmp_path / "bin"
    (bindir / "tests").mkdir(parents=True)
    bench = bindir / "tconv_bench"
    bench.write_text(FAKE_BENCH)
    bench.chmod(0o755)
    tests = bindir / "tests" / "tconv_tests"
    tests.write_text(FAKE_TESTS)
    tests.chmod(0o755)
    state = tmp_path / "state"
    state.mkdir()
    out = tmp_path / "out"
    # No compute-sanitizer and no torch on PATH: those steps report "not run".
    path = ":".join(p for p in os.environ.get("PATH", "").split(":")
                    if not os.path.exists(os.path.join(p, "compute-sanitizer")))
    env = dict(os.environ, BIN_DIR=str(bindir), FAKE_STATE=str(state), FAKE_FIXTURE=FIXTURE,
               GPU_CHECK_BUDGET_S="120", MPLBACKEND="Agg", PATH=path,
               MPLCONFIGDIR=str(tmp_path / "mpl"))
    res = subprocess.run(["bash", os.path.join(SCRIPTS, "gpu_check.sh"), str(out)],
                         capture_output=True, text=True, timeout=300, env=env)
    assert res.returncode == 0, (res.stdout, res.stderr)

    files = sorted(os.listdir(out))
    assert len(files) <= 8, files
    for f in ("summary.md", "bench.csv", "tests.log", "sanitizer.log"):
        assert f in files, files
    md = (out / "summary.md").read_text()
    assert "| tests | failed |" in md and "2 passed, 1 failed, 1 skipped" in md
    assert "| memcheck | not run |" in md
    # Each bench step: a first process that faulted (exit 4), then a --resume that finished.
    assert "| smoke | ran |" in md and "2 process(es), 1 device fault(s)" in md
    assert "| networks | ran |" in md
    calls = (state / "calls.txt").read_text().splitlines()
    runs = [c for c in calls if "--csv" in c and "--dry-run" not in c]
    assert len(runs) == 4, runs
    assert "--resume" not in runs[0] and all("--resume" in c for c in runs[1:])
    # Nothing lost: the rows of every process are in bench.csv, each once.
    with open(out / "bench.csv", newline="") as f:
        got = list(csv.reader(f))
    with open(FIXTURE, newline="") as f:
        fixture = list(csv.reader(f))
    assert got[0] == fixture[0]
    assert got[1:] == fixture[1:11]
    # The environment the binary reported is in the summary.
    assert "FAKE H200" in md
