"""Begin/end padding in the shapes-file format (the `pad_end` key, bench/shapes.hpp) as
scripts/tconv_results.py reads and writes it, and the bench's C++ reader on the same file."""

import subprocess

import pytest

import tconv_results as tr
from conftest import require_binary


def base():
    return {"name": "s", "n": 1, "c_in": 2, "h_in": 3, "w_in": 4, "c_out": 3, "k_h": 3, "k_w": 2,
            "stride_h": 2, "stride_w": 3, "pad_h": 0, "pad_w": 0, "out_pad_h": 0, "out_pad_w": 0,
            "dil_h": 1, "dil_w": 1, "groups": 1, "bias": False, "count": 1}


def test_read_pad_end():
    (s,) = tr.parse_shapes_file_text(
        "name,c_in,h_in,w_in,c_out,k,stride,pad,pad_end\n"
        "a,2,3,4,3,3:2,2:3,0:2,1:-3\n", "t.csv")
    assert (s["pad_h"], tr.pad_end(s, "h"), s["pad_w"], tr.pad_end(s, "w")) == (0, 1, 2, -3)
    assert (s["out_pad_h"], s["out_pad_w"]) == (-1, 5)  # begin - end
    assert (tr.h_out(s), tr.w_out(s)) == (6, 12)
    assert not tr.pytorch_pads(s)
    assert tr.validate_problem(s) == ""


def test_write_only_when_needed_and_round_trip():
    torch_form = dict(base(), name="t", pad_h=1, out_pad_h=1)
    text = tr.shapes_file_text([torch_form])
    assert text.splitlines()[0] == ",".join(tr.SHAPE_FILE_KEYS)  # header as before
    asym = base()
    tr.set_pads(asym, "h", 0, 1)
    tr.set_pads(asym, "w", 2, -3)
    text = tr.shapes_file_text([torch_form, asym])
    header, row_t, row_a = text.splitlines()
    assert header == ",".join(tr.SHAPE_FILE_KEYS + ["pad_end"])
    assert row_t.endswith(",1,")  # count 1, no pad_end
    cells = dict(zip(header.split(","), row_a.split(",")))
    assert (cells["pad"], cells["out_pad"], cells["pad_end"]) == ("0:2", "", "1:-3")
    back = tr.parse_shapes_file_text(text, "again.csv")
    assert tr.problem_key(back[1], False) == tr.problem_key(asym, False)
    assert tr.problem_key(back[0], False) == tr.problem_key(torch_form, False)


@pytest.mark.parametrize("text,needle", [
    ("c_in,h_in,w_in,c_out,k,out_pad,pad_end\n2,3,3,3,3,1,1\n", "'out_pad' cannot be given"),
    ("c_in,l,c_out,k,pad_end\n2,5,3,3,1:2\n", "a 1-D shape (l=) takes one value"),
    ("c_in,h_in,w_in,c_out,k,pad,pad_end\n2,3,3,3,3,3,2\n", "begin + end padding too large"),
    ("c_in,h_in,w_in,c_out,k,pad,pad_end\n2,3,3,3,3,-1,0\n", "pad_h = -1"),
])
def test_errors(text, needle):
    with pytest.raises(tr.UserError) as e:
        tr.parse_shapes_file_text(text, "bad.csv")
    assert needle in str(e.value)


def test_bench_reads_the_same_file(tmp_path):
    bench = require_binary("tconv_bench")
    asym = base()
    tr.set_pads(asym, "h", 0, 1)
    tr.set_pads(asym, "w", 2, -3)
    path = tmp_path / "s.csv"
    path.write_text(tr.shapes_file_text([asym]))
    out = subprocess.run([bench, "--shapes-file", str(path), "--impl", "gather", "--dry-run",
                          "--format", "csv"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    rows = [ln for ln in out.stdout.splitlines() if ln.startswith("user,s,")]
    assert len(rows) == 1 and ",gather,yes," in rows[0], out.stdout
