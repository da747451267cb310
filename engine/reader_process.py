"""Reading a model file in a child process, where a crash costs nothing.

libhdf5 is C, and a crafted or damaged file can crash it (SIGSEGV) or make it spin forever holding the GIL. So a
user's file is never read in the process that shows it. ``read_isolated`` has it read by a child process that
imports only the reader (``engine/model_file.py`` and what it needs, not the rest of the engine), puts limits on
itself (address space, CPU time, file size, no core dump) and dies with its parent; the parent waits with a
wall-clock deadline.

Where the child comes from: a *fork server*, a fresh interpreter (never a fork of the GUI's process) started once
per process, that imports NumPy, h5py and the reader, never opens a file itself, and forks one child per model
file. A fork of that single-threaded server starts in about a millisecond where a fresh interpreter takes 0.2–0.5 s.
Where ``socket.send_fds`` is missing, each read starts a fresh interpreter instead.

What comes back:
* the weights, read by the child straight into a memory file (``memfd``) that the parent created and handed down;
  once the child has exited the parent seals it (nobody can write to it any more) and maps it read-only, so the
  arrays are not copied on the way (measured against a pipe in ``bench/bench_isolation.py``);
* on a pipe, one JSON line per step the child is about to take (``{"at": "reading 'model_weights/lstm/…'"}``), then
  the config and where each array lies in the memory file, or the one-line reason the file was refused.

A crash, a limit or a timeout in the child becomes one ``FormatError`` naming where it was: "the file crashed the
HDF5 library (SIGSEGV) while reading 'model_weights/lstm/…'", "reading took longer than 120 s (while …)". The
parent checks everything the child hands back (offsets inside the memory file, dtypes from a short list): a child
that libhdf5 misbehaved in is not trusted either.
"""
from __future__ import annotations

import json
import mmap
import os
import select
import selectors
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from typing import Protocol

from .errors import FormatError
from .limits import DEFAULT, Limits

ENGINE_DIR = os.path.dirname(os.path.abspath(__file__))
OVERHEAD_BYTES = 2 * 1024**3  # the interpreter, NumPy, h5py and libhdf5's own buffers, in address space
STRUCTURE_BYTES = 1024**3  # what walking a file's structure may take beyond that (the config, its attributes)
MAX_MESSAGE_BYTES = 64 * 1024**2 + 16 * 1024**2  # the config (its own limit) plus the array table
DTYPES = {"float32", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool"}
CRASH_SIGNALS = {signal.SIGSEGV, signal.SIGBUS, signal.SIGABRT, signal.SIGILL, signal.SIGFPE}

# A fresh interpreter's first lines: make "engine" a bare package (its __init__ would import the whole engine), then
# run the fork server or a single read.
_BOOT = ("import sys, types; p = types.ModuleType('engine'); p.__path__ = [sys.argv[1]]; sys.modules['engine'] = p; "
         "from engine import reader_process as r; r.server_main(int(sys.argv[3])) if sys.argv[2] == 'server' "
         "else r.spawned_main(sys.argv[3])")


class Cancel(Protocol):
    def is_set(self) -> bool: ...


class Cancelled(FormatError):
    """The caller gave up on the read (a newer open, the window closing); the child has been killed."""


def _child_env() -> dict:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               HDF5_PLUGIN_PRELOAD="::",  # never load a filter plugin a file asks for
               MALLOC_ARENA_MAX="2", PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTHONPATH", None)
    return env


def _memory_file() -> int:
    """An anonymous file to share the weights through: a sealable memfd on Linux, an unlinked temporary file
    elsewhere."""
    if hasattr(os, "memfd_create"):
        return os.memfd_create("lstm-inspector-weights", os.MFD_CLOEXEC | getattr(os, "MFD_ALLOW_SEALING", 0))
    fd, name = tempfile.mkstemp(prefix="lstm-inspector-")
    os.unlink(name)
    return fd


def _seal(fd: int) -> None:
    """No one (a grandchild the child might have left behind included) can change the weights from now on."""
    import fcntl

    seals = getattr(fcntl, "F_SEAL_SHRINK", 0) | getattr(fcntl, "F_SEAL_GROW", 0) | getattr(fcntl, "F_SEAL_WRITE", 0)
    if not seals or not hasattr(fcntl, "F_ADD_SEALS"):
        return
    try:
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, seals | getattr(fcntl, "F_SEAL_SEAL", 0))
    except OSError as e:
        raise FormatError(f"the reader process left its memory open to writing ({e.strerror}); refusing") from None


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(code).name
    except ValueError:
        return f"signal {code}"


