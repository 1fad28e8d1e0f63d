"""Fixtures of the umfs integration suite.

`fs` is the fixture most tests use: a freshly mounted file system (one per test),
parametrized over FILESYSTEMS. Add a file system by appending its name here and
describing how to mount it in umfs_helpers.FS_KINDS.
"""

import os
import signal
import sys
import threading

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import umfs_helpers as H  # noqa: E402

# File systems every `fs` test runs on. Later: 'cryptfs'.
# memfs-wb is memfs mounted with --writeback-cache; mirror shows a fresh directory of
# the test's workdir, with kernel passthrough where the kernel has it, and mirror-rw
# the same with --no-passthrough (see umfs_helpers.FS_KINDS).
FILESYSTEMS = ['memfs', 'memfs-wb', 'mirror', 'mirror-rw']
# libfuse's passthrough_ll built on umfs-fuse3 (tests/fuse3) runs the suite by default;
# its path-based siblings only when named in UMFS_TEST_FS (test_fuse3.py runs a subset
# of the suite on them), to keep the suite's time bounded.
FILESYSTEMS += ['fuse3-passthrough_ll']
# cryptfs: a vault with every test user allowed (the suite sees plaintext; views per
# program are test_cryptfs*.py's subject). Its name stays in OPTIONAL_FILESYSTEMS too.
FILESYSTEMS += ['cryptfs']
OPTIONAL_FILESYSTEMS = ['cryptfs', 'fuse3-passthrough', 'fuse3-passthrough_fh',
                        'libfuse-passthrough', 'libfuse-passthrough_fh', 'libfuse-passthrough_ll']


def selected_filesystems():
    if H.TMPFS_MODE:
        return ['tmpfs']
    wanted = os.environ.get('UMFS_TEST_FS')
    if wanted:
        names = [n.strip() for n in wanted.split(',') if n.strip()]
        unknown = [n for n in names if n not in FILESYSTEMS + OPTIONAL_FILESYSTEMS]
        if unknown:
            raise pytest.UsageError('UMFS_TEST_FS names unknown file systems: %s' % unknown)
        return names
    return list(FILESYSTEMS)


def pytest_configure(config):
    config.addinivalue_line('markers', 'fuse_only: needs umfs itself (skipped with UMFS_TEST_TMPFS=1)')
    config.addinivalue_line('markers', 'memfs_only: uses memfs options (capacity limits)')


def pytest_collection_modifyitems(config, items):
    # In tmpfs mode only tests of a file system (those using `fs` / `fs_kind`) make
    # sense; tests of the command, of FUSE or of the library (test_library.py) do not.
    if H.TMPFS_MODE:
        skip = pytest.mark.skip(reason='UMFS_TEST_TMPFS=1: test of the umfs command / FUSE itself')
        for item in items:
            if 'fuse_only' in item.keywords or 'fs_kind' not in getattr(item, 'fixturenames', ()):
                item.add_marker(skip)
    mark_example_limits(items)


# What libfuse's passthrough examples themselves do not do, so the POSIX suite fails
# there on libfuse exactly as on umfs-fuse3 (checked side by side with the libfuse-*
# kinds). Strict: should one start passing, the list is out of date.
_EXAMPLE_LIMITS_ALL = {
    'test_rename_noreplace': 'the examples answer EINVAL to any rename flag',
    'test_rename_exchange': 'the examples answer EINVAL to any rename flag',
    'test_o_tmpfile': 'no tmpfile operation in libfuse 3.14\'s examples',
    'test_setgid_dir_inheritance': 'the examples run as root and do not act as the caller',
    'test_new_files_owned_by_caller': 'the examples run as root and do not act as the caller',
    'test_sticky_directory': 'the examples run as root and do not act as the caller',
    'test_xattrs': 'the source\'s xattr limits come through (ENOSPC on large values)',
    'test_huge_offsets': 'the source\'s file size limit comes through (EFBIG)',
    'test_o_direct': 'O_DIRECT reaches the source, which refuses it (EINVAL)',
    'test_write_clears_setgid_as_linux_does': 'the examples write as root, which keeps S_ISGID',
}
# The same, for one parameter of a test: (test, parameter value).
_EXAMPLE_LIMITS_PARAM = {
    ('test_truncate_by_other_user_clears_setuid', 'o_trunc'):
        'the examples truncate at open as root, which keeps S_ISUID',
}
_EXAMPLE_LIMITS_PATH = {
    'test_fallocate_punch_hole': 'passthrough(_fh) answer EOPNOTSUPP to fallocate modes',
    'test_seek_hole_exact': 'it punches holes with fallocate, which passthrough(_fh) refuse',
    'test_kernel_forgets_nodes': 'an unlinked open file shows as .fuse_hidden* (libfuse\'s way)',
}


