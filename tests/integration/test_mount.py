"""The `umfs` command: options, exit codes, signals, unmounting, ordinary users."""

import errno
import os
import re
import signal
import subprocess
import time

import pytest

import umfs_helpers as H
from umfs_helpers import check, error_lines, expect_errno, read_file, write_file

pytestmark = pytest.mark.fuse_only


def project_version():
    with open(os.path.join(H.REPO, 'meson.build')) as f:
        return re.search(r"version\s*:\s*'([^']+)'", f.read()).group(1)


@pytest.fixture
def mnt(workdir, umfs_bin):
    p = os.path.join(workdir, 'mnt')
    os.mkdir(p)
    return p


def one_line_error(res, *must_mention):
    lines = error_lines(res.err)
    assert len(lines) == 1, 'expected one line on stderr, got %d: %r' % (len(lines), res.err)
    for word in must_mention:
        assert word in lines[0], 'error line does not mention %r: %r' % (word, lines[0])
    return lines[0]


def assert_nothing_mounted(path):
    assert not H.is_mounted(path), '%s was mounted anyway' % path
    assert not H.daemon_pids(path), 'a umfs process for %s is still running' % path


# ---------------------------------------------------------------------------- help, version, usage

def test_help(umfs_bin):
    res = H.umfs('--help')
    assert res.rc == 0, res
    assert 'mount' in res.out and 'unmount' in res.out, res.out


def test_version(umfs_bin):
    res = H.umfs('--version')
    assert res.rc == 0, res
    assert project_version() in res.out, res.out


@pytest.mark.parametrize('args', [
    [],                                   # no command
    ['frobnicate'],                       # unknown command
    ['mount'],                            # no KIND
    ['mount', 'memfs'],                   # no MOUNTPOINT
    ['mount', 'memfs', '{mnt}', 'extra'], # too many arguments
    ['unmount'],                          # no MOUNTPOINT
    ['--no-such-global-option'],
], ids=['none', 'unknown-command', 'no-kind', 'no-mountpoint', 'extra-arg', 'unmount-no-arg',
        'unknown-global-option'])
def test_usage_errors(mnt, args):
    res = H.umfs(*[a.format(mnt=mnt) for a in args])
    assert res.rc == H.EXIT_USAGE, 'exit %d, stderr %r' % (res.rc, res.err)
    assert error_lines(res.err), 'no message on stderr'
    assert_nothing_mounted(mnt)


def test_unknown_option(mnt):
    res = H.umfs('mount', 'memfs', mnt, '--no-such-option')
    assert res.rc == H.EXIT_USAGE, res
    one_line_error(res, '--no-such-option')
    assert_nothing_mounted(mnt)


def test_unknown_kind(mnt):
    res = H.umfs('mount', 'nosuchfs', mnt)
    assert res.rc == H.EXIT_USAGE, res
    one_line_error(res, 'nosuchfs')
    assert_nothing_mounted(mnt)


def test_bad_mount_option(mnt):
    res = H.umfs('mount', 'memfs', mnt, '-o', 'no_such_opt')
    assert res.rc in (H.EXIT_FAIL, H.EXIT_USAGE), res
    one_line_error(res, 'no_such_opt')
    assert_nothing_mounted(mnt)


@pytest.mark.parametrize('args', [
    ['--threads', 'abc'], ['--threads', '-3'], ['--max-size', '12Q'], ['--max-size', ''],
    ['--max-nodes', 'many'], ['--max-nodes', '-5'], ['--attr-timeout', 'soon'],
    ['--entry-timeout', '-1'], ['--negative-timeout', '1e99'], ['--negative-timeout', 'nan'],
    ['--poll-us', 'soon'], ['--poll-us', '-5'], ['--poll-us', '100001'], ['--poll-us', ''],
    ['--max-threads', '0'], ['--max-threads', 'many'], ['--max-threads', '1025'],
], ids=lambda a: '%s=%s' % (a[0], a[1] or 'empty'))
def test_bad_option_values(mnt, args):
    res = H.umfs('mount', 'memfs', mnt, *args)
    assert res.rc in (H.EXIT_FAIL, H.EXIT_USAGE), res
    one_line_error(res)
    assert_nothing_mounted(mnt)


