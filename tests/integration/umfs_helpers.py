"""Shared helpers for the umfs integration tests (Python stdlib only).

Everything that mounts, unmounts, waits, runs commands or switches users lives here, so
that test modules (and future ones for mirror, cryptfs, ...) reuse one implementation.

Environment:
  UMFS_BUILD            build directory (default <repo>/build); the binary is tools/umfs
  UMFS_TEST_TMPFS=1     mount tmpfs instead of umfs (validates the tests themselves)
  UMFS_TEST_FS=a,b      restrict the file systems under test (default: all in FILESYSTEMS)
  UMFS_TEST_TIMEOUT     per-test watchdog in seconds (default 300)
  UMFS_TEST_CMD_TIMEOUT timeout for one external command in seconds (default 120)
"""

import collections
import ctypes
import errno
import os
import pickle
import platform
import pwd
import re
import select
import shutil
import signal
import subprocess
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.abspath(os.environ.get('UMFS_BUILD') or os.path.join(REPO, 'build'))
UMFS = os.path.join(BUILD, 'tools', 'umfs')
TMPFS_MODE = os.environ.get('UMFS_TEST_TMPFS', '') not in ('', '0')
CMD_TIMEOUT = float(os.environ.get('UMFS_TEST_CMD_TIMEOUT', '120'))
MOUNT_WAIT = 30.0           # seconds to wait for a mount to appear / disappear
SYS_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
PYTHON = '/usr/bin/python3'  # never the pyenv python on PATH
TEST_USER = 'umfstest'

# Exit codes of the `umfs` command (the CLI contract).
EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_NOENT, EXIT_NOTDIR, EXIT_BUSY, EXIT_NODEV, EXIT_PERM = range(8)

# ------------------------------------------------------------------------------------
# Per file system knowledge. A new file system gets an entry here and its name in
# conftest.FILESYSTEMS.


class FsKind:
    """How to mount one kind of file system, and what it supports.

    mount_args(workdir, mountpoint) -> the arguments after `umfs mount`.
    features: names tests may `require()`:
      capacity  --max-size / --max-nodes are honoured
      devices   mknod of character devices
      seek_hole SEEK_HOLE finds holes in a default mount (not just EOF)
    """

    def __init__(self, name, mount_args, features=(), fstype=None, prepare=None, program=None):
        self.name = name
        self.mount_args = mount_args
        self.features = frozenset(features)
        self.fstype = fstype or 'fuse.' + name
        self.prepare = prepare   # prepare(workdir): create backing dirs etc.
        # program(workdir, mountpoint) -> (argv, subdir): a file system that is its own
        # program (libfuse's examples on umfs-fuse3), run with -f; tests use subdir of
        # the mount (the passthrough examples show the whole root).
        self.program = program


FS_KINDS = {
    'memfs': FsKind('memfs', lambda work, mnt: ['memfs', mnt],
                    features={'capacity', 'devices', 'seek_hole'}),
    # memfs with the kernel's writeback cache: other kernel paths (the kernel owns
    # mtime and size, writes come late and merged). By design a full file system then
    # shows at fsync/close, not at write(2), and SEEK_HOLE answers only EOF.
    'memfs-wb': FsKind('memfs-wb', lambda work, mnt: ['memfs', mnt, '--writeback-cache'],
                       features={'devices'}, fstype='fuse.memfs'),
    # mirror of a fresh directory `src` in the test's workdir (mirror_source() names
    # it). Devices: mknod as root passes through to the source. SEEK_HOLE is the
    # source's own (ext4/tmpfs find real holes), but the mount's page cache is not
    # involved, so the answer is exact.
    'mirror': FsKind('mirror', lambda work, mnt: ['mirror', mirror_source(work), mnt],
                     features={'devices', 'seek_hole'},
                     prepare=lambda work: _make_source(work)),
    # mirror without kernel passthrough: reads and writes reach mirror itself.
    'mirror-rw': FsKind('mirror-rw',
                        lambda work, mnt: ['mirror', mirror_source(work), mnt, '--no-passthrough'],
                        features={'devices', 'seek_hole'}, fstype='fuse.mirror',
                        prepare=lambda work: _make_source(work)),
    # cryptfs: a fresh vault in the test's workdir, every test user allowed (so the
    # POSIX suite sees plaintext); views per program are test_cryptfs.py's subject.
    'cryptfs': FsKind('cryptfs', lambda work, mnt: crypt_mount_args(work, mnt),
                      features={'devices'}, fstype='fuse.crypt',
                      prepare=lambda work: _make_vault(work)),
    # Pseudo kind for UMFS_TEST_TMPFS=1: the kernel's tmpfs, mounted directly.
    'tmpfs': FsKind('tmpfs', None, features={'capacity', 'devices', 'seek_hole'}, fstype='tmpfs'),
}



