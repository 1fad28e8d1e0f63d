"""cryptfs: cached names, extended attributes, long symlinks and fallocate.

File names are cached by the kernel (an entry timeout), file attributes never: a
caller reaching the other view's node through a cached name is answered ESTALE and
the kernel walks again to the caller's own node. These tests interleave an allowed
program and one that is not allowed, each a long-lived process taking orders over a
pipe, so that every step runs well within the entry timeout of one second.
"""

import errno
import json
import os
import subprocess

import pytest

import umfs_helpers as H
from test_cryptfs import BLOCK, HEADER, SEALED, Vault, container_size, read_block, sha, write_block

pytestmark = pytest.mark.fuse_only

# A process that runs file operations on request: one JSON line [op, path, arg] in,
# one JSON line out ([True, result] or [False, errno]).
AGENT = r'''
import hashlib, json, os, sys
def do(op, path, arg):
    if op == 'stat':
        st = os.stat(path)
        return [st.st_size, st.st_mode & 0o7777, st.st_mtime_ns]
    if op == 'access':
        return os.access(path, os.R_OK | os.W_OK)
    if op == 'read':
        with open(path, 'rb') as f:
            d = f.read()
        return [hashlib.sha256(d).hexdigest(), len(d)]
    if op == 'write':
        with open(path, 'wb') as f:
            f.write(bytes.fromhex(arg))
        return True
    if op == 'truncate':
        os.truncate(path, arg)
        return True
    if op == 'chmod':
        os.chmod(path, arg)
        return True
    if op == 'utime':
        os.utime(path, ns=(arg, arg))
        return True
    if op == 'setxattr':
        os.setxattr(path, arg[0], bytes.fromhex(arg[1]))
        return True
    if op == 'getxattr':
        return os.getxattr(path, arg).hex()
    if op == 'listxattr':
        return sorted(os.listxattr(path))
    if op == 'removexattr':
        os.removexattr(path, arg)
        return True
    if op == 'readlink':
        return os.readlink(path)
    raise ValueError(op)
for line in sys.stdin:
    op, path, arg = json.loads(line)
    try:
        out = [True, do(op, path, arg)]
    except OSError as e:
        out = [False, e.errno]
    print(json.dumps(out), flush=True)
'''


class Agent:
    def __init__(self, python):
        self.p = subprocess.Popen([python, '-c', AGENT], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True, env=H.base_env())

    def __call__(self, op, path, arg=None):
        self.p.stdin.write(json.dumps([op, path, arg]) + '\n')
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        assert line, 'agent died'
        ok, val = json.loads(line)
        return val if ok else OSError(val, os.strerror(val))

    def close(self):
        self.p.stdin.close()
        assert self.p.wait(timeout=60) == 0


@pytest.fixture
def vault(workdir):
    v = Vault(workdir)
    v.init()
    v.mount_it()
    v.plain = Agent(v.apy)          # allowed
    v.other = Agent(H.PYTHON)       # not allowed
    yield v
    v.plain.close()
    v.other.close()
    v.finish()


def is_errno(r, e):
    return isinstance(r, OSError) and r.errno == e


# ---------------------------------------------------------------------------- cached names

def test_stat_alternating_views_within_the_entry_timeout(vault):
    data = os.urandom(2 * BLOCK + 5)
    p = vault.p('f')
    assert vault.plain('write', p, data.hex()) is True
    csize = container_size(len(data))
    for i in range(20):
        # allowed first, then not allowed, then the other order
        first, second = (vault.plain, vault.other) if i % 2 == 0 else (vault.other, vault.plain)
        for who in (first, second):
            want = len(data) if who is vault.plain else csize
            assert who('stat', p)[0] == want, (i, who is vault.plain)
            assert who('access', p) is True
    assert vault.plain('read', p) == [sha(data), len(data)]
    assert vault.other('read', p)[1] == csize
    assert vault.plain('stat', p)[0] == len(data)
    assert vault.other('read', p)[0] == sha(open(vault.stored('f'), 'rb').read())