# Fails now and then on libfuse exactly as on umfs-fuse3, so neither pass nor fail says
# anything: skipped on the example kinds.
_EXAMPLE_FLAKY = {
    'test_readdir_during_churn': 'passthrough_ll\'s readdir (telldir offsets on the source) '
                                 'misses entries while the directory changes, on libfuse too',
}


def mark_example_limits(items):
    for item in items:
        spec = getattr(item, 'callspec', None)
        kind = spec.params.get('fs_kind') if spec else None
        if not kind or not kind.startswith(('fuse3-', 'libfuse-')):
            continue
        name = item.originalname
        if name in _EXAMPLE_FLAKY:
            item.add_marker(pytest.mark.skip(reason='libfuse example: ' + _EXAMPLE_FLAKY[name]))
            continue
        reason = _EXAMPLE_LIMITS_ALL.get(name)
        for value in spec.params.values():
            reason = reason or _EXAMPLE_LIMITS_PARAM.get((name, value))
        if not reason and not kind.endswith('passthrough_ll'):
            reason = _EXAMPLE_LIMITS_PATH.get(name)
        if reason:
            item.add_marker(pytest.mark.xfail(strict=True, reason='libfuse example: ' + reason))


def pytest_report_header(config):
    mode = 'tmpfs (UMFS_TEST_TMPFS=1)' if H.TMPFS_MODE else 'umfs'
    return ['umfs: mode=%s binary=%s filesystems=%s' % (mode, H.UMFS, selected_filesystems())]


# ---------------------------------------------------------------------------- session

@pytest.fixture(scope='session', autouse=True)
def _session_guard():
    """Runs around the whole session: root check, umask, and the final leak check."""
    if os.geteuid() != 0:
        pytest.exit('the umfs integration tests must run as root', returncode=4)
    old_umask = os.umask(0o022)
    base = H.make_base_dir()
    os.environ['UMFS_TEST_BASE'] = base
    yield base
    os.umask(old_umask)
    # Nothing the tests mounted may remain: clean it up, then fail loudly if there was any.
    for m in list(H.ACTIVE):
        m.cleanup()
    leftovers = H.mounts_under(base)
    for e in reversed(leftovers):
        H.force_unmount(e.target)
    procs = H.pids_mentioning(base)
    if procs:
        H.kill_pids(procs)
    still = H.mounts_under(base)
    H.release_fusectl()
    if not still:
        H.remove_tree(base)
    assert not leftovers, 'mounts left behind by the tests: %s' % [
        (e.target, e.fstype) for e in leftovers]
    assert not procs, 'processes left behind by the tests: %s' % procs
    assert not still, 'could not remove leftover mounts: %s' % [e.target for e in still]


@pytest.fixture(scope='session')
def base_dir(_session_guard):
    return _session_guard


@pytest.fixture(scope='session')
def umfs_bin():
    """The umfs binary; a test that needs it fails (not skips) when it is not built."""
    if not os.access(H.UMFS, os.X_OK):
        pytest.fail('umfs binary not found at %s (build it: meson setup build && ninja -C build,'
                    ' or set UMFS_BUILD)' % H.UMFS)
    return H.UMFS


@pytest.fixture(scope='session')
def test_user():
    """An unprivileged user that owns mount points (umfstest, created if missing)."""
    return H.ensure_test_user()


@pytest.fixture
def user_fuse_access(test_user):
    """Ordinary users need read/write access to /dev/fuse (fusermount3 opens it with the
    user's rights). Debian's udev rule makes it 0666; a bare devtmpfs (containers, VMs
    without udev) has 0600. Give it the Debian mode for the duration of the test and
    put the old mode back afterwards."""
    import errno
    import stat as st_
    old = st_.S_IMODE(os.stat('/dev/fuse').st_mode)
    changed = False
    try:
        H.call_as(test_user, lambda: os.close(os.open('/dev/fuse', os.O_RDWR)))
    except OSError as e:
        if e.errno not in (errno.EACCES, errno.EPERM):
            raise
        os.chmod('/dev/fuse', 0o666)
        changed = True
    yield
    if changed:
        os.chmod('/dev/fuse', old)


