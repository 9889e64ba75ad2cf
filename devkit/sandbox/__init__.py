"""Run a command under an approximation of a systemd 252 service sandbox, without systemd.

    PYTHONPATH=/work/main /usr/bin/python3 -m devkit.sandbox --unit UNIT_FILE [options] -- COMMAND...

Why: CI has no systemd to start stt-daemon.service, yet the unit's hardening (a system call
allow list, no IP sockets, a read-only file system) can break the daemon in ways only a run
shows. The settings are read from the unit file itself, set up in this process, and then
COMMAND is exec()ed, so it keeps this PID, the environment and stdio. Needs /usr/bin/python3
with Debian's python3-seccomp, and `systemd-analyze` for the system call groups.

Enforced exactly as a systemd 252 user manager does (same libseccomp rules, same load order,
groups taken from `systemd-analyze syscall-filter` on this machine):
  SystemCallFilter= with systemd's merge rules (first line picks allow or deny list; an allow
  list starts from @default), SystemCallErrorNumber=, SystemCallArchitectures=native,
  RestrictAddressFamilies= (socket() -> EAFNOSUPPORT), RestrictNamespaces=yes|no,
  LockPersonality=, RestrictRealtime=, RestrictSUIDSGID=, MemoryDenyWriteExecute=, and the
  seccomp halves of ProtectKernelModules=, ProtectKernelLogs=, ProtectKernelTunables=,
  ProtectClock=, PrivateDevices= and ProtectHostname=; NoNewPrivileges= (also implied by any
  seccomp option, as for an unprivileged manager); CapabilityBoundingSet= (empty: the bounding
  and ambient sets are emptied; the inheritable set is left as inherited, empty in practice);
  UMask=.
  Limits: a per-call errno (SystemCallFilter=name:ERRNO) is dropped in favour of
  SystemCallErrorNumber=; RestrictNamespaces= with a list of types is refused; the filters
  cover the native ABI only, which is equivalent only with SystemCallArchitectures=native
  (as in stt-daemon.service: other ABIs are then killed).

Namespaces (as root, or as a normal user when the unit has PrivateUsers=yes, which then maps
only the caller's uid/gid like a user manager does): a private mount namespace with
ProtectSystem=strict|full|yes, ProtectHome=read-only|yes|tmpfs, PrivateTmp=, PrivateDevices=
(fresh /dev; mknod as root, host nodes bound otherwise), BindPaths=/BindReadOnlyPaths=
("-" honoured), ReadWritePaths=, ProtectKernelTunables= (/proc/sys, /sys read-only),
ProtectControlGroups=, ProtectKernelLogs= (/proc/kmsg, /dev/kmsg hidden); PrivateNetwork=
(only "lo", brought up); ProtectHostname= (UTS namespace).

Options for tests, both weaker than the unit and both on purpose:
  --host-tmp   keep the host's /tmp and /var/tmp, writable, instead of PrivateTmp='s empty
               ones. Test servers (session bus, PulseAudio, $NOTIFY_SOCKET) live under pytest's
               /tmp folders; a private /tmp would hide their sockets. In a real session they
               sit in /run/user/UID, which stays connectable under ProtectHome=read-only.
  --home PATH  treat PATH like /home, /root and /run/user for ProtectHome=: a test's $HOME and
               XDG folders live under /tmp, where ProtectHome= would not reach them.

Not reproduced, and not enforced by a systemd user manager either (measured with 252):
ProtectProc=, ProcSubset= (no new /proc without a PID namespace), DeviceAllow=, DevicePolicy=,
IPAddressDeny=, IPAddressAllow= (cgroup BPF needs privileges).
Not reproduced, though a user manager does it: KeyringMode=; cgroups, resource limits, Nice=;
NotifyAccess=, WatchdogSec=, TimeoutStopSec=, Restart= (the test is the supervisor); the
manager's small environment and WorkingDirectory= (COMMAND gets the caller's); the quirk that
in a user unit only the first process of a unit gets PrivateNetwork=. Run as root (as in CI
containers), COMMAND stays uid 0 without capabilities and without a user namespace, so it can
still write root-owned files outside read-only mounts (e.g. in the host /tmp with --host-tmp).
A [Service] key that is neither reproduced nor in the lists above is reported on stderr as
"devkit.sandbox: not reproduced: KEY=", so a new hardening line cannot go unenforced unseen.
"""
