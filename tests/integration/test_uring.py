"""FUSE-over-io_uring (lib/uring.c): which transport a session picks, real programs on
mounts served through io_uring, the ways a session ends (unmount, signals, SIGKILL,
kernel abort), deferred replies and interrupts, and parts of the suite run again with
fuse.enable_uring=Y (UMFS_TEST_URING=1 runs all of it that way).

The tests here set fuse.enable_uring themselves and put the old value back."""
import errno
import os
import subprocess
import sys
import threading
import time

import pytest

import umfs_helpers as H
from conftest import URING_PARAM, set_enable_uring

pytestmark = pytest.mark.fuse_only

HERE = os.path.dirname(os.path.abspath(__file__))
TESTFS = os.path.join(os.path.dirname(os.path.dirname(H.UMFS)), 'tests', 'testfs', 'testfs')
ON = 'transport: io_uring ('


def knob(value):
    if not os.path.exists(URING_PARAM):
        pytest.skip('this kernel has no FUSE-over-io_uring (%s)' % URING_PARAM)
    old = set_enable_uring(value)
    return old


@pytest.fixture
def uring():
    old = knob('Y')
    yield
    set_enable_uring(old)


@pytest.fixture
def no_uring_knob():
    old = knob('N')
    yield
    set_enable_uring(old)


@pytest.fixture
def mnt(workdir):
    p = os.path.join(workdir, 'mnt')
    os.mkdir(p)
    return p


def foreground(kind, workdir, *extra):
    mnt = os.path.join(workdir, 'mnt')
    os.makedirs(mnt, exist_ok=True)
    fk = H.FS_KINDS[kind]
    if fk.prepare:
        fk.prepare(workdir)
    return H.umfs_mount(kind, mnt, *extra, foreground=True, workdir=workdir)


def transport_line(m, text=ON):
    """Wait for the server's transport line: it comes once INIT is answered, which
    may be just after the mount shows up."""
    H.wait_for(lambda: 'transport: ' in m.stderr_text(), timeout=60)
    return text in m.stderr_text()


def stop(m):
    """SIGTERM the foreground server: it must unmount and exit 0."""
    m.proc.terminate()
    rc = m.proc.wait(timeout=60)
    assert rc == 0, 'exit status %d; stderr: %s' % (rc, m.stderr_text())
    assert H.wait_unmounted(m.path, 30)


def tree_copy_checks(m, workdir):
    """cp, tar and python on the mount; the copy must equal its source."""
    lib = os.path.join(os.path.dirname(os.path.dirname(HERE)), 'lib')
    H.check(H.run(['cp', '-r', lib, m.p('lib')]), 'cp -r')
    H.check(H.run(['diff', '-r', lib, m.p('lib')]), 'diff after cp')
    H.check(H.run(['tar', '-C', m.path, '-cf', os.path.join(workdir, 'lib.tar'), 'lib']), 'tar c')
    os.mkdir(m.p('untar'))
    H.check(H.run(['tar', '-C', m.p('untar'), '-xf', os.path.join(workdir, 'lib.tar')]), 'tar x')
    H.check(H.run(['diff', '-r', lib, m.p('untar', 'lib')]), 'diff after tar')
    # 3 MiB through several writes and reads larger than a page.
    data = os.urandom(3 << 20)
    with open(m.p('big'), 'wb') as f:
        f.write(data)
    with open(m.p('big'), 'rb') as f:
        assert f.read() == data
    H.check(H.run(['rm', '-r', m.p('lib'), m.p('untar'), m.p('big')]), 'rm -r')
    assert os.listdir(m.path) == [] or set(os.listdir(m.path)) <= {'lost+found'}


@pytest.mark.parametrize('kind', ['memfs', 'mirror'])
def test_serves_through_io_uring(uring, workdir, kind):
    m = foreground(kind, workdir)
    try:
        assert transport_line(m), 'no io_uring transport line; stderr: %s' % m.stderr_text()
        tree_copy_checks(m, workdir)
    finally:
        stop(m)
    assert 'io_uring:' not in m.stderr_text(), m.stderr_text()


