"""One call watched: the canary's folder, marker and bait, and the audit hook around the user's call.

``Observer`` gives a load (a canary scenario's, or any load of ``keras-compat check``) a folder of its own
to run in, with the marker a canary's payload writes and the bait a crafted config names, switches the
audit hook (runner/harness/audit.py) on for the load and the first call, and puts on the record what the
file's payload did: ``code_ran`` (a file appeared or changed in the folder, or the bait was read, in that
phase) and ``events`` (None on Python 3.7).
"""

import ctypes
import errno
import io
import os
import struct
import tempfile

from . import audit, common

BAIT = "kc-bait.txt"  # beside the marker: a file outside the model file that a crafted config names
BAIT_LINES = "kc-bait-1\nkc-bait-2\nkc-bait-3\n"  # a valid vocabulary, so that a read is not cut short


class Observer(object):
    """What one call did beyond reading its file: the canary's marker and bait, and the audit events.

    The request's folder ``root`` holds the private copy of the file and a ``canary`` folder: the call
    runs with that folder as its working directory, ``$KC_CANARY`` naming ``canary/canary.txt`` (the
    marker a canary's payload appends to; ``$KC_CANARY_PHASE`` says ``load`` or ``call``) and
    ``canary/kc-bait.txt`` beside it (a file a crafted config names by a relative path), and temporary
    files under ``root/tmp``. Any file that appears or changes in ``canary`` during a phase, or a read of
    the bait, means the file's payload acted in that phase (``code_ran``); the audit hook says what it
    did (``events``).
    """

    def __init__(self, root, target):
        self.restore = (os.getcwd(), tempfile.tempdir)
        self.folder = os.path.join(root, "canary")
        os.makedirs(self.folder)
        common.add_root(self.folder, "<canary>")
        tmp = os.path.join(root, "tmp")
        os.makedirs(tmp)
        tempfile.tempdir = tmp  # Keras 3 extracts weights into a temporary folder: keep it in the request's own
        bait = os.path.join(self.folder, BAIT)
        with io.open(bait, "w", encoding="utf-8") as handle:
            handle.write(BAIT_LINES)
        os.environ["KC_CANARY"] = os.path.join(self.folder, "canary.txt")
        os.environ["KC_CANARY_PHASE"] = "load"
        os.chdir(self.folder)
        self.files = Folder(self.folder, ignore=(BAIT,))
        self.watch = Watch(bait)
        self.ran = {"load": False, "call": False}
        self.reads = []
        self.phase = "load"
        # what the load writes beside its file (Keras 3.4 extracts the weights there) or in temporary files is
        # not an event; what it writes in the canary's folder (the working directory) or anywhere else is
        audit.start([tmp, os.path.dirname(target)])

    def next_phase(self):
        """The load is over: what follows is the first call."""
        self._take()
        self.phase = "call"
        os.environ["KC_CANARY_PHASE"] = "call"
        audit.phase("call")

    def _take(self):
        wrote = self.files.changed()
        read = self.watch.read()
        if read:
            self.reads.append(self.phase)
        self.ran[self.phase] = self.ran[self.phase] or wrote or read

    def finish(self, record):
        """``code_ran`` and ``events`` on the record (events None where they cannot be observed)."""
        self._take()
        events = audit.stop()
        self.watch.close()
        os.chdir(self.restore[0])
        tempfile.tempdir = self.restore[1]
        if events is not None:
            events = [{"phase": p, "event": "read", "detail": "%s beside the model file (a path its config names)"
                       % BAIT} for p in self.reads] + events
            for event in events:
                event["detail"] = common.clean(event["detail"])
        record["code_ran"] = dict(self.ran)
        record["events"] = events
        if events is None:  # read by keras-compat check; results.json says it per row (its Python)
            record["events_note"] = audit.UNAVAILABLE


def observe(side, root, target, always=False):
    """An Observer for a canary scenario (``CANARY = True``) or a check of a user's file, else None."""
    if not (always or getattr(side, "CANARY", False)):
        return None
    return Observer(root, target)


# -- the canary's folder ------------------------------------------------------------------------------
class Folder(object):
    """The files directly in a folder (size, mtime) apart from ``ignore``: what a payload wrote there."""

    def __init__(self, path, ignore=()):
        self.path, self.ignore = path, set(ignore)
        self.before = self.snapshot()

    def snapshot(self):
        out = {}
        try:
            names = os.listdir(self.path)
        except OSError:
            return out
        for name in names:
            full = os.path.join(self.path, name)
            if name in self.ignore or not os.path.isfile(full):
                continue
            st = os.stat(full)
            out[name] = (st.st_size, getattr(st, "st_mtime_ns", int(st.st_mtime * 1e9)))
        return out

    def changed(self):
        """Whether any file appeared or changed since the last call (or since it was made)."""
        now = self.snapshot()
        changed = now != self.before
        self.before = now
        return changed


class Watch(object):
    """Whether a file was opened or read, by anyone in this process (inotify: also TensorFlow's C++ reads).

    ``available`` is False where inotify cannot be had (not Linux): then nothing can be said about reads.
    """

    IN_ACCESS, IN_OPEN, IN_NONBLOCK, IN_CLOEXEC = 0x1, 0x20, 0o4000, 0o2000000

    def __init__(self, path):
        self.fd = -1
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = libc.inotify_init1(self.IN_NONBLOCK | self.IN_CLOEXEC)
            if fd >= 0 and libc.inotify_add_watch(fd, path.encode(), self.IN_ACCESS | self.IN_OPEN) >= 0:
                self.fd = fd
            elif fd >= 0:
                os.close(fd)
        except (OSError, AttributeError):
            pass

    @property
    def available(self):
        return self.fd >= 0

    def read(self):
        """Whether the file was opened or read since the last call."""
        if self.fd < 0:
            return False
        seen = False
        while True:
            try:
                data = os.read(self.fd, 4096)
            except OSError as exc:
                if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                    return seen
                return seen
            if not data:
                return seen
            offset = 0
            while offset + 16 <= len(data):
                _, mask, _, length = struct.unpack_from("iIII", data, offset)
                seen = seen or bool(mask & (self.IN_ACCESS | self.IN_OPEN))
                offset += 16 + length

    def close(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