def test_path_truncate_chmod_utime_by_the_other_view(vault):
    p = vault.p('f')
    vault.plain('write', p, (b'x' * 5000).hex())
    # The allowed program's walk leaves the name cached on the plaintext node; a path
    # truncate by a program that is not allowed is still judged as the container
    # view's: to any size but 0 it is refused (it could only damage the container).
    assert vault.plain('stat', p)[0] == 5000
    assert is_errno(vault.other('truncate', p, 7), errno.EACCES)
    assert vault.plain('stat', p)[0] == 5000
    assert vault.plain('read', p) == [sha(b'x' * 5000), 5000]
    # truncate(1), a real program that is not allowed, opens the file and cuts it
    # through the handle: it cuts the bytes it sees, the container, and what it
    # leaves (not a container) is stored encrypted, as any write of such a program.
    container = open(vault.stored('f'), 'rb').read()
    assert vault.plain('stat', p)[0] == 5000
    assert H.run(['truncate', '-s', '7', p]).rc == 0
    assert vault.plain('read', p) == [sha(container[:7]), 7]
    assert vault.other('truncate', p, 0) is True          # to 0: an empty file
    assert vault.plain('stat', p)[0] == 0
    vault.plain('write', p, b'y'.hex())
    assert vault.plain('stat', p)[0] == 1
    assert H.run(['truncate', '-s', '0', p]).rc == 0
    assert vault.plain('stat', p)[0] == 0
    assert vault.other('stat', p)[0] == container_size(0)
    # The other way round: a name cached by the container view, truncated by an
    # allowed program, is a plaintext truncate.
    vault.plain('write', p, b'abc'.hex())
    assert vault.other('stat', p)[0] == container_size(3)
    assert vault.plain('truncate', p, 10) is True
    assert vault.other('stat', p)[0] == container_size(10)
    assert vault.plain('read', p) == [sha(b'abc' + b'\0' * 7), 10]
    # Modes and times are the same in both views, whoever changes them.
    assert vault.plain('stat', p)[0] == 10
    assert vault.other('chmod', p, 0o640) is True
    assert vault.plain('stat', p)[1] == 0o640
    assert vault.other('utime', p, 1_000_000_000_000_000_000) is True
    assert vault.plain('stat', p)[2] == 1_000_000_000_000_000_000
    assert vault.plain('chmod', p, 0o600) is True
    assert vault.other('stat', p)[1:] == [0o600, 1_000_000_000_000_000_000]
    assert vault.fsck().rc == 0


def test_unlink_and_recreate_with_names_cached(vault):
    p = vault.p('g')
    for i in range(5):
        body = ('round %d' % i).encode()
        assert vault.plain('write', p, body.hex()) is True
        assert vault.other('stat', p)[0] == container_size(len(body))
        assert vault.plain('read', p) == [sha(body), len(body)]
        os.unlink(p)
        assert is_errno(vault.plain('stat', p), errno.ENOENT)
        assert is_errno(vault.other('stat', p), errno.ENOENT)


# ---------------------------------------------------------------------------- xattrs