def test_parallel_callers_on_every_cpu(uring, workdir):
    """Threads pinned to each CPU create, stat, rename and delete at once: every
    kernel queue gets requests, and every ring's replies come back."""
    m = foreground('memfs', workdir)
    errors = []

    def work(cpu, n):
        try:
            os.sched_setaffinity(0, {cpu})
            d = m.p('d%d-%d' % (cpu, n))
            os.mkdir(d)
            for i in range(150):
                p = os.path.join(d, 'f%d' % i)
                with open(p, 'w') as f:
                    f.write('%d %d' % (cpu, i))
                os.rename(p, p + '.r')
                with open(p + '.r') as f:
                    assert f.read() == '%d %d' % (cpu, i)
                os.unlink(p + '.r')
            os.rmdir(d)
        except Exception as e:  # reported below, with the thread's name
            errors.append('cpu %d worker %d: %r' % (cpu, n, e))

    cpus = sorted(os.sched_getaffinity(0))
    threads = [threading.Thread(target=work, args=(c, n)) for c in cpus for n in range(3)]
    try:
        assert transport_line(m), m.stderr_text()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        assert os.listdir(m.path) == []
    finally:
        stop(m)


def test_no_uring_option(uring, workdir):
    m = foreground('memfs', workdir, '--no-uring')
    try:
        assert transport_line(m, 'transport: /dev/fuse (io_uring turned off)'), m.stderr_text()
        with open(m.p('f'), 'w') as f:
            f.write('x')
    finally:
        stop(m)


def test_single_threaded_stays_on_dev_fuse(uring, workdir):
    m = foreground('memfs', workdir, '-s')
    try:
        assert transport_line(m, 'transport: /dev/fuse (io_uring not used by a '
                                 'single-threaded session)'), m.stderr_text()
        os.mkdir(m.p('d'))
    finally:
        stop(m)


def test_kernel_not_offering_it(no_uring_knob, workdir):
    m = foreground('memfs', workdir)
    try:
        assert transport_line(m, 'transport: /dev/fuse (io_uring not offered by the kernel'), \
            m.stderr_text()
        os.mkdir(m.p('d'))
    finally:
        stop(m)


def test_unmount_ends_the_server(uring, workdir):
    m = foreground('memfs', workdir)
    assert transport_line(m), m.stderr_text()
    with open(m.p('f'), 'w') as f:
        f.write('x')
    res = H.umfs('unmount', m.path)
    assert res.rc == 0, res
    assert m.proc.wait(timeout=60) == 0, m.stderr_text()
    assert not H.is_mounted(m.path)


def test_lazy_unmount_with_open_file(uring, workdir):
    m = foreground('memfs', workdir)
    assert transport_line(m), m.stderr_text()
    with open(m.p('f'), 'w') as f:
        f.write('still here')
    fd = os.open(m.p('f'), os.O_RDONLY)
    try:
        assert H.umfs('unmount', '-z', m.path).rc == 0
        assert not H.is_mounted(m.path)
        assert os.pread(fd, 100, 0) == b'still here'   # served through the rings still
        assert m.proc.poll() is None
    finally:
        os.close(fd)
    assert m.proc.wait(timeout=60) == 0, m.stderr_text()


def listdir_errno(path):
    try:
        os.listdir(path)
    except OSError as e:
        return e.errno
    return 0


def test_sigkill_leaves_a_dead_mount_that_unmounts(uring, workdir):
    m = foreground('memfs', workdir)
    assert transport_line(m), m.stderr_text()
    with open(m.p('f'), 'w') as f:
        f.write('x')
    m.proc.kill()
    m.proc.wait(timeout=60)
    assert H.is_mounted(m.path)
    # The kernel closes a dead server's rings asynchronously: for a few milliseconds
    # after it is reaped, a new request waits on a queue and is then ended with
    # ECONNABORTED when the connection goes, or with ECANCELED when it was handed to
    # a ring entry of the dead task (seen once, in a full run under ASan); after
    # that every call gets ENOTCONN.
    H.expect_errno((errno.ENOTCONN, errno.ECONNABORTED, errno.ECANCELED), os.listdir,
                   m.path)
    assert H.wait_for(lambda: listdir_errno(m.path) == errno.ENOTCONN, timeout=30)
    H.expect_errno(errno.ENOTCONN, lambda: open(m.p('f')).read())
    res = H.umfs('unmount', m.path)
    assert res.rc == 0, res
    assert not H.is_mounted(m.path)