# ---------------------------------------------------------------------------- mount point errors

def test_mountpoint_missing(workdir, umfs_bin):
    p = os.path.join(workdir, 'missing')
    res = H.umfs('mount', 'memfs', p)
    assert res.rc == H.EXIT_NOENT, res
    one_line_error(res)
    assert not os.path.exists(p)


def test_mountpoint_is_file(workdir, umfs_bin):
    p = os.path.join(workdir, 'file')
    write_file(p, b'')
    res = H.umfs('mount', 'memfs', p)
    assert res.rc == H.EXIT_NOTDIR, res
    one_line_error(res)
    assert_nothing_mounted(p)


def test_already_mounted(mnt):
    m = H.umfs_mount('memfs', mnt)
    write_file(m.p('f'), b'first')
    res = H.umfs('mount', 'memfs', mnt)
    assert res.rc == H.EXIT_BUSY, res
    one_line_error(res)
    assert len(H.mounts_at(mnt)) == 1, 'mounted twice: %s' % H.mounts_at(mnt)
    assert read_file(m.p('f')) == b'first'      # the first mount is untouched
    check(m.unmount())
    assert H.wait_unmounted(mnt)


def test_no_dev_fuse(mnt):
    """Exit 6 when /dev/fuse is missing (a private mount namespace with a /dev without it)."""
    if not os.path.exists('/usr/bin/unshare'):
        pytest.skip('unshare is not installed')
    script = (
        'set -e; mount -t tmpfs -o mode=755 nodev /dev; '
        'mknod -m 666 /dev/null c 1 3; mknod -m 666 /dev/zero c 1 5; '
        'mknod -m 666 /dev/full c 1 7; mknod -m 666 /dev/random c 1 8; '
        'mknod -m 666 /dev/urandom c 1 9; ln -s /proc/self/fd /dev/fd; '
        'test ! -e /dev/fuse; exec "$@"')
    res = H.run(['unshare', '--mount', '--propagation', 'private', '/bin/sh', '-c', script,
                 'sh', H.UMFS, 'mount', 'memfs', mnt], timeout=60)
    assert res.rc == H.EXIT_NODEV, res
    one_line_error(res)
    assert_nothing_mounted(mnt)


def test_mountpoint_with_space(workdir, umfs_bin):
    p = os.path.join(workdir, 'with space')
    os.mkdir(p)
    m = H.umfs_mount('memfs', p)
    assert H.is_mounted(p)
    write_file(m.p('f'), b'x')
    assert read_file(m.p('f')) == b'x'
    check(m.unmount())
    assert H.wait_unmounted(p)


# ---------------------------------------------------------------------------- mounting

