"""The sandbox settings of a unit file's [Service] section, merged the way systemd 252 does.

Reading them from the unit (not from a copy in the test) means the test follows the unit when
it changes; a [Service] key this launcher neither reproduces nor knows to be irrelevant is
reported (`unknown`), so a new hardening line cannot go unenforced silently.
"""

from __future__ import annotations

import errno
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from devkit.sandbox.kernel import fail

TRUE = frozenset({"1", "yes", "true", "on"})
FALSE = frozenset({"0", "no", "false", "off", ""})

# key -> Profile attribute, for the plain yes/no settings
FLAGS = {
    "MemoryDenyWriteExecute": "mdwe", "RestrictRealtime": "restrict_realtime",
    "LockPersonality": "lock_personality", "RestrictSUIDSGID": "restrict_suid_sgid",
    "NoNewPrivileges": "nnp", "PrivateUsers": "private_users", "PrivateTmp": "private_tmp",
    "PrivateDevices": "private_devices", "PrivateMounts": "private_mounts",
    "PrivateNetwork": "private_network", "ProtectHostname": "protect_hostname",
    "ProtectKernelModules": "protect_kernel_modules", "ProtectKernelLogs": "protect_kernel_logs",
    "ProtectKernelTunables": "protect_kernel_tunables", "ProtectControlGroups": "protect_control_groups",
    "ProtectClock": "protect_clock",
}
PATH_LISTS = {"BindPaths": "bind_paths", "BindReadOnlyPaths": "bind_ro_paths",
              "ReadWritePaths": "read_write_paths"}
# Sandbox settings that are not reproduced (see the package docstring), and settings about the
# service's life rather than its sandbox. Neither is reported.
NOT_REPRODUCED = frozenset({
    "ProtectProc", "ProcSubset", "DeviceAllow", "DevicePolicy", "IPAddressDeny", "IPAddressAllow",
    "KeyringMode",
})
LIFECYCLE = frozenset({
    "Type", "NotifyAccess", "ExecStart", "ExecStartPre", "ExecStartPost", "ExecReload", "ExecStop",
    "ExecStopPost", "Restart", "RestartSec", "RestartPreventExitStatus", "SuccessExitStatus",
    "WatchdogSec", "TimeoutSec", "TimeoutStartSec", "TimeoutStopSec", "Environment",
    "EnvironmentFile", "WorkingDirectory", "StandardInput", "StandardOutput", "StandardError",
    "SyslogIdentifier", "KillMode", "KillSignal", "BusName", "PIDFile", "RemainAfterExit", "Slice",
})


@dataclass
class Profile:
    """What to reproduce. The defaults are systemd's for a unit that sets nothing."""

    syscall_mode: str | None = None           # "allow", "deny", or None: no SystemCallFilter=
    syscalls: set[str] = field(default_factory=set)
    syscall_errno: int | None = None          # None: kill the process (systemd's default)
    native_arch: bool = False
    mdwe: bool = False
    restrict_realtime: bool = False
    restrict_namespaces: bool = False
    lock_personality: bool = False
    restrict_suid_sgid: bool = False
    protect_kernel_modules: bool = False
    protect_kernel_logs: bool = False
    protect_kernel_tunables: bool = False
    protect_control_groups: bool = False
    protect_clock: bool = False
    address_families: list[str] | None = None
    address_families_allow: bool = True
    nnp: bool = False
    drop_caps: bool = False
    umask: int = 0o022
    private_users: bool = False
    protect_system: str = "no"
    protect_home: str = "no"
    private_tmp: bool = False
    private_devices: bool = False
    private_mounts: bool = False
    bind_paths: list[str] = field(default_factory=list)
    bind_ro_paths: list[str] = field(default_factory=list)
    read_write_paths: list[str] = field(default_factory=list)
    private_network: bool = False
    protect_hostname: bool = False
    unknown: list[str] = field(default_factory=list)  # [Service] keys neither handled nor known

    def wants_mount_namespace(self) -> bool:
        return (self.private_mounts or self.private_tmp or self.private_devices
                or self.protect_system != "no" or self.protect_home != "no"
                or self.protect_kernel_tunables or self.protect_control_groups
                or self.protect_kernel_logs or bool(self.bind_paths or self.bind_ro_paths))


