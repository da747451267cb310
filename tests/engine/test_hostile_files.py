"""Files made to hurt: each is refused in one line, read in a child process that may crash or hang at no cost,
and nothing outside the model file is ever read. Each test first shows the file does what it is made to do when
opened naively (h5py, zipfile), so it can fail."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

import engine
from engine.errors import FormatError, ModelFileError
from engine.limits import Limits
from engine.model_file import read_model_file

from . import crafted

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "k2h5" / "toy_tanh_sigmoid.h5"
K3_FIXTURE = ROOT / "tests" / "fixtures" / "k3h5" / "toy_tanh_sigmoid.h5"
# Found by tools/find_crashers.py: one byte of a committed fixture changed, libhdf5 then crashes or never returns.
SEGFAULT = (FIXTURE, 7561, 0xFF)  # SIGSEGV reading attribute 'weight_names' of 'model_weights/dense'
SPIN = (K3_FIXTURE, 4616, 0x80)  # spins forever (CPU, no memory) reading attribute 'model_config' of '/'
KERAS_SPIN = (ROOT / "tests" / "fixtures" / "k3keras" / "toy_tanh_sigmoid.keras", 4934, 0xFF)  # in the weights member
GREEDY = (FIXTURE, 12435, 0x80)  # grabs ~2 GB, then spins, reading attribute 'weight_names' of 'model_weights/lstm'


def load_error(path, **kw) -> str:
    with pytest.raises(ModelFileError) as ei:
        engine.load_model(path, **kw)
    msg = str(ei.value)
    assert msg.startswith(str(path) + ": ") and "\n" not in msg, msg
    return msg


def in_process_error(path) -> str:
    with pytest.raises(FormatError) as ei:
        read_model_file(path)
    return str(ei.value)


# --- what HDF5 can pull in from elsewhere ------------------------------------------------------------------------

def test_external_storage_is_refused_and_never_read(tmp_path):
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.full(crafted.FEATURES * 4 * crafted.UNITS, 1234.5, "f4").tobytes())
    p = crafted.h5_external_storage(tmp_path / "m.h5", secret)
    with h5py.File(p, "r") as f:  # opened naively, the kernel *is* the other file's bytes
        assert (f[crafted.KERNEL][()] == 1234.5).all()
    msg = load_error(p)
    assert "external file" in msg and "'model_weights/lstm/lstm/lstm_cell/kernel:0'" in msg
    assert "external file" in in_process_error(p)


def test_external_link_is_refused(tmp_path):
    p = crafted.h5_external_link(tmp_path / "m.h5", tmp_path / "other.h5")
    with h5py.File(p, "r") as f:
        assert "kernel:0" in str(list(f["model_weights/dense/dense"].keys()))  # followed into other.h5
    assert "'model_weights/dense' is an external link" in load_error(p)


def test_soft_link_is_refused(tmp_path):
    p = crafted.h5_soft_link(tmp_path / "m.h5")
    assert "'model_weights/dense' is a soft link" in load_error(p)


def test_virtual_dataset_over_itself_is_refused(tmp_path):
    # Read naively, this one kills the process inside libhdf5 (SIGSEGV): it is never read here, only refused.
    p = crafted.h5_virtual_kernel(tmp_path / "m.h5")
    assert "virtual dataset" in load_error(p)


def test_virtual_dataset_over_a_missing_file_is_refused(tmp_path):
    p = crafted.h5_virtual_kernel(tmp_path / "m.h5", source_file=tmp_path / "gone.h5")
    with h5py.File(p, "r") as f:
        assert not f[crafted.KERNEL][()].any()  # silently zeros
    assert "virtual dataset" in load_error(p)


# --- storage a Keras file never uses -----------------------------------------------------------------------------

def test_chunks_larger_than_the_dataset_are_refused(tmp_path):
    # a (4,) bias whose one chunk is declared 4 MB (the case had 2 GiB): refused before a byte is inflated
    p = crafted.h5_dataset(tmp_path / "m.h5", "model_weights/dense/dense/bias:0", chunks=(1 << 20,), maxshape=(None,),
                           compression="gzip")
    assert "chunks (1048576,) larger than its shape (1,)" in load_error(p)


@pytest.mark.parametrize("opts,name", [({"fletcher32": True}, "fletcher32"), ({"scaleoffset": 0}, "scaleoffset")])
def test_other_filters_are_refused(tmp_path, opts, name):
    p = crafted.h5_dataset(tmp_path / "m.h5", chunks=(1, 4), **opts)
    assert f"uses the {name} filter" in load_error(p)


@pytest.mark.parametrize("opts", [{"compression": "gzip"}, {"compression": "lzf", "shuffle": True},
                                  {"compression": "gzip", "shuffle": True, "chunks": (2, 12)}])
def test_gzip_lzf_shuffle_read_like_plain(tmp_path, opts):
    x = np.random.RandomState(1).randn(2, 4, crafted.FEATURES).astype("f4")
    ref = engine.load_model(crafted.tiny_h5(tmp_path / "ref.h5")).predict(x)
    p = crafted.h5_dataset(tmp_path / "m.h5", **opts)
    np.testing.assert_array_equal(engine.load_model(p).predict(x), ref)


def test_weight_budget_counts_the_real_item_size(tmp_path):
    n = sum(a.size for arrays in crafted.tiny_weights().values() for _, a in arrays)
    limits = Limits(max_bytes=n * 4 + 8)  # room for every weight in float32, not in float64
    w64 = {k: [(name, a.astype("f8")) for name, a in v] for k, v in crafted.tiny_weights().items()}
    engine.load_model(crafted.tiny_h5(tmp_path / "f4.h5"), limits=limits)
    assert "weights are larger than" in load_error(crafted.tiny_h5(tmp_path / "f8.h5", weights=w64), limits=limits)
    # and within budget, float64 weights are read as float32, as before
    m = engine.load_model(tmp_path / "f8.h5")
    assert m.layer("lstm").kernel.dtype == np.float32


# --- walks that never end ----------------------------------------------------------------------------------------

def test_hard_link_chain_of_2_to_the_40_paths_is_refused_at_once(tmp_path):
    p = crafted.keras_zip(tmp_path / "m.keras", crafted.keras_members_with_weights(crafted.hardlink_chain))
    assert p.stat().st_size < 100_000
    t = time.perf_counter()
    assert "are the same object (linked twice)" in load_error(p)
    assert time.perf_counter() - t < 5


def test_hard_link_cycle_is_refused(tmp_path):
    p = crafted.keras_zip(tmp_path / "m.keras", crafted.keras_members_with_weights(crafted.hardlink_cycle))
    assert "'layers/lstm/cell/loop' and 'layers/lstm' are the same object" in load_error(p)


def test_group_listed_twice_by_hard_link_is_refused(tmp_path):
    assert "the same object" in load_error(crafted.h5_linked_twice(tmp_path / "m.h5"))


# --- a crash or a hang in libhdf5 costs nothing ------------------------------------------------------------------

def _naive_open(path) -> subprocess.CompletedProcess:
    code = f"import engine.model_file as m; m.read_model_file({str(path)!r})"
    return subprocess.run([sys.executable, "-c", code], cwd=str(ROOT), capture_output=True, timeout=60)


def test_file_that_crashes_libhdf5_is_one_clear_error(tmp_path):
    p = crafted.flipped(*SEGFAULT[:1], tmp_path / "crash.h5", *SEGFAULT[1:])
    assert _naive_open(p).returncode == -11  # in-process, this file kills the interpreter (SIGSEGV)
    msg = load_error(p)
    assert "the file crashed the HDF5 library (SIGSEGV) while reading attribute 'weight_names' of " \
           "'model_weights/dense'" in msg
    # and the process that asked is fine: the next file opens
    assert engine.load_model(FIXTURE).layer("lstm").units == 8


def test_file_that_spins_libhdf5_times_out(tmp_path):
    p = crafted.flipped(*SPIN[:1], tmp_path / "spin.h5", *SPIN[1:])
    with pytest.raises(subprocess.TimeoutExpired):
        _naive_open_with_timeout(p, 3)
    t = time.perf_counter()
    msg = load_error(p, limits=Limits(read_seconds=2))
    assert time.perf_counter() - t < 10
    assert "reading took longer than 2 s (while reading attribute 'model_config' of '/')" in msg


def test_file_that_makes_libhdf5_grab_memory_meets_the_limit(tmp_path):
    # Walking the structure may take 1 GB beyond the reader's own: this attribute read asks for ~2 GB. In-process,
    # what follows depends on the machine's free memory (seen: a spin of minutes, or a quick failure), so only the
    # isolated read's outcome is asserted: refused quickly, by the memory cap, naming where.
    p = crafted.flipped(*GREEDY[:1], tmp_path / "greedy.h5", *GREEDY[1:])
    t = time.perf_counter()
    msg = load_error(p, limits=Limits(read_seconds=20))
    assert time.perf_counter() - t < 10
    assert "attribute 'weight_names' of 'model_weights/lstm' cannot be read" in msg


def test_small_weights_member_has_its_crc_checked_before_libhdf5_reads_it(tmp_path):
    # One byte changed inside the stored model.weights.h5 makes libhdf5 spin; its CRC says so first.
    p = crafted.flipped(*KERAS_SPIN[:1], tmp_path / "spin.keras", *KERAS_SPIN[1:])
    t = time.perf_counter()
    assert "model.weights.h5 is corrupt (CRC mismatch)" in load_error(p, limits=Limits(read_seconds=5))
    assert time.perf_counter() - t < 4


def _naive_open_with_timeout(path, seconds):
    code = f"import engine.model_file as m; m.read_model_file({str(path)!r})"
    return subprocess.run([sys.executable, "-c", code], cwd=str(ROOT), capture_output=True, timeout=seconds)


def test_cancel_kills_a_slow_read(tmp_path):
    p = crafted.flipped(*SPIN[:1], tmp_path / "spin.h5", *SPIN[1:])
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    t = time.perf_counter()
    with pytest.raises(ModelFileError, match="cancelled"):
        engine.load_model(p, cancel=cancel)
    assert time.perf_counter() - t < 5
    assert engine.load_model(FIXTURE).layer("lstm").units == 8  # the next read is not held up


def test_cli_on_a_crashing_file_prints_one_line(tmp_path):
    p = crafted.flipped(*SEGFAULT[:1], tmp_path / "crash.h5", *SEGFAULT[1:])
    r = subprocess.run([sys.executable, "main.py", "info", str(p)], cwd=str(ROOT), capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and r.stderr.startswith(f"error: {p}: the file crashed the HDF5 library")


def test_the_parent_never_runs_libhdf5_on_the_file(tmp_path, monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("libhdf5 called in the parent")

    p = crafted.tiny_h5(tmp_path / "m.h5")
    monkeypatch.setattr(h5py, "File", refuse)
    monkeypatch.setattr(h5py, "is_hdf5", refuse)
    m = engine.load_model(p)
    k = m.layer("lstm").kernel
    np.testing.assert_array_equal(k, crafted.tiny_weights()["lstm"][0][1])


def test_isolated_weights_are_read_only_and_equal_in_process(tmp_path):
    from engine.reader_process import read_isolated

    for p in (crafted.tiny_h5(tmp_path / "m.h5"), crafted.keras_zip(tmp_path / "m.keras", crafted.tiny_keras_members())):
        here, there = read_model_file(p), read_isolated(p)
        assert there.config == here.config and there.keras_version == here.keras_version
        assert sorted(there.weights) == sorted(here.weights) == ["dense", "lstm"]
        for name in here.weights:
            a, b = here.weights[name].all_arrays(), there.weights[name].all_arrays()
            assert [n for n, _ in a] == [n for n, _ in b] and len(a) == len(crafted.tiny_weights()[name])
            for (_, x), (_, y) in zip(a, b):
                assert x.dtype == y.dtype and not y.flags.writeable
                np.testing.assert_array_equal(x, y)
        with pytest.raises(ValueError):
            there.weights["lstm"].all_arrays()[0][1][0, 0] = 1


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
def test_named_pipe_is_refused_not_waited_on(tmp_path):
    p = tmp_path / "m.h5"
    os.mkfifo(p)
    assert "not a regular file" in load_error(p)


# --- zip oddities ------------------------------------------------------------------------------------------------

def _keras(tmp_path, compression=zipfile.ZIP_STORED, members=None):
    return crafted.keras_zip(tmp_path / "m.keras", members or crafted.tiny_keras_members(), compression)


def test_zip_encrypted_member_is_refused(tmp_path):
    p = crafted.patch_zip(_keras(tmp_path), "config.json", central={8: b"\x01\x00"}, local={6: b"\x01\x00"})
    with zipfile.ZipFile(p) as z, pytest.raises(RuntimeError, match="encrypted"):
        z.read("config.json")
    assert "'config.json' is encrypted" in load_error(p)


def test_zip_version_needed_is_refused(tmp_path):
    p = crafted.patch_zip(_keras(tmp_path), "config.json", central={6: (64).to_bytes(2, "little")})
    with pytest.raises(NotImplementedError):
        zipfile.ZipFile(p)
    assert "zip file version 6.4" in load_error(p)


@pytest.mark.parametrize("compression,member,error,needle", [
    (zipfile.ZIP_DEFLATED, "config.json", "zlib.error", "Error -3 while decompressing"),
    (zipfile.ZIP_DEFLATED, "model.weights.h5", "zlib.error", "Error -3 while decompressing"),
    (zipfile.ZIP_LZMA, "config.json", "LZMAError", "Corrupt input data"),
    (zipfile.ZIP_BZIP2, "config.json", "OSError", "Invalid data stream")])
def test_zip_corrupt_stream_is_refused(tmp_path, compression, member, error, needle):
    p = _keras(tmp_path, compression)
    start, end = crafted.member_data_range(p, member)
    raw = bytearray(p.read_bytes())
    for i in range(start + 9, min(end, start + 40)):
        raw[i] ^= 0x5A
    p.write_bytes(bytes(raw))
    with zipfile.ZipFile(p) as z, pytest.raises(Exception) as naive:  # what zipfile raises, a traceback before
        z.read(member)
    assert type(naive.value).__name__ == error.split(".")[-1]
    assert f"archive member {member} cannot be read ({needle}" in load_error(p)


def test_zip_name_mismatch_is_refused(tmp_path):
    p = crafted.patch_zip(_keras(tmp_path), "model.weights.h5", local={30: b"model.weights.h6"})
    with zipfile.ZipFile(p) as z, pytest.raises(zipfile.BadZipFile, match="differ"):
        z.read("model.weights.h5")
    assert "the central directory and the member disagree" in load_error(p)


def test_zip_entry_pointing_at_another_members_header_is_refused(tmp_path):
    p = _keras(tmp_path)
    with zipfile.ZipFile(p) as z:
        other = z.getinfo("config.json").header_offset
    crafted.patch_zip(p, "model.weights.h5", central={42: other.to_bytes(4, "little")})
    assert "'model.weights.h5' is named b'config.json' in its local header" in load_error(p)


def test_zip_overlapping_members_are_refused(tmp_path):
    p = _keras(tmp_path)
    with zipfile.ZipFile(p) as z:
        info = z.getinfo("metadata.json")
    bigger = (info.compress_size + 40).to_bytes(4, "little")  # runs into the next member's header
    crafted.patch_zip(p, "metadata.json", central={20: bigger, 24: bigger})
    assert "overlap" in load_error(p)


def test_zip_member_held_twice_is_refused(tmp_path):
    p = _keras(tmp_path)
    with zipfile.ZipFile(p, "a") as z, pytest.warns(UserWarning):
        z.writestr("config.json", b"{}")
    assert "holds member 'config.json' twice" in load_error(p)


def test_zip_compressed_size_that_lies_is_refused(tmp_path):
    # the zip bomb check divides by the compressed size: a compressed size as big as the file hides the ratio
    members = crafted.tiny_keras_members()
    members["model.weights.h5"] = bytes(8 * 1024**2)
    p = _keras(tmp_path, zipfile.ZIP_DEFLATED, members)
    with zipfile.ZipFile(p) as z:
        info = z.getinfo("model.weights.h5")
    crafted.patch_zip(p, "model.weights.h5", central={20: (info.file_size // 2).to_bytes(4, "little")})
    assert "'model.weights.h5' runs past the end of its data (its declared size lies)" in load_error(p)


def test_without_a_fork_server_each_read_starts_a_fresh_interpreter(tmp_path, monkeypatch):
    import socket

    from engine import reader_process

    monkeypatch.delattr(socket, "send_fds")  # as where fds cannot be passed on a socket
    crash = crafted.flipped(*SEGFAULT[:1], tmp_path / "crash.h5", *SEGFAULT[1:])
    assert "the file crashed the HDF5 library (SIGSEGV) while reading attribute 'weight_names'" in load_error(crash)
    raw = reader_process.read_isolated(crafted.tiny_h5(tmp_path / "m.h5"))
    np.testing.assert_array_equal(raw.weights["dense"].arrays[0][1], crafted.tiny_weights()["dense"][0][1])


def test_cli_read_timeout_stops_a_spinning_file(tmp_path):
    p = crafted.flipped(*SPIN[:1], tmp_path / "spin.h5", *SPIN[1:])
    t = time.perf_counter()
    r = subprocess.run([sys.executable, str(ROOT / "main.py"), "info", str(p), "--read-timeout", "2"],
                       capture_output=True, text=True, timeout=60)
    assert time.perf_counter() - t < 15
    assert r.returncode == 2 and r.stdout == ""
    (line,) = r.stderr.splitlines()
    assert line.startswith(f"error: {p}: ") and "reading took longer than 2 s" in line
