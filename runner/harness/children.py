"""Forked children: one request each, several at once, each with its own time limit.

A child starts from the warmed-up parent, gets a TensorFlow runtime of its own
(``reset`` below: the parent's thread pools have no threads in a child), runs one
request and writes one JSON record to a pipe. Several may run at once: each is still
one request in a process of its own, forked from the same clean parent, so what one
does never reaches another. The parent reads every child's pipe with ``select`` and
kills a child at its deadline.
"""

import faulthandler
import itertools
import json
import os
import select
import signal
import sys
import time
import traceback
import warnings

from . import common, protocol

_COUNTER = itertools.count()


class Child(object):
    """One forked child: its pid, the read end of its pipe, where its stderr goes, and its deadline."""

    def __init__(self, pid, fd, err_path, timeout, tag):
        self.pid, self.fd, self.err_path, self.timeout, self.tag = pid, fd, err_path, timeout, tag
        self.begun = time.time()
        self.deadline = self.begun + timeout
        self.chunks = []
        self.done = False


def start(func, timeout, scratch, reset, tag=None):
    """Fork a child that runs ``reset()`` and then ``func()`` (which returns a record dict)."""
    read_fd, write_fd = os.pipe()
    err_path = os.path.join(scratch, "child-%d.err" % next(_COUNTER))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Python >= 3.12: fork of a threaded process
        pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 0
        try:
            os.close(read_fd)
            err = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(err, 1)
            os.dup2(err, 2)
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)  # the parent's requests are not the child's to read
            common.die_with_parent()
            # a child about to be killed at its deadline first writes where it hangs into the row's log
            faulthandler.dump_traceback_later(max(1.0, timeout - 2.0), exit=False)
            reset()
            data = json.dumps(func(), sort_keys=True).encode("utf-8")
            view = memoryview(data)
            while view:
                view = view[os.write(write_fd, view):]
        except BaseException:  # noqa: BLE001
            traceback.print_exc()
            code = 70
        finally:
            try:
                sys.stderr.flush()
                sys.stdout.flush()
            finally:
                os._exit(code)
    os.close(write_fd)
    return Child(pid, read_fd, err_path, timeout, tag)


def read(child):
    """Take what the child wrote; True once it closed its pipe (its answer is complete)."""
    chunk = os.read(child.fd, 65536)
    if chunk:
        child.chunks.append(chunk)
        return False
    return True


def _tail(path):
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return b"", []
    lines = data.decode("utf-8", "replace").splitlines()
    return data, lines[-protocol.STDERR_LINES:]


def finish(child, timed_out):
    """Reap the child and turn what it wrote into its record (a timeout or a crash when it wrote none)."""
    os.close(child.fd)
    if timed_out:
        try:
            os.kill(child.pid, signal.SIGKILL)
        except OSError:
            pass
    _, status = os.waitpid(child.pid, 0)
    raw, tail = _tail(child.err_path)
    if raw:
        sys.stderr.write(raw.decode("utf-8", "replace"))  # the row's log keeps what the child printed
        sys.stderr.flush()
    try:
        os.unlink(child.err_path)
    except OSError:
        pass
    if timed_out:
        return {"outcome": "timeout", "stage": "load", "durations": {}, "max_abs_diff": None,
                "error": {"type": "WorkerDied", "traceback": "",
                          "message": "no answer within %.0fs; the process was killed" % child.timeout}}
    try:
        return json.loads(b"".join(child.chunks).decode("utf-8"))
    except ValueError:
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        return {"outcome": "crash", "stage": "load", "durations": {}, "max_abs_diff": None,
                "exit_code": code, "stderr_tail": tail, "error": None}


class Pool(object):
    """The children in flight, by the file descriptor of their pipe."""

    def __init__(self):
        self.children = {}

    def add(self, child):
        self.children[child.fd] = child

    def fds(self):
        return list(self.children)

    def wait_s(self):
        """Seconds until the nearest deadline (None without children)."""
        if not self.children:
            return None
        return max(0.0, min(c.deadline for c in self.children.values()) - time.time())

    def readable(self, fd):
        child = self.children[fd]
        child.done = child.done or read(child)

    def collect(self):
        """The children that finished or passed their deadline, with their records (removed from the pool)."""
        now = time.time()
        out = []
        for fd, child in list(self.children.items()):
            if child.done or now >= child.deadline:
                del self.children[fd]
                out.append((child, finish(child, timed_out=not child.done)))
        return out


def in_child(func, timeout, scratch, reset):
    """Run ``func()`` in one forked child and wait for its record (the fork check at start)."""
    pool = Pool()
    child = start(func, timeout, scratch, reset)
    pool.add(child)
    while True:
        ready, _, _ = select.select(pool.fds(), [], [], pool.wait_s())
        for fd in ready:
            pool.readable(fd)
        finished = pool.collect()
        if finished:
            return finished[0][1]