# --- the parent's side -------------------------------------------------------------------------------------------

class _ForkServer:
    """The one fork server of this process, started on first use and again if it has gone. One read at a time."""

    def __init__(self):
        self.lock = threading.Lock()
        self.proc: subprocess.Popen | None = None
        self.sock: socket.socket | None = None
        self.owner = 0  # the pid that started it (a forked copy of this process starts its own)
        self.child: int | None = None  # the reader running now

    def _start(self) -> None:
        if self.sock is not None and self.owner == os.getpid():
            self.sock.close()
        self.owner = os.getpid()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.proc = subprocess.Popen([sys.executable, "-I", "-c", _BOOT, ENGINE_DIR, "server", str(theirs.fileno())],
                                         pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                         cwd=tempfile.gettempdir(), env=_child_env(), close_fds=True)
        finally:
            theirs.close()
        self.sock = ours

    def _recv(self, timeout: float) -> dict | None:
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096)
        except (socket.timeout, OSError):
            return None
        if not data:
            return None
        return json.loads(data)

    def start_child(self, spec: dict, fds: list[int]) -> int:
        """Fork a reader for ``spec``; its pid."""
        for attempt in (0, 1):
            if self.proc is None or self.owner != os.getpid() or self.proc.poll() is not None:
                self._start()
            try:
                socket.send_fds(self.sock, [json.dumps(dict(spec, server=self.proc.pid)).encode()], fds)
                msg = self._recv(30.0)  # a cold start imports NumPy and h5py on a busy machine
                while msg is not None and "started" not in msg:  # how an earlier, abandoned child ended
                    msg = self._recv(30.0)
            except (OSError, ValueError):
                msg = None
            if msg is not None:
                self.child = int(msg["started"])
                return self.child
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
        raise FormatError("cannot start the reader process")

    def finish(self, pid: int, timeout: float) -> int:
        """Wait (at most ``timeout`` s, then kill) for the reader to exit; its exit code (negative: a signal)."""
        while True:
            msg = self._recv(timeout)
            if msg is None:
                self.kill(pid)
                timeout = 5.0
                msg = self._recv(timeout)
                if msg is None:  # the server itself is gone or stuck: start afresh next time
                    self.proc.kill()
                    self.proc.wait()
                    return -signal.SIGKILL
            if msg.get("pid") == pid:
                self.child = None
                return int(msg["status"])

    def kill(self, pid: int) -> None:
        """Killed by the server, which has not reaped it yet: the pid cannot be someone else's."""
        try:
            self.sock.send(json.dumps({"kill": pid}).encode())
        except OSError:
            pass


_SERVER = _ForkServer()


def read_isolated(path: str, limits: Limits = DEFAULT, cancel: Cancel | None = None):
    """Read ``path`` in a child process; returns a RawModel whose arrays are read-only views of shared memory.
    Every problem, the child's death included, raises FormatError with a one-line reason."""
    path = os.fspath(path)
    spec = {"path": os.path.abspath(path), "max_bytes": limits.max_bytes,
            "max_config_bytes": limits.max_config_bytes, "cpu_seconds": limits.read_seconds}
    started = time.monotonic()
    if not hasattr(socket, "send_fds"):
        return _read_spawned(spec, limits, cancel, started)
    while not _SERVER.lock.acquire(timeout=0.05):
        _check_wait(limits, cancel, started, "waiting for another file to be read", None)
    try:
        memfd = _memory_file()
        rfd, wfd = os.pipe()
        try:
            pid = _SERVER.start_child(dict(spec, parent=os.getpid()), [memfd, wfd])
        except BaseException:
            os.close(memfd)
            os.close(rfd)
            raise
        finally:
            os.close(wfd)
        try:
            at, result = _wait(rfd, limits, cancel, started, lambda: _SERVER.kill(pid))
        except BaseException:
            _SERVER.kill(pid)
            _SERVER.finish(pid, 5.0)
            os.close(memfd)
            raise
        finally:
            os.close(rfd)
        code = _SERVER.finish(pid, max(1.0, started + limits.read_seconds - time.monotonic()))
    finally:
        _SERVER.lock.release()
    return _answer(code, at, result, memfd, path, limits)