def mirror_source(workdir):
    """The source directory of a mirror mounted in workdir by mount_fs()."""
    return os.path.join(workdir, 'src')


def fstype_of(path):
    """The type of the file system holding path (longest mount point prefix)."""
    path = os.path.realpath(path)
    best = None
    for e in mount_table():
        if path == e.target or path.startswith(e.target.rstrip('/') + '/'):
            if best is None or len(e.target) >= len(best.target):
                best = e
    return best.fstype if best else None


def skip_if_source_limits(m, why, ok_types=('tmpfs', 'btrfs', 'xfs')):
    """Skip a test on mirror when its source is a file system with smaller limits than
    the test assumes (the error is the source's, passed through unchanged)."""
    import pytest
    if not m.kind.startswith('mirror'):
        return
    t = fstype_of(mirror_source(m.workdir))
    if t not in ok_types:
        pytest.skip('mirror passes the source\'s limits through, and its source is %s: %s'
                    % (t, why))


def _vault_paths(workdir):
    return os.path.join(workdir, 'vault'), os.path.join(workdir, 'vault.pass')


_vault_template = []   # one vault made per test session, copied for each test


def _make_vault(workdir):
    # `umfs crypt init` runs Argon2id (a third of a second, more under ASan): made once
    # and copied, the suite's vaults cost one KDF each (at mount) instead of two.
    vault, passfile = _vault_paths(workdir)
    with open(passfile, 'w') as f:
        f.write('posix suite passphrase\n')
    if not _vault_template:
        import atexit
        tdir = tempfile.mkdtemp(prefix='umfs-vault-template-')
        atexit.register(shutil.rmtree, tdir, True)
        r = run([UMFS, 'crypt', 'init', '--fast-kdf', '--passfile', passfile,
                 os.path.join(tdir, 'vault')])
        if r.rc != 0:
            raise AssertionError('umfs crypt init failed: %s' % r.err)
        _vault_template.append(os.path.join(tdir, 'vault'))
    shutil.copytree(_vault_template[0], vault, symlinks=True)


def crypt_mount_args(workdir, mnt):
    vault, passfile = _vault_paths(workdir)
    args = ['crypt', vault, mnt, '--passfile', passfile, '--allow-uid', '0']
    for name in (TEST_USER, 'nobody'):
        try:
            args += ['--allow-uid', str(pwd.getpwnam(name).pw_uid)]
        except KeyError:
            pass
    return args


def _make_source(workdir):
    src = mirror_source(workdir)
    os.makedirs(src, exist_ok=True)
    os.chmod(src, 0o755)

# ------------------------------------------------------------------------------------
# Running commands

Result = collections.namedtuple('Result', 'rc out err argv')
User = collections.namedtuple('User', 'name uid gid')


class CommandTimeout(AssertionError):
    pass


def base_env(extra=None):
    env = {
        'PATH': SYS_PATH,
        'LC_ALL': 'C',
        'LANG': 'C',
        'HOME': os.environ.get('HOME', '/root'),
        'TERM': 'dumb',
    }
    if extra:
        env.update(extra)
    return env


def user_prefix(user):
    """argv prefix running a command as `user` (a User) with its groups."""
    return ['setpriv', '--reuid=%d' % user.uid, '--regid=%d' % user.gid,
            '--init-groups', '--']


def run(argv, *, user=None, timeout=None, env=None, cwd=None, input=None, shell=False):
    """Run a command and return Result(rc, out, err, argv).

    Output goes to temporary files, not pipes, so that a daemon which keeps an
    inherited stdout/stderr open cannot make us wait forever. On timeout the whole
    process group is killed and CommandTimeout is raised.
    """
    if shell:
        argv = ['/bin/sh', '-c', argv]
    argv = [str(a) for a in argv]
    full = (user_prefix(user) if user else []) + argv
    if user and env is None:
        env = base_env({'HOME': '/', 'USER': user.name, 'LOGNAME': user.name})
    timeout = CMD_TIMEOUT if timeout is None else timeout
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        stdin = subprocess.PIPE if input is not None else subprocess.DEVNULL
        p = subprocess.Popen(full, stdin=stdin, stdout=out, stderr=err, cwd=cwd,
                             env=env if env is not None else base_env(),
                             start_new_session=True)
        try:
            if input is not None:
                p.stdin.write(input if isinstance(input, bytes) else input.encode())
                p.stdin.close()
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(p.pid)
            p.wait()
            out.seek(0)
            err.seek(0)
            raise CommandTimeout('command did not finish within %.0f s: %r\nstdout: %s\nstderr: %s'
                                 % (timeout, full, out.read()[-2000:], err.read()[-2000:]))
        out.seek(0)
        err.seek(0)
        return Result(rc, out.read().decode(errors='replace'),
                      err.read().decode(errors='replace'), full)


