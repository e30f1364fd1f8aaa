"""The results CSV's contract as the scripts read it: `tconv_bench --print-contract`
(bench/contract.cpp), the copy it wrote into the repository (docs/results-contract.json), and
scripts/tconv_results.py's contract(), which every script goes through."""

import json
import os
import subprocess

import pytest

from conftest import REPO, require_binary

CONTRACT_FILE = os.path.join(REPO, "docs", "results-contract.json")


def test_the_binary_prints_the_committed_contract():
    bench = require_binary("tconv_bench")
    out = subprocess.run([bench, "--print-contract"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    with open(CONTRACT_FILE, encoding="utf-8") as f:
        committed = f.read()
    assert out.stdout == committed, (
        "docs/results-contract.json differs from `tconv_bench --print-contract`: rewrite it "
        "with `build/tconv_bench --print-contract > docs/results-contract.json`")
    names = [c["name"] for c in data["columns"]]
    assert names[:2] == ["suite", "shape"] and "accuracy" in names
    # contract columns first, extras after: the contract only ever grows at its end
    flags = [c["contract"] for c in data["columns"]]
    assert flags == sorted(flags, reverse=True)


def test_scripts_read_the_contract_not_a_copy(monkeypatch, tmp_path):
    import tconv_results as tr
    data = json.loads(open(CONTRACT_FILE, encoding="utf-8").read())
    data["columns"].insert(2, {"name": "zz_new", "contract": True, "meaning": "a test column"})
    path = tmp_path / "c.json"
    path.write_text(json.dumps(data))
    monkeypatch.setenv("TCONV_CONTRACT", str(path))
    monkeypatch.setattr(tr, "_contract_cache", {})
    assert tr.CONTRACT_COLUMNS[:3] == ["suite", "shape", "zz_new"]
    assert "zz_new" not in tr.EXTRA_COLUMNS


@pytest.mark.parametrize("text", ["not json", "{}", '{"columns": [], "accuracy": {}}',
                                  '{"columns": [{"name": "a"}], "accuracy": {"dtypes": {}}}'])
def test_a_broken_contract_is_one_clear_error(monkeypatch, tmp_path, text):
    import tconv_results as tr
    path = tmp_path / "c.json"
    path.write_text(text)
    monkeypatch.setenv("TCONV_CONTRACT", str(path))
    monkeypatch.setattr(tr, "_contract_cache", {})
    with pytest.raises(tr.UserError) as e:
        tr.contract()
    assert str(path) in str(e.value) and "\n" not in str(e.value)