def xattr_dirs(vault):
    d = os.path.join(vault.dir, 'xattr')
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def test_xattrs_are_content_of_the_plaintext_view(vault):
    p = vault.p('f')
    vault.plain('write', p, b'body'.hex())
    assert vault.plain('setxattr', p, ['user.tag', b'secret label'.hex()]) is True
    assert vault.plain('getxattr', p, 'user.tag') == b'secret label'.hex()
    # A program that is not allowed sees none and may change none.
    assert vault.other('listxattr', p) == []
    assert is_errno(vault.other('getxattr', p, 'user.tag'), errno.ENODATA)
    assert is_errno(vault.other('setxattr', p, ['user.x', '00']), errno.EACCES)
    assert is_errno(vault.other('removexattr', p, 'user.tag'), errno.EACCES)
    # Only user.*: ACLs and the other name spaces are refused.
    assert is_errno(vault.plain('setxattr', p, ['system.posix_acl_access', '02000000']),
                    errno.EOPNOTSUPP)
    assert is_errno(vault.plain('setxattr', p, ['trusted.x', '00']), errno.EOPNOTSUPP)
    # Neither names nor values are in the vault.
    for root, dirs, files in os.walk(vault.dir):
        for n in files:
            blob = open(os.path.join(root, n), 'rb').read()
            assert b'secret label' not in blob and b'user.tag' not in blob, n
        assert not any('tag' in n for n in dirs + files)
    # They follow the file: rename, hard link, an emptying open (O_TRUNC keeps the
    # file id they are bound to).
    os.rename(p, vault.p('g'))
    os.link(vault.p('g'), vault.p('h'))
    vault.plain('write', vault.p('h'), b'new body'.hex())
    assert vault.plain('getxattr', vault.p('g'), 'user.tag') == b'secret label'.hex()
    # Directories too.
    os.mkdir(vault.p('d'))
    assert vault.plain('setxattr', vault.p('d'), ['user.d', 'ff']) is True
    assert vault.plain('listxattr', vault.p('d')) == ['user.d']
    assert len(xattr_dirs(vault)) == 2
    # They go with the last name.
    os.unlink(vault.p('g'))
    assert len(xattr_dirs(vault)) == 2
    os.unlink(vault.p('h'))
    os.rmdir(vault.p('d'))
    assert xattr_dirs(vault) == []
    # And with the object a rename replaces (a file, an empty directory).
    for n in ('x1', 'x2'):
        vault.plain('write', vault.p(n), n.encode().hex())
        vault.plain('setxattr', vault.p(n), ['user.n', n.encode().hex()])
    os.mkdir(vault.p('d1'))
    os.mkdir(vault.p('d2'))
    for n in ('d1', 'd2'):
        vault.plain('setxattr', vault.p(n), ['user.n', n.encode().hex()])
    assert len(xattr_dirs(vault)) == 4
    os.rename(vault.p('x2'), vault.p('x1'))
    os.rename(vault.p('d2'), vault.p('d1'))
    assert len(xattr_dirs(vault)) == 2
    assert vault.plain('getxattr', vault.p('x1'), 'user.n') == b'x2'.hex()
    assert vault.plain('getxattr', vault.p('d1'), 'user.n') == b'd2'.hex()
    assert vault.fsck().rc == 0


def test_xattr_records_cannot_move_between_files(vault):
    a, b = vault.p('a'), vault.p('b')
    for n in (a, b):
        vault.plain('write', n, b'x'.hex())
    vault.plain('setxattr', a, ['user.k', b'from a'.hex()])
    vault.plain('setxattr', b, ['user.k', b'from b'.hex()])
    d1, d2 = [os.path.join(vault.dir, 'xattr', d) for d in xattr_dirs(vault)]
    r1, r2 = os.listdir(d1)[0], os.listdir(d2)[0]
    # Put one file's record in the other's place: it does not open there.
    with open(os.path.join(d1, r1), 'rb') as f:
        moved = f.read()
    with open(os.path.join(d2, r2), 'wb') as f:
        f.write(moved)
    got = [vault.plain('getxattr', n, 'user.k') for n in (a, b)]
    assert got in ([b'from a'.hex(), got[1]], [got[0], b'from b'.hex()]), got
    assert sum(isinstance(g, OSError) and g.errno == errno.EIO for g in got) == 1, got
    H.wait_for(lambda: 'extended attribute does not authenticate' in vault.mount.stderr_text(),
               timeout=10)
    r = vault.fsck()
    assert r.rc == 1 and r.out.count('extended attribute does not authenticate') == 1, r.out


# ---------------------------------------------------------------------------- symlinks