def _kill_group(pid):
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except OSError:
            return
        time.sleep(0.2)


def run_as_user(user, argv, **kw):
    return run(argv, user=user, **kw)


def umfs(*args, user=None, timeout=None, env=None):
    """Run the umfs command with args; returns Result."""
    return run([UMFS] + [str(a) for a in args], user=user, timeout=timeout, env=env)


def check(res, what=None):
    """Assert that a Result has exit code 0, with its output in the message."""
    assert res.rc == 0, '%s failed with exit code %d\nstdout: %s\nstderr: %s' % (
        what or res.argv, res.rc, res.out[-3000:], res.err[-3000:])
    return res


def error_lines(text):
    return [line for line in text.splitlines() if line.strip()]


# ------------------------------------------------------------------------------------
# Mount table

MountEntry = collections.namedtuple('MountEntry', 'source target fstype options dev')


def _unescape(s):
    return re.sub(r'\\([0-7]{3})', lambda m: chr(int(m.group(1), 8)), s)


def mount_table():
    """Entries of /proc/self/mountinfo (has the device numbers), in order."""
    entries = []
    with open('/proc/self/mountinfo') as f:
        for line in f:
            left, right = line.rstrip('\n').split(' - ', 1)
            lf = left.split(' ')
            rf = right.split(' ')
            major, minor = (int(x) for x in lf[2].split(':'))
            entries.append(MountEntry(_unescape(rf[1]), _unescape(lf[4]), rf[0],
                                      lf[5].split(',') + rf[2].split(','), (major, minor)))
    return entries


def proc_mounts_text():
    with open('/proc/mounts') as f:
        return f.read()


def mounts_at(path):
    path = os.path.abspath(path)
    return [e for e in mount_table() if e.target == path]


def mount_entry(path):
    """The topmost mount at path, or None."""
    found = mounts_at(path)
    return found[-1] if found else None


def is_mounted(path, fstype_prefix=None):
    e = mount_entry(path)
    if e is None:
        return False
    return fstype_prefix is None or e.fstype.startswith(fstype_prefix)


def mounts_under(prefix):
    prefix = os.path.abspath(prefix).rstrip('/') + '/'
    return [e for e in mount_table() if e.target.startswith(prefix)]