def _read_spawned(spec: dict, limits: Limits, cancel: Cancel | None, started: float):
    """Without a fork server: a fresh interpreter for this one read."""
    memfd = _memory_file()
    rfd, wfd = os.pipe()
    spec = dict(spec, memfd=memfd, pipe=wfd, parent=os.getpid())
    try:
        proc = subprocess.Popen([sys.executable, "-I", "-c", _BOOT, ENGINE_DIR, "one", json.dumps(spec)],
                                pass_fds=(memfd, wfd), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, cwd=tempfile.gettempdir(), env=_child_env(),
                                close_fds=True)
    except OSError as e:
        for fd in (memfd, rfd, wfd):
            os.close(fd)
        raise FormatError(f"cannot start the reader process ({e.strerror or e})") from None
    os.close(wfd)
    try:
        at, result = _wait(rfd, limits, cancel, started, proc.kill)
        try:
            proc.wait(timeout=max(1.0, started + limits.read_seconds - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    except BaseException:
        os.close(memfd)
        raise
    finally:
        os.close(rfd)
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    return _answer(proc.returncode, at, result, memfd, spec["path"], limits)


def _check_wait(limits: Limits, cancel: Cancel | None, started: float, at: str, kill) -> float:
    left = started + limits.read_seconds - time.monotonic()
    if left <= 0:
        if kill:
            kill()
        raise FormatError(f"reading took longer than {limits.read_seconds:g} s (while {at}); refusing")
    if cancel is not None and cancel.is_set():
        if kill:
            kill()
        raise Cancelled("opening was cancelled")
    return left


def _wait(rfd: int, limits: Limits, cancel: Cancel | None, started: float, kill):
    """Read the child's messages until it closes its end: (where it last was, its answer or None)."""
    at, result = "starting the reader", None
    buf = bytearray()
    got = 0
    with selectors.DefaultSelector() as sel:
        sel.register(rfd, selectors.EVENT_READ)
        while True:
            left = _check_wait(limits, cancel, started, at, kill)
            if not sel.select(min(left, 0.05)):
                continue
            chunk = os.read(rfd, 1 << 20)
            if not chunk:
                return at, result
            got += len(chunk)
            if got > MAX_MESSAGE_BYTES:
                kill()
                raise FormatError("the reader process sent more than it may; refusing")
            buf += chunk
            while (nl := buf.find(b"\n")) >= 0:
                line = bytes(buf[:nl])
                del buf[:nl + 1]
                try:
                    msg = json.loads(line)
                except (ValueError, RecursionError):
                    msg = None
                if not isinstance(msg, dict):
                    kill()
                    raise FormatError("the reader process sent a malformed message; refusing")
                if "at" in msg:
                    at = " ".join(str(msg["at"]).split())[:200]
                else:
                    result = msg


def _answer(code: int, at: str, result: dict | None, memfd: int, path: str, limits: Limits):
    """The RawModel from what the child sent and left in the memory file, checked; or the reason it failed."""
    import numpy as np

    from .model_file import RawModel
    from .weights import WeightGroup

    try:
        if code < 0:
            sig = -code
            if sig == signal.SIGXCPU:
                raise FormatError(f"reading used more than {limits.read_seconds:g} s of CPU time (while {at}); refusing")
            if sig in CRASH_SIGNALS:
                raise FormatError(f"the file crashed the HDF5 library ({_signal_name(sig)}) while {at}")
            if sig == signal.SIGKILL:
                raise FormatError(f"the reader process was killed (out of memory?) while {at}")
            raise FormatError(f"the reader process died ({_signal_name(sig)}) while {at}")
        if result is None:
            raise FormatError(f"the reader process stopped (exit status {code}) while {at}")
        if "error" in result:
            raise FormatError(str(result["error"]))
        _seal(memfd)
        size = os.fstat(memfd).st_size
        mm = mmap.mmap(memfd, size, access=mmap.ACCESS_READ) if size else None
    finally:
        os.close(memfd)  # the mapping keeps the memory; it goes when the last array does

    def array(d) -> "np.ndarray":
        dtype, shape, offset = d["dtype"], tuple(d["shape"]), d["offset"]
        if dtype not in DTYPES or not all(isinstance(n, int) and n >= 0 for n in shape) \
                or not isinstance(offset, int) or offset < 0:
            raise FormatError("the reader process sent a malformed array table; refusing")
        count = int(np.prod(shape, dtype=np.int64))
        if count == 0:
            return np.empty(shape, dtype)
        if mm is None or offset + count * np.dtype(dtype).itemsize > size:
            raise FormatError("the reader process sent an array outside its memory; refusing")
        return np.frombuffer(mm, dtype, count, offset).reshape(shape)

    def group(d) -> WeightGroup:
        return WeightGroup(name=str(d["name"]), arrays=[(str(n), array(a)) for n, a in d["arrays"]],
                           parts={str(k): group(v) for k, v in d["parts"].items()},
                           layers={str(k): group(v) for k, v in d["layers"].items()})

    try:
        ok = result["ok"]
        config = json.loads(ok["config"])
        if not isinstance(config, dict):
            raise TypeError
        weights = {str(k): group(v) for k, v in ok["weights"].items()}
        return RawModel(path=path, format=str(ok["format"]), keras_version=str(ok["keras_version"]), config=config,
                        weights=weights)
    except FormatError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError):
        raise FormatError("the reader process sent a malformed answer; refusing") from None


# --- the child's side --------------------------------------------------------------------------------------------

def _die_with_parent(parent: int) -> None:
    """Linux: the kernel kills this process when its parent (the fork server, or the thread that spawned it) ends."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent was already gone
        os._exit(1)


def _limit_self(spec: dict) -> None:
    import resource

    def cap(what, soft, hard=None):
        try:
            _, old_hard = resource.getrlimit(what)
            hard = hard if hard is not None else soft
            if old_hard != resource.RLIM_INFINITY:
                soft, hard = min(soft, old_hard), min(hard, old_hard)
            resource.setrlimit(what, (soft, hard))
        except (ValueError, OSError):
            pass

    cpu = max(1, int(spec["cpu_seconds"]) + 1)
    cap(resource.RLIMIT_CPU, cpu, cpu + 5)
    cap(resource.RLIMIT_CORE, 0)
    cap(resource.RLIMIT_FSIZE, int(spec["max_bytes"]) + 1024**2)  # the memory file is the only file written
    # Address space: the hard limit allows the weights' memory file, a compressed weights member held in memory and
    # what libhdf5 needs besides. The soft limit is tighter: while the structure is walked, attributes and the
    # config need little (a compressed archive member may need up to the weight budget); once the walk knows the
    # weights' total, ``_limit_to_weights`` lowers it to that.
    zipped = False
    try:
        if stat.S_ISREG(os.stat(spec["path"]).st_mode):  # (a pipe would block; the reader refuses it)
            with open(spec["path"], "rb") as fh:
                zipped = fh.read(2) == b"PK"
    except OSError:
        pass
    hard = _vm_size() + 2 * int(spec["max_bytes"]) + OVERHEAD_BYTES
    soft = _vm_size() + STRUCTURE_BYTES + (int(spec["max_bytes"]) if zipped else 0)
    cap(resource.RLIMIT_AS, min(soft, hard), hard)


def _vm_size() -> int:
    """This process's address space now (Linux), 0 where unknown."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _limit_to_weights(n: int) -> None:
    """Once the walk has counted the weights (``n`` bytes): room for them, one more copy of the largest
    (a float64 array read before it becomes float32), and what libhdf5 needs to read."""
    import resource

    try:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        soft = _vm_size() + 2 * n + STRUCTURE_BYTES
        resource.setrlimit(resource.RLIMIT_AS, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))
    except (ValueError, OSError):
        pass


