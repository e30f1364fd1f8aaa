"""The `l` key (a 1-D shape, H = 1) in scripts/tconv_results.py's mirror of the shapes-file parser
(bench/shapes.cpp): the same problem as the bench reads, the same mistakes refused."""

import pytest

import tconv_results as tr


def test_l_row_is_the_problem_with_h_1():
    (s,) = tr.parse_shapes_file_text(
        "name,n,c_in,l,c_out,k,stride,pad,out_pad,dil,bias\n"
        "up1,2,512,86,256,16,8,4,1,3,1\n", "m.csv")
    assert s["name"] == "up1"
    assert (s["n"], s["c_in"], s["c_out"]) == (2, 512, 256)
    assert (s["h_in"], s["w_in"]) == (1, 86)
    assert (s["k_h"], s["k_w"]) == (1, 16)
    assert (s["stride_h"], s["stride_w"]) == (1, 8)
    assert (s["pad_h"], s["pad_w"]) == (0, 4)
    assert (s["out_pad_h"], s["out_pad_w"]) == (0, 1)
    assert (s["dil_h"], s["dil_w"]) == (1, 3)
    assert s["bias"] is True
    # What the writers give back is the 2-D form with h_in = 1, and it reads as the same problem.
    again = tr.parse_shapes_file_text(tr.shapes_file_text([s]), "again.csv")
    assert tr.problem_key(again[0], again[0]["bias"]) == tr.problem_key(s, s["bias"])


def test_1d_and_2d_rows_mix():
    shapes = tr.parse_shapes_file_text(
        "c_in,h_in,w_in,l,c_out,k\n8,5,6,,4,3\n8,,,100,4,3\n", "m.csv")
    assert (shapes[0]["h_in"], shapes[0]["k_h"]) == (5, 3)
    assert (shapes[1]["h_in"], shapes[1]["w_in"], shapes[1]["k_h"], shapes[1]["k_w"]) == (1, 100, 1, 3)


@pytest.mark.parametrize("text, needle", [
    ("c_in,h_in,l,c_out,k\n8,3,100,4,3\n", "cannot be given with"),
    ("c_in,l,c_out,k\n8,100,4,3:5\n", "takes one value"),
    ("c_in,l,c_out,k,stride\n8,100,4,3,1:2\n", "takes one value"),
    ("c_in,h_in,w_in,l,c_out,k\n8,,,,4,3\n", "'h_in'"),
    ("c_in,c_out,k\n8,4,3\n", "h_in"),
    ("c_in,l,c_out,k\n8,0,4,3\n", "invalid problem"),
    ("c_in,l,c_out,k\n8,ten,4,3\n", "'l=ten'"),
])
def test_bad_l_rows_are_one_line_errors(text, needle):
    with pytest.raises(tr.UserError) as e:
        tr.parse_shapes_file_text(text, "bad.csv")
    assert needle in str(e.value)
    assert "\n" not in str(e.value)