def wait_for(pred, timeout=MOUNT_WAIT, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        if pred():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def wait_mounted(path, timeout=MOUNT_WAIT, fstype_prefix=None):
    return wait_for(lambda: is_mounted(path, fstype_prefix), timeout)


def wait_unmounted(path, timeout=MOUNT_WAIT):
    return wait_for(lambda: not is_mounted(path), timeout)


# ------------------------------------------------------------------------------------
# FUSE control file system (/sys/fs/fuse/connections)

FUSECTL = '/sys/fs/fuse/connections'
_fusectl_mounted_by_us = False


def ensure_fusectl():
    """Mount fusectl if it is not mounted; returns the directory."""
    global _fusectl_mounted_by_us
    if not any(e.target == FUSECTL and e.fstype == 'fusectl' for e in mount_table()):
        res = run(['mount', '-t', 'fusectl', 'fusectl', FUSECTL], timeout=30)
        if res.rc != 0:
            raise OSError(errno.ENODEV, 'cannot mount fusectl: ' + res.err.strip())
        _fusectl_mounted_by_us = True
    return FUSECTL


def release_fusectl():
    global _fusectl_mounted_by_us
    if _fusectl_mounted_by_us:
        run(['umount', FUSECTL], timeout=30)
        _fusectl_mounted_by_us = False


def fuse_connection_dir(path):
    """The fusectl directory of the FUSE mount at path (found without stat'ing it)."""
    e = mount_entry(path)
    if e is None or not e.fstype.startswith('fuse'):
        return None
    return os.path.join(ensure_fusectl(), str(e.dev[1]))


def abort_connection(path):
    """Abort the FUSE connection of the mount at path; True if one was aborted."""
    try:
        d = fuse_connection_dir(path)
    except OSError:
        return False
    if d and os.path.exists(os.path.join(d, 'abort')):
        with open(os.path.join(d, 'abort'), 'w') as f:
            f.write('1')
        return True
    return False


# ------------------------------------------------------------------------------------
# Processes

def _cmdline(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            return [a.decode(errors='replace') for a in f.read().split(b'\0') if a]
    except OSError:
        return None


def pids_mentioning(path):
    """Processes (not ourselves) with `path` (or something under it) in their argv."""
    path = os.path.abspath(path)
    me = os.getpid()
    found = []
    for name in os.listdir('/proc'):
        if not name.isdigit() or int(name) == me:
            continue
        argv = _cmdline(int(name))
        if argv and any(a == path or a.startswith(path + '/') for a in argv):
            found.append(int(name))
    return found


def daemon_pids(mountpoint):
    """The umfs processes serving mountpoint (by argv: ".../umfs ... MOUNTPOINT")."""
    result = []
    for pid in pids_mentioning(mountpoint):
        argv = _cmdline(pid) or []
        if argv and os.path.basename(argv[0]) == 'umfs':
            result.append(pid)
    return result


def pid_alive(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            state = f.read().rsplit(')', 1)[1].split()[0]
        return state not in ('Z', 'X')
    except OSError:
        return False


def wait_pids_gone(pids, timeout):
    return wait_for(lambda: not any(pid_alive(p) for p in pids), timeout)


def kill_pids(pids, grace=5.0):
    pids = [p for p in pids if pid_alive(p)]
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        for p in pids:
            try:
                os.kill(p, sig)
            except OSError:
                pass
        if wait_pids_gone(pids, wait):
            return
    return


# ------------------------------------------------------------------------------------
# Mounts made by the tests

ACTIVE = []   # Mount objects not cleaned up yet (the watchdog releases them)


class MountError(AssertionError):
    pass


class Mount:
    """A mounted file system under test. .path is the mount point (a str)."""

    def __init__(self, kind, path, workdir, user=None, proc=None, stderr_path=None,
                 result=None, tmpfs=False):
        self.kind = kind
        self.path = path
        self.workdir = workdir
        self.user = user
        self.proc = proc                  # Popen of a foreground (-f) mount
        self.stderr_path = stderr_path
        self.result = result              # Result of a daemonizing `umfs mount`
        self.tmpfs = tmpfs
        self.features = FS_KINDS[kind].features if kind in FS_KINDS else frozenset()
        self.notes = []                   # cleanup observations
        self.server_pids = []             # processes that opened /dev/fuse for this mount
        self.cleaned = False
        ACTIVE.append(self)

    def __repr__(self):
        return 'Mount(%s at %s)' % (self.kind, self.path)

    def p(self, *parts):
        return os.path.join(self.path, *parts)

    def require(self, feature):
        import pytest
        if feature not in self.features:
            pytest.skip('%s does not support %s' % (self.kind, feature))

    def entry(self):
        return mount_entry(self.path)

    def mounted(self):
        return is_mounted(self.path)

    def stderr_text(self):
        if self.stderr_path and os.path.exists(self.stderr_path):
            with open(self.stderr_path, errors='replace') as f:
                return f.read()
        return ''

    def pids(self):
        if self.tmpfs:
            return []
        pids = daemon_pids(self.path)
        pids += [p for p in self.server_pids if p not in pids and pid_alive(p)]
        if self.proc is not None and self.proc.poll() is None and self.proc.pid not in pids:
            pids.append(self.proc.pid)
        return pids

    def unmount(self, lazy=False, user=None, timeout=None):
        """Unmount the normal way (umfs unmount / umount); returns Result."""
        if self.tmpfs:
            return run(['umount'] + (['-l'] if lazy else []) + [self.path], timeout=timeout)
        args = ['unmount'] + (['-z'] if lazy else []) + [self.path]
        return umfs(*args, user=user if user is not None else self.user, timeout=timeout)

    def cleanup(self):
        """Unmount by any means and kill what is left; never raises."""
        if self.cleaned:
            return
        try:
            pids = self.pids()
            if self.mounted():
                try:
                    res = self.unmount(timeout=60)
                    if res.rc != 0:
                        self.notes.append('unmount failed: rc=%d %s' % (res.rc, res.err.strip()))
                except CommandTimeout as e:
                    self.notes.append('unmount timed out: %s' % e)
                if not wait_unmounted(self.path, 10):
                    self.notes.append('still mounted after unmount; forcing')
                    force_unmount(self.path)
            if pids and not wait_pids_gone(pids, 10):
                self.notes.append('daemon %r still running after unmount; killed' % pids)
                kill_pids(pids)
            if self.proc is not None:
                if self.proc.poll() is None:
                    _kill_group(self.proc.pid)
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
            leftover = pids_mentioning(self.path)
            if leftover:
                kill_pids(leftover)
            if self.mounted():
                force_unmount(self.path)
        finally:
            self.cleaned = True
            if self in ACTIVE:
                ACTIVE.remove(self)


def force_unmount(path):
    """Last resort: abort the FUSE connection and detach lazily; kill its processes."""
    path = os.path.abspath(path)
    for _ in range(5):
        if not is_mounted(path):
            break
        abort_connection(path)
        run(['umount', '-l', path], timeout=30)
    kill_pids(pids_mentioning(path), grace=2.0)
    return not is_mounted(path)


def emergency_release():
    """Called by the watchdog: make every blocked file system call return."""
    for m in list(ACTIVE):
        try:
            if not m.tmpfs:
                abort_connection(m.path)
            kill_pids(m.pids(), grace=1.0)
        except Exception:
            pass


def _own_servers(pids, mountpoint):
    """Of new /dev/fuse holders, those serving mountpoint (by argv): other test runs may
    mount at the same time, and their servers are not ours to kill."""
    mine = set(pids_mentioning(mountpoint))
    return sorted(p for p in pids if p in mine)


def umfs_mount(kind, mountpoint, *extra, user=None, foreground=False, stderr_path=None,
               workdir=None, wait=True, args=None, env=None):
    """Mount with the umfs command and return a Mount.

    Daemonizing mode (default): runs `umfs mount ...`, requires exit 0 and the mount
    to be live (the command's contract says it is when the command returns; we still
    give it MOUNT_WAIT seconds here so that tests about other things are not affected).
    foreground=True: starts `umfs mount ... -f` in the background (Popen), stderr to
    stderr_path, and waits until the mount appears.
    """
    workdir = workdir or os.path.dirname(mountpoint)
    if args is None:
        args = FS_KINDS[kind].mount_args(workdir, mountpoint) if kind in FS_KINDS else [kind, mountpoint]
    argv = [UMFS, 'mount'] + list(args) + [str(a) for a in extra]
    before = fuse_device_holders()
    if not foreground:
        res = run(argv, user=user, env=env)
        m = Mount(kind, mountpoint, workdir, user=user, result=res)
        m.server_pids = _own_servers(fuse_device_holders() - before, mountpoint)
        if res.rc != 0:
            m.cleanup()
            raise MountError('umfs mount failed (exit %d): %s\n%s' % (res.rc, res.err.strip(), res.out))
        if wait and not wait_mounted(mountpoint):
            m.cleanup()
            raise MountError('umfs mount returned 0 but %s is not mounted' % mountpoint)
        return m
    stderr_path = stderr_path or os.path.join(workdir, 'umfs-stderr.log')
    full = (user_prefix(user) if user else []) + argv + ['-f']
    env = base_env({'HOME': '/', 'USER': user.name, 'LOGNAME': user.name}) if user else base_env()
    with open(stderr_path, 'wb') as errf:
        proc = subprocess.Popen(full, stdin=subprocess.DEVNULL, stdout=errf, stderr=errf,
                                env=env, start_new_session=True)
    m = Mount(kind, mountpoint, workdir, user=user, proc=proc, stderr_path=stderr_path)
    if wait:
        wait_for(lambda: is_mounted(mountpoint) or proc.poll() is not None)
        if not is_mounted(mountpoint):
            rc = proc.poll()
            text = m.stderr_text()
            m.cleanup()
            raise MountError('foreground umfs mount did not mount (exit %r): %s' % (rc, text.strip()))
        m.server_pids = _own_servers(fuse_device_holders() - before, mountpoint)
    return m


def tmpfs_mount(mountpoint, workdir, max_size=None, max_nodes=None):
    opts = ['mode=0755']
    if max_size:
        opts.append('size=%s' % max_size)
    if max_nodes:
        opts.append('nr_inodes=%d' % int(max_nodes))
    res = run(['mount', '-t', 'tmpfs', '-o', ','.join(opts), 'umfstest-tmpfs', mountpoint])
    check(res, 'mount tmpfs')
    return Mount('tmpfs', mountpoint, workdir, tmpfs=True, result=res)


def mount_fs(kind, workdir, max_size=None, max_nodes=None, extra=(), name='mnt', env=None):
    """Mount a file system of `kind` on workdir/name for a test; returns Mount.
    env: the umfs command's whole environment (default base_env())."""
    mnt = os.path.join(workdir, name)
    os.makedirs(mnt, exist_ok=True)
    if kind == 'tmpfs':
        return tmpfs_mount(mnt, workdir, max_size, max_nodes)
    fk = FS_KINDS[kind]
    if fk.prepare:
        fk.prepare(workdir)
    if fk.program:
        return program_mount(kind, mnt, workdir)
    extra = list(extra)
    if max_size is not None:
        extra += ['--max-size', str(max_size)]
    if max_nodes is not None:
        extra += ['--max-nodes', str(max_nodes)]
    return umfs_mount(kind, mnt, *extra, workdir=workdir, env=env)


# ------------------------------------------------------------------------------------
# Users

def user_by_name(name):
    pw = pwd.getpwnam(name)
    return User(pw.pw_name, pw.pw_uid, pw.pw_gid)


def nobody():
    return user_by_name('nobody')


def ensure_test_user():
    """The unprivileged test user `umfstest`, created (system user, no home) if missing."""
    try:
        return user_by_name(TEST_USER)
    except KeyError:
        pass
    res = run(['useradd', '--system', '--user-group', '--no-create-home',
               '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', TEST_USER])
    if res.rc != 0 and res.rc != 9:   # 9: exists (a race)
        raise RuntimeError('useradd %s failed: %s' % (TEST_USER, res.err.strip()))
    return user_by_name(TEST_USER)


# ------------------------------------------------------------------------------------
# Running Python code in a child process (optionally as another user)

class ChildError(AssertionError):
    pass


def in_child(func, *args, uid=None, gid=None, groups=(), timeout=None, **kwargs):
    """Run func(*args, **kwargs) in a forked child and return its (pickled) result.

    With uid/gid the child drops to those ids first (real, effective and saved, and
    the supplementary groups given). An exception in the child is re-raised here
    (an OSError keeps its errno)."""
    timeout = CMD_TIMEOUT if timeout is None else timeout
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.close(r)
            try:
                if gid is not None:
                    os.setgroups(list(groups))
                    os.setresgid(gid, gid, gid)
                if uid is not None:
                    os.setresuid(uid, uid, uid)
                res = ('ok', func(*args, **kwargs))
            except BaseException as e:  # noqa: B902 - everything goes back to the parent
                res = ('err', e)
            try:
                data = pickle.dumps(res)
            except Exception:
                data = pickle.dumps(('err', ChildError('unpicklable child result: %r' % (res,))))
            view = memoryview(data)
            while view:
                n = os.write(w, view)
                view = view[n:]
        finally:
            os._exit(0)
    os.close(w)
    chunks = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(pid, signal.SIGKILL)
                raise ChildError('child did not finish within %.0f s' % timeout)
            ready, _, _ = select.select([r], [], [], min(left, 1.0))
            if ready:
                chunk = os.read(r, 1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
    finally:
        os.close(r)
        _, status = os.waitpid(pid, 0)
    if not chunks:
        raise ChildError('child died without a result (wait status %#x)' % status)
    kind, value = pickle.loads(b''.join(chunks))
    if kind == 'err':
        raise value
    return value


def call_as(user, func, *args, **kwargs):
    """Run func in a child process as `user` (a User, with no supplementary groups)."""
    return in_child(func, *args, uid=user.uid, gid=user.gid, groups=[user.gid], **kwargs)


# ------------------------------------------------------------------------------------
# Syscalls Python's os module does not have

_libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD = -100
RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2
FALLOC_FL_KEEP_SIZE = 0x01
FALLOC_FL_PUNCH_HOLE = 0x02
_SYS_RENAMEAT2 = {'x86_64': 316, 'aarch64': 276, 'riscv64': 276}.get(platform.machine())


def renameat2(old, new, flags):
    """renameat2(AT_FDCWD, old, AT_FDCWD, new, flags) through syscall(2)."""
    o, n = os.fsencode(old), os.fsencode(new)
    if _SYS_RENAMEAT2 is not None:
        rc = _libc.syscall(ctypes.c_long(_SYS_RENAMEAT2), ctypes.c_int(AT_FDCWD),
                           ctypes.c_char_p(o), ctypes.c_int(AT_FDCWD), ctypes.c_char_p(n),
                           ctypes.c_uint(flags))
    else:
        rc = _libc.renameat2(AT_FDCWD, o, AT_FDCWD, n, ctypes.c_uint(flags))
    if rc != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), old, None, new)


_libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
_libc.fallocate.restype = ctypes.c_int


def fallocate(fd, mode, offset, length):
    if _libc.fallocate(fd, mode, offset, length) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


# ------------------------------------------------------------------------------------
# Test directories

def make_base_dir():
    """A fresh, world-traversable directory for all mounts of one test session."""
    d = os.path.realpath(tempfile.mkdtemp(prefix='umfs-it-', dir='/tmp'))
    os.chmod(d, 0o755)
    return d


def remove_tree(path):
    """Remove a test directory unless something is still mounted under it."""
    if mounts_under(path) or is_mounted(path):
        return False
    shutil.rmtree(path, ignore_errors=True)
    return True


# ------------------------------------------------------------------------------------
# Assertions

def errname(n):
    return errno.errorcode.get(n, str(n)) if isinstance(n, int) else repr(n)


def expect_errno(expected, func, *args, **kwargs):
    """Call func and require an OSError whose errno is `expected` (or one of a tuple).
    Returns the exception."""
    import pytest
    allowed = expected if isinstance(expected, tuple) else (expected,)
    with pytest.raises(OSError) as e:
        func(*args, **kwargs)
    assert e.value.errno in allowed, 'expected %s, got %s (%s)' % (
        '/'.join(errname(x) for x in allowed), errname(e.value.errno), e.value)
    return e.value


def write_file(path, data, mode=0o644):
    if isinstance(data, str):
        data = data.encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
    finally:
        os.close(fd)


def read_file(path):
    with open(path, 'rb') as f:
        return f.read()


def cleanup_under(directory):
    """Unmount and kill everything a test left under `directory` (never raises)."""
    directory = os.path.abspath(directory)
    for m in list(ACTIVE):
        if m.path == directory or m.path.startswith(directory + '/'):
            m.cleanup()
    for e in reversed(mounts_under(directory)):
        if is_mounted(e.target):
            try:
                if os.access(UMFS, os.X_OK):
                    umfs('unmount', e.target, timeout=30)
            except CommandTimeout:
                pass
            if is_mounted(e.target) and not wait_unmounted(e.target, 5):
                force_unmount(e.target)
    pids = pids_mentioning(directory)
    if pids:
        kill_pids(pids, grace=2.0)


def fuse_device_holders():
    """Pids that have /dev/fuse open (FUSE servers, fusermount helpers)."""
    found = set()
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            for fd in os.listdir('/proc/%s/fd' % name):
                try:
                    if os.readlink('/proc/%s/fd/%s' % (name, fd)) == '/dev/fuse':
                        found.add(int(name))
                        break
                except OSError:
                    pass
        except OSError:
            pass
    return found


AT_SYMLINK_FOLLOW = 0x400


def linkat_follow(src, dst):
    """linkat(AT_FDCWD, src, AT_FDCWD, dst, AT_SYMLINK_FOLLOW). Python 3.11's os.link()
    calls link(2) unless a dir_fd is given, and link(2) does not follow /proc/self/fd/N."""
    rc = _libc.linkat(AT_FDCWD, os.fsencode(src), AT_FDCWD, os.fsencode(dst), AT_SYMLINK_FOLLOW)
    if rc != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), src, None, dst)