def test_long_symlink_targets(vault):
    target = '/'.join(['t' * 250] * 16)               # 4015 bytes
    os.symlink(target, vault.p('long'))
    os.symlink('short', vault.p('short'))
    assert os.readlink(vault.p('long')) == target
    assert vault.other('readlink', vault.p('long')) == target
    assert os.lstat(vault.p('long')).st_size == len(target)
    os.symlink('x' * 4095, vault.p('max'))
    assert os.readlink(vault.p('max')) == 'x' * 4095
    H.expect_errno(errno.ENAMETOOLONG, os.symlink, 'x' * 4096, vault.p('toolong'))
    links = os.path.join(vault.dir, 'links')
    assert len(os.listdir(links)) == 2
    for n in os.listdir(links):
        assert b'tttt' not in open(os.path.join(links, n), 'rb').read()
    assert vault.fsck().rc == 0
    # A record put in another long symlink's place does not authenticate there.
    r1, r2 = [os.path.join(links, n) for n in sorted(os.listdir(links))]
    with open(r1, 'rb') as f:
        rec = f.read()
    with open(r2, 'wb') as f:
        f.write(rec)
    results = []
    for n in ('long', 'max'):
        try:
            results.append(os.readlink(vault.p(n)))
        except OSError as e:
            results.append(e.errno)
    assert errno.EIO in results, results
    r = vault.fsck()
    assert r.rc == 1 and 'symlink target does not authenticate' in r.out, r.out
    # Removing the last name removes the record.
    os.unlink(vault.p('long'))
    os.unlink(vault.p('max'))
    assert os.listdir(links) == []


# ---------------------------------------------------------------------------- fallocate

def test_fallocate_and_punched_zeros_stay_authenticated(vault):
    p = vault.p('f')
    data = os.urandom(8 * BLOCK)
    vault.apy_write(p, data)
    r = H.run([vault.apy, '-c', '''
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open(sys.argv[1], os.O_RDWR)
def fa(mode, off, n):
    if libc.fallocate(fd, mode, ctypes.c_long(off), ctypes.c_long(n)):
        sys.exit("fallocate %d: errno %d" % (mode, ctypes.get_errno()))
fa(0x01 | 0x02, 4096 + 100, 3 * 4096)       # PUNCH_HOLE | KEEP_SIZE
fa(0x01, 0, 20 * 4096)                      # KEEP_SIZE past the end: size stays
assert os.fstat(fd).st_size == 8 * 4096
os.posix_fallocate(fd, 0, 10 * 4096)        # mode 0: extends
assert os.fstat(fd).st_size == 10 * 4096
''', p])
    assert r.rc == 0, r.err
    want = bytearray(data) + bytes(2 * BLOCK)
    want[BLOCK + 100:4 * BLOCK + 100] = bytes(3 * BLOCK)
    from test_cryptfs import open_plain
    assert open_plain(vault, p) == bytes(want)
    assert vault.other('stat', p)[0] == container_size(10 * BLOCK)
    assert vault.fsck().rc == 0
    # A punched block is sealed zeros, not a run of zero bytes: zeroing it in the
    # vault is damage, not a hole.
    stored = vault.stored('f')
    write_block(stored, 2, bytes(SEALED))
    r = H.run([vault.acat, p])
    assert r.rc != 0 and 'Input/output error' in r.err
    assert vault.fsck().rc == 1


def test_growth_beyond_the_free_space_is_refused_at_once(vault):
    """Holes are written out: a write, truncate or fallocate that would seal more zero
    blocks than the vault's file system has room for fails with ENOSPC before writing
    anything (instead of writing until the disk is full)."""
    p = vault.p('f')
    vault.apy_write(p, b'kept')
    r = H.run([vault.apy, '-c', '''
import errno, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
far = 1 << 50                                # 1 PiB: more than the vault's disk
for what, f in (('pwrite', lambda: os.pwrite(fd, b"x", far)),
                ('ftruncate', lambda: os.ftruncate(fd, far)),
                ('posix_fallocate', lambda: os.posix_fallocate(fd, 0, far))):
    try:
        f()
        sys.exit(what + " succeeded")
    except OSError as e:
        if e.errno != errno.ENOSPC:
            sys.exit("%s: %s" % (what, e))
assert os.fstat(fd).st_size == 4
assert os.pread(fd, 10, 0) == b"kept"
''', p])
    assert r.rc == 0, r.err
    assert vault.other('stat', p)[0] == container_size(4)
    assert vault.fsck().rc == 0