def syscall_sets() -> dict[str, list[str]]:
    """The @group lists from `systemd-analyze syscall-filter`: the very lists the systemd on
    this machine would use, rather than a copy that drifts."""
    exe = shutil.which("systemd-analyze")
    if exe is None:
        fail("systemd-analyze not found; it is the source of the system call groups (apt-get install systemd)")
    out = subprocess.run([exe, "syscall-filter"], check=True, capture_output=True, text=True).stdout
    sets: dict[str, list[str]] = {}
    current: str | None = None
    for line in out.splitlines():
        if line.startswith("@"):
            current = line.strip()
            sets[current] = []
        elif line.startswith("    ") and current and not line.strip().startswith("#"):
            sets[current].append(line.strip())
        elif not line.strip():
            current = None
    return sets


def expand(sets: dict[str, list[str]], names: list[str]) -> set[str]:
    """Group names resolved to system calls. A per-call errno ("name:EPERM") is dropped."""
    out: set[str] = set()
    todo, seen = list(names), set()
    while todo:
        name = todo.pop().split(":", 1)[0]
        if name in seen:
            continue
        seen.add(name)
        if name.startswith("@"):
            if name not in sets:
                fail(f"unknown system call group {name}")
            todo.extend(sets[name])
        else:
            out.add(name)
    return out


def errno_number(value: str) -> int | None:
    if value in ("", "kill"):
        return None
    number = int(value) if value.isdigit() else getattr(errno, value, None)
    if not isinstance(number, int):
        fail(f"SystemCallErrorNumber={value}: not an errno name")
    return number


def parse_unit(path: Path, sets: dict[str, list[str]]) -> Profile:
    """The profile of ``path``. SystemCallFilter= follows systemd's merge rules: the first line
    decides allow or deny list (an allow list starts from @default), later lines add to it or,
    with "~", take away; an empty assignment resets."""
    p = Profile()
    section = None
    text = path.read_text(encoding="utf-8").replace("\\\n", " ")
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line
            continue
        if section != "[Service]" or "=" not in line:
            continue
        key, value = (s.strip() for s in line.split("=", 1))
        on = value.lower() in TRUE
        if key in FLAGS:
            setattr(p, FLAGS[key], on)
        elif key in PATH_LISTS:
            getattr(p, PATH_LISTS[key]).extend(value.split())
        elif key == "SystemCallFilter":
            if not value:
                p.syscall_mode, p.syscalls = None, set()
                continue
            invert = value.startswith("~")
            names = expand(sets, value.lstrip("~").split())
            if p.syscall_mode is None:
                p.syscall_mode = "deny" if invert else "allow"
                p.syscalls = set() if invert else expand(sets, ["@default"])
            if (p.syscall_mode == "allow") != invert:
                p.syscalls |= names
            else:
                p.syscalls -= names
        elif key == "SystemCallErrorNumber":
            p.syscall_errno = errno_number(value)
        elif key == "SystemCallArchitectures":
            p.native_arch = value == "native"
        elif key == "RestrictNamespaces":
            if value.lower() not in TRUE | FALSE:
                fail(f"RestrictNamespaces={value}: only yes/no is supported here")
            p.restrict_namespaces = on
        elif key == "RestrictAddressFamilies":  # merged like SystemCallFilter=
            invert = value.startswith("~")
            if not value:
                p.address_families = None
                continue
            if p.address_families is None:
                p.address_families, p.address_families_allow = [], not invert
            families = value.lstrip("~").split()
            if p.address_families_allow != invert:
                p.address_families = sorted(set(p.address_families) | set(families))
            else:
                p.address_families = sorted(set(p.address_families) - set(families))
        elif key == "AmbientCapabilities":
            if value:  # raising capabilities is not reproduced; empty is what drop_caps does
                p.unknown.append(key)
        elif key == "CapabilityBoundingSet":
            p.drop_caps = value == ""
            if value:  # only the empty set is reproduced
                p.unknown.append(key)
        elif key == "UMask":
            p.umask = int(value, 8)
        elif key in ("ProtectSystem", "ProtectHome"):
            setattr(p, "protect_system" if key == "ProtectSystem" else "protect_home",
                    "yes" if on else value.lower())
        elif key not in NOT_REPRODUCED and key not in LIFECYCLE:
            p.unknown.append(key)
    # A manager without CAP_SYS_ADMIN (every user manager) must set NoNewPrivileges= to load
    # seccomp filters, so systemd implies it for each option that loads one
    # (context_has_no_new_privileges() in src/core/execute.c).
    if (p.syscall_mode or p.mdwe or p.restrict_realtime or p.restrict_namespaces or p.lock_personality
            or p.restrict_suid_sgid or p.address_families is not None or p.private_devices
            or p.protect_clock or p.protect_hostname or p.protect_kernel_tunables
            or p.protect_kernel_modules or p.protect_kernel_logs or p.native_arch):
        p.nnp = True
    return p