def assert_dead_mount(path):
    """A mount whose server is gone: every call that reaches the server fails with
    ENOTCONN. (stat() of names the kernel has cached - the root, or anything looked up
    within entry/attr timeouts - is answered from the cache and may still succeed.)"""
    expect_errno(errno.ENOTCONN, os.listdir, path)
    expect_errno(errno.ENOTCONN, os.stat, os.path.join(path, 'never-looked-up-%d' % time.monotonic_ns()))
    expect_errno(errno.ENOTCONN, os.statvfs, path)


# ------------------------------------------------------------------------------------
# libfuse's examples built on umfs-fuse3 (tests/fuse3/meson.build) as file system kinds

def fuse3_example(name, variant='umfs'):
    """A libfuse example built by tests/fuse3/meson.build: variant 'umfs' or 'libfuse'."""
    return os.path.join(BUILD, 'tests', 'fuse3', '%s-%s' % (variant, name))


def fuse3_example_client(name):
    return os.path.join(BUILD, 'tests', 'fuse3', name)


def fuse3_env():
    """Environment for the examples: LeakSanitizer (asan builds) told about the option
    strings the examples never free (tests/fuse3/lsan.supp)."""
    supp = os.path.join(REPO, 'tests', 'fuse3', 'lsan.supp')
    lsan = os.environ.get('LSAN_OPTIONS', '')
    extra = {'LSAN_OPTIONS': (lsan + ':' if lsan else '') + 'suppressions=' + supp}
    for var in ('ASAN_OPTIONS', 'UBSAN_OPTIONS'):
        if os.environ.get(var):
            extra[var] = os.environ[var]
    return base_env(extra)


