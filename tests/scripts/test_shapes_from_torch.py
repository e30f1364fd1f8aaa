"""scripts/shapes_from_torch.py: a model defined here, run on CPU with hooks; each shape checked
against torch's own conv_transpose2d. Needs torch (reported skipped without it), except the
test that torch's absence is one clear error line."""

import csv
import textwrap

import pytest

from conftest import assert_one_line_error

MODEL = textwrap.dedent("""
    import torch
    from torch import nn

    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.up1 = nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1)
            self.blocks = nn.ModuleList([nn.ConvTranspose2d(4, 4, 3, padding=1, bias=False)
                                         for _ in range(3)])
            self.up2 = nn.ConvTranspose2d(4, 6, (3, 5), stride=(2, 3), padding=(1, 2),
                                          dilation=(1, 2), groups=2, bias=False)
            self.line = nn.ConvTranspose1d(6, 2, 5, stride=3, padding=2, output_padding=1)
            self.vol = nn.ConvTranspose3d(1, 1, 2)

        def forward(self, x):
            y = self.up1(x)
            for b in self.blocks:        # three modules, one problem
                y = b(y)
            y = self.blocks[0](y)        # a module called twice counts twice
            # output_size picks the output padding: 2*H = 20 (base 19), 3*W+3 = 39 (base 38)
            y = self.up2(y, output_size=[2 * y.shape[2], 3 * y.shape[3] + 3])
            z = self.line(y.mean(dim=2))
            self.vol(torch.zeros(1, 1, 2, 2, 2))
            return y, z

    def make():
        return Decoder()

    def not_a_module():
        return 42

    def broken():
        raise RuntimeError("no weights here")
""")


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "mymodels.py"
    path.write_text(MODEL)
    return path


def read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_extracts_every_call(run_script, tmp_path, model_file):
    torch = pytest.importorskip("torch")
    out = tmp_path / "shapes.csv"
    res = run_script("shapes_from_torch.py", "mymodels:make", "--input-shape", "2,8,5,6",
                     "-o", str(out))
    assert res.returncode == 0, res.stderr
    rows = read(out)
    got = [(r["name"], r["n"], r["c_in"], r["h_in"], r["w_in"], r["c_out"], r["k"], r["stride"],
            r["pad"], r["out_pad"], r["dil"], r["groups"], r["bias"], r["count"]) for r in rows]
    assert got == [
        ("up1", "2", "8", "5", "6", "4", "4", "2", "1", "0", "1", "1", "1", "1"),
        ("blocks.0", "2", "4", "10", "12", "4", "3", "1", "1", "0", "1", "1", "0", "4"),
        ("up2", "2", "4", "10", "12", "6", "3:5", "2:3", "1:2", "1", "1:2", "2", "0", "1"),
        ("line", "2", "6", "1", "39", "2", "1:5", "1:3", "0:2", "0:1", "1", "1", "1", "1"),
    ]
    assert "skipped call of 'vol': 3-D ConvTranspose" in res.stderr
    assert "7 ConvTranspose call(s) -> 4 shape(s)" in res.stderr and "1 skipped" in res.stderr

    # Each shape is what torch itself computes: conv_transpose2d with the shape's parameters
    # gives the output size the model produced (checked through the module's own output).
    import tconv_results as tr
    for s in tr.read_shapes_file(str(out)):
        x = torch.zeros(s["n"], s["c_in"], s["h_in"], s["w_in"])
        w = torch.zeros(s["c_in"], s["c_out"] // s["groups"], s["k_h"], s["k_w"])
        y = torch.nn.functional.conv_transpose2d(
            x, w, stride=(s["stride_h"], s["stride_w"]), padding=(s["pad_h"], s["pad_w"]),
            output_padding=(s["out_pad_h"], s["out_pad_w"]), groups=s["groups"],
            dilation=(s["dil_h"], s["dil_w"]))
        assert tuple(y.shape) == (s["n"], s["c_out"], tr.h_out(s), tr.w_out(s))


def test_output_size_becomes_output_padding(run_script, tmp_path, model_file):
    pytest.importorskip("torch")
    # MODULE given as a file path; output on stdout
    res = run_script("shapes_from_torch.py", str(model_file) + ":make", "--input-shape",
                     "1,8,4,3")
    assert res.returncode == 0, res.stderr
    rows = list(csv.DictReader(res.stdout.splitlines()))
    up2 = next(r for r in rows if r["name"] == "up2")
    # input 8x6: H base 7*2 - 2 + 2 + 1 = 15, asked 16; W base 5*3 - 4 + 8 + 1 = 20, asked 21
    assert (up2["h_in"], up2["w_in"], up2["out_pad"]) == ("8", "6", "1")


def test_errors(run_script, tmp_path, model_file):
    pytest.importorskip("torch")
    res = run_script("shapes_from_torch.py", "mymodels:nothing", "--input-shape", "1,8,4,4")
    assert_one_line_error(res, "'mymodels' has no callable 'nothing'")
    res = run_script("shapes_from_torch.py", "nosuchmodule:make", "--input-shape", "1,8,4,4")
    assert_one_line_error(res, "cannot import 'nosuchmodule'")
    res = run_script("shapes_from_torch.py", "mymodels:not_a_module", "--input-shape", "1,8")
    assert_one_line_error(res, "not a torch.nn.Module")
    res = run_script("shapes_from_torch.py", "mymodels:broken", "--input-shape", "1,8,4,4")
    assert_one_line_error(res, "mymodels:broken() failed", "no weights here")
    out = tmp_path / "s.csv"
    res = run_script("shapes_from_torch.py", "mymodels:make", "--input-shape", "1,3,4,4",
                     "-o", str(out))
    assert_one_line_error(res, "forward pass on input (1, 3, 4, 4) failed")
    assert not out.exists()
    res = run_script("shapes_from_torch.py", "mymodels:make", "--input-shape", "1,x,4")
    assert_one_line_error(res, "--input-shape")
    res = run_script("shapes_from_torch.py", "make", "--input-shape", "1,8,4,4")
    assert_one_line_error(res, "expected MODULE:FACTORY")


def test_without_torch_one_line(run_script, tmp_path, model_file):
    """Runs everywhere: with torch hidden, the script says so in one line."""
    res = run_script("shapes_from_torch.py", "mymodels:make", "--input-shape", "1,8,4,4",
                     pre="sys.modules['torch'] = None")
    assert_one_line_error(res, "PyTorch is not installed")
