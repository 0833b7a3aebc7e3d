"""Isolation for the code runner's worker process (Linux; standard library only, loaded by file path).

`isolate()` runs first in each child of the fork server, which is single-threaded right after fork (as
unshare needs): new network, mount and PID namespaces (as root directly; otherwise inside a new user
namespace), the project, the database's folder and the home folder hidden under empty tmpfs mounts (only
Python's own files and torch's site-packages are bound back), fresh tmpfs mounts as /tmp (whose /tmp/work is
the run's cwd), /dev/shm and /var/tmp. It then forks: a relay that reports how the run ended, PID 1 of the new
namespace that only reaps, and the worker. When the worker ends, PID 1 ends and the kernel kills whatever the
learner's code left behind (fork bombs too).

`confine()` runs after the job has been read, just before the learner's code: resource limits (CPU,
address space, file size, open files, processes, no core files), then — as root — a switch to an
unprivileged uid with no capabilities, so file permissions and RLIMIT_NPROC apply.

Whatever cannot be done here is left out and named in the report, which runner_status() shows.
"""

from __future__ import annotations

import ctypes
import errno
import os
import resource
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_NOSUID, MS_NODEV, MS_BIND, MS_REC, MS_PRIVATE = 2, 4, 4096, 16384, 1 << 18
PR_SET_NO_NEW_PRIVS = 38

WORKDIR = "/tmp/work"
MEMORY_BYTES = 3 * 1024**3  # address space: torch alone maps ~0.8 GB, leave room for real work
FILE_BYTES = 16 * 1024**2  # largest file a run may write
OPEN_FILES = 64
PROCESSES = 64  # threads count too; torch uses a few
TMPFS_BYTES = 64 * 1024**2

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _unshare(flags: int) -> None:
    _check(_libc.unshare(flags), "unshare")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = [None if s is None else s.encode() for s in (source, target, fstype, data)]
    _check(_libc.mount(enc[0], enc[1], enc[2], ctypes.c_ulong(flags), enc[3]), f"mount {target}")


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def _map_self(outer_uid: int, outer_gid: int) -> None:
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"0 {outer_uid} 1")
    _write("/proc/self/gid_map", f"0 {outer_gid} 1")


def _outermost(paths: list[str]) -> list[str]:
    real = sorted({os.path.realpath(p) for p in paths if p and os.path.isdir(p)})
    return [p for p in real if not any(p != q and p.startswith(q.rstrip("/") + "/") for q in real)]