# As root the examples would let anyone do anything: the kernel checks permissions
# (default_permissions), as libfuse's own tests run them; allow_other for the tests
# that act as other users.
_FUSE3_OPTS = 'default_permissions,allow_other'


def _fuse3_whole_root(name, variant):
    def program(workdir, mnt):
        # passthrough and passthrough_fh show "/": the test's source is a subdirectory.
        return [fuse3_example(name, variant), '-f', '-o', _FUSE3_OPTS, mnt], mirror_source(workdir)
    return program


def _fuse3_ll(variant):
    def program(workdir, mnt):
        return ([fuse3_example('passthrough_ll', variant), '-f', '-o',
                 'source=%s,xattr,%s' % (mirror_source(workdir), _FUSE3_OPTS), mnt], '')
    return program


# fuse3-NAME: the example on umfs-fuse3; libfuse-NAME: the same source on libfuse, for
# telling the example's own limits from umfs-fuse3's (UMFS_TEST_FS=libfuse-...).
for _variant, _prefix in (('umfs', 'fuse3-'), ('libfuse', 'libfuse-')):
    for _name, _prog in (('passthrough', _fuse3_whole_root('passthrough', _variant)),
                         ('passthrough_fh', _fuse3_whole_root('passthrough_fh', _variant)),
                         ('passthrough_ll', _fuse3_ll(_variant))):
        FS_KINDS[_prefix + _name] = FsKind(_prefix + _name, None,
                                           features={'devices', 'seek_hole'},
                                           fstype='fuse.%s-%s' % (_variant, _name),
                                           prepare=lambda work: _make_source(work),
                                           program=_prog)