def test_daemon_mount_live_on_return(mnt):
    # Pipes on purpose: the command must return even when its caller reads its output
    # to the end, i.e. the daemon must not keep stdout/stderr open.
    before = H.fuse_device_holders()
    try:
        res = subprocess.run([H.UMFS, 'mount', 'memfs', mnt], capture_output=True, timeout=60,
                             env=H.base_env(), stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail('umfs mount did not return within 60 s with its output on pipes '
                    '(does the daemon keep stdout/stderr open?)')
    finally:
        m = H.Mount('memfs', mnt, os.path.dirname(mnt))
        m.server_pids = H._own_servers(H.fuse_device_holders() - before, mnt)
    assert res.returncode == 0, res
    e = H.mount_entry(mnt)                       # no waiting: live when the command returns
    assert e is not None, '%s is not mounted when umfs mount returns' % mnt
    assert e.fstype.startswith('fuse'), e
    assert 'allow_other' in e.options and 'default_permissions' in e.options, e.options
    st = os.stat(mnt)
    assert os.minor(st.st_dev) == e.dev[1] and os.major(st.st_dev) == e.dev[0]
    write_file(m.p('f'), b'live')
    assert read_file(m.p('f')) == b'live'
    assert m.server_pids, 'no process holds /dev/fuse after umfs mount returned'


def test_daemon_exits_after_unmount(mnt):
    m = H.umfs_mount('memfs', mnt)
    pids = m.pids()
    assert pids, 'cannot find the process serving %s' % mnt
    res = m.unmount()
    assert res.rc == 0, res
    assert not H.is_mounted(mnt), 'still mounted when umfs unmount returned'
    assert H.wait_pids_gone(pids, 30), 'daemon %s still running 30 s after unmount' % pids
    assert os.listdir(mnt) == []                 # the underlying directory again


def test_external_umount_stops_daemon(mnt):
    m = H.umfs_mount('memfs', mnt)
    pids = m.pids()
    check(H.run(['umount', mnt]))
    assert H.wait_pids_gone(pids, 30), 'daemon still running 30 s after umount(8)'


@pytest.mark.parametrize('args', [['-s'], ['--threads', '1'], ['--threads', '4'],
                                  ['--max-size', '1G', '--max-nodes', '100000'],
                                  ['--poll-us', '0'], ['--poll-us', '2000', '--threads', '3'],
                                  ['--threads', '1', '--max-threads', '8'],
                                  ['--poll-us', '0', '--max-threads', '8']],
                         ids=['single', 'threads1', 'threads4', 'limits', 'nopoll', 'poll2ms',
                              'reserves', 'reserves-nopoll'])
def test_mount_variants(mnt, args):
    m = H.umfs_mount('memfs', mnt, *args)
    for i in range(100):
        write_file(m.p('f%d' % i), b'%d' % i)
    assert sorted(os.listdir(mnt)) == sorted('f%d' % i for i in range(100))
    assert read_file(m.p('f42')) == b'42'
    check(m.unmount())


@pytest.mark.parametrize('args,state', [([], 'on'), (['--poll-us', '0'], 'off')],
                         ids=['default', 'off'])
def test_busy_polling_is_reported(mnt, args, state):
    # --no-uring: over io_uring the rings carry the requests and nothing polls.
    m = H.umfs_mount('memfs', mnt, '--no-uring', *args, foreground=True)
    H.wait_for(lambda: 'busy polling' in m.stderr_text(), timeout=60)
    assert 'busy polling %s' % state in m.stderr_text(), m.stderr_text()
    write_file(m.p('f'), b'x')
    assert read_file(m.p('f')) == b'x'
    check(m.unmount())


def thread_sleeps(pid):
    """{tid: voluntary context switches} of every thread of pid but the main one."""
    counts = {}
    for tid in os.listdir('/proc/%d/task' % pid):
        if int(tid) == pid:
            continue
        with open('/proc/%d/task/%s/status' % (pid, tid)) as f:
            counts[int(tid)] = int(re.search(r'^voluntary_ctxt_switches:\s*(\d+)', f.read(),
                                             re.M).group(1))
    return counts


def sleeps_during(pid, action):
    """The voluntary context switches of pid's threads but the main one while action
    ran, in all."""
    before = thread_sleeps(pid)
    action()
    return sum(n - before.get(tid, 0) for tid, n in thread_sleeps(pid).items())


def stat_missing(m, prefix, n, pause=0):
    for i in range(n):
        expect_errno(errno.ENOENT, os.stat, m.p('%s%d' % (prefix, i)))
        if pause:
            time.sleep(pause)


def test_without_polling_only_the_readers_wake_per_request(mnt):
    # With polling off, every worker sleeps in read(2) and the kernel wakes one per
    # request. --max-threads starts the watcher (for reserve workers): it has nothing
    # to do per request and must sleep through them; it used to be woken for each
    # one (3 futex calls a request). 1000 LOOKUPs of missing names: one sleep of a
    # reader each, so about 1000 sleeps in all (the watcher's made it 2000).
    m = H.umfs_mount('memfs', mnt, '--no-uring', '--poll-us', '0', '--threads', '2',
                     '--max-threads', '8', foreground=True)
    pid = m.proc.pid
    threads = thread_sleeps(pid)
    assert len(threads) == 3, threads    # two workers and the watcher
    sleeps = sleeps_during(pid, lambda: stat_missing(m, 'missing', 1000))
    assert 900 <= sleeps < 1300, sleeps
    check(m.unmount())


def test_sparse_requests_wake_only_the_readers(mnt):
    # Polling on (the default), requests 5 ms apart: the polling window closes (no
    # request comes within it), and then the workers sleep in read(2) side by side
    # as libfuse's threads do, with nobody parked and the watcher at rest: one sleep a
    # request. A worker left parked kept the watcher ticking every 0.5 ms: ~10 sleeps
    # a request in all.
    m = H.umfs_mount('memfs', mnt, '--no-uring', '--threads', '2', foreground=True)
    stat_missing(m, 'warm', 20, pause=0.005)   # the window closes within a few requests
    sleeps = sleeps_during(m.proc.pid, lambda: stat_missing(m, 'missing', 200, pause=0.005))
    assert 180 <= sleeps < 300, sleeps
    check(m.unmount())


def test_mount_read_only(mnt):
    m = H.umfs_mount('memfs', mnt, '-o', 'ro')
    assert 'ro' in m.entry().options
    expect_errno(errno.EROFS, write_file, m.p('f'), b'')
    expect_errno(errno.EROFS, os.mkdir, m.p('d'))
    check(m.unmount())


def test_noallow_other(mnt, other_user):
    m = H.umfs_mount('memfs', mnt, '-o', 'noallow_other')
    assert 'allow_other' not in m.entry().options, m.entry().options
    os.chmod(mnt, 0o755)
    write_file(m.p('f'), b'x')
    os.chmod(m.p('f'), 0o644)
    expect_errno(errno.EACCES, H.call_as, other_user, os.stat, m.p('f'))
    assert read_file(m.p('f')) == b'x'                  # the owner (root) still can
    check(m.unmount())


def test_mount_unmount_cycles(mnt):
    for i in range(15):
        m = H.umfs_mount('memfs', mnt)
        write_file(m.p('f'), b'%d' % i)
        pids = m.pids()
        check(m.unmount())
        assert not H.is_mounted(mnt)
        assert H.wait_pids_gone(pids, 30), 'cycle %d: daemon still running after unmount' % i
        m.cleanup()
    assert os.listdir(mnt) == []


def test_relative_mountpoint(workdir, umfs_bin):
    """A relative MOUNTPOINT works, also for the unmount that the daemon does on SIGTERM
    after it has changed directory."""
    mnt = os.path.join(workdir, 'rel')
    os.mkdir(mnt)
    before = H.fuse_device_holders()
    res = H.run([H.UMFS, 'mount', 'memfs', 'rel'], cwd=workdir)
    servers = [p for p in H.fuse_device_holders() - before
               if os.path.basename((H._cmdline(p) or ['?'])[0]) == 'umfs'
               and 'rel' in (H._cmdline(p) or [])]
    try:
        assert res.rc == 0, res
        assert H.is_mounted(mnt), 'not mounted at %s' % mnt
        write_file(os.path.join(mnt, 'f'), b'x')
        assert len(servers) == 1, 'cannot identify the daemon: %s' % servers
        os.kill(servers[0], signal.SIGTERM)
        assert H.wait_unmounted(mnt, 30), 'still mounted 30 s after SIGTERM to the daemon'
        assert H.wait_pids_gone(servers, 30)
    finally:
        if H.is_mounted(mnt):
            H.force_unmount(mnt)
        H.kill_pids(servers)


@pytest.mark.parametrize('sig', [signal.SIGTERM, signal.SIGINT], ids=['SIGTERM', 'SIGINT'])
def test_daemon_signal_unmounts(mnt, sig):
    m = H.umfs_mount('memfs', mnt)
    pids = m.pids()
    assert len(pids) == 1, pids
    os.kill(pids[0], sig)
    assert H.wait_unmounted(mnt, 30), 'still mounted 30 s after %s to the daemon' % sig.name
    assert H.wait_pids_gone(pids, 30)


# ---------------------------------------------------------------------------- foreground and signals

@pytest.mark.parametrize('sig', [signal.SIGTERM, signal.SIGINT, signal.SIGHUP],
                         ids=['SIGTERM', 'SIGINT', 'SIGHUP'])
def test_foreground_signal_unmounts(mnt, sig):
    m = H.umfs_mount('memfs', mnt, foreground=True)
    write_file(m.p('f'), b'x')
    os.kill(m.proc.pid, sig)
    try:
        rc = m.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail('umfs -f did not exit within 30 s of %s' % sig.name)
    assert rc == 0, 'exit status %d after %s; stderr: %s' % (rc, sig.name, m.stderr_text())
    assert H.wait_unmounted(mnt, 30), 'still mounted after %s' % sig.name


def test_sigkill_then_unmount(mnt):
    m = H.umfs_mount('memfs', mnt, foreground=True)
    write_file(m.p('f'), b'x')
    m.proc.kill()
    m.proc.wait(timeout=30)
    assert H.is_mounted(mnt)
    H.assert_dead_mount(mnt)
    expect_errno(errno.ENOTCONN, read_file, m.p('f'))      # cached name, but open asks the server
    res = H.umfs('unmount', mnt)
    assert res.rc == 0, res
    assert not H.is_mounted(mnt)
    os.stat(mnt)


def test_lazy_unmount_busy(mnt):
    m = H.umfs_mount('memfs', mnt, foreground=True)
    write_file(m.p('f'), b'still here')
    fd = os.open(m.p('f'), os.O_RDONLY)
    try:
        res = H.umfs('unmount', mnt)                # busy: a plain unmount must refuse
        assert res.rc != 0, 'umfs unmount of a busy mount returned 0'
        one_line_error(res)
        assert H.is_mounted(mnt)
        res = H.umfs('unmount', '-z', mnt)
        assert res.rc == 0, res
        assert not H.is_mounted(mnt)
        assert os.pread(fd, 100, 0) == b'still here'   # open files keep working
        assert m.proc.poll() is None, 'the server quit while a file was still open'
    finally:
        os.close(fd)
    try:
        rc = m.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail('umfs -f still running 30 s after the last file of a lazily unmounted fs was closed')
    assert rc == 0, m.stderr_text()


def test_unmount_long_option(mnt):
    m = H.umfs_mount('memfs', mnt)
    res = H.umfs('unmount', '--lazy', mnt)
    assert res.rc == 0, res
    assert not H.is_mounted(mnt)
    assert H.wait_pids_gone(m.pids(), 30)


def test_unmount_not_mounted(mnt):
    res = H.umfs('unmount', mnt)
    assert res.rc != 0
    one_line_error(res)


def test_unmount_missing_path(workdir, umfs_bin):
    res = H.umfs('unmount', os.path.join(workdir, 'missing'))
    assert res.rc != 0
    one_line_error(res)


# ---------------------------------------------------------------------------- ordinary users

@pytest.fixture
def user_mnt(workdir, test_user, umfs_bin, user_fuse_access):
    p = os.path.join(workdir, 'umnt')
    os.mkdir(p, 0o755)
    os.chown(p, test_user.uid, test_user.gid)
    return p


def test_user_mount(user_mnt, test_user, other_user):
    u = test_user
    m = H.umfs_mount('memfs', user_mnt, user=u)
    e = m.entry()
    assert e.fstype.startswith('fuse'), e
    assert 'user_id=%d' % u.uid in e.options, e.options
    assert 'allow_other' not in e.options, 'an ordinary user got allow_other without user_allow_other'
    # the user can use it
    res = H.run_as_user(u, ['sh', '-c', 'echo hello > "$1/f" && mkdir "$1/d" && cat "$1/f"', 'sh', user_mnt])
    assert res.rc == 0 and res.out == 'hello\n', res
    st = H.call_as(u, os.stat, os.path.join(user_mnt, 'f'))
    assert st.st_uid == u.uid
    # nobody else can, not even root (no allow_other)
    expect_errno(errno.EACCES, H.call_as, other_user, os.stat, os.path.join(user_mnt, 'f'))
    expect_errno(errno.EACCES, H.call_as, other_user, os.listdir, user_mnt)
    try:
        with open('/sys/module/fuse/parameters/allow_sys_admin_access') as f:
            root_allowed = f.read().strip() == 'Y'
    except OSError:
        root_allowed = False
    if not root_allowed:
        expect_errno(errno.EACCES, os.listdir, user_mnt)
    # and the user unmounts it
    pids = m.pids()
    res = H.umfs('unmount', user_mnt, user=u)
    assert res.rc == 0, res
    assert not H.is_mounted(user_mnt)
    assert H.wait_pids_gone(pids, 30), 'user daemon still running after unmount'


def test_user_foreground_sigterm(user_mnt, test_user):
    m = H.umfs_mount('memfs', user_mnt, user=test_user, foreground=True)
    os.kill(m.proc.pid, signal.SIGTERM)
    assert m.proc.wait(timeout=30) == 0, m.stderr_text()
    assert H.wait_unmounted(user_mnt, 30)


def test_user_mount_not_permitted(workdir, test_user, umfs_bin, user_fuse_access):
    p = os.path.join(workdir, 'rootowned')
    os.mkdir(p, 0o755)                               # root's directory, not writable by the user
    res = H.umfs('mount', 'memfs', p, user=test_user)
    assert res.rc == H.EXIT_PERM, res
    one_line_error(res)
    assert_nothing_mounted(p)


def test_user_mount_errors(workdir, user_mnt, test_user):
    res = H.umfs('mount', 'memfs', os.path.join(workdir, 'missing'), user=test_user)
    assert res.rc == H.EXIT_NOENT, res
    m = H.umfs_mount('memfs', user_mnt, user=test_user)
    res = H.umfs('mount', 'memfs', user_mnt, user=test_user)
    assert res.rc == H.EXIT_BUSY, res
    one_line_error(res)
    assert len(H.mounts_at(user_mnt)) == 1
    check(m.unmount())


def test_user_cannot_unmount_others(mnt, test_user, user_fuse_access):
    m = H.umfs_mount('memfs', mnt)                   # root's mount
    res = H.umfs('unmount', mnt, user=test_user)
    assert res.rc == H.EXIT_PERM, res
    one_line_error(res)
    assert H.is_mounted(mnt)
    check(m.unmount())


def test_user_without_dev_fuse_access(workdir, test_user, umfs_bin):
    """Where /dev/fuse is closed to ordinary users, their mount fails with exit 7."""
    try:
        H.call_as(test_user, lambda: os.close(os.open('/dev/fuse', os.O_RDWR)))
        pytest.skip('/dev/fuse is open to ordinary users here')
    except OSError as e:
        assert e.errno in (errno.EACCES, errno.EPERM), e
    p = os.path.join(workdir, 'umnt')
    os.mkdir(p)
    os.chown(p, test_user.uid, test_user.gid)
    res = H.umfs('mount', 'memfs', p, user=test_user)
    assert res.rc == H.EXIT_PERM, res
    one_line_error(res)
    assert_nothing_mounted(p)
