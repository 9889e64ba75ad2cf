"""The seccomp filters systemd 252 installs, one per option, with the same libseccomp rules
(src/shared/seccomp-util.c) and in the same order as exec_child() in src/core/execute.c.

Order matters only for the errno: when two filters refuse a call, the kernel returns the errno
of the one loaded last, so the SystemCallFilter= list comes last here as in systemd.

libseccomp's Python bindings come from Debian's python3-seccomp, which only /usr/bin/python3
has; they are imported on first use and typed as Any, so the venv's mypy does not need them.
"""

from __future__ import annotations

import errno
import importlib
import socket
from typing import Any

from devkit.sandbox.kernel import NAMESPACE_FLAGS, current_personality, fail, note
from devkit.sandbox.unit import Profile, expand

PROT_WRITE, PROT_EXEC = 0x2, 0x4
SHM_EXEC = 0o100000
SCHED_OTHER, SCHED_BATCH, SCHED_IDLE = 0, 3, 5
S_ISUID, S_ISGID = 0o4000, 0o2000
O_CREAT = 0o100

_seccomp: Any = None


def lib() -> Any:
    """The seccomp module, imported once."""
    global _seccomp
    if _seccomp is None:
        try:
            _seccomp = importlib.import_module("seccomp")
        except ImportError:
            fail("needs the libseccomp Python bindings: apt-get install python3-seccomp, "
                 "and run with /usr/bin/python3")
    return _seccomp


def resolvable(name: str) -> bool:
    """Whether the call exists on this architecture (systemd skips the others quietly too)."""
    sc = lib()
    try:
        return int(sc.resolve_syscall(sc.Arch.NATIVE, name)) >= 0
    except (ValueError, RuntimeError):
        return False


def new_filter(default: Any) -> Any:
    sc = lib()
    f = sc.SyscallFilter(default)
    f.set_attr(sc.Attr.ACT_BADARCH, sc.ALLOW)  # as seccomp_init_for_arch()
    f.set_attr(sc.Attr.CTL_NNP, 0)  # NoNewPrivileges= is set on its own, as systemd does
    return f


def rule(f: Any, action: Any, name: str, *args: Any) -> None:
    if resolvable(name):
        f.add_rule_exactly(action, name, *args)


def deny(names: set[str], err: int = errno.EPERM) -> Any:
    f = new_filter(lib().ALLOW)
    for name in sorted(names):
        rule(f, lib().ERRNO(err), name)
    return f


def address_families(names: list[str], allow: bool) -> Any:
    """RestrictAddressFamilies=: socket() of another family fails with EAFNOSUPPORT, as if the
    kernel lacked it; programs that probe (urllib3 for IPv6) then carry on."""
    sc = lib()
    f, e = new_filter(sc.ALLOW), sc.ERRNO(errno.EAFNOSUPPORT)
    families = sorted({int(getattr(socket, n)) for n in names})
    if not allow:
        for af in families:
            rule(f, e, "socket", sc.Arg(0, sc.EQ, af))
        return f
    if not families:  # an allow list emptied by later "~" lines: no sockets at all
        rule(f, e, "socket")
        return f
    first, last = families[0], families[-1]
    rule(f, e, "socket", sc.Arg(0, sc.LT, first))
    rule(f, e, "socket", sc.Arg(0, sc.GT, last))
    for af in range(first + 1, last):
        if af not in families:
            rule(f, e, "socket", sc.Arg(0, sc.EQ, af))
    return f


def memory_deny_write_execute() -> Any:
    sc = lib()
    f, e = new_filter(sc.ALLOW), sc.ERRNO(errno.EPERM)
    wx = PROT_EXEC | PROT_WRITE
    rule(f, e, "mmap", sc.Arg(2, sc.MASKED_EQ, wx, wx))
    rule(f, e, "mprotect", sc.Arg(2, sc.MASKED_EQ, PROT_EXEC, PROT_EXEC))
    rule(f, e, "pkey_mprotect", sc.Arg(2, sc.MASKED_EQ, PROT_EXEC, PROT_EXEC))
    rule(f, e, "shmat", sc.Arg(2, sc.MASKED_EQ, SHM_EXEC, SHM_EXEC))
    return f


def restrict_realtime() -> Any:
    sc = lib()
    f, e = new_filter(sc.ALLOW), sc.ERRNO(errno.EPERM)
    permitted = (SCHED_OTHER, SCHED_BATCH, SCHED_IDLE)
    for policy in range(max(permitted)):
        if policy not in permitted:
            rule(f, e, "sched_setscheduler", sc.Arg(1, sc.EQ, policy))
    rule(f, e, "sched_setscheduler", sc.Arg(1, sc.GT, max(permitted)))
    return f


