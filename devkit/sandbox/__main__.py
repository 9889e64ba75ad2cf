"""Command line: parse the unit, build the namespaces, drop privileges, load the filters, exec.

The order is systemd's: namespaces first (they need privileges), then umask, capabilities and
NoNewPrivileges, and the seccomp filters last, so that nothing the launcher itself still has
to do is refused.
"""

from __future__ import annotations

import argparse
import errno
import os
import shutil
import sys
from pathlib import Path
from typing import NoReturn

import devkit.sandbox as package
from devkit.sandbox import filters, kernel, namespaces
from devkit.sandbox.unit import errno_number, parse_unit, syscall_sets


def drop_capabilities() -> None:
    """CapabilityBoundingSet= (empty): every capability out of the bounding set, so none can
    come back at exec(), not even for uid 0; the ambient set cleared."""
    with open("/proc/sys/kernel/cap_last_cap", encoding="ascii") as f:
        last = int(f.read())
    for cap in range(last + 1):
        if kernel.prctl(kernel.PR_CAPBSET_DROP, cap) != 0:
            if os.geteuid() == 0 and kernel.last_errno() != errno.EINVAL:
                kernel.fail(f"cannot drop capability {cap} from the bounding set")
            break  # unprivileged without a user namespace: there is nothing to drop
    kernel.prctl(kernel.PR_CAP_AMBIENT, kernel.PR_CAP_AMBIENT_CLEAR_ALL)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python3 -m devkit.sandbox", description=package.__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--unit", required=True, type=Path, metavar="UNIT_FILE",
                    help="take the sandbox settings from this unit's [Service] section")
    ap.add_argument("--host-tmp", action="store_true",
                    help="with PrivateTmp=yes: keep the host's /tmp and /var/tmp (writable) instead of "
                         "empty ones, so sockets that test servers put there stay reachable")
    ap.add_argument("--home", action="append", default=[], metavar="PATH",
                    help="treat PATH like /home for ProtectHome= (a test's $HOME); repeatable")
    ap.add_argument("--errno", metavar="NAME",
                    help="errno for calls outside the allow list instead of the unit's; a rare one "
                         "(EUCLEAN) makes refusals easy to find with strace -f")
    ap.add_argument("-v", "--verbose", action="store_true", help="say what was set up")
    ap.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARG...]")
    args = ap.parse_args(argv)
    if args.command[:1] == ["--"]:
        args.command = args.command[1:]
    if not args.command:
        ap.error("no command given")
    return args


def main(argv: list[str] | None = None) -> NoReturn:
    args = parse_args(argv)
    kernel.VERBOSE = args.verbose
    sets = syscall_sets()  # before any sandboxing: it runs systemd-analyze
    try:
        profile = parse_unit(args.unit, sets)
    except OSError as exc:
        kernel.fail(f"cannot read {args.unit}: {exc.strerror}")
    for key in profile.unknown:  # said always: a new hardening line must not go unenforced unseen
        print(f"devkit.sandbox: not reproduced: {key}=", file=sys.stderr, flush=True)
    exe = shutil.which(args.command[0])
    if exe is None:
        kernel.fail(f"{args.command[0]}: command not found")
    if args.errno:
        profile.syscall_errno = errno_number(args.errno)
    refuse = filters.refusal(profile.syscall_errno)
    try:
        namespaces.enter(profile, args.host_tmp, [os.path.abspath(h) for h in args.home])
    except OSError as exc:
        kernel.fail(f"namespace set-up failed: {exc}")
    os.umask(profile.umask)
    if profile.drop_caps:
        drop_capabilities()
    if profile.nnp:
        kernel.set_no_new_privs()
    for name, f in filters.build(profile, sets, refuse):
        f.load()
        kernel.note(f"loaded the {name}= filter")
    os.execv(exe, args.command)


if __name__ == "__main__":
    main()