def test_kernel_abort_ends_the_server(uring, workdir):
    m = foreground('memfs', workdir)
    assert transport_line(m), m.stderr_text()
    with open(m.p('f'), 'w') as f:
        f.write('x')
    H.abort_connection(m.path)
    m.proc.wait(timeout=60)  # the rings and /dev/fuse all see the abort: no hang
    err = m.stderr_text()
    assert 'aborted the connection' in err, err
    assert 'io_uring:' not in err, err  # the rings end quietly
    if H.is_mounted(m.path):
        H.umfs('unmount', m.path)
    assert H.wait_unmounted(m.path, 30)


def test_deferred_replies_and_interrupts(uring, workdir):
    """testfs answers /slow from another thread (a deferred reply) and holds /block
    until the kernel interrupts it: both through io_uring."""
    mnt = os.path.join(workdir, 'tmnt')
    os.mkdir(mnt)
    log = os.path.join(workdir, 'testfs.log')
    with open(log, 'wb') as errf:
        proc = subprocess.Popen([TESTFS, mnt], stdout=errf, stderr=errf, start_new_session=True)
    try:
        assert H.wait_mounted(mnt), open(log).read()
        H.wait_for(lambda: 'transport: ' in open(log).read(), timeout=60)
        assert ON in open(log).read(), open(log).read()
        results = []

        def slow():
            with open(os.path.join(mnt, 'slow')) as f:
                results.append(f.read())

        threads = [threading.Thread(target=slow) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results == ['slow\n'] * 16
        # A reader blocked in /block is killed: the kernel sends INTERRUPT (on
        # /dev/fuse), the file system sees it and answers the request on its ring.
        before = int(open(os.path.join(mnt, 'interrupts')).read())
        child = subprocess.Popen([sys.executable, '-c',
                                  'open(%r).read()' % os.path.join(mnt, 'block')])
        time.sleep(0.5)  # let it reach the file system; if not, the count check fails
        child.terminate()
        assert child.wait(timeout=60) != 0
        assert H.wait_for(lambda: int(open(os.path.join(mnt, 'interrupts')).read()) > before,
                          timeout=30)
        # The ring that served /block is free again: more requests get through.
        assert open(os.path.join(mnt, 'counter')).read() == '0\n'
    finally:
        proc.terminate()
        rc = proc.wait(timeout=60)
        if H.is_mounted(mnt):
            H.force_unmount(mnt)
    assert rc == 0, open(log).read()
    assert 'io_uring:' not in open(log).read(), open(log).read()


def nested(files, fs=None, extra=()):
    """Run parts of the suite again in a child pytest with fuse.enable_uring=Y."""
    env = dict(os.environ, UMFS_TEST_URING='1')
    env.pop('UMFS_TEST_BASE', None)
    if fs:
        env['UMFS_TEST_FS'] = fs
    res = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider']
                         + list(extra) + [os.path.join(HERE, f) for f in files],
                         env=env, capture_output=True, text=True)
    tail = '\n'.join(res.stdout.splitlines()[-30:])
    assert res.returncode == 0, tail + res.stderr[-2000:]
    assert ' passed' in tail and 'failed' not in tail, tail


def test_posix_suite_on_mirror_over_io_uring(uring):
    nested(['test_posix.py'], fs='mirror')


def test_library_suite_over_io_uring(uring):
    """Notifications, deferred replies, interrupts (test_library.py)."""
    nested(['test_library.py'])


def test_fuse3_deferred_replies_over_io_uring(uring):
    """libfuse-API programs whose replies come from other threads."""
    nested(['test_fuse3.py'], extra=['-k', 'replies_from_other_threads or passthrough_programs'])
