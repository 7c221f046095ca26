"""A seccomp filter (classic BPF through ctypes) that shrinks the kernel surface the code can reach:
no new namespaces (unprivileged user namespaces would hand it CAP_NET_ADMIN/CAP_SYS_ADMIN over
fresh namespaces: nf_tables, mounts ...), no ptrace, bpf, io_uring, keyctl, perf, userfaultfd,
module/kexec/mount/clock calls. Everything else is allowed: the other layers do the confinement,
this one is about kernel bugs. Stdlib only: runs inside the sandbox."""

from __future__ import annotations

import ctypes
import errno
import platform

PR_SET_SECCOMP, PR_GET_SECCOMP, SECCOMP_MODE_FILTER = 22, 21, 2
RET_KILL_PROCESS, RET_ALLOW, RET_ERRNO = 0x80000000, 0x7FFF0000, 0x00050000
LD_W_ABS, JEQ, JGE, JSET, RET = 0x20, 0x15, 0x35, 0x45, 0x06
CLONE_NAMESPACES = 0x7E020000  # NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET
X32_SYSCALL_BIT = 0x40000000

# From /usr/include/x86_64-linux-gnu/asm/unistd_64.h and asm-generic/unistd.h (arm64).
_NAMES = ("unshare setns mount umount2 pivot_root chroot open_tree move_mount fsopen fsconfig fsmount fspick "
          "mount_setattr ptrace process_vm_readv process_vm_writev bpf perf_event_open io_uring_setup "
          "io_uring_enter io_uring_register keyctl add_key request_key userfaultfd kexec_load kexec_file_load "
          "init_module finit_module delete_module reboot swapon swapoff acct syslog quotactl name_to_handle_at "
          "open_by_handle_at sethostname setdomainname settimeofday clock_settime clock_adjtime adjtimex "
          "pidfd_getfd kcmp fanotify_init").split()
_X86_64 = (272, 308, 165, 166, 155, 161, 428, 429, 430, 431, 432, 433, 442, 101, 310, 311, 321, 298, 425, 426,
           427, 250, 248, 249, 323, 246, 320, 175, 313, 176, 169, 167, 168, 163, 103, 179, 303, 304, 170, 171,
           164, 227, 305, 159, 438, 312, 300)
_AARCH64 = (97, 268, 40, 39, 41, 51, 428, 429, 430, 431, 432, 433, 442, 117, 270, 271, 280, 241, 425, 426, 427,
            219, 217, 218, 282, 104, 294, 105, 273, 106, 142, 224, 225, 89, 116, 60, 264, 265, 161, 162, 170,
            112, 266, 171, 438, 272, 262)
ARCHES = {  # machine: (AUDIT_ARCH, denied numbers, clone, clone3, extra x86-only denials)
    "x86_64": (0xC000003E, dict(zip(_NAMES, _X86_64, strict=True)), 56, 435, {"iopl": 172, "ioperm": 173,
                                                                             "modify_ldt": 154}),
    "aarch64": (0xC00000B7, dict(zip(_NAMES, _AARCH64, strict=True)), 220, 435, {}),
}


class _Filter(ctypes.Structure):  # struct sock_filter
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _Prog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_Filter))]


def program(machine: str) -> list[tuple[int, int, int, int]]:
    audit, denied, clone, clone3, extra = ARCHES[machine]
    eperm = RET_ERRNO | errno.EPERM
    prog = [(LD_W_ABS, 0, 0, 4), (JEQ, 1, 0, audit), (RET, 0, 0, RET_KILL_PROCESS),  # another ABI: kill
            (LD_W_ABS, 0, 0, 0)]  # the syscall number
    if machine == "x86_64":
        prog += [(JGE, 0, 1, X32_SYSCALL_BIT), (RET, 0, 0, eperm)]  # x32 numbers would dodge the table
    for nr in sorted({*denied.values(), *extra.values()}):
        prog += [(JEQ, 0, 1, nr), (RET, 0, 0, eperm)]
    # clone3 hides its flags in memory: ENOSYS makes libc fall back to clone, whose flags we can see.
    prog += [(JEQ, 0, 1, clone3), (RET, 0, 0, RET_ERRNO | errno.ENOSYS)]
    prog += [(JEQ, 0, 3, clone), (LD_W_ABS, 0, 0, 16), (JSET, 0, 1, CLONE_NAMESPACES), (RET, 0, 0, eperm),
             (RET, 0, 0, RET_ALLOW)]
    return prog


def install(machine: str | None = None) -> dict:
    """Install the filter on the calling process (needs no_new_privs); raises OSError on failure."""
    machine = machine or platform.machine()
    if machine not in ARCHES:
        raise OSError(errno.ENOSYS, f"seccomp: 不支持的架构 {machine}")
    prog = program(machine)
    filters = (_Filter * len(prog))(*[_Filter(code, jt, jf, k) for code, jt, jf, k in prog])
    fprog = _Prog(len(prog), filters)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"seccomp: {errno.errorcode.get(e, e)}")
    if libc.prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != SECCOMP_MODE_FILTER:
        raise OSError(errno.EINVAL, "seccomp: 过滤器未生效")
    # Prove it: a user namespace must now be refused.
    if libc.unshare(0x10000000) == 0 or ctypes.get_errno() != errno.EPERM:
        raise OSError(errno.EINVAL, "seccomp: 仍可创建 user namespace")
    return {"machine": machine, "rules": len(prog), "denied": len(ARCHES[machine][1]) + len(ARCHES[machine][4])}