def _read_and_exit(spec: dict, memfd: int, out: int) -> None:
    """The child: read the file under limits, send the answer down ``out``, exit without any teardown."""
    import numpy as np

    from .model_file import read_model_file

    def send(msg: dict) -> None:
        view = memoryview((json.dumps(msg) + "\n").encode())
        while view:
            view = view[os.write(out, view):]

    _limit_self(spec)
    block: list[mmap.mmap] = []

    def alloc(n: int) -> mmap.mmap:
        _limit_to_weights(n)
        os.ftruncate(memfd, n)
        block.append(mmap.mmap(memfd, n))
        return block[-1]

    limits = Limits(max_bytes=spec["max_bytes"], max_config_bytes=spec["max_config_bytes"])
    try:
        raw = read_model_file(spec["path"], limits, progress=lambda what: send({"at": what}), alloc=alloc)
        base = np.frombuffer(block[0], np.uint8).__array_interface__["data"][0] if block else 0

        def table(g) -> dict:
            arrays = [(name, {"dtype": a.dtype.name, "shape": list(a.shape),
                              "offset": a.__array_interface__["data"][0] - base if a.size else 0})
                      for name, a in g.arrays]
            return {"name": g.name, "arrays": arrays, "parts": {k: table(v) for k, v in g.parts.items()},
                    "layers": {k: table(v) for k, v in g.layers.items()}}

        answer = {"ok": {"format": raw.format, "keras_version": raw.keras_version, "config": json.dumps(raw.config),
                         "weights": {k: table(v) for k, v in raw.weights.items()}}}
    except FormatError as e:
        answer = {"error": str(e)}
    except MemoryError:
        answer = {"error": f"reading needs more memory than allowed ({limits.max_bytes / 1024**3:g} GB of weights)"}
    except RecursionError:
        answer = {"error": "the model config is nested too deeply"}
    except Exception as e:  # a bug of ours, not the file's: still one line
        answer = {"error": f"unexpected error in the reader ({type(e).__name__}: {str(e)[:100]})"}
    send(answer)
    os._exit(0)  # no interpreter teardown: nothing left to flush, and libhdf5's state is not to be trusted


