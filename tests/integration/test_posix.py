"""POSIX behaviour of a mounted file system, checked with exact errno values.

Every test gets a fresh mount (fixture `fs`). Run as root; some checks switch to the
unprivileged user `nobody` in a forked child (umfs_helpers.call_as).
"""

import errno
import fcntl
import hashlib
import mmap
import os
import random
import socket
import stat
import subprocess
import time

import pytest

import umfs_helpers as H
from umfs_helpers import expect_errno, read_file, write_file

MiB = 1 << 20
GiB = 1 << 30
TS_DELAY = 0.05      # > one jiffy: the kernel's coarse clock has moved on after this


def rnd(n, seed=0):
    return random.Random(seed).randbytes(n)


# ---------------------------------------------------------------------------- files

def test_create_write_read(fs):
    p = fs.p('f')
    fd = os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
    assert os.write(fd, b'hello world') == 11
    os.close(fd)
    st = os.stat(p)
    assert stat.S_ISREG(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o644          # umask 022
    assert st.st_size == 11
    assert st.st_nlink == 1
    assert st.st_uid == 0 and st.st_gid == 0
    assert read_file(p) == b'hello world'
    with open(p, 'rb') as f:
        assert f.read(5) == b'hello'
        assert f.read() == b' world'
        assert f.read() == b''                          # EOF


def test_umask_applies(fs):
    old = os.umask(0o077)
    try:
        fd = os.open(fs.p('f'), os.O_CREAT | os.O_WRONLY, 0o666)
        os.close(fd)
        os.mkdir(fs.p('d'), 0o777)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(fs.p('f')).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(fs.p('d')).st_mode) == 0o700


def test_overwrite_and_o_trunc(fs):
    p = fs.p('f')
    write_file(p, b'0123456789')
    with open(p, 'r+b') as f:
        f.seek(3)
        f.write(b'abc')
    assert read_file(p) == b'012abc6789'
    fd = os.open(p, os.O_WRONLY | os.O_TRUNC)
    os.close(fd)
    assert os.stat(p).st_size == 0
    assert read_file(p) == b''


def test_append(fs):
    p = fs.p('f')
    write_file(p, b'abc')
    fd = os.open(p, os.O_WRONLY | os.O_APPEND)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, b'def')
    os.lseek(fd, 1, os.SEEK_SET)
    os.write(fd, b'ghi')                                # O_APPEND: always at the end
    assert os.lseek(fd, 0, os.SEEK_CUR) == 9
    os.close(fd)
    assert read_file(p) == b'abcdefghi'
    with open(p, 'ab') as f:
        f.write(b'!')
    assert read_file(p) == b'abcdefghi!'


def test_truncate(fs):
    p = fs.p('f')
    write_file(p, b'0123456789')
    os.truncate(p, 4)
    assert os.stat(p).st_size == 4
    assert read_file(p) == b'0123'
    os.truncate(p, 10)                                  # extending gives zeros
    assert os.stat(p).st_size == 10
    assert read_file(p) == b'0123' + b'\0' * 6
    os.truncate(p, 0)
    assert read_file(p) == b''


def test_ftruncate(fs):
    p = fs.p('f')
    fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        os.write(fd, b'x' * 100000)
        os.ftruncate(fd, 10)
        assert os.fstat(fd).st_size == 10
        assert os.pread(fd, 100, 0) == b'x' * 10
        os.ftruncate(fd, 70000)
        assert os.fstat(fd).st_size == 70000
        assert os.pread(fd, 70000, 0) == b'x' * 10 + b'\0' * 69990
    finally:
        os.close(fd)
    assert os.stat(p).st_size == 70000
    expect_errno(errno.EINVAL, os.truncate, p, -1)


def test_pread_pwrite(fs):
    p = fs.p('f')
    fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        assert os.pwrite(fd, b'abc', 0) == 3
        assert os.pwrite(fd, b'XYZ', 10) == 3           # leaves a hole 3..9
        assert os.lseek(fd, 0, os.SEEK_CUR) == 0        # position untouched
        assert os.fstat(fd).st_size == 13
        assert os.pread(fd, 100, 0) == b'abc' + b'\0' * 7 + b'XYZ'
        assert os.pread(fd, 2, 11) == b'YZ'
        assert os.pread(fd, 10, 13) == b''              # at EOF
        assert os.pread(fd, 10, 1000) == b''            # past EOF
        assert os.lseek(fd, 0, os.SEEK_CUR) == 0
        assert os.lseek(fd, 0, os.SEEK_END) == 13
    finally:
        os.close(fd)


def test_large_write_read(fs):
    p = fs.p('big')
    data = rnd(9 * MiB + 123, seed=1)
    write_file(p, data)
    assert os.stat(p).st_size == len(data)
    got = read_file(p)
    assert len(got) == len(data)
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(data).hexdigest()
    # unaligned reads across request boundaries
    fd = os.open(p, os.O_RDONLY)
    try:
        for off in (0, 4095, 131071, MiB - 1, 4 * MiB + 17, len(data) - 10):
            assert os.pread(fd, 300000, off) == data[off:off + 300000]
    finally:
        os.close(fd)


def test_unlink(fs):
    p = fs.p('f')
    write_file(p, b'x')
    os.unlink(p)
    assert 'f' not in os.listdir(fs.path)
    expect_errno(errno.ENOENT, os.stat, p)
    expect_errno(errno.ENOENT, os.unlink, p)


def test_unlinked_open_file_stays_usable(fs):
    p = fs.p('f')
    write_file(p, b'data')
    fd = os.open(p, os.O_RDWR)
    try:
        os.unlink(p)
        expect_errno(errno.ENOENT, os.stat, p)
        assert os.fstat(fd).st_nlink == 0
        assert os.pread(fd, 10, 0) == b'data'
        os.pwrite(fd, b'more', 4)
        assert os.pread(fd, 10, 0) == b'datamore'
        write_file(p, b'new')                           # the name is free again
        assert read_file(p) == b'new'
        assert os.pread(fd, 10, 0) == b'datamore'
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------- directories