@pytest.fixture(scope='session')
def other_user():
    """A second unprivileged user (nobody)."""
    return H.nobody()


# ---------------------------------------------------------------------------- per test

@pytest.fixture(autouse=True)
def _watchdog(request):
    """Per-test watchdog. A blocked FUSE call ignores ordinary signals, so on expiry the
    watchdog first aborts the test's FUSE connections and kills their processes (which
    makes blocked calls return ENOTCONN), then raises in the main thread."""
    limit = float(os.environ.get('UMFS_TEST_TIMEOUT', '300'))
    main = threading.main_thread().ident

    def on_alarm(signum, frame):
        pytest.fail('watchdog: test exceeded %.0f s (FUSE connections were aborted)' % limit)

    old = signal.signal(signal.SIGALRM, on_alarm)

    def fire():
        sys.__stderr__.write('\nwatchdog: %s exceeded %.0f s, releasing mounts\n'
                             % (request.node.nodeid, limit))
        H.emergency_release()
        signal.pthread_kill(main, signal.SIGALRM)

    timer = threading.Timer(limit, fire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        signal.signal(signal.SIGALRM, old)


@pytest.fixture
def workdir(base_dir, request):
    """A fresh directory (0755) for one test, removed afterwards if nothing is mounted."""
    import tempfile
    d = tempfile.mkdtemp(prefix='t', dir=base_dir)
    os.chmod(d, 0o755)
    yield d
    H.cleanup_under(d)
    H.remove_tree(d)


@pytest.fixture
def mount_factory(workdir, request):
    """mount_factory(kind=None, max_size=None, max_nodes=None, extra=(), name='mnt') -> Mount.
    Every mount made through it is unmounted (by force if need be) after the test."""
    made = []
    default_kind = getattr(request, 'param', None)

    def factory(kind=None, **kw):
        kind = kind or default_kind or selected_filesystems()[0]
        if kind != 'tmpfs' and not os.access(H.UMFS, os.X_OK):
            pytest.fail('umfs binary not found at %s (build it first or set UMFS_BUILD)' % H.UMFS)
        m = H.mount_fs(kind, workdir, **kw)
        made.append(m)
        return m

    yield factory
    notes = []
    for m in reversed(made):
        m.cleanup()
        notes += ['%s: %s' % (m, n) for n in m.notes]
    if notes:
        sys.stderr.write('cleanup notes:\n  ' + '\n  '.join(notes) + '\n')


@pytest.fixture(params=selected_filesystems())
def fs_kind(request):
    return request.param


@pytest.fixture
def fs(fs_kind, mount_factory):
    """A freshly mounted file system of each kind in FILESYSTEMS; has .path and .p()."""
    m = mount_factory(fs_kind)
    yield m
    assert m.mounted(), '%s is no longer mounted at the end of the test' % m


@pytest.fixture
def umfs_only():
    if H.TMPFS_MODE:
        pytest.skip('UMFS_TEST_TMPFS=1: test of the umfs command / FUSE itself')


# ---------------------------------------------------------------------------- io_uring

URING_PARAM = '/sys/module/fuse/parameters/enable_uring'


def set_enable_uring(value):
    """Write Y or N to fuse.enable_uring; returns the old value (None: no such knob)."""
    try:
        with open(URING_PARAM) as f:
            old = f.read().strip()
    except OSError:
        return None
    with open(URING_PARAM, 'w') as f:
        f.write(value)
    return old


@pytest.fixture(scope='session', autouse=True)
def _uring_switch():
    """UMFS_TEST_URING=1 runs the whole session with fuse.enable_uring=Y, so umfs serves
    every mount through FUSE-over-io_uring (=0: N, /dev/fuse only); the old value comes
    back at the end. Unset: the machine's setting, as it is."""
    want = os.environ.get('UMFS_TEST_URING', '')
    if want not in ('0', '1'):
        yield
        return
    old = set_enable_uring('Y' if want == '1' else 'N')
    if old is None:
        pytest.exit('UMFS_TEST_URING: this kernel has no %s' % URING_PARAM, returncode=4)
    try:
        yield
    finally:
        set_enable_uring(old)
