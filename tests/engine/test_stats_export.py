import numpy as np

from engine.export import save_matrix
from engine.stats import block_stats, symmetric_limit


def test_block_stats():
    a = np.array([[3.0, -4.0], [0.0, 1.0]], "f4")
    s = block_stats(a)
    assert (s.min, s.max, s.mean) == (-4.0, 3.0, 0.0)
    assert np.isclose(s.std, np.std(a)) and np.isclose(s.norm, np.sqrt(26.0))
    assert "min -4" in s.line() and "max +3" in s.line()


def test_symmetric_limit():
    assert symmetric_limit(np.array([-2.0, 1.0])) == 2.0
    assert symmetric_limit(np.zeros(3)) == 1.0


def test_save_matrix_roundtrip(tmp_path):
    a = np.random.RandomState(0).randn(3, 5).astype("f4")
    save_matrix(tmp_path / "a.npy", a)
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), a)
    save_matrix(tmp_path / "a.csv", a)
    lines = (tmp_path / "a.csv").read_text().splitlines()
    assert lines[0] == "c0,c1,c2,c3,c4"  # a header row
    np.testing.assert_array_equal(np.loadtxt(tmp_path / "a.csv", delimiter=",", dtype="f4", skiprows=1), a)
    save_matrix(tmp_path / "b.csv", a[0])
    np.testing.assert_array_equal(np.loadtxt(tmp_path / "b.csv", delimiter=",", dtype="f4", skiprows=1), a[0])


def test_save_matrix_csv_named_rows_and_columns(tmp_path):
    a = np.arange(6, dtype="f4").reshape(2, 3) / 7
    save_matrix(tmp_path / "n.csv", a, columns=["i·u0", "i·u1", "f,u0"], rows=["x0", "x1"])
    lines = (tmp_path / "n.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == ',i·u0,i·u1,"f,u0"'
    assert [line.split(",")[0] for line in lines[1:]] == ["x0", "x1"]
    back = np.loadtxt(tmp_path / "n.csv", delimiter=",", dtype="f4", skiprows=1, usecols=(1, 2, 3))
    np.testing.assert_array_equal(back, a)


def test_load_dataset_demo_and_fixture(tmp_path):
    from pathlib import Path

    from engine.inputs import load_dataset, random_dataset

    root = Path(__file__).resolve().parents[2]
    d = load_dataset(root / "resources/demo/sine_data.npz")
    assert d.inputs[0].shape == (200, 5, 1) and d.targets.shape == (200, 1) and d.keras_outputs[0].shape == (200, 1)
    f = load_dataset(root / "tests/fixtures/k3keras/func_state.npz")
    assert f.inputs[0].shape == (4, 7, 3) and len(f.keras_outputs) == 3 and f.targets is None
    np.save(tmp_path / "x.npy", np.ones((2, 3, 1), "f4"))
    assert load_dataset(tmp_path / "x.npy").inputs[0].shape == (2, 3, 1)
    r = random_dataset([(None, None, 4)], batch=3, steps=7)
    assert r.inputs[0].shape == (3, 7, 4) and r.inputs[0].dtype == np.float32
