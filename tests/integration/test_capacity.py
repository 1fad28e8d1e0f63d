"""Capacity limits: --max-size and --max-nodes (memfs; size=/nr_inodes= on tmpfs)."""

import errno
import os

import pytest

import umfs_helpers as H
from umfs_helpers import expect_errno, read_file, write_file

MiB = 1 << 20
CHUNK = 64 * 1024


def limited(fs_kind, mount_factory, **limits):
    if 'capacity' not in H.FS_KINDS[fs_kind].features:
        pytest.skip('%s has no capacity limits' % fs_kind)
    return mount_factory(fs_kind, **limits)


def free_bytes(path):
    sv = os.statvfs(path)
    return sv.f_bavail * sv.f_frsize


def fill(path, total):
    """Write `total` bytes in CHUNK pieces, then fsync and close. Returns
    (bytes written, the first OSError or None, the step it came from)."""
    written = 0
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
    err, step = None, None
    try:
        chunk = bytes([0x5a]) * CHUNK
        while written < total:
            try:
                n = os.write(fd, chunk)
            except OSError as e:
                err, step = e, 'write'
                break
            written += n
        if err is None:
            try:
                os.fsync(fd)
            except OSError as e:
                err, step = e, 'fsync'
    finally:
        try:
            os.close(fd)
        except OSError as e:
            if err is None:
                err, step = e, 'close'
    return written, err, step


def test_max_size(fs_kind, mount_factory):
    m = limited(fs_kind, mount_factory, max_size='8M')
    sv = os.statvfs(m.path)
    total = sv.f_blocks * sv.f_frsize
    assert abs(total - 8 * MiB) <= MiB, 'statvfs size %d for an 8M file system' % total

    written, err, step = fill(m.p('big'), 16 * MiB)
    assert err is not None, 'wrote 16 MiB into an 8M file system without an error'
    assert err.errno == errno.ENOSPC, 'expected ENOSPC, got %s from %s' % (H.errname(err.errno), step)
    assert written <= 8 * MiB
    assert written >= 6 * MiB, 'ENOSPC after only %d bytes' % written
    assert os.stat(m.p('big')).st_size <= 8 * MiB
    assert free_bytes(m.path) <= 512 * 1024, 'statvfs shows %d bytes free on a full file system' % free_bytes(m.path)

    # the full file system still works
    assert 'big' in os.listdir(m.path)
    with open(m.p('big'), 'rb') as f:
        assert f.read(CHUNK) == bytes([0x5a]) * CHUNK
    try:
        os.mkdir(m.p('d'))  # metadata may or may not still fit
    except OSError as e:
        assert e.errno == errno.ENOSPC, e
    os.unlink(m.p('big'))
    assert H.wait_for(lambda: free_bytes(m.path) >= 7 * MiB, 10), \
        'space did not come back after unlink: %d bytes free' % free_bytes(m.path)
    written, err, step = fill(m.p('again'), 4 * MiB)
    assert err is None, 'writing 4 MiB after freeing space failed: %s (%s)' % (err, step)
    assert os.stat(m.p('again')).st_size == 4 * MiB


def test_max_size_truncate_and_fallocate(fs_kind, mount_factory):
    m = limited(fs_kind, mount_factory, max_size='8M')
    fd = os.open(m.p('f'), os.O_CREAT | os.O_RDWR, 0o644)
    try:
        # a sparse size beyond the limit costs nothing, allocating it does
        os.ftruncate(fd, 64 * MiB)
        assert os.fstat(fd).st_size == 64 * MiB
        expect_errno(errno.ENOSPC, H.fallocate, fd, 0, 0, 16 * MiB)
    finally:
        os.close(fd)
    os.unlink(m.p('f'))


def test_max_nodes(fs_kind, mount_factory):
    m = limited(fs_kind, mount_factory, max_nodes=100)
    created, err = 0, None
    for i in range(1, 201):
        try:
            fd = os.open(m.p('f%03d' % i), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            os.close(fd)
        except OSError as e:
            err = e
            break
        created += 1
    assert err is not None, 'created 200 files with --max-nodes 100'
    assert err.errno == errno.ENOSPC, 'expected ENOSPC, got %s' % H.errname(err.errno)
    assert created + 1 <= 100, '%d files + root exceed 100 nodes' % created
    assert created >= 90, 'ENOSPC after only %d files' % created
    # every kind of node is refused now
    expect_errno(errno.ENOSPC, os.mkdir, m.p('d'))
    expect_errno(errno.ENOSPC, os.symlink, 'x', m.p('s'))
    expect_errno(errno.ENOSPC, os.mkfifo, m.p('p'))
    sv = os.statvfs(m.path)
    assert sv.f_ffree == 0, 'statvfs f_ffree=%d on a full file system' % sv.f_ffree
    assert 95 <= sv.f_files <= 105, 'statvfs f_files=%d for --max-nodes 100' % sv.f_files
    # existing files keep working, and deleting one frees a node
    write_file(m.p('f001'), b'still writable')
    assert read_file(m.p('f001')) == b'still writable'
    os.unlink(m.p('f002'))

    def can_create():
        try:
            os.close(os.open(m.p('new'), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            return True
        except OSError as e:
            assert e.errno == errno.ENOSPC, e
            return False

    assert H.wait_for(can_create, 10, 0.1), 'no node became free after unlink'
    assert len(os.listdir(m.path)) == created
