"""`umfs mount -d`: one trace line per request."""

import errno
import os
import signal
import subprocess

import pytest

import umfs_helpers as H
from umfs_helpers import expect_errno, write_file

pytestmark = pytest.mark.fuse_only


@pytest.fixture
def mnt(workdir, umfs_bin):
    p = os.path.join(workdir, 'mnt')
    os.mkdir(p)
    return p


def stop(m):
    os.kill(m.proc.pid, signal.SIGTERM)
    try:
        return m.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail('umfs -f did not exit within 30 s of SIGTERM')


def test_debug_trace(mnt, workdir):
    log = os.path.join(workdir, 'trace.log')
    m = H.umfs_mount('memfs', mnt, '-d', foreground=True, stderr_path=log)
    os.stat(mnt)
    expect_errno(errno.ENOENT, os.stat, m.p('no-such-name'))
    write_file(m.p('f'), b'x')
    assert H.wait_for(lambda: 'LOOKUP' in m.stderr_text(), 10), \
        'no LOOKUP trace line after a lookup: %r' % m.stderr_text()[-2000:]
    stop(m)
    text = m.stderr_text()
    assert 'LOOKUP' in text or 'GETATTR' in text
    for op in ('INIT', 'LOOKUP'):
        assert op in text, 'no %s in the -d trace' % op


def test_no_trace_without_d(mnt, workdir):
    log = os.path.join(workdir, 'quiet.log')
    m = H.umfs_mount('memfs', mnt, foreground=True, stderr_path=log)
    expect_errno(errno.ENOENT, os.stat, m.p('no-such-name'))
    write_file(m.p('f'), b'x')
    assert stop(m) == 0
    text = m.stderr_text()
    assert 'LOOKUP' not in text and 'GETATTR' not in text, 'trace output without -d: %r' % text[-2000:]
