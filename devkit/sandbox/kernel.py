"""The few libc calls the launcher needs that Python's os module lacks (mount, unshare, prctl,
personality), wrapped so that a failure raises OSError with the errno instead of returning -1."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from typing import NoReturn

PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
NAMESPACE_FLAGS = (CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID,
                   CLONE_NEWUSER, CLONE_NEWUTS)

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_MOVE, MS_REC = 32, 4096, 8192, 16384
MS_PRIVATE = 1 << 18
MS_STRICTATIME = 1 << 24

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                        ctypes.c_char_p]
_libc.unshare.argtypes = [ctypes.c_int]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
_libc.personality.argtypes = [ctypes.c_ulong]
_libc.personality.restype = ctypes.c_int

VERBOSE = False


def note(message: str) -> None:
    """Say what was set up or skipped; only with --verbose, since COMMAND owns stderr."""
    if VERBOSE:
        print(f"devkit.sandbox: {message}", file=sys.stderr, flush=True)


def fail(message: str) -> NoReturn:
    """Stop before exec: 125, like env(1) and chroot(1), so it cannot pass for COMMAND's status."""
    print(f"devkit.sandbox: {message}", file=sys.stderr, flush=True)
    sys.exit(125)


def _check(ret: int, what: str) -> None:
    if ret != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    def enc(s: str | None) -> bytes | None:
        return None if s is None else os.fsencode(s)

    _check(int(_libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data))),
           f"mount {source} on {target}")


def unshare(flags: int) -> None:
    _check(int(_libc.unshare(flags)), f"unshare({flags:#x})")


def prctl(option: int, arg2: int = 0) -> int:
    """The raw result; the caller decides whether -1 is an error (PR_CAPBSET_DROP past the last cap)."""
    return int(_libc.prctl(option, arg2, 0, 0, 0))


def set_no_new_privs() -> None:
    _check(prctl(PR_SET_NO_NEW_PRIVS, 1), "prctl(PR_SET_NO_NEW_PRIVS)")


def last_errno() -> int:
    return ctypes.get_errno()


def current_personality() -> int:
    """personality(0xffffffff) only queries; LockPersonality= pins the value found here."""
    return int(_libc.personality(0xFFFFFFFF))
