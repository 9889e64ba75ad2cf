"""The namespace half of the sandbox: a private mount namespace for the file-system options, a
network namespace with only "lo", a UTS namespace. This needs root, or an unprivileged user
namespace (PrivateUsers=yes, as a user manager does it), because mount() and unshare() do.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import tempfile

from devkit.sandbox import kernel as k
from devkit.sandbox.kernel import fail, mount, note
from devkit.sandbox.unit import Profile

# ProtectHome= covers these, plus whatever the caller names with --home.
HOMES = ("/home", "/root", "/run/user")
API_FS = ("/dev", "/proc", "/sys")


def mountpoints() -> list[str]:
    """Mount points, parents first (mountinfo escapes space, tab, newline and backslash in octal)."""
    with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as f:
        return [re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), line.split()[4]) for line in f]


def under(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def remount_ro(mountpoint: str) -> None:
    """Read-only, keeping nosuid/nodev/noexec: a remount must repeat the flags it keeps."""
    st = os.statvfs(mountpoint)
    keep = 0
    for flag, vflag in ((k.MS_NOSUID, os.ST_NOSUID), (k.MS_NODEV, os.ST_NODEV), (k.MS_NOEXEC, os.ST_NOEXEC)):
        if st.f_flag & vflag:
            keep |= flag
    try:
        mount(None, mountpoint, None, k.MS_REMOUNT | k.MS_BIND | k.MS_RDONLY | keep)
    except OSError as exc:
        note(f"cannot make {mountpoint} read-only: {exc}")


def bind_ro(path: str) -> None:
    """ReadOnlyPaths= for one path: a bind mount onto itself (so it is a mount point even when
    it was not), then it and every mount below it read-only."""
    if not os.path.exists(path):
        return
    mount(path, path, None, k.MS_BIND | k.MS_REC)
    for mp in mountpoints():
        if under(mp, (path,)):
            remount_ro(mp)


def hide(path: str) -> None:
    """InaccessiblePaths= for one path: an empty mode-000 tmpfs, or /dev/null over a file."""
    if not os.path.exists(path):
        return
    if os.path.isdir(path):
        mount("tmpfs", path, "tmpfs", k.MS_NOSUID | k.MS_NODEV | k.MS_NOEXEC | k.MS_RDONLY, "mode=000")
    else:
        mount("/dev/null", path, None, k.MS_BIND)


def private_dev(binds: list[tuple[str, str]]) -> None:
    """PrivateDevices=: a fresh /dev with null zero full random urandom tty, pts, shm, mqueue,
    plus BindPaths= below /dev (e.g. /dev/snd)."""
    tmp = tempfile.mkdtemp(prefix="devkit-sandbox-dev-")
    mount("tmpfs", tmp, "tmpfs", k.MS_NOSUID | k.MS_NOEXEC | k.MS_STRICTATIME, "mode=755,size=4m")
    for node in ("null", "zero", "full", "random", "urandom", "tty"):
        src, dst = f"/dev/{node}", f"{tmp}/{node}"
        if not os.path.exists(src):
            continue
        st = os.stat(src)
        try:
            os.mknod(dst, st.st_mode, st.st_rdev)
            os.chmod(dst, stat.S_IMODE(st.st_mode))
        except PermissionError:  # no CAP_MKNOD (user namespace): bind the host node, as systemd does
            open(dst, "w").close()
            mount(src, dst, None, k.MS_BIND)
    for sub in ("pts", "shm", "mqueue", "hugepages"):
        if os.path.isdir(f"/dev/{sub}"):
            os.mkdir(f"{tmp}/{sub}")
            try:
                mount(f"/dev/{sub}", f"{tmp}/{sub}", None, k.MS_BIND | k.MS_REC)
            except OSError as exc:
                note(f"/dev/{sub}: {exc}")
    for src, dst in binds:
        target = tmp + dst[len("/dev"):]
        if os.path.isdir(src):
            os.makedirs(target, exist_ok=True)
        else:
            open(target, "w").close()
        mount(src, target, None, k.MS_BIND | k.MS_REC)
    if os.path.exists("/dev/pts/ptmx"):
        os.symlink("pts/ptmx", f"{tmp}/ptmx")
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, f"{tmp}/{name}")
    mount(tmp, "/dev", None, k.MS_MOVE)
    try:
        os.rmdir(tmp)
    except OSError:
        pass


def parse_binds(specs: list[str]) -> list[tuple[str, str, bool]]:
    """BindPaths= entries as (source, destination, optional); a leading "-" means optional."""
    out = []
    for spec in specs:
        parts = spec.lstrip("-").split(":")
        out.append((parts[0], parts[1] if len(parts) > 1 else parts[0], spec.startswith("-")))
    return out


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="ascii") as f:
        f.write(text)


def enter(p: Profile, host_tmp: bool, homes: list[str]) -> None:
    """Unshare and build the namespaces ``p`` asks for. ``host_tmp`` keeps the host's /tmp and
    /var/tmp (writable) where the unit has PrivateTmp=yes; ``homes`` are treated like /home."""
    want_mounts = p.wants_mount_namespace() or bool(homes)
    flags = ((k.CLONE_NEWNS if want_mounts else 0) | (k.CLONE_NEWNET if p.private_network else 0)
             | (k.CLONE_NEWUTS if p.protect_hostname else 0))
    uid, gid = os.getuid(), os.getgid()
    if not flags and not (p.private_users and uid != 0):
        return
    if uid != 0:
        if not p.private_users:
            fail("the namespace options need root, or PrivateUsers=yes in the unit")
        # PrivateUsers=yes as a user manager does it: only our own uid/gid, mapped to itself.
        k.unshare(k.CLONE_NEWUSER)
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{uid} {uid} 1\n")
        _write("/proc/self/gid_map", f"{gid} {gid} 1\n")
    if flags:
        k.unshare(flags)
    if p.private_network:
        ip = shutil.which("ip") or shutil.which("ip", path="/usr/sbin:/sbin")
        if ip:  # systemd brings "lo" up in a private network namespace
            subprocess.run([ip, "link", "set", "lo", "up"], check=False,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if want_mounts:
        _mounts(p, host_tmp, homes)


def _mounts(p: Profile, host_tmp: bool, homes: list[str]) -> None:
    mount(None, "/", None, k.MS_REC | k.MS_PRIVATE)  # nothing done here reaches the host
    temp_dirs = tuple(d for d in ("/tmp", "/var/tmp") if os.path.isdir(d))
    for d in temp_dirs if p.private_tmp else ():
        if host_tmp:  # a mount point of its own, so that ProtectSystem=strict leaves it writable
            mount(d, d, None, k.MS_BIND | k.MS_REC)
        else:
            mount("tmpfs", d, "tmpfs", k.MS_NOSUID | k.MS_NODEV | k.MS_STRICTATIME, "mode=1777")
    binds, ro_binds = parse_binds(p.bind_paths), parse_binds(p.bind_ro_paths)
    for src, _, optional in binds + ro_binds:
        if not os.path.exists(src) and not optional:
            fail(f"BindPaths: {src} does not exist")
    dev_binds = [(s, d) for s, d, _ in binds if d.startswith("/dev/") and os.path.exists(s)]
    if p.private_devices:
        private_dev(dev_binds)
    for src, dst, _ in binds + ro_binds:
        if os.path.exists(src) and not (p.private_devices and (src, dst) in dev_binds):
            mount(src, dst, None, k.MS_BIND | k.MS_REC)
    all_homes = HOMES + tuple(homes)
    if p.protect_home in ("yes", "tmpfs"):
        for h in all_homes:
            if p.protect_home == "yes":
                hide(h)
            elif os.path.isdir(h):
                mount("tmpfs", h, "tmpfs", k.MS_NOSUID | k.MS_NODEV | k.MS_RDONLY, "mode=755")
    read_write = tuple(rw.lstrip("-") for rw in p.read_write_paths if os.path.exists(rw.lstrip("-")))
    for path in read_write:  # ReadWritePaths=: a mount point of its own, left out below
        mount(path, path, None, k.MS_BIND | k.MS_REC)
    writable = read_write + (temp_dirs if p.private_tmp else ())
    if p.protect_system == "strict":
        for mp in mountpoints():
            if not under(mp, API_FS + writable):
                remount_ro(mp)
    elif p.protect_system in ("yes", "full"):
        for d in ["/usr", "/boot", "/efi"] + (["/etc"] if p.protect_system == "full" else []):
            bind_ro(d)
    if p.protect_home == "read-only":
        for h in all_homes:
            bind_ro(h)
    for _, dst, _ in ro_binds:
        bind_ro(dst)
    for path in read_write if p.protect_system != "strict" else ():  # below a read-only /usr:
        mount(path, path, None, k.MS_BIND | k.MS_REC)  # a bind copies "ro", so remount it rw
        mount(None, path, None, k.MS_REMOUNT | k.MS_BIND)
    if p.protect_kernel_tunables:
        for d in ("/proc/sys", "/proc/sysrq-trigger", "/sys"):
            try:
                bind_ro(d)
            except OSError as exc:
                note(f"read-only {d}: {exc}")
    if p.protect_control_groups:
        bind_ro("/sys/fs/cgroup")
    if p.protect_kernel_logs:
        for d in ("/proc/kmsg", "/dev/kmsg"):
            try:
                hide(d)
            except OSError as exc:
                note(f"hide {d}: {exc}")