def _hide(trees: list[str], keep: list[str]) -> list[str]:
    """Cover each tree with an empty read-only-for-others tmpfs, then bind the `keep` folders back in."""
    keep = [os.path.realpath(k) for k in keep if os.path.isdir(k)]
    handles = {k: os.open(k, os.O_PATH | os.O_DIRECTORY) for k in keep}  # reachable after being covered
    hidden = []
    for tree in _outermost(trees):
        if tree in ("/", "/proc", "/dev", "/sys", "/usr", "/lib", "/bin", "/etc"):
            continue
        _mount("tmpfs", tree, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
        hidden.append(tree)
    for k, fd in handles.items():
        if any(k.startswith(t.rstrip("/") + "/") for t in hidden):
            os.makedirs(k, exist_ok=True)
            _mount(f"/proc/self/fd/{fd}", k, None, MS_BIND | MS_REC)
        os.close(fd)
    return hidden


def isolate(
    *,
    hide: list[str],
    keep: list[str],
    uid: int,
    status_fd: int,
    user_namespace: bool | None = None,
    namespaces: bool = True,
) -> dict:
    """Enter new namespaces, hide `hide` (except `keep`), fork into relay + PID 1 + worker.

    Returns (in the worker) what was achieved. The relay process writes `{"exit": code}` on `status_fd`
    when the worker has ended, so the runner learns how a run that gave no result ended. `user_namespace`:
    None = only when not root (the path a learner's own `make run` takes); True forces it (tests, as root).
    `namespaces=False` takes the fallback path of a kernel that refuses them (tests).
    """
    report: dict = {"net": False, "mount": False, "pid": False, "uid": None, "hidden": [], "notes": []}
    is_root = os.geteuid() == 0 if user_namespace is None else not user_namespace
    outer_uid, outer_gid = os.getuid(), os.getgid()
    flags = CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWPID
    try:
        if not namespaces:
            raise OSError(errno.EPERM, "namespaces switched off")
        _unshare(flags if is_root else flags | CLONE_NEWUSER)
        if not is_root:
            _map_self(outer_uid, outer_gid)
        report.update(net=True, mount=True, pid=True)
    except OSError as exc:
        report["notes"].append(
            f"无法创建命名空间（{exc.strerror}）：运行的代码可以联网、能读写你有权限的文件，只受资源限制约束"
        )
    workdir = WORKDIR
    if report["mount"]:
        try:
            _mount(None, "/", None, MS_REC | MS_PRIVATE)
            report["hidden"] = _hide(hide, keep)
            _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={TMPFS_BYTES},mode=1777")
            for shared in ("/dev/shm", "/var/tmp"):  # other world-writable places: a private, empty one each
                if os.path.isdir(shared):
                    _mount("tmpfs", shared, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=1777")
            os.makedirs(WORKDIR, mode=0o755)
            if not is_root:  # lock these mounts: a nested user namespace cannot unmount them to look beneath
                _unshare(CLONE_NEWUSER | CLONE_NEWNS)
                _map_self(0, 0)
        except OSError as exc:
            report["notes"].append(f"挂载隔离失败（{exc.strerror}）")
            report["mount"] = False
    if not report["mount"]:
        import tempfile

        workdir = tempfile.mkdtemp(prefix="codelab-run-")
    if is_root and uid > 0 and os.geteuid() == 0:
        report["uid"] = uid
        os.chown(workdir, uid, uid)
    elif not is_root:
        report["notes"].append("非 root 运行：在用户命名空间里降权，不切换 uid")
    os.chdir(workdir)
    os.environ["HOME"] = workdir
    _fork_relay(status_fd, pid_namespace=report["pid"], workdir=None if report["mount"] else workdir)
    return report


def probe() -> dict:
    """Can runs get their own namespaces here? Tried in a throwaway child (this process stays as it is)."""
    flags = CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWPID
    if os.geteuid() != 0:
        flags |= CLONE_NEWUSER
    pid = os.fork()
    if pid == 0:
        try:
            _unshare(flags)
        except OSError:
            os._exit(1)
        os._exit(0)
    ok = _wait_for(pid) == 0
    notes = [] if ok else ["无法创建命名空间：运行的代码可以联网、能读写你有权限的文件，只受资源限制约束"]
    return {"net": ok, "mount": ok, "pid": ok, "notes": notes}


def _wait_for(pid: int) -> int:
    """Wait for `pid`, reaping any other child meanwhile; its exit code (128 + signal when killed)."""
    while True:
        try:
            done, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 1
        if done == pid:
            return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


def _fork_relay(status_fd: int, *, pid_namespace: bool, workdir: str | None) -> None:
    """relay (reports the exit) → [PID 1 of the new namespace: reaps] → worker (returns to the caller)."""
    sys.stdout.flush()
    pid = os.fork()
    if pid:
        _quiet(keep=status_fd)
        code = _wait_for(pid)
        if workdir:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)
        os.write(status_fd, f'{{"exit": {code}}}\n'.encode())
        os._exit(0)
    if pid_namespace:
        pid = os.fork()  # the first child is PID 1 of the new namespace: when it ends, everything in it ends
        if pid:
            _quiet(keep=-1)
            os._exit(_wait_for(pid))


def _quiet(*, keep: int) -> None:
    """A waiting process keeps no pipe end open but `keep`: end of output means the worker has ended."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.closerange(3, max(keep, 3))
    os.closerange(max(keep + 1, 3), 1024)


def _processes_of(uid: int) -> int:
    """How many threads and processes `uid` runs now (what RLIMIT_NPROC counts), from /proc."""
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/status") as f:
                    fields = dict(line.split(":", 1) for line in f if ":" in line)
            except OSError:
                continue
            if fields.get("Uid", "").split()[:1] == [str(uid)]:
                count += int(fields.get("Threads", "1").strip() or 1)
    return count


def confine(report: dict, *, cpu_seconds: int) -> None:
    """Limits for the learner's code; as root also an unprivileged uid (no capabilities, NPROC applies)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    spent = int(usage.ru_utime + usage.ru_stime) + 1
    processes = PROCESSES
    if not report.get("pid") and not report.get("uid"):
        # No user namespace and no uid of its own: RLIMIT_NPROC counts every process of this user (the desktop,
        # the browser …), so the run gets PROCESSES on top of what is already there.
        processes += _processes_of(os.getuid())
    limits = [
        (resource.RLIMIT_CPU, spent + cpu_seconds, spent + cpu_seconds + 1),
        (resource.RLIMIT_AS, MEMORY_BYTES, MEMORY_BYTES),
        (resource.RLIMIT_FSIZE, FILE_BYTES, FILE_BYTES),
        (resource.RLIMIT_NOFILE, OPEN_FILES, OPEN_FILES),
        (resource.RLIMIT_NPROC, processes, processes),
        (resource.RLIMIT_CORE, 0, 0),
    ]
    for which, soft, hard in limits:
        try:
            resource.setrlimit(which, (soft, hard))
        except (ValueError, OSError) as exc:
            report["notes"].append(f"限制 {which} 未生效：{exc}")
    uid = report.get("uid")
    if uid:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