def spawned_main(spec_json: str) -> None:
    """A fresh interpreter reading one file (where there is no fork server)."""
    spec = json.loads(spec_json)
    _die_with_parent(spec["parent"])
    import h5py  # noqa: F401  (imported before the limits: its libraries reserve address space)
    import numpy  # noqa: F401

    _read_and_exit(spec, spec["memfd"], spec["pipe"])


def _warm_up() -> None:
    """libhdf5 and h5py set themselves up on first use (a few ms per child otherwise): use them once, here, on a
    file made here in memory."""
    import io

    import h5py
    import numpy as np

    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f.create_group("g/vars").attrs["name"] = "warm"
        f["g/vars"].create_dataset("0", data=np.zeros((2, 2), np.float32))
    with h5py.File(buf, "r") as f:
        g = f["g"]
        list(g.keys())
        g.id.links.exists(b"vars")
        g.id.links.get_info(b"vars")
        ds = g["vars/0"]
        ds.id.get_create_plist().get_layout()
        ds.read_direct(np.empty((2, 2), np.float32))
        _ = g["vars"].attrs["name"]


def server_main(sock_fd: int) -> None:
    """The fork server: imports the reader once, then forks a child per request and reports how each one ended.
    It never opens a model file itself. It exits when the parent's end of the socket closes."""
    import ctypes  # noqa: F401  (everything a child needs is imported once, here)
    import resource  # noqa: F401

    import h5py  # noqa: F401
    import numpy  # noqa: F401

    from . import model_file  # noqa: F401

    _warm_up()
    import gc

    gc.freeze()  # the imported modules' objects stay shared with every child instead of being copied on first GC
    server = os.getpid()
    sock = socket.socket(fileno=sock_fd)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    children: set[int] = set()

    def send(msg: dict) -> None:
        try:
            sock.send(json.dumps(msg).encode())
        except OSError:
            os._exit(0)

    while True:
        try:
            ready = select.select([sock, wake_r], [], [])[0]
        except InterruptedError:
            ready = []
        if wake_r in ready:
            os.read(wake_r, 4096)
        while children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            children.discard(pid)
            send({"pid": pid, "status": os.waitstatus_to_exitcode(status)})
        if sock not in ready:
            continue
        try:
            data, fds, _, _ = socket.recv_fds(sock, 1 << 16, 2)
        except OSError:
            os._exit(0)
        if not data:
            os._exit(0)  # the parent is gone; its readers die with this process (PR_SET_PDEATHSIG)
        req = json.loads(data)
        if "kill" in req:
            if req["kill"] in children:
                os.kill(req["kill"], signal.SIGKILL)
            continue
        pid = os.fork()
        if pid == 0:
            try:
                sock.close()
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                os.close(wake_r)
                os.close(wake_w)
                _die_with_parent(server)
                _read_and_exit(req, fds[0], fds[1])
            finally:
                os._exit(1)
        for fd in fds:
            os.close(fd)
        children.add(pid)
        send({"started": pid})