def test_mkdir_rmdir(fs):
    d = fs.p('d')
    os.mkdir(d, 0o750)
    st = os.stat(d)
    assert stat.S_ISDIR(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o750
    assert os.listdir(d) == []
    write_file(os.path.join(d, 'f'), b'x')
    expect_errno(errno.ENOTEMPTY, os.rmdir, d)
    expect_errno(errno.ENOTDIR, os.rmdir, os.path.join(d, 'f'))
    expect_errno(errno.EISDIR, os.unlink, d)
    expect_errno(errno.EINVAL, os.rmdir, os.path.join(d, '.'))
    os.unlink(os.path.join(d, 'f'))
    os.rmdir(d)
    expect_errno(errno.ENOENT, os.stat, d)
    expect_errno(errno.ENOENT, os.rmdir, d)


def test_nested_dirs(fs):
    deep = fs.p(*['d%d' % i for i in range(30)])
    os.makedirs(deep)
    write_file(os.path.join(deep, 'leaf'), b'leaf')
    assert read_file(os.path.join(deep, 'leaf')) == b'leaf'
    assert os.stat(os.path.join(deep, '..')).st_ino == os.stat(os.path.dirname(deep)).st_ino
    assert os.stat(os.path.join(deep, '.')).st_ino == os.stat(deep).st_ino


def test_dir_nlink(fs):
    d = fs.p('d')
    os.mkdir(d)
    assert os.stat(d).st_nlink == 2
    for i in range(3):
        os.mkdir(os.path.join(d, 's%d' % i))
    write_file(os.path.join(d, 'file'), b'')
    assert os.stat(d).st_nlink == 5                    # 2 + one per subdirectory
    os.rmdir(os.path.join(d, 's0'))
    assert os.stat(d).st_nlink == 4
    os.rename(os.path.join(d, 's1'), fs.p('moved'))
    assert os.stat(d).st_nlink == 3


def test_readdir_5000(fs):
    d = fs.p('many')
    os.mkdir(d)
    names = ['file-%05d-%s' % (i, 'x' * (i % 40)) for i in range(5000)]
    for n in names:
        fd = os.open(os.path.join(d, n), os.O_CREAT | os.O_WRONLY, 0o644)
        os.close(fd)
    listed = os.listdir(d)
    assert len(listed) == len(names), 'duplicates or missing entries'
    assert sorted(listed) == sorted(names)
    inos = set()
    for e in os.scandir(d):
        assert e.is_file(follow_symlinks=False)
        inos.add(e.inode())
    assert len(inos) == len(names), 'inode numbers are not unique'
    # the same through ls (getdents with its own buffer size), including . and ..
    out = subprocess.run(['ls', '-1af', d], capture_output=True, timeout=120, check=True).stdout
    entries = out.decode().splitlines()
    assert sorted(e for e in entries if e not in ('.', '..')) == sorted(names)
    assert entries.count('.') <= 1 and entries.count('..') <= 1
    # and remove them all
    for n in names[::2]:
        os.unlink(os.path.join(d, n))
    assert sorted(os.listdir(d)) == sorted(names[1::2])


def test_readdir_types(fs):
    d = fs.p('d')
    os.mkdir(d)
    write_file(os.path.join(d, 'reg'), b'')
    os.mkdir(os.path.join(d, 'dir'))
    os.symlink('reg', os.path.join(d, 'lnk'))
    os.mkfifo(os.path.join(d, 'fifo'))
    kinds = {}
    for e in os.scandir(d):
        kinds[e.name] = (e.is_file(follow_symlinks=False), e.is_dir(follow_symlinks=False),
                         e.is_symlink())
        assert e.inode() == os.lstat(e.path).st_ino, e.name
    assert kinds == {'reg': (True, False, False), 'dir': (False, True, False),
                     'lnk': (False, False, True), 'fifo': (False, False, False)}


# ---------------------------------------------------------------------------- rename

def test_rename_plain(fs):
    a, b = fs.p('a'), fs.p('b')
    write_file(a, b'A')
    ino = os.stat(a).st_ino
    os.rename(a, b)
    expect_errno(errno.ENOENT, os.stat, a)
    assert read_file(b) == b'A'
    assert os.stat(b).st_ino == ino
    assert sorted(os.listdir(fs.path)) == ['b']


def test_rename_across_dirs(fs):
    os.mkdir(fs.p('d1'))
    os.mkdir(fs.p('d2'))
    write_file(fs.p('d1', 'f'), b'F')
    os.mkdir(fs.p('d1', 'sub'))
    write_file(fs.p('d1', 'sub', 'g'), b'G')
    os.rename(fs.p('d1', 'f'), fs.p('d2', 'f2'))
    os.rename(fs.p('d1', 'sub'), fs.p('d2', 'sub2'))
    assert os.listdir(fs.p('d1')) == []
    assert sorted(os.listdir(fs.p('d2'))) == ['f2', 'sub2']
    assert read_file(fs.p('d2', 'sub2', 'g')) == b'G'
    assert os.stat(fs.p('d2', 'sub2', '..')).st_ino == os.stat(fs.p('d2')).st_ino


def test_rename_over_existing_file(fs):
    a, b = fs.p('a'), fs.p('b')
    write_file(a, b'new')
    write_file(b, b'old')
    ino_a = os.stat(a).st_ino
    fd = os.open(b, os.O_RDONLY)
    try:
        os.rename(a, b)
        assert read_file(b) == b'new'
        assert os.stat(b).st_ino == ino_a
        expect_errno(errno.ENOENT, os.stat, a)
        assert os.pread(fd, 10, 0) == b'old'            # the replaced file lives on while open
        assert os.fstat(fd).st_nlink == 0
    finally:
        os.close(fd)
    assert os.listdir(fs.path) == ['b']


def test_rename_hardlinks_to_same_file(fs):
    a, b = fs.p('a'), fs.p('b')
    write_file(a, b'x')
    os.link(a, b)
    os.rename(a, b)                                     # POSIX: does nothing
    assert sorted(os.listdir(fs.path)) == ['a', 'b']
    assert os.stat(a).st_nlink == 2


def test_rename_dir_over_empty_dir(fs):
    os.mkdir(fs.p('src'))
    write_file(fs.p('src', 'f'), b'x')
    os.mkdir(fs.p('dst'))
    os.rename(fs.p('src'), fs.p('dst'))
    assert os.listdir(fs.p('dst')) == ['f']
    expect_errno(errno.ENOENT, os.stat, fs.p('src'))
    assert os.stat(fs.path).st_nlink == 3


def test_rename_dir_over_nonempty_dir(fs):
    os.mkdir(fs.p('src'))
    os.mkdir(fs.p('dst'))
    write_file(fs.p('dst', 'f'), b'x')
    expect_errno(errno.ENOTEMPTY, os.rename, fs.p('src'), fs.p('dst'))
    assert os.path.isdir(fs.p('src'))
    assert os.listdir(fs.p('dst')) == ['f']


def test_rename_file_over_dir(fs):
    write_file(fs.p('f'), b'x')
    os.mkdir(fs.p('d'))
    expect_errno(errno.EISDIR, os.rename, fs.p('f'), fs.p('d'))
    assert os.path.isfile(fs.p('f')) and os.path.isdir(fs.p('d'))


def test_rename_dir_over_file(fs):
    write_file(fs.p('f'), b'x')
    os.mkdir(fs.p('d'))
    expect_errno(errno.ENOTDIR, os.rename, fs.p('d'), fs.p('f'))
    assert os.path.isfile(fs.p('f')) and os.path.isdir(fs.p('d'))


def test_rename_dir_into_itself(fs):
    os.makedirs(fs.p('d', 'sub'))
    expect_errno(errno.EINVAL, os.rename, fs.p('d'), fs.p('d', 'x'))
    expect_errno(errno.EINVAL, os.rename, fs.p('d'), fs.p('d', 'sub', 'x'))
    assert os.path.isdir(fs.p('d', 'sub'))


def test_rename_missing_source(fs):
    expect_errno(errno.ENOENT, os.rename, fs.p('nope'), fs.p('x'))
    os.mkdir(fs.p('d'))
    expect_errno(errno.ENOENT, os.rename, fs.p('d'), fs.p('missing', 'x'))


def test_rename_noreplace(fs):
    a, b, c = fs.p('a'), fs.p('b'), fs.p('c')
    write_file(a, b'A')
    write_file(b, b'B')
    expect_errno(errno.EEXIST, H.renameat2, a, b, H.RENAME_NOREPLACE)
    assert read_file(a) == b'A' and read_file(b) == b'B'
    H.renameat2(a, c, H.RENAME_NOREPLACE)
    assert read_file(c) == b'A'
    expect_errno(errno.ENOENT, os.stat, a)


def test_rename_exchange(fs):
    a, b = fs.p('a'), fs.p('b')
    write_file(a, b'A')
    os.mkdir(b)
    write_file(fs.p('b', 'inner'), b'I')
    ino_a, ino_b = os.stat(a).st_ino, os.stat(b).st_ino
    H.renameat2(a, b, H.RENAME_EXCHANGE)
    assert os.path.isdir(a) and os.path.isfile(b)
    assert read_file(b) == b'A'
    assert read_file(fs.p('a', 'inner')) == b'I'
    assert os.stat(a).st_ino == ino_b and os.stat(b).st_ino == ino_a
    expect_errno(errno.ENOENT, H.renameat2, a, fs.p('missing'), H.RENAME_EXCHANGE)
    expect_errno(errno.EINVAL, H.renameat2, a, b, H.RENAME_EXCHANGE | H.RENAME_NOREPLACE)


# ---------------------------------------------------------------------------- links

def test_link_nlink(fs):
    a, b = fs.p('a'), fs.p('b')
    write_file(a, b'data')
    assert os.stat(a).st_nlink == 1
    os.mkdir(fs.p('d'))
    os.link(a, b)
    os.link(a, fs.p('d', 'c'))
    sa, sb = os.stat(a), os.stat(b)
    assert sa.st_ino == sb.st_ino == os.stat(fs.p('d', 'c')).st_ino
    assert sa.st_nlink == sb.st_nlink == 3
    with open(b, 'ab') as f:
        f.write(b'+')
    assert read_file(a) == b'data+'
    os.unlink(a)
    assert os.stat(b).st_nlink == 2
    os.unlink(fs.p('d', 'c'))
    assert os.stat(b).st_nlink == 1
    assert read_file(b) == b'data+'
    expect_errno(errno.EEXIST, os.link, b, b)
    expect_errno(errno.EPERM, os.link, fs.p('d'), fs.p('dlink'))   # no links to directories
    expect_errno(errno.ENOENT, os.link, fs.p('missing'), fs.p('x'))


def test_symlink_readlink(fs):
    write_file(fs.p('target'), b'T')
    os.symlink('target', fs.p('lnk'))
    st = os.lstat(fs.p('lnk'))
    assert stat.S_ISLNK(st.st_mode)
    assert st.st_size == len('target')
    assert os.readlink(fs.p('lnk')) == 'target'
    assert read_file(fs.p('lnk')) == b'T'
    assert os.stat(fs.p('lnk')).st_ino == os.stat(fs.p('target')).st_ino
    long_target = '/'.join(['x' * 200] * 20)            # 4019 bytes, dangling
    os.symlink(long_target, fs.p('long'))
    assert os.readlink(fs.p('long')) == long_target
    expect_errno(errno.ENOENT, os.stat, fs.p('long'))
    os.lstat(fs.p('long'))
    expect_errno(errno.EEXIST, os.symlink, 'x', fs.p('lnk'))
    expect_errno(errno.ELOOP, os.open, fs.p('lnk'), os.O_RDONLY | os.O_NOFOLLOW)
    expect_errno(errno.EINVAL, os.readlink, fs.p('target'))
    os.symlink('loop2', fs.p('loop1'))
    os.symlink('loop1', fs.p('loop2'))
    expect_errno(errno.ELOOP, os.stat, fs.p('loop1'))
    os.unlink(fs.p('lnk'))
    assert read_file(fs.p('target')) == b'T'


# ---------------------------------------------------------------------------- special files

def test_mkfifo(fs):
    p = fs.p('fifo')
    os.mkfifo(p, 0o640)
    st = os.stat(p)
    assert stat.S_ISFIFO(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o640
    r = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
    w = os.open(p, os.O_WRONLY)
    try:
        os.write(w, b'through the pipe')
        assert os.read(r, 100) == b'through the pipe'
    finally:
        os.close(w)
        os.close(r)


def test_unix_socket(fs):
    p = fs.p('sock')
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        srv.bind(p)
        srv.listen(1)
        assert stat.S_ISSOCK(os.stat(p).st_mode)
        cli = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        cli.settimeout(30)
        cli.connect(p)
        conn, _ = srv.accept()
        cli.sendall(b'ping')
        assert conn.recv(10) == b'ping'
        conn.close()
        cli.close()
    finally:
        srv.close()
    again = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        expect_errno(errno.EADDRINUSE, again.bind, p)
    finally:
        again.close()
    os.unlink(p)


def test_mknod_devices(fs):
    fs.require('devices')
    c, b, r = fs.p('chr'), fs.p('blk'), fs.p('reg')
    os.mknod(c, stat.S_IFCHR | 0o600, os.makedev(1, 3))
    os.mknod(b, stat.S_IFBLK | 0o600, os.makedev(7, 200))
    os.mknod(r, stat.S_IFREG | 0o644)
    sc, sb, sr = os.stat(c), os.stat(b), os.stat(r)
    assert stat.S_ISCHR(sc.st_mode) and sc.st_rdev == os.makedev(1, 3)
    assert stat.S_ISBLK(sb.st_mode) and sb.st_rdev == os.makedev(7, 200)
    assert stat.S_ISREG(sr.st_mode) and sr.st_size == 0
    assert stat.S_IMODE(sc.st_mode) == 0o600
    expect_errno(errno.EEXIST, os.mknod, c, stat.S_IFCHR | 0o600, os.makedev(1, 3))


# ---------------------------------------------------------------------------- attributes

def test_chmod(fs):
    p = fs.p('f')
    write_file(p, b'')
    for mode in (0o600, 0o4755, 0o2711, 0o1777, 0o000, 0o777):
        os.chmod(p, mode)
        assert stat.S_IMODE(os.stat(p).st_mode) == mode, oct(mode)
    os.mkdir(fs.p('d'))
    os.chmod(fs.p('d'), 0o1777)
    assert stat.S_IMODE(os.stat(fs.p('d')).st_mode) == 0o1777
    fd = os.open(p, os.O_RDONLY)
    try:
        os.fchmod(fd, 0o640)
        assert stat.S_IMODE(os.fstat(fd).st_mode) == 0o640
    finally:
        os.close(fd)


def test_chown(fs):
    p = fs.p('f')
    write_file(p, b'')
    os.chown(p, 1234, 5678)
    st = os.stat(p)
    assert (st.st_uid, st.st_gid) == (1234, 5678)
    os.chown(p, -1, 42)
    st = os.stat(p)
    assert (st.st_uid, st.st_gid) == (1234, 42)
    os.chown(p, 77, -1)
    assert (os.stat(p).st_uid, os.stat(p).st_gid) == (77, 42)
    os.symlink('f', fs.p('lnk'))
    os.lchown(fs.p('lnk'), 99, 98)
    assert (os.lstat(fs.p('lnk')).st_uid, os.lstat(fs.p('lnk')).st_gid) == (99, 98)
    assert (os.stat(p).st_uid, os.stat(p).st_gid) == (77, 42)


def test_chown_clears_setuid(fs):
    p = fs.p('f')
    write_file(p, b'')
    os.chmod(p, 0o6755)
    os.chown(p, 1234, 1234)
    # the kernel drops S_ISUID and S_ISGID (group-executable) on chown of an executable
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o755


def test_utime_ns(fs):
    p = fs.p('f')
    write_file(p, b'x')
    atime, mtime = 1234567890_123456789, 1300000000_987654321
    os.utime(p, ns=(atime, mtime))
    st = os.stat(p)
    assert st.st_atime_ns == atime
    assert st.st_mtime_ns == mtime
    before = time.time_ns()
    os.utime(p)                                         # now
    st = os.stat(p)
    assert abs(st.st_mtime_ns - before) < 2_000_000_000
    assert abs(st.st_atime_ns - before) < 2_000_000_000
    os.utime(p, ns=(5, 0))                              # the epoch is a valid time
    st = os.stat(p)
    assert (st.st_atime_ns, st.st_mtime_ns) == (5, 0)
    os.symlink('f', fs.p('lnk'))
    os.utime(fs.p('lnk'), ns=(1_000_000_001, 2_000_000_002), follow_symlinks=False)
    assert os.lstat(fs.p('lnk')).st_mtime_ns == 2_000_000_002
    assert os.stat(p).st_mtime_ns == 0
    d = fs.p('d')
    os.mkdir(d)
    os.utime(d, ns=(atime, mtime))
    assert os.stat(d).st_mtime_ns == mtime


def test_timestamps_subsecond(fs):
    stamps = []
    for i in range(5):
        write_file(fs.p('f%d' % i), b'x')
        st = os.stat(fs.p('f%d' % i))
        stamps += [st.st_mtime_ns, st.st_ctime_ns]
        time.sleep(0.013)
    assert any(s % 1_000_000_000 for s in stamps), 'timestamps have whole-second resolution'
    now = time.time_ns()
    for s in stamps:
        assert abs(s - now) < 10_000_000_000, 'timestamp far from now: %d' % s


def test_write_updates_mtime_ctime(fs):
    p = fs.p('f')
    write_file(p, b'abc')
    st0 = os.stat(p)
    time.sleep(TS_DELAY)
    with open(p, 'r+b') as f:
        f.write(b'X')
    st1 = os.stat(p)
    assert st1.st_mtime_ns > st0.st_mtime_ns
    assert st1.st_ctime_ns > st0.st_ctime_ns
    time.sleep(TS_DELAY)
    os.truncate(p, 1)
    st2 = os.stat(p)
    assert st2.st_mtime_ns > st1.st_mtime_ns
    assert st2.st_ctime_ns > st1.st_ctime_ns


def test_chmod_updates_only_ctime(fs):
    p = fs.p('f')
    write_file(p, b'abc')
    st0 = os.stat(p)
    time.sleep(TS_DELAY)
    os.chmod(p, 0o600)
    st1 = os.stat(p)
    assert st1.st_ctime_ns > st0.st_ctime_ns
    assert st1.st_mtime_ns == st0.st_mtime_ns
    assert st1.st_atime_ns == st0.st_atime_ns


def test_dir_times_follow_entries(fs):
    d, d2 = fs.p('d'), fs.p('d2')
    os.mkdir(d)
    os.mkdir(d2)
    st0 = os.stat(d)
    time.sleep(TS_DELAY)
    write_file(os.path.join(d, 'f'), b'')               # create
    st1 = os.stat(d)
    assert st1.st_mtime_ns > st0.st_mtime_ns
    assert st1.st_ctime_ns > st0.st_ctime_ns
    time.sleep(TS_DELAY)
    os.rename(os.path.join(d, 'f'), os.path.join(d2, 'g'))    # rename: both directories
    st2, st2b = os.stat(d), os.stat(d2)
    assert st2.st_mtime_ns > st1.st_mtime_ns
    assert st2b.st_mtime_ns > st1.st_mtime_ns
    time.sleep(TS_DELAY)
    os.unlink(os.path.join(d2, 'g'))                    # unlink
    assert os.stat(d2).st_mtime_ns > st2b.st_mtime_ns
    time.sleep(TS_DELAY)
    before = os.stat(d).st_mtime_ns
    os.mkdir(os.path.join(d, 'sub'))                    # mkdir
    assert os.stat(d).st_mtime_ns > before


def test_xattrs(fs):
    H.skip_if_source_limits(fs, 'ext4 keeps all xattrs of a file in one 4 KiB block (ENOSPC)')
    p = fs.p('f')
    write_file(p, b'')
    assert os.listxattr(p) == []
    expect_errno(errno.ENODATA, os.getxattr, p, 'user.missing')
    os.setxattr(p, 'user.a', b'1')
    os.setxattr(p, 'user.bin', bytes(range(256)))
    os.setxattr(p, 'user.empty', b'')
    big = rnd(4000, seed=3)
    os.setxattr(p, 'user.big', big)
    assert os.getxattr(p, 'user.a') == b'1'
    assert os.getxattr(p, 'user.bin') == bytes(range(256))
    assert os.getxattr(p, 'user.empty') == b''
    assert os.getxattr(p, 'user.big') == big
    assert sorted(os.listxattr(p)) == ['user.a', 'user.big', 'user.bin', 'user.empty']
    expect_errno(errno.EEXIST, os.setxattr, p, 'user.a', b'2', os.XATTR_CREATE)
    expect_errno(errno.ENODATA, os.setxattr, p, 'user.nope', b'2', os.XATTR_REPLACE)
    os.setxattr(p, 'user.a', b'22', os.XATTR_REPLACE)
    assert os.getxattr(p, 'user.a') == b'22'
    os.setxattr(p, 'user.new', b'n', os.XATTR_CREATE)
    os.removexattr(p, 'user.a')
    expect_errno(errno.ENODATA, os.getxattr, p, 'user.a')
    expect_errno(errno.ENODATA, os.removexattr, p, 'user.a')
    assert sorted(os.listxattr(p)) == ['user.big', 'user.bin', 'user.empty', 'user.new']
    # the largest value Linux allows, and one byte more
    os.setxattr(p, 'user.max', b'M' * 65536)
    assert os.getxattr(p, 'user.max') == b'M' * 65536
    expect_errno(errno.E2BIG, os.setxattr, p, 'user.toobig', b'M' * 65537)
    os.removexattr(p, 'user.max')
    # directories carry xattrs too
    os.mkdir(fs.p('d'))
    os.setxattr(fs.p('d'), 'user.dir', b'D')
    assert os.getxattr(fs.p('d'), 'user.dir') == b'D'
    # and they follow the inode through a hard link and a rename
    os.link(p, fs.p('g'))
    os.rename(p, fs.p('h'))
    assert os.getxattr(fs.p('g'), 'user.new') == b'n'


# ---------------------------------------------------------------------------- errors

def test_enametoolong(fs):
    ok, bad = 'a' * 255, 'b' * 256
    write_file(fs.p(ok), b'x')
    assert ok in os.listdir(fs.path)
    assert read_file(fs.p(ok)) == b'x'
    expect_errno(errno.ENAMETOOLONG, os.open, fs.p(bad), os.O_CREAT | os.O_WRONLY, 0o644)
    expect_errno(errno.ENAMETOOLONG, os.stat, fs.p(bad))
    expect_errno(errno.ENAMETOOLONG, os.mkdir, fs.p(bad))
    expect_errno(errno.ENAMETOOLONG, os.symlink, 'x', fs.p(bad))
    expect_errno(errno.ENAMETOOLONG, os.rename, fs.p(ok), fs.p(bad))
    expect_errno(errno.ENAMETOOLONG, os.link, fs.p(ok), fs.p(bad))
    assert sorted(os.listdir(fs.path)) == [ok]


def test_enoent(fs):
    expect_errno(errno.ENOENT, os.open, fs.p('missing'), os.O_RDONLY)
    expect_errno(errno.ENOENT, os.stat, fs.p('missing'))
    expect_errno(errno.ENOENT, os.unlink, fs.p('missing'))
    expect_errno(errno.ENOENT, os.chmod, fs.p('missing'), 0o644)
    expect_errno(errno.ENOENT, os.open, fs.p('nodir', 'f'), os.O_CREAT | os.O_WRONLY, 0o644)
    expect_errno(errno.ENOENT, os.mkdir, fs.p('nodir', 'sub'))
    expect_errno(errno.ENOENT, os.listdir, fs.p('missing'))
    expect_errno(errno.ENOENT, os.readlink, fs.p('missing'))
    expect_errno(errno.ENOENT, os.getxattr, fs.p('missing'), 'user.x')
    os.mkdir(fs.p('gone'))
    os.rmdir(fs.p('gone'))
    expect_errno(errno.ENOENT, os.open, fs.p('gone', 'f'), os.O_CREAT | os.O_WRONLY, 0o644)


def test_eexist(fs):
    os.mkdir(fs.p('d'))
    write_file(fs.p('f'), b'')
    expect_errno(errno.EEXIST, os.mkdir, fs.p('d'))
    expect_errno(errno.EEXIST, os.mkdir, fs.p('f'))
    expect_errno(errno.EEXIST, os.open, fs.p('f'), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    expect_errno(errno.EEXIST, os.open, fs.p('d'), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    expect_errno(errno.EEXIST, os.mkfifo, fs.p('f'))
    os.symlink('f', fs.p('lnk'))
    # O_CREAT|O_EXCL never follows a symlink, even a dangling one
    os.symlink('nothing', fs.p('dangling'))
    expect_errno(errno.EEXIST, os.open, fs.p('dangling'), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    expect_errno(errno.ENOENT, os.stat, fs.p('nothing'))


def test_eisdir(fs):
    os.mkdir(fs.p('d'))
    expect_errno(errno.EISDIR, os.open, fs.p('d'), os.O_WRONLY)
    expect_errno(errno.EISDIR, os.open, fs.p('d'), os.O_RDWR)
    expect_errno(errno.EISDIR, os.open, fs.p('d'), os.O_WRONLY | os.O_CREAT, 0o644)
    fd = os.open(fs.p('d'), os.O_RDONLY)
    try:
        expect_errno(errno.EISDIR, os.read, fd, 10)
    finally:
        os.close(fd)


def test_enotdir(fs):
    write_file(fs.p('f'), b'')
    expect_errno(errno.ENOTDIR, os.stat, fs.p('f', 'x'))
    expect_errno(errno.ENOTDIR, os.open, fs.p('f', 'x'), os.O_CREAT | os.O_WRONLY, 0o644)
    expect_errno(errno.ENOTDIR, os.mkdir, fs.p('f', 'x'))
    expect_errno(errno.ENOTDIR, os.listdir, fs.p('f'))
    expect_errno(errno.ENOTDIR, os.open, fs.p('f'), os.O_RDONLY | os.O_DIRECTORY)
    expect_errno(errno.ENOTDIR, os.rmdir, fs.p('f'))
    expect_errno(errno.ENOTDIR, os.stat, fs.p('f') + '/')


# ---------------------------------------------------------------------------- modern calls

def test_o_tmpfile(fs):
    d = fs.p('d')
    os.mkdir(d)
    fd = os.open(d, os.O_TMPFILE | os.O_RDWR, 0o600)
    try:
        os.write(fd, b'anonymous')
        st = os.fstat(fd)
        assert stat.S_ISREG(st.st_mode)
        assert st.st_nlink == 0
        assert stat.S_IMODE(st.st_mode) == 0o600
        assert os.listdir(d) == []
        dst = os.path.join(d, 'named')
        H.linkat_follow('/proc/self/fd/%d' % fd, dst)   # linkat(..., AT_SYMLINK_FOLLOW)
        assert read_file(dst) == b'anonymous'
        assert os.stat(dst).st_nlink == 1
        assert os.fstat(fd).st_nlink == 1
        assert os.stat(dst).st_ino == st.st_ino
    finally:
        os.close(fd)
    assert os.listdir(d) == ['named']
    fd = os.open(d, os.O_TMPFILE | os.O_RDWR | os.O_EXCL, 0o600)
    try:                                                # O_EXCL: never linkable
        expect_errno(errno.ENOENT, H.linkat_follow, '/proc/self/fd/%d' % fd, os.path.join(d, 'x'))
    finally:
        os.close(fd)
    assert os.listdir(d) == ['named']


def holes_written(fs):
    """cryptfs has no sparse files: it seals holes as zero blocks, since a hole that is
    only zeros on disk is one an attacker could forge (doc/cryptfs-format.md)."""
    return fs.kind == 'cryptfs'


def test_posix_fallocate(fs):
    p = fs.p('f')
    fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        os.write(fd, b'head')
        os.posix_fallocate(fd, 0, MiB)
        st = os.fstat(fd)
        assert st.st_size == MiB
        assert st.st_blocks * 512 >= MiB
        assert os.pread(fd, 4, 0) == b'head'
        assert os.pread(fd, MiB, 4) == b'\0' * (MiB - 4)
    finally:
        os.close(fd)


def test_fallocate_punch_hole(fs):
    p = fs.p('f')
    fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        os.write(fd, b'x' * MiB)
        os.fsync(fd)
        st0 = os.fstat(fd)
        assert st0.st_blocks * 512 >= MiB, 'st_blocks does not account for the data'
        H.fallocate(fd, H.FALLOC_FL_PUNCH_HOLE | H.FALLOC_FL_KEEP_SIZE, 256 * 1024, 512 * 1024)
        st1 = os.fstat(fd)
        assert st1.st_size == MiB
        if not holes_written(fs):
            assert st1.st_blocks < st0.st_blocks, 'st_blocks did not shrink (%d -> %d)' % (
                st0.st_blocks, st1.st_blocks)
        data = os.pread(fd, MiB, 0)
        assert data[:256 * 1024] == b'x' * (256 * 1024)
        assert data[256 * 1024:768 * 1024] == b'\0' * (512 * 1024)
        assert data[768 * 1024:] == b'x' * (256 * 1024)
        # punching without KEEP_SIZE is invalid
        expect_errno(errno.EOPNOTSUPP, H.fallocate, fd, H.FALLOC_FL_PUNCH_HOLE, 0, 4096)
    finally:
        os.close(fd)
    assert read_file(p)[256 * 1024:768 * 1024] == b'\0' * (512 * 1024)


def make_sparse(path, far):
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
    os.pwrite(fd, b'a' * 4096, 0)
    os.pwrite(fd, b'b' * 4096, far)
    os.fsync(fd)
    assert os.fstat(fd).st_size == far + 4096
    return fd


def test_seek_data_hole(fs):
    """What POSIX requires of SEEK_DATA/SEEK_HOLE. Reporting all data up to EOF is
    allowed (memfs does so under the writeback cache); test_seek_hole_exact wants more."""
    far = 8 * MiB
    size = far + 4096
    fd = make_sparse(fs.p('sparse'), far)
    try:
        assert os.lseek(fd, 0, os.SEEK_DATA) == 0
        assert os.lseek(fd, 100, os.SEEK_DATA) == 100       # inside data: stays
        hole = os.lseek(fd, 0, os.SEEK_HOLE)
        assert 4096 <= hole < far or hole == size, 'SEEK_HOLE inside data: %d' % hole
        assert os.lseek(fd, far + 10, os.SEEK_DATA) == far + 10
        assert os.lseek(fd, far, os.SEEK_HOLE) == size       # the implicit hole at EOF
        assert os.lseek(fd, size - 1, os.SEEK_HOLE) == size
        nxt = os.lseek(fd, 4096, os.SEEK_DATA)
        assert 4096 <= nxt <= far
        expect_errno(errno.ENXIO, os.lseek, fd, size, os.SEEK_DATA)
        expect_errno(errno.ENXIO, os.lseek, fd, size + 100, os.SEEK_HOLE)
        expect_errno(errno.ENXIO, os.lseek, fd, -1, os.SEEK_DATA)
        assert os.pread(fd, 4096, 4 * MiB) == b'\0' * 4096
    finally:
        os.close(fd)


def test_seek_hole_exact(fs_kind, mount_factory):
    """SEEK_HOLE finds the hole between two extents (feature seek_hole; memfs has it
    without the writeback cache, which does not write back before LSEEK)."""
    if 'seek_hole' not in H.FS_KINDS[fs_kind].features:
        pytest.skip('%s reports no holes before EOF' % fs_kind)
    m = mount_factory(fs_kind)
    far = 8 * MiB
    fd = make_sparse(m.p('sparse'), far)
    try:
        hole = os.lseek(fd, 0, os.SEEK_HOLE)
        assert 4096 <= hole < far, 'SEEK_HOLE found no hole before the second extent: %d' % hole
        nxt = os.lseek(fd, hole, os.SEEK_DATA)
        assert hole < nxt <= far
        assert os.lseek(fd, far, os.SEEK_DATA) == far
        assert os.lseek(fd, far, os.SEEK_HOLE) == far + 4096
        # a punched hole is a hole too
        os.pwrite(fd, b'c' * (256 * 1024), 2 * MiB)
        os.fsync(fd)
        assert os.lseek(fd, MiB, os.SEEK_DATA) == 2 * MiB
        H.fallocate(fd, H.FALLOC_FL_PUNCH_HOLE | H.FALLOC_FL_KEEP_SIZE, 2 * MiB, 256 * 1024)
        assert os.lseek(fd, MiB, os.SEEK_DATA) == far
    finally:
        os.close(fd)


def test_copy_file_range(fs):
    src, dst = fs.p('src'), fs.p('dst')
    data = rnd(3 * MiB + 7, seed=5)
    write_file(src, data)
    write_file(dst, b'')
    fi = os.open(src, os.O_RDONLY)
    fo = os.open(dst, os.O_WRONLY)
    try:
        left = len(data)
        while left:
            n = os.copy_file_range(fi, fo, left)
            assert n > 0, 'copy_file_range returned 0 with %d bytes left' % left
            left -= n
        assert os.copy_file_range(fi, fo, 100) == 0     # at EOF of the source
    finally:
        os.close(fi)
        os.close(fo)
    assert read_file(dst) == data
    # with explicit offsets into an existing file
    write_file(dst, b'-' * 100)
    fi = os.open(src, os.O_RDONLY)
    fo = os.open(dst, os.O_WRONLY)
    try:
        assert os.copy_file_range(fi, fo, 50, 1000, 10) == 50
        assert os.lseek(fi, 0, os.SEEK_CUR) == 0
    finally:
        os.close(fi)
        os.close(fo)
    assert read_file(dst) == b'-' * 10 + data[1000:1050] + b'-' * 40


def test_sparse_4gib(fs):
    if holes_written(fs):
        pytest.skip('cryptfs writes holes out (4 GiB of sealed zero blocks)')
    p = fs.p('huge')
    fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        os.pwrite(fd, b'x', 4 * GiB)
        os.pwrite(fd, b'edge', 4 * GiB - 2)             # straddles 2^32
        os.fsync(fd)
        st = os.fstat(fd)
        assert st.st_size == 4 * GiB + 2
        assert st.st_blocks * 512 <= 4 * MiB, 'sparse file has %d blocks allocated' % st.st_blocks
        assert os.pread(fd, 4096, 0) == b'\0' * 4096
        assert os.pread(fd, 4096, 2 * GiB + 12345) == b'\0' * 4096
        assert os.pread(fd, 10, 4 * GiB - 4) == b'\0\0edge'
        assert os.pread(fd, 10, 4 * GiB + 2) == b''
    finally:
        os.close(fd)
    assert os.stat(p).st_size == 4 * GiB + 2
    os.unlink(p)


def test_huge_offsets(fs):
    H.skip_if_source_limits(fs, 'ext4 files end at 16 TiB (EFBIG)')
    if holes_written(fs):
        pytest.skip('cryptfs writes holes out: a write at 2^63 would seal 2^63 zero bytes')
    p = fs.p('huge')
    top = (1 << 63) - 1                                 # the largest file size Linux has
    fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        for off in (1 << 40, 1 << 50, top - 2):
            os.pwrite(fd, b'xy', off)
            assert os.pread(fd, 2, off) == b'xy'
        assert os.fstat(fd).st_size == top
        assert os.fstat(fd).st_blocks * 512 <= 1 * MiB
        expect_errno(errno.EINVAL, os.pwrite, fd, b'z', top)     # offset + count overflows
        os.ftruncate(fd, (1 << 40) + 1)
        assert os.fstat(fd).st_size == (1 << 40) + 1
        assert os.pread(fd, 4, (1 << 40) - 2) == b'\0\0x'
        os.ftruncate(fd, 0)
        assert os.fstat(fd).st_blocks == 0
    finally:
        os.close(fd)


def test_mmap_shared(fs):
    p = fs.p('m')
    size = 256 * 1024
    write_file(p, b'\0' * size)
    fd = os.open(p, os.O_RDWR)
    try:
        mm = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        mm[0:5] = b'hello'
        mm[size - 5:size] = b'world'
        mm[100000:100003] = b'mid'
        mm.flush()
        os.pwrite(fd, b'ABC', 200)                      # write() is visible through the map
        assert mm[200:203] == b'ABC'
        mm.close()
    finally:
        os.close(fd)
    data = read_file(p)
    assert data[0:5] == b'hello'
    assert data[100000:100003] == b'mid'
    assert data[200:203] == b'ABC'
    assert data[size - 5:] == b'world'
    with open(p, 'rb') as f:
        ro = mmap.mmap(f.fileno(), 0, mmap.MAP_SHARED, mmap.PROT_READ)
        assert ro[0:5] == b'hello' and ro[size - 5:] == b'world'
        ro.close()


def test_statvfs(fs):
    sv = os.statvfs(fs.path)
    assert sv.f_blocks > 0
    assert sv.f_bsize > 0 and sv.f_frsize > 0
    assert sv.f_bfree <= sv.f_blocks
    assert sv.f_bavail <= sv.f_bfree
    assert sv.f_namemax == 255
    assert sv.f_ffree <= sv.f_files
    fd = os.open(fs.path, os.O_RDONLY)
    try:
        assert os.fstatvfs(fd).f_namemax == 255
    finally:
        os.close(fd)


def test_fsync_fdatasync(fs):
    p = fs.p('f')
    fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        os.write(fd, b'durable')
        os.fsync(fd)
        os.fdatasync(fd)
    finally:
        os.close(fd)
    d = os.open(fs.path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(d)
    finally:
        os.close(d)
    os.sync()
    assert read_file(p) == b'durable'


# ---------------------------------------------------------------------------- locks

def _try_lockf(path, start, length):
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, length, start)
        return 'locked'
    except OSError as e:
        return e.errno
    finally:
        os.close(fd)


def test_posix_locks(fs):
    p = fs.p('lock')
    write_file(p, b'x' * 1000)
    fd = os.open(p, os.O_RDWR)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX, 100, 0)          # bytes 0..99
        assert H.in_child(_try_lockf, p, 50, 10) in (errno.EAGAIN, errno.EACCES)
        assert H.in_child(_try_lockf, p, 100, 100) == 'locked'    # no overlap
        fcntl.lockf(fd, fcntl.LOCK_UN, 100, 0)
        assert H.in_child(_try_lockf, p, 50, 10) == 'locked'
    finally:
        os.close(fd)


def _try_flock(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return 'locked'
    except OSError as e:
        return e.errno
    finally:
        os.close(fd)


def test_flock(fs):
    p = fs.p('lock')
    write_file(p, b'')
    fd = os.open(p, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert H.in_child(_try_flock, p) == errno.EWOULDBLOCK
        fcntl.flock(fd, fcntl.LOCK_UN)
        assert H.in_child(_try_flock, p) == 'locked'
        fcntl.flock(fd, fcntl.LOCK_SH)
        assert H.in_child(_try_flock, p) == errno.EWOULDBLOCK
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------- ownership & permissions

def test_setgid_dir_inheritance(fs, other_user):
    os.chmod(fs.path, 0o755)                         # let the other user in
    d = fs.p('sg')
    os.mkdir(d)
    os.chown(d, 0, 1234)
    os.chmod(d, 0o2777)
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o2777
    write_file(os.path.join(d, 'f'), b'')
    assert os.stat(os.path.join(d, 'f')).st_gid == 1234
    os.mkdir(os.path.join(d, 'sub'), 0o755)
    sub = os.stat(os.path.join(d, 'sub'))
    assert sub.st_gid == 1234
    assert sub.st_mode & stat.S_ISGID, 'subdirectory lost S_ISGID: %o' % sub.st_mode
    os.mkfifo(os.path.join(d, 'fifo'))
    assert os.stat(os.path.join(d, 'fifo')).st_gid == 1234
    # a user outside group 1234 gets the directory's group too
    H.call_as(other_user, write_file, os.path.join(d, 'byuser'), b'')
    st = os.stat(os.path.join(d, 'byuser'))
    assert (st.st_uid, st.st_gid) == (other_user.uid, 1234)


def test_new_files_owned_by_caller(fs, other_user):
    os.chmod(fs.path, 0o755)                         # let the other user in
    d = fs.p('pub')
    os.mkdir(d)
    os.chmod(d, 0o777)

    def create():
        write_file(os.path.join(d, 'f'), b'mine')
        os.mkdir(os.path.join(d, 'dir'))
        os.symlink('f', os.path.join(d, 'lnk'))
        os.mkfifo(os.path.join(d, 'fifo'))
        return os.getuid()

    assert H.call_as(other_user, create) == other_user.uid
    for name in ('f', 'dir', 'lnk', 'fifo'):
        st = os.lstat(os.path.join(d, name))
        assert (st.st_uid, st.st_gid) == (other_user.uid, other_user.gid), name


def test_permissions_as_user(fs, other_user):
    u = other_user
    os.chmod(fs.path, 0o755)
    secret, public = fs.p('secret'), fs.p('public')
    write_file(secret, b's')
    os.chmod(secret, 0o600)
    write_file(public, b'p')
    os.chmod(public, 0o644)
    rootdir = fs.p('rootdir')
    os.mkdir(rootdir, 0o755)
    private = fs.p('private')
    os.mkdir(private, 0o700)
    write_file(os.path.join(private, 'inner'), b'i')

    assert H.call_as(u, read_file, public) == b'p'
    expect_errno(errno.EACCES, H.call_as, u, read_file, secret)
    expect_errno(errno.EACCES, H.call_as, u, os.open, public, os.O_WRONLY)
    expect_errno(errno.EACCES, H.call_as, u, write_file, os.path.join(rootdir, 'new'), b'')
    expect_errno(errno.EACCES, H.call_as, u, os.mkdir, os.path.join(rootdir, 'newdir'))
    expect_errno(errno.EACCES, H.call_as, u, os.unlink, public)
    expect_errno(errno.EACCES, H.call_as, u, os.stat, os.path.join(private, 'inner'))
    expect_errno(errno.EACCES, H.call_as, u, os.listdir, private)
    expect_errno(errno.EPERM, H.call_as, u, os.chmod, public, 0o666)
    expect_errno(errno.EPERM, H.call_as, u, os.chown, public, u.uid, u.gid)
    expect_errno(errno.EPERM, H.call_as, u, os.utime, public, ns=(1, 1))
    expect_errno(errno.EACCES, H.call_as, u, os.utime, public)
    expect_errno(errno.EACCES, H.call_as, u, os.setxattr, public, 'user.x', b'1')
    assert H.call_as(u, os.access, secret, os.R_OK) is False
    assert H.call_as(u, os.access, public, os.R_OK) is True
    assert not os.path.exists(os.path.join(rootdir, 'new'))


def test_sticky_directory(fs, other_user):
    os.chmod(fs.path, 0o755)                         # let the other user in
    t = fs.p('tmp')
    os.mkdir(t)
    os.chmod(t, 0o1777)
    write_file(os.path.join(t, 'roots'), b'')
    expect_errno(errno.EPERM, H.call_as, other_user, os.unlink, os.path.join(t, 'roots'))
    expect_errno(errno.EPERM, H.call_as, other_user, os.rename, os.path.join(t, 'roots'),
                 os.path.join(t, 'x'))
    H.call_as(other_user, write_file, os.path.join(t, 'users'), b'')
    H.call_as(other_user, os.unlink, os.path.join(t, 'users'))
    assert os.listdir(t) == ['roots']


def test_write_by_other_user_clears_setuid(fs, other_user):
    os.chmod(fs.path, 0o755)                         # let the other user in
    p = fs.p('suid')
    write_file(p, b'#!/bin/sh\n')
    os.chmod(p, 0o4777)

    def append():
        with open(p, 'ab') as f:
            f.write(b'echo\n')

    H.call_as(other_user, append)
    mode = stat.S_IMODE(os.stat(p).st_mode)
    assert not mode & stat.S_ISUID, 'S_ISUID survived a write by another user: %o' % mode
    assert read_file(p) == b'#!/bin/sh\necho\n'


def _setid_file(fs, name, mode):
    os.chmod(fs.path, 0o755)                         # let the other user in
    p = fs.p(name)
    write_file(p, b'#!/bin/sh\n')
    os.chmod(p, mode)
    return p


@pytest.mark.parametrize('how', ['o_trunc', 'ftruncate', 'truncate'])
def test_truncate_by_other_user_clears_setuid(fs, other_user, how):
    p = _setid_file(fs, 'suid', 0o4777)

    def shrink():
        if how == 'o_trunc':
            os.close(os.open(p, os.O_WRONLY | os.O_TRUNC))
        elif how == 'ftruncate':
            fd = os.open(p, os.O_WRONLY)
            try:
                os.ftruncate(fd, 1)
            finally:
                os.close(fd)
        else:
            os.truncate(p, 1)

    H.call_as(other_user, shrink)
    mode = stat.S_IMODE(os.stat(p).st_mode)
    assert mode == 0o777, 'after %s by another user: %o' % (how, mode)


def test_write_clears_setgid_as_linux_does(fs, other_user):
    """S_ISGID goes with a write where the group may execute; without g+x (Linux 6.2
    and later) unless the writer is in the file's group."""
    exec_gid = _setid_file(fs, 'gx', 0o2777)
    other_group = _setid_file(fs, 'g', 0o2767)
    own_group = _setid_file(fs, 'own', 0o2767)
    os.chown(own_group, 0, other_user.gid)

    def append(path):
        with open(path, 'ab') as f:
            f.write(b'echo\n')

    for p in (exec_gid, other_group, own_group):
        H.call_as(other_user, append, p)
    assert stat.S_IMODE(os.stat(exec_gid).st_mode) == 0o777
    assert stat.S_IMODE(os.stat(other_group).st_mode) == 0o767
    assert stat.S_IMODE(os.stat(own_group).st_mode) == 0o2767


def test_write_by_root_keeps_setuid(fs):
    p = _setid_file(fs, 'suid', 0o4755)
    with open(p, 'ab') as f:
        f.write(b'echo\n')
    os.truncate(p, 3)
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o4755


# ---------------------------------------------------------------------------- kernel forgets

def drop_kernel_caches():
    """Make the kernel evict cached dentries, inodes and pages: for FUSE that sends
    FORGET for every node it drops (the lookup-count invariant at work)."""
    os.sync()
    with open('/proc/sys/vm/drop_caches', 'w') as f:
        f.write('3')


def snapshot(root):
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            body = read_file(p) if stat.S_ISREG(st.st_mode) else (
                os.readlink(p).encode() if stat.S_ISLNK(st.st_mode) else b'')
            out[os.path.relpath(p, root)] = (st.st_ino, st.st_nlink, stat.S_IFMT(st.st_mode),
                                            st.st_size, hashlib.sha256(body).hexdigest())
    return out


def test_kernel_forgets_nodes(fs):
    """Linked nodes must survive the kernel forgetting them; open unlinked ones too."""
    os.makedirs(fs.p('d', 'sub'))
    write_file(fs.p('a'), b'apple')
    write_file(fs.p('d', 'b'), rnd(100000, seed=9))
    write_file(fs.p('d', 'sub', 'c'), b'cherry')
    os.link(fs.p('a'), fs.p('d', 'a2'))
    os.symlink('../a', fs.p('d', 'lnk'))
    os.mkfifo(fs.p('d', 'fifo'))
    for i in range(200):
        write_file(fs.p('d', 'sub', 'n%03d' % i), b'%d' % i)
    before = snapshot(fs.path)
    held = os.open(fs.p('d', 'b'), os.O_RDONLY)
    gone = os.open(fs.p('gone'), os.O_CREAT | os.O_RDWR, 0o644)
    try:
        os.write(gone, b'unlinked but open')
        os.unlink(fs.p('gone'))
        for _ in range(2):
            drop_kernel_caches()
            time.sleep(0.2)
        # in a child, so that a server that hangs fails the test instead of the suite
        after = H.in_child(snapshot, fs.path, timeout=60)
        assert after == before
        assert os.pread(held, 10, 0) == rnd(100000, seed=9)[:10]
        assert os.pread(gone, 100, 0) == b'unlinked but open'
        assert os.fstat(gone).st_nlink == 0
    finally:
        os.close(held)
        os.close(gone)
    drop_kernel_caches()
    write_file(fs.p('new'), b'new')
    assert H.in_child(snapshot, fs.path, timeout=60)['a'] == before['a']
    assert os.stat(fs.p('new')).st_ino not in {v[0] for v in before.values()}


def test_o_direct(fs):
    p = fs.p('direct')
    size = 1 << 20
    data = rnd(size, seed=11)
    buf = mmap.mmap(-1, size)                           # page-aligned buffer
    buf.write(data)
    try:
        fd = os.open(p, os.O_CREAT | os.O_WRONLY | os.O_DIRECT, 0o644)
    except OSError as e:
        pytest.fail('open(O_DIRECT) failed: %s' % e)
    try:
        assert os.pwritev(fd, [buf], 0) == size
        assert os.pwritev(fd, [memoryview(buf)[:4096]], size) == 4096
    finally:
        os.close(fd)
    assert read_file(p) == data + data[:4096]           # buffered read sees direct writes
    fd = os.open(p, os.O_RDONLY | os.O_DIRECT)
    try:
        out = mmap.mmap(-1, size)
        assert os.preadv(fd, [out], 0) == size
        assert out[:] == data
        out.close()
    finally:
        os.close(fd)
    buf.close()