class ProgramMount(Mount):
    """A mount served by its own program (Popen, -f); .path may be a subdirectory of
    the mount point (.mountpoint)."""

    def __init__(self, kind, mountpoint, path, workdir, proc, stderr_path):
        super().__init__(kind, path, workdir, proc=proc, stderr_path=stderr_path)
        self.mountpoint = mountpoint

    def entry(self):
        return mount_entry(self.mountpoint)

    def mounted(self):
        return is_mounted(self.mountpoint)

    def pids(self):
        return [self.proc.pid] if self.proc.poll() is None else []

    def unmount(self, lazy=False, user=None, timeout=None):
        return run(['fusermount3', '-u'] + (['-z'] if lazy else []) + [self.mountpoint],
                   timeout=timeout)

    def cleanup(self):
        if self.cleaned:
            return
        try:
            if self.mounted():
                try:
                    self.unmount(timeout=60)
                except CommandTimeout as e:
                    self.notes.append('unmount timed out: %s' % e)
                if not wait_unmounted(self.mountpoint, 10):
                    self.notes.append('still mounted after unmount; forcing')
                    force_unmount(self.mountpoint)
            if self.proc.poll() is None:
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.notes.append('program still running after unmount; killed')
                    _kill_group(self.proc.pid)
                    self.proc.wait(timeout=10)
            if self.proc.returncode:
                self.notes.append('program exited %d: %s' % (self.proc.returncode,
                                                             self.stderr_text()[-2000:]))
            if self.mounted():
                force_unmount(self.mountpoint)
        finally:
            self.cleaned = True
            if self in ACTIVE:
                ACTIVE.remove(self)


def program_mount(kind, mnt, workdir):
    argv, subdir = FS_KINDS[kind].program(workdir, mnt)
    if not os.access(argv[0], os.X_OK):
        raise MountError('%s is not built (tests/fuse3/meson.build needs libfuse3-dev\'s '
                         'examples)' % argv[0])
    stderr_path = os.path.join(workdir, 'program-stderr.log')
    with open(stderr_path, 'wb') as errf:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=errf, stderr=errf,
                                env=fuse3_env(), start_new_session=True)
    path = mnt + subdir if subdir else mnt
    m = ProgramMount(kind, mnt, path, workdir, proc, stderr_path)
    wait_for(lambda: is_mounted(mnt) or proc.poll() is not None)
    if not is_mounted(mnt):
        rc = proc.poll()
        m.cleanup()
        raise MountError('%s did not mount (exit %r): %s' % (argv[0], rc, m.stderr_text().strip()))
    return m
