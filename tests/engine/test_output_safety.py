"""Never lose data (outputs never overwrite the model or the input, writes are atomic) and terminal-safe output (names
from the file escaped, error lines one line and capped), through the real CLI entry point."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import engine
from engine.export import atomic_open, save_arrays
from engine.trace import member_name
from lstm_inspector import cli

from . import crafted

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(argv, capsys):
    rc = cli.main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def one_error_line(err: str, prefix: str = "error: ") -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and err.endswith("\n") and lines[0].startswith(prefix), err[:500]
    assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in lines[0]), lines[0][:300]
    assert len(lines[0]) <= 300, len(lines[0])
    return lines[0]


@pytest.fixture
def files(tmp_path):
    model = crafted.tiny_h5(tmp_path / "model.h5")
    x = tmp_path / "x.npy"
    np.save(x, np.random.RandomState(1).randn(3, 4, 2).astype("f4"))
    return tmp_path, str(model), str(x)


# --- the output is never the model or the input ----------------------------------------------------------------
@pytest.mark.parametrize("cmd", ["predict", "trace"])
@pytest.mark.parametrize("victim", ["model", "input"])
@pytest.mark.parametrize("how", ["same path", "symlink", "hard link", "relative path"])
def test_output_that_is_the_model_or_the_input_is_refused(files, capsys, monkeypatch, cmd, victim, how):
    tmp, model, x = files
    target = model if victim == "model" else x
    before = open(target, "rb").read()
    if how == "same path":
        out = target
    elif how == "symlink":
        out = str(tmp / "link.npz")
        os.symlink(target, out)
    elif how == "hard link":
        out = str(tmp / "hard.npz")
        os.link(target, out)
    else:
        monkeypatch.chdir(tmp)
        out = os.path.join(".", "sub", "..", os.path.basename(target))
        (tmp / "sub").mkdir()
    rc, _, err = run([cmd, model, "--input", x, "--output", out], capsys)
    line = one_error_line(err)
    assert rc == 2 and f"is the {victim} file; refusing to overwrite it" in line
    assert open(target, "rb").read() == before


def test_failed_write_leaves_nothing_and_the_old_file_intact(tmp_path):
    out = tmp_path / "y.npz"
    out.write_bytes(b"precious old output")

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        with atomic_open(out) as fh:
            fh.write(b"half of a new file")
            raise Boom
    assert out.read_bytes() == b"precious old output"
    assert sorted(os.listdir(tmp_path)) == ["y.npz"]  # no temporary file left behind
    new = tmp_path / "new.npz"
    with pytest.raises(Boom):
        with atomic_open(new) as fh:
            raise Boom
    assert not new.exists() and sorted(os.listdir(tmp_path)) == ["y.npz"]


def test_cli_write_failure_midway(files, capsys, monkeypatch):
    tmp, model, x = files
    out = tmp / "y.npy"
    out.write_bytes(b"old")

    def failing_save(fh, a, *args, **kw):
        fh.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "save", failing_save)
    rc, _, err = run(["predict", model, "--input", x, "--output", str(out)], capsys)
    assert rc == 2 and "cannot write (No space left on device)" in one_error_line(err)
    assert out.read_bytes() == b"old" and sorted(os.listdir(tmp)) == ["model.h5", "x.npy", "y.npy"]


def test_atomic_write_keeps_mode_and_writes_through_symlinks(tmp_path):
    real = tmp_path / "real.npz"
    real.write_bytes(b"old")
    os.chmod(real, 0o640)
    link = tmp_path / "link.npz"
    os.symlink(real, link)
    save_arrays(link, {"a": np.arange(3)})
    assert os.path.islink(link) and (os.stat(real).st_mode & 0o777) == 0o640
    assert np.load(real)["a"].tolist() == [0, 1, 2]


def test_predict_writes_atomically_and_overwrites_an_old_output(files, capsys):
    tmp, model, x = files
    out = tmp / "y.npy"
    out.write_bytes(b"old")
    rc, _, err = run(["predict", model, "--input", x, "--output", str(out)], capsys)
    assert rc == 0 and err == ""
    np.testing.assert_array_equal(np.load(out), engine.load_model(model).predict(np.load(x)))
    assert sorted(os.listdir(tmp)) == ["model.h5", "x.npy", "y.npy"]


# --- terminal-safe output ---------------------------------------------------------------------------------------
HOSTILE = "evil\x1b]0;pwned\x07\x1b[2J\nname\u202e"


def test_info_escapes_names_from_the_file(tmp_path, capsys):
    cfg = crafted.tiny_config()
    cfg["config"]["name"] = HOSTILE
    cfg["config"]["layers"][0]["config"]["name"] = "lstm" + HOSTILE
    w = crafted.tiny_weights()
    w = {"lstm" + HOSTILE: w["lstm"], "dense": w["dense"]}
    p = crafted.tiny_h5(tmp_path / "m.h5", config=cfg, weights=w, keras_version="2.21\x1b[31m")
    rc, out, err = run(["info", str(p)], capsys)
    assert rc == 0 and err == ""
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "evil\\x1b]0;pwned\\x07\\x1b[2J\\x0aname\\u202e" in out and "2.21\\x1b[31m" in out
    assert not any(ord(c) < 32 and c != "\n" for c in out)


def test_error_line_escapes_names_from_the_file(tmp_path, capsys):
    cfg = crafted.tiny_config([{"class_name": "Evil" + HOSTILE, "config": {"name": "x" + HOSTILE}}])
    p = crafted.tiny_h5(tmp_path / "m.h5", config=cfg)
    # info lists the model and warns (exit 0); predict refuses it (exit 2): one escaped line either way
    for cmd, rc_want, prefix in ((["info", str(p)], 0, "warning: "),
                                 (["predict", str(p), "--input", str(p), "--output", str(tmp_path / "o.npy")], 2, "error: ")):
        rc, out, err = run(cmd, capsys)
        line = one_error_line(err, prefix)
        assert rc == rc_want and "\\x1b]0;pwned" in line and "not supported" in line
        assert "\x1b" not in out


def test_two_megabyte_class_name_gives_a_short_error(tmp_path, capsys):
    cfg = crafted.tiny_config([{"class_name": "X" * 2_000_000, "config": {"name": "big"}}])
    p = crafted.tiny_h5(tmp_path / "big.h5", config=cfg)
    rc, out, err = run(["info", str(p)], capsys)
    line = one_error_line(err, "warning: ")
    assert rc == 0 and "is not supported" in line and "more characters" in line
    assert max(len(l) for l in out.splitlines()) < 400  # the info table's line too


def test_file_name_with_newline_and_escapes_one_line(tmp_path, capsys):
    p = tmp_path / "a\nb\x1b[2J.h5"
    p.write_text("not a model")
    rc, _, err = run(["info", str(p)], capsys)
    line = one_error_line(err)
    assert rc == 2 and "a\\x0ab\\x1b[2J.h5: is neither an HDF5" in line


def test_long_path_and_reason_capped(tmp_path, capsys):
    d = tmp_path / ("d" * 200) / ("e" * 200)
    d.mkdir(parents=True)
    p = d / "model.h5"
    p.write_text("x")
    rc, _, err = run(["info", str(p)], capsys)
    line = one_error_line(err)
    assert rc == 2 and "model.h5: is neither an HDF5" in line  # the file name survives the cut


def test_undecodable_file_name_printed_escaped(tmp_path):
    # a file name that is not UTF-8 (lone surrogates in Python): stdout must not fail to encode it
    model = crafted.tiny_h5(tmp_path / "m.h5")
    odd = os.fsencode(str(tmp_path)) + b"/m\xff\xfe.h5"
    os.rename(model, odd)
    r = subprocess.run([sys.executable, "main.py", "info", os.fsdecode(odd)], cwd=ROOT, capture_output=True,
                       env=dict(os.environ, PYTHONIOENCODING="utf-8"))
    assert r.returncode == 0, r.stderr
    assert b"m\\udcff\\udcfe.h5" in r.stdout and r.stderr == b""


# --- trace member names -----------------------------------------------------------------------------------------
def test_trace_member_names_are_safe():
    taken: set[str] = set()
    assert member_name("lstm", taken) == "lstm"
    assert member_name("outer/inner", taken) == "outer/inner"  # nested models keep their path
    assert member_name("../../etc/passwd", taken) == "__/__/etc/passwd"
    assert member_name("/abs", taken) == "_/abs"
    assert member_name("a\x00b\\c:d", taken) == "a_b_c_d"
    assert member_name("lstm", taken) == "lstm~2"


def test_trace_file_from_hostile_layer_names(tmp_path, capsys):
    cfg = crafted.tiny_config()
    cfg["config"]["layers"][0]["config"]["name"] = "../../../tmp/evil"
    w = crafted.tiny_weights()
    w = {"../../../tmp/evil": w["lstm"], "dense": w["dense"]}
    p = crafted.tiny_h5(tmp_path / "m.h5", config=cfg, weights=w)
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((2, 4, 2), "f4"))
    out = tmp_path / "t.npz"
    rc, _, err = run(["trace", str(p), "--input", str(x), "--output", str(out)], capsys)
    assert rc == 0, err
    import zipfile

    names = zipfile.ZipFile(out).namelist()
    assert "______/tmp/evil/h.npy".replace("______", "__/__/__") in names
    assert not any(n.startswith("/") or ".." in n.split("/") for n in names)


# --- --max-memory -------------------------------------------------------------------------------------------------
def test_max_memory_reaches_the_limits(files, capsys, tmp_path):
    tmp, model, x = files
    big = tmp / "big.npy"
    np.save(big, np.zeros((5000, 4, 2), "f4"))  # 160 KB
    rc, _, err = run(["predict", model, "--input", str(big), "--output", str(tmp / "y.npy"), "--max-memory", "100K"],
                     capsys)
    assert rc == 2 and "100.0 KB input budget" in one_error_line(err)
    rc, _, err = run(["predict", model, "--input", str(big), "--output", str(tmp / "y.npy"), "--max-memory", "12G"],
                     capsys)
    assert rc == 0 and err == ""


def test_max_memory_bad_value(files, capsys):
    _, model, _ = files
    with pytest.raises(SystemExit) as ei:
        cli.main(["info", model, "--max-memory", "lots"])
    assert ei.value.code == 2
    assert "'lots' is not a size" in capsys.readouterr().err


def test_max_layers_from_the_command_line(files, capsys):
    _, model, _ = files
    rc, _, err = run(["info", model, "--max-layers", "2"], capsys)
    assert rc == 2 and "more than 2 layer calls; refusing" in one_error_line(err)
    rc, _, err = run(["info", model, "--max-layers", "3"], capsys)
    assert rc == 0 and err == ""


def test_max_memory_reaches_the_weight_budget_of_the_reader(files, capsys):
    _, model, _ = files
    rc, _, err = run(["info", model, "--max-memory", "100"], capsys)
    assert rc == 2 and "weights are larger than" in one_error_line(err)


def test_every_subcommand_takes_the_budgets(files, capsys, tmp_path):
    # explain reads an input too: --max-memory reaches it as it does predict's
    tmp, model, x = files
    big = tmp / "big.npy"
    np.save(big, np.zeros((5000, 4, 2), "f4"))  # 160 KB
    rc, _, err = run(["explain", model, "--input", str(big), "--layer", "lstm", "--step", "0", "--unit", "0",
                      "--max-memory", "100K"], capsys)
    assert rc == 2 and "100.0 KB input budget" in one_error_line(err)
    for cmd in (["info", model], ["export-code", model, "--output", str(tmp_path / "code")]):
        with pytest.raises(SystemExit) as ei:
            cli.main(cmd + ["--read-timeout", "never"])
        assert ei.value.code == 2 and "'never' is not a number of seconds" in capsys.readouterr().err


def test_a_refusal_is_one_line_even_after_a_warning(tmp_path, capsys):
    # a diverged model warns (non-finite weights) on success; when the run is then refused, only the error is printed
    from tests.fixture_index import FIXTURES, find

    e = find("wild_nan_lstm_gate", "k3keras")
    model, data = str(FIXTURES / e["model"]), np.load(FIXTURES / e["data"])
    good, bad = tmp_path / "x.npy", tmp_path / "bad.npy"
    np.save(good, data["x_0"])
    np.save(bad, data["x_0"][:, :, :1])  # one feature too few
    rc, _, err = run(["predict", model, "--input", str(good), "--output", str(tmp_path / "y.npy")], capsys)
    assert rc == 0 and err.startswith("warning: ") and "non-finite weights" in err and len(err.splitlines()) == 1
    rc, _, err = run(["predict", model, "--input", str(bad), "--output", str(tmp_path / "y.npy")], capsys)
    assert rc == 2 and one_error_line(err).startswith("error: ")