def restrict_suid_sgid() -> Any:
    sc = lib()
    f, e = new_filter(sc.ALLOW), sc.ERRNO(errno.EPERM)
    for bit in (S_ISUID, S_ISGID):
        for name, arg in (("chmod", 1), ("fchmod", 1), ("fchmodat", 2), ("mkdir", 1),
                          ("mkdirat", 2), ("mknod", 1), ("mknodat", 2), ("creat", 1)):
            rule(f, e, name, sc.Arg(arg, sc.MASKED_EQ, bit, bit))
        rule(f, e, "open", sc.Arg(1, sc.MASKED_EQ, O_CREAT, O_CREAT), sc.Arg(2, sc.MASKED_EQ, bit, bit))
        rule(f, e, "openat", sc.Arg(2, sc.MASKED_EQ, O_CREAT, O_CREAT), sc.Arg(3, sc.MASKED_EQ, bit, bit))
    rule(f, sc.ERRNO(errno.ENOSYS), "openat2")  # its flags sit in a struct seccomp cannot read
    return f


def restrict_namespaces() -> Any:
    sc = lib()
    f, e = new_filter(sc.ALLOW), sc.ERRNO(errno.EPERM)
    rule(f, sc.ERRNO(errno.ENOSYS), "clone3")  # flags in a struct: ENOSYS makes libc fall back to clone
    rule(f, e, "setns")
    for flag in NAMESPACE_FLAGS:
        rule(f, e, "unshare", sc.Arg(0, sc.MASKED_EQ, flag, flag))
        rule(f, e, "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    return f


def native_arch_only() -> Any:
    f = lib().SyscallFilter(lib().ALLOW)  # the bad-architecture action stays "kill"
    f.set_attr(lib().Attr.CTL_NNP, 0)
    return f


def lock_personality() -> Any:
    f = new_filter(lib().ALLOW)
    sc = lib()
    rule(f, sc.ERRNO(errno.EPERM), "personality", sc.Arg(0, sc.NE, current_personality()))
    return f


def syscall_filter(mode: str, names: set[str], refuse: Any) -> Any:
    sc = lib()
    f = new_filter(refuse if mode == "allow" else sc.ALLOW)
    action = sc.ALLOW if mode == "allow" else refuse
    known = [n for n in sorted(names) if resolvable(n)]
    for name in known:
        f.add_rule_exactly(action, name)
    note(f"SystemCallFilter= {mode} list: {len(known)} calls ({len(names) - len(known)} not on this architecture)")
    return f


def build(p: Profile, sets: dict[str, list[str]], refuse: Any) -> list[tuple[str, Any]]:
    """(option, filter) pairs in systemd's order of loading."""
    out: list[tuple[str, Any]] = []
    if p.protect_hostname:
        out.append(("ProtectHostname", deny({"sethostname", "setdomainname"})))
    if p.address_families is not None:
        out.append(("RestrictAddressFamilies", address_families(p.address_families, p.address_families_allow)))
    if p.mdwe:
        out.append(("MemoryDenyWriteExecute", memory_deny_write_execute()))
    if p.restrict_realtime:
        out.append(("RestrictRealtime", restrict_realtime()))
    if p.restrict_suid_sgid:
        out.append(("RestrictSUIDSGID", restrict_suid_sgid()))
    if p.restrict_namespaces:
        out.append(("RestrictNamespaces", restrict_namespaces()))
    if p.protect_kernel_tunables:
        out.append(("ProtectKernelTunables", deny({"_sysctl"})))
    if p.protect_kernel_modules:
        out.append(("ProtectKernelModules", deny(expand(sets, ["@module"]))))
    if p.protect_kernel_logs:
        out.append(("ProtectKernelLogs", deny({"syslog"})))
    if p.protect_clock:
        out.append(("ProtectClock", deny(expand(sets, ["@clock"]))))
    if p.private_devices:
        out.append(("PrivateDevices", deny(expand(sets, ["@raw-io"]))))
    if p.native_arch:
        out.append(("SystemCallArchitectures", native_arch_only()))
    if p.lock_personality:
        out.append(("LockPersonality", lock_personality()))
    if p.syscall_mode:
        out.append(("SystemCallFilter", syscall_filter(p.syscall_mode, p.syscalls, refuse)))
    return out


def refusal(errno_number: int | None) -> Any:
    """The action for calls outside the list: an errno, or killing the process (no errno set)."""
    return lib().KILL_PROCESS if errno_number is None else lib().ERRNO(errno_number)
