"""Aborting the FUSE connection from the kernel side (/sys/fs/fuse/connections/N/abort)."""

import errno
import os
import re
import subprocess
import time

import pytest

import umfs_helpers as H
from umfs_helpers import write_file

pytestmark = pytest.mark.fuse_only


@pytest.fixture
def mnt(workdir, umfs_bin):
    try:
        H.ensure_fusectl()
    except OSError as e:
        pytest.skip('fusectl is not available: %s' % e)
    p = os.path.join(workdir, 'mnt')
    os.mkdir(p)
    return p


def abort_file(mnt):
    conn = os.minor(os.stat(mnt).st_dev)      # the connection id is the minor of st_dev
    e = H.mount_entry(mnt)
    assert e.dev == (os.major(os.stat(mnt).st_dev), conn)
    path = os.path.join(H.FUSECTL, str(conn), 'abort')
    assert os.path.exists(path), 'no fusectl entry %s for %s' % (path, mnt)
    return path


def abort(mnt):
    with open(abort_file(mnt), 'w') as f:
        f.write('1')


def after_abort_cleanup(mnt):
    """After an abort the mount is either already gone (the server cleaned up) or dead
    (ENOTCONN); then `umfs unmount` must remove it."""
    if H.is_mounted(mnt):
        H.assert_dead_mount(mnt)
        res = H.umfs('unmount', mnt)
        assert res.rc == 0, res
        assert not H.is_mounted(mnt)
    os.stat(mnt)


def test_abort_foreground(mnt):
    m = H.umfs_mount('memfs', mnt, foreground=True)
    write_file(m.p('f'), b'data')
    abort(mnt)
    try:
        rc = m.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail('umfs -f still running 30 s after the connection was aborted')
    err = m.stderr_text()
    assert re.search('abort', err, re.I), 'no message about the abort on stderr: %r' % err
    assert len(H.error_lines(err)) <= 3, 'more than a clear message: %r' % err
    print('exit status after abort: %d; stderr: %s' % (rc, err.strip()))
    after_abort_cleanup(mnt)


def test_abort_daemon(mnt):
    m = H.umfs_mount('memfs', mnt)
    pids = m.pids()
    assert pids, 'cannot find the umfs daemon'
    abort(mnt)
    assert H.wait_pids_gone(pids, 30), 'daemon still running 30 s after the connection was aborted'
    after_abort_cleanup(mnt)


WRITER = r'''
import os, sys
fd = os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY, 0o644)
print('started', flush=True)
block = b'w' * 65536
try:
    while True:
        os.pwrite(fd, block, 0)
        os.fsync(fd)
        os.fstat(fd)
except OSError as e:
    print('errno', e.errno, flush=True)
    sys.exit(3)
'''


def test_abort_under_load(mnt):
    """Processes busy on the mount get an error, not a hang, when the connection dies."""
    m = H.umfs_mount('memfs', mnt, foreground=True)
    writers = [subprocess.Popen([H.PYTHON, '-c', WRITER, m.p('w%d' % i)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=H.base_env()) for i in range(4)]
    try:
        for w in writers:
            assert w.stdout.readline() == b'started\n'
        time.sleep(0.5)
        abort(mnt)
        for w in writers:
            try:
                out, err = w.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                pytest.fail('a process using the mount hangs after the abort')
            assert w.returncode == 3, (out, err)
            # in-flight requests end with ECONNABORTED, new ones with ENOTCONN; a failed
            # writeback shows as EIO on fsync
            got = int(out.split()[-1])
            assert got in (errno.ENOTCONN, errno.ECONNABORTED, errno.EIO), H.errname(got)
        assert m.proc.wait(timeout=30) is not None
    finally:
        for w in writers:
            if w.poll() is None:
                w.kill()
                w.wait()
    after_abort_cleanup(mnt)
