"""mirror: what only a mirror has - a source directory behind the mount.

The POSIX suite (test_posix.py and the others using `fs`) runs on mirror too; these
tests look at the source side: ownership and content in SOURCE, the caller's
credentials, escapes from SOURCE, changes made behind the mount, data integrity under
concurrent writers, kernel passthrough on and off, and bad command lines.
"""

import errno
import hashlib
import os
import random
import stat
import subprocess
import threading
import time

import pytest

import umfs_helpers as H
from umfs_helpers import expect_errno, read_file, write_file

pytestmark = pytest.mark.fuse_only


@pytest.fixture
def mirror(workdir):
    """(mount, source) of a mirror mounted as root (impersonating, allow_other)."""
    m = H.mount_fs('mirror', workdir)
    yield m, H.mirror_source(workdir)
    m.cleanup()


# How mirror registers backing files for kernel passthrough (mirror_backing.c): the
# node's O_PATH descriptor, kept until forget, where the kernel takes one (this
# machine's does); else each open's own descriptor, which UMFS_MIRROR_BACKING=per-open
# chooses on any kernel.
BACKING_ENVS = {'node': None, 'per-open': {'UMFS_MIRROR_BACKING': 'per-open'}}


@pytest.fixture(params=sorted(BACKING_ENVS))
def mirror_backing(request, workdir):
    """(mount, source) like `mirror`, once per way of registering backing files."""
    extra = BACKING_ENVS[request.param]
    m = H.mount_fs('mirror', workdir, env=H.base_env(extra) if extra else None)
    yield m, H.mirror_source(workdir)
    m.cleanup()


def mount_mirror(workdir, *extra, name='mnt', foreground=False):
    mnt = os.path.join(workdir, name)
    os.makedirs(mnt, exist_ok=True)
    src = H.mirror_source(workdir)
    os.makedirs(src, exist_ok=True)
    os.chmod(src, 0o755)
    kw = {}
    if foreground:
        kw = dict(foreground=True, stderr_path=os.path.join(workdir, name + '.log'))
    return H.umfs_mount('mirror', mnt, *extra, workdir=workdir,
                        args=['mirror', src, mnt], **kw), src


# ---------------------------------------------------------------------------- the source side

def test_created_files_appear_in_source(mirror):
    m, src = mirror
    os.mkdir(m.p('d'), 0o750)
    write_file(m.p('d', 'f'), b'hello', mode=0o640)
    os.symlink('f', m.p('d', 'l'))
    os.link(m.p('d', 'f'), m.p('d', 'hard'))
    assert read_file(os.path.join(src, 'd', 'f')) == b'hello'
    for name in ('d', 'd/f', 'd/l', 'd/hard'):
        a, b = os.lstat(m.p(name)), os.lstat(os.path.join(src, name))
        assert (a.st_mode, a.st_uid, a.st_gid, a.st_ino, a.st_nlink, a.st_size) == \
               (b.st_mode, b.st_uid, b.st_gid, b.st_ino, b.st_nlink, b.st_size), name
    assert stat.S_IMODE(os.stat(os.path.join(src, 'd')).st_mode) == 0o750
    assert stat.S_IMODE(os.stat(os.path.join(src, 'd', 'f')).st_mode) == 0o640
    assert os.readlink(os.path.join(src, 'd', 'l')) == 'f'
    os.setxattr(m.p('d', 'f'), 'user.k', b'v')
    assert os.getxattr(os.path.join(src, 'd', 'f'), 'user.k') == b'v'
    os.rename(m.p('d', 'f'), m.p('g'))
    assert sorted(os.listdir(src)) == ['d', 'g']
    os.unlink(m.p('g'))
    assert not os.path.exists(os.path.join(src, 'g'))


def test_attributes_through_a_directory_handle(mirror):
    """fchmod/futimens/fstat on an open directory: the kernel names the directory's
    handle, which mirror must not take for a file's."""
    m, src = mirror
    os.mkdir(m.p('d'), 0o755)
    fd = os.open(m.p('d'), os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fchmod(fd, 0o700)
        os.utime(fd, ns=(10**9, 3 * 10**9))
        st = os.fstat(fd)
    finally:
        os.close(fd)
    direct = os.stat(os.path.join(src, 'd'))
    assert stat.S_IMODE(direct.st_mode) == 0o700
    assert direct.st_mtime_ns == 3 * 10**9
    assert st.st_ino == direct.st_ino and stat.S_IMODE(st.st_mode) == 0o700


def test_posix_acl_passes_through(mirror):
    m, src = mirror
    write_file(m.p('f'), b'')
    # an ACL of user::rw- group::r-- other::--- plus a named user, as the kernel encodes it
    import struct
    entries = [(0x01, 6, 0xffffffff), (0x02, 6, 65534), (0x04, 4, 0xffffffff),
               (0x10, 6, 0xffffffff), (0x20, 0, 0xffffffff)]
    value = struct.pack('<I', 2) + b''.join(struct.pack('<HHI', t, p, i) for t, p, i in entries)
    try:
        os.setxattr(os.path.join(src, 'f'), 'system.posix_acl_access', value)
    except OSError as e:
        if e.errno == errno.EOPNOTSUPP:
            pytest.skip('the source file system has no POSIX ACLs')
        raise
    assert os.getxattr(m.p('f'), 'system.posix_acl_access') == value
    assert 'system.posix_acl_access' in os.listxattr(m.p('f'))


# ---------------------------------------------------------------------------- impersonation

def test_files_belong_to_the_caller(mirror, test_user, other_user):
    m, src = mirror
    os.chmod(src, 0o777)
    for u in (test_user, other_user):
        H.call_as(u, write_file, m.p('by-%s' % u.name), b'x')
        H.call_as(u, os.mkdir, m.p('dir-%s' % u.name))
        for name in ('by-%s' % u.name, 'dir-%s' % u.name):
            st = os.stat(os.path.join(src, name))
            assert (st.st_uid, st.st_gid) == (u.uid, u.gid), name


def test_source_permissions_are_the_callers(mirror, test_user):
    m, src = mirror
    write_file(os.path.join(src, 'secret'), b'root only', mode=0o600)
    os.mkdir(os.path.join(src, 'closed'), 0o700)
    write_file(os.path.join(src, 'closed', 'f'), b'x')
    expect_errno(errno.EACCES, H.call_as, test_user, read_file, m.p('secret'))
    expect_errno(errno.EACCES, H.call_as, test_user, os.listdir, m.p('closed'))
    expect_errno(errno.EACCES, H.call_as, test_user, write_file, m.p('new'), b'')
    assert read_file(m.p('secret')) == b'root only'       # root still may


def test_read_only_access_shares_the_file(mirror_backing, test_user):
    """A caller who may only read opens the file read-only; a writer opening it
    meanwhile shares the same kernel backing file, and the reader sees what was
    written."""
    m, src = mirror_backing
    write_file(os.path.join(src, 'ro'), b'0123456789', mode=0o644)
    script = ('import os, sys, time\n'
              'fd = os.open(sys.argv[1], os.O_RDONLY)\n'
              'print(os.pread(fd, 10, 0).decode(), flush=True)\n'
              'sys.stdin.readline()\n'
              'print(os.pread(fd, 10, 0).decode(), flush=True)\n')
    reader = subprocess.Popen(['/usr/bin/python3', '-c', script, m.p('ro')],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              user=test_user.uid, group=test_user.gid, extra_groups=[],
                              text=True)
    try:
        assert reader.stdout.readline().strip() == '0123456789'
        expect_errno(errno.EACCES, H.call_as, test_user, os.open, m.p('ro'), os.O_RDWR)
        with open(m.p('ro'), 'r+b') as f:            # root, while the reader holds it
            f.write(b'abc')
        reader.stdin.write('\n')
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == 'abc3456789'
    finally:
        reader.stdin.close()
        reader.wait()
    assert read_file(os.path.join(src, 'ro')) == b'abc3456789'


def test_supplementary_groups_count(mirror, test_user):
    """A file readable by a group the caller has only as a supplementary group."""
    m, src = mirror
    gid = 4242
    write_file(os.path.join(src, 'grp'), b'group data', mode=0o640)
    os.chown(os.path.join(src, 'grp'), 0, gid)
    expect_errno(errno.EACCES, H.in_child, read_file, m.p('grp'),
                 uid=test_user.uid, gid=test_user.gid, groups=[test_user.gid])
    got = H.in_child(read_file, m.p('grp'), uid=test_user.uid, gid=test_user.gid,
                     groups=[test_user.gid, gid])
    assert got == b'group data'


def test_readable_unsearchable_dir_lists(mirror, test_user):
    m, src = mirror
    d = os.path.join(src, 'ronly')
    os.mkdir(d)
    write_file(os.path.join(d, 'a'), b'')
    os.chmod(d, 0o744)                        # others may read the names, not look inside
    assert H.call_as(test_user, os.listdir, m.p('ronly')) == ['a']
    expect_errno(errno.EACCES, H.call_as, test_user, os.stat, m.p('ronly', 'a'))


def test_access_without_default_permissions(workdir, test_user):
    m, src = mount_mirror(workdir, '-o', 'nodefault_permissions')
    write_file(os.path.join(src, 'mine'), b'', mode=0o600)
    write_file(os.path.join(src, 'open'), b'', mode=0o644)
    assert not H.call_as(test_user, os.access, m.p('mine'), os.R_OK)
    assert H.call_as(test_user, os.access, m.p('open'), os.R_OK)
    assert not H.call_as(test_user, os.access, m.p('open'), os.W_OK)
    expect_errno(errno.EACCES, H.call_as, test_user, read_file, m.p('mine'))
    m.cleanup()


# ------------------------------------ search permission, which the kernel leaves to mirror

def mount_options_of(path):
    with open('/proc/self/mounts') as f:
        for line in f:
            fields = line.split()
            if fields[1] == path:
                return fields[3].split(',')
    raise AssertionError('%s is not mounted' % path)


def test_impersonating_mount_leaves_checks_to_the_source(mirror, workdir):
    """Acting as each caller, mirror needs no default_permissions (the source checks);
    acting as itself, it must keep them."""
    m, _ = mirror
    assert 'default_permissions' not in mount_options_of(m.path)
    m2, _ = mount_mirror(workdir, '--no-impersonate', name='mnt2')
    assert 'default_permissions' in mount_options_of(m2.path)
    m2.cleanup()


def test_private_directory_stops_cached_walks(mirror, test_user):
    """A name the kernel cached while a directory was open is not a way in once the
    directory is private: a chmod through the mount takes effect at once."""
    m, _ = mirror
    os.mkdir(m.p('d'), 0o755)
    write_file(m.p('d', 'f'), b'x', mode=0o644)
    assert H.call_as(test_user, read_file, m.p('d', 'f')) == b'x'   # now cached
    os.chmod(m.p('d'), 0o700)
    expect_errno(errno.EACCES, H.call_as, test_user, os.stat, m.p('d', 'f'))
    expect_errno(errno.EACCES, H.call_as, test_user, read_file, m.p('d', 'f'))
    assert not os.path.exists(m.p('d', 'missing'))                  # root: no such name
    expect_errno(errno.EACCES, H.call_as, test_user, os.stat, m.p('d', 'missing'))
    os.chmod(m.p('d'), 0o755)
    assert H.call_as(test_user, read_file, m.p('d', 'f')) == b'x'


def test_owner_without_search_bit_is_refused(mirror, test_user):
    """Mode 0077: everyone but the owner may search (the owner class wins)."""
    m, _ = mirror
    os.mkdir(m.p('d'), 0o777)
    write_file(m.p('d', 'f'), b'x', mode=0o644)
    os.chown(m.p('d'), test_user.uid, test_user.gid)
    os.chmod(m.p('d'), 0o077)
    expect_errno(errno.EACCES, H.call_as, test_user, os.stat, m.p('d', 'f'))
    os.stat(m.p('d', 'f'))                                          # root may


def test_acl_denying_search_counts(mirror, test_user, other_user):
    m, _ = mirror
    os.mkdir(m.p('d'), 0o755)
    write_file(m.p('d', 'f'), b'x', mode=0o644)
    assert H.call_as(test_user, read_file, m.p('d', 'f')) == b'x'   # now cached
    subprocess.run(['setfacl', '-m', 'u:%d:-' % test_user.uid, m.p('d')], check=True)
    expect_errno(errno.EACCES, H.call_as, test_user, os.stat, m.p('d', 'f'))
    assert H.call_as(other_user, read_file, m.p('d', 'f')) == b'x'
    subprocess.run(['setfacl', '-b', m.p('d')], check=True)
    assert H.call_as(test_user, read_file, m.p('d', 'f')) == b'x'


def test_private_directory_behind_the_mount(mirror, test_user):
    """Made private in SOURCE: seen within the timeouts (1 s each)."""
    m, src = mirror
    os.mkdir(m.p('d'), 0o755)
    write_file(m.p('d', 'f'), b'x', mode=0o644)
    assert H.call_as(test_user, read_file, m.p('d', 'f')) == b'x'
    os.chmod(os.path.join(src, 'd'), 0o700)

    def refused():
        try:
            H.call_as(test_user, os.stat, m.p('d', 'f'))
        except PermissionError:
            return True
        return False
    wait_for('a directory made private behind the mount', refused)


def test_no_impersonate(workdir, test_user):
    m, src = mount_mirror(workdir, '--no-impersonate')
    os.chmod(src, 0o777)
    H.call_as(test_user, write_file, m.p('f'), b'x')
    st = os.stat(os.path.join(src, 'f'))
    assert st.st_uid == 0, 'with --no-impersonate the file belongs to the mounter'
    m.cleanup()


def test_user_mount_acts_as_user(workdir, test_user, umfs_bin, user_fuse_access):
    u = test_user
    src = os.path.join(workdir, 'usrc')
    mnt = os.path.join(workdir, 'umnt')
    for d in (src, mnt):
        os.mkdir(d, 0o755)
        os.chown(d, u.uid, u.gid)
    m = H.umfs_mount('mirror', mnt, user=u, workdir=workdir, args=['mirror', src, mnt])
    try:
        res = H.run_as_user(u, ['sh', '-c', 'echo hi > "$1/f" && cat "$1/f"', 'sh', mnt])
        assert res.rc == 0 and res.out == 'hi\n', res
        st = os.stat(os.path.join(src, 'f'))
        assert st.st_uid == u.uid
    finally:
        m.cleanup()


# ---------------------------------------------------------------------------- escapes

def test_symlinks_are_returned_as_stored(mirror):
    m, src = mirror
    os.symlink('/etc/passwd', os.path.join(src, 'abs'))
    os.symlink('../../../../../../etc/passwd', os.path.join(src, 'rel'))
    assert os.readlink(m.p('abs')) == '/etc/passwd'
    assert os.readlink(m.p('rel')) == '../../../../../../etc/passwd'
    assert stat.S_ISLNK(os.lstat(m.p('abs')).st_mode)
    # mirror does not follow them itself: changing the link changes the link
    before = os.stat('/etc/passwd')
    os.utime(m.p('abs'), ns=(10**9, 2 * 10**9), follow_symlinks=False)
    assert os.lstat(os.path.join(src, 'abs')).st_mtime_ns == 2 * 10**9
    assert os.stat('/etc/passwd').st_mtime_ns == before.st_mtime_ns
    os.chown(m.p('abs'), 65534, 65534, follow_symlinks=False)
    assert os.lstat(os.path.join(src, 'abs')).st_uid == 65534
    assert os.stat('/etc/passwd').st_uid == before.st_uid


def test_dotdot_stays_inside(mirror):
    m, src = mirror
    os.makedirs(os.path.join(src, 'a', 'b'))
    root_ino = os.stat(m.path).st_ino
    assert root_ino == os.stat(src).st_ino
    assert sorted(os.listdir(m.p('a', 'b', '..', '..'))) == ['a']
    fd = os.open(m.p('a', 'b'), os.O_RDONLY | os.O_DIRECTORY)
    try:
        dev = os.fstat(fd).st_dev
        for _ in range(2):
            up = os.open('..', os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = up
            assert os.fstat(fd).st_dev == dev
        assert os.fstat(fd).st_ino == root_ino
    finally:
        os.close(fd)


def test_dotdot_walk_while_renaming(mirror):
    """Walk `..` up from a deep directory while directories are moved around, in the
    mount and behind it (also out of SOURCE and back): every directory the walk sees
    on the mount is one of SOURCE's, and the walk ends at the mount's root."""
    m, src = mirror
    os.makedirs(os.path.join(src, 'a', 'b', 'c', 'd'))
    os.makedirs(os.path.join(src, 'x'))
    outside = os.path.join(m.workdir, 'outside')
    os.makedirs(outside)
    inside_inos = set()
    for dirpath, dirnames, _ in os.walk(src):
        inside_inos.add(os.stat(dirpath).st_ino)
    outside_ino = os.stat(outside).st_ino
    root = os.stat(m.path)
    stop = threading.Event()
    errors = []

    def renamer():
        i = 0
        while not stop.is_set():
            i += 1
            try:
                if i % 2:
                    os.rename(m.p('a', 'b'), m.p('x', 'b'))
                    os.rename(m.p('x', 'b'), m.p('a', 'b'))
                else:
                    os.rename(os.path.join(src, 'a', 'b'), os.path.join(outside, 'b'))
                    os.rename(os.path.join(outside, 'b'), os.path.join(src, 'a', 'b'))
            except OSError as e:
                if e.errno not in (errno.ENOENT,):
                    errors.append(e)

    t = threading.Thread(target=renamer)
    t.start()
    walks = 0
    try:
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            for start in (m.p('a', 'b', 'c', 'd'), m.p('x', 'b', 'c', 'd')):
                try:
                    fd = os.open(start, os.O_RDONLY | os.O_DIRECTORY)
                except OSError:
                    continue
                try:
                    for _ in range(10):
                        st = os.fstat(fd)
                        if st.st_dev != root.st_dev:
                            break           # walked off the mount at its root: normal VFS
                        assert st.st_ino != outside_ino, 'reached a directory outside SOURCE'
                        assert st.st_ino in inside_inos, 'unknown directory %d' % st.st_ino
                        try:
                            up = os.open('..', os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
                        except FileNotFoundError:
                            break           # the directory was moved out from under us
                        os.close(fd)
                        fd = up
                    walks += 1
                finally:
                    os.close(fd)
    finally:
        stop.set()
        t.join()
    assert not errors, errors
    assert walks > 0


# ---------------------------------------------------------------------------- behind the mount

def wait_for(what, check, seconds=3.0):
    """check() becomes true within `seconds` (the cache timeouts are 1 s)."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, '%s: not seen within %.0f s' % (what, seconds)
        time.sleep(0.1)


def test_source_changes_become_visible(mirror):
    m, src = mirror
    write_file(m.p('f'), b'old')
    assert read_file(m.p('f')) == b'old'
    os.stat(m.p('f'))
    assert not os.path.exists(m.p('g'))                        # the kernel may cache this
    write_file(os.path.join(src, 'f'), b'new contents')        # behind the mount
    write_file(os.path.join(src, 'g'), b'a new file')
    wait_for('a new name in a listing', lambda: 'g' in os.listdir(m.path))
    wait_for('a new file', lambda: os.path.exists(m.p('g')))
    assert read_file(m.p('g')) == b'a new file'
    wait_for('new contents', lambda: os.stat(m.p('f')).st_size == 12 and
             read_file(m.p('f')) == b'new contents')
    os.unlink(os.path.join(src, 'g'))
    wait_for('a removal', lambda: not os.path.exists(m.p('g')))
    wait_for('a removal from a listing', lambda: 'g' not in os.listdir(m.path))


def test_zero_timeouts_show_source_changes_at_once(workdir):
    m, src = mount_mirror(workdir, '--attr-timeout', '0', '--entry-timeout', '0',
                          '--negative-timeout', '0')
    try:
        assert not os.path.exists(m.p('g'))
        assert os.listdir(m.path) == []
        write_file(os.path.join(src, 'g'), b'now')
        assert os.listdir(m.path) == ['g']
        assert read_file(m.p('g')) == b'now'
        write_file(os.path.join(src, 'g'), b'at once')
        assert os.stat(m.p('g')).st_size == 7
        os.unlink(os.path.join(src, 'g'))
        assert not os.path.exists(m.p('g'))
    finally:
        m.cleanup()


def test_source_errors_pass_through(mirror):
    m, src = mirror
    os.mkdir(os.path.join(src, 'd'))
    write_file(os.path.join(src, 'd', 'f'), b'')
    expect_errno(errno.ENOTEMPTY, os.rmdir, m.p('d'))
    expect_errno(errno.EEXIST, os.mkdir, m.p('d'))
    expect_errno(errno.ENOTDIR, os.listdir, m.p('d', 'f'))


def test_source_enospc_and_erofs(workdir):
    """A small tmpfs as SOURCE: its ENOSPC, and EROFS once it is read-only, reach the
    caller unchanged."""
    src = H.mirror_source(workdir)
    os.makedirs(src)
    H.check(H.run(['mount', '-t', 'tmpfs', '-o', 'size=1m,mode=0755', 'umfstest-src', src]))
    try:
        m, _ = mount_mirror(workdir)
        try:
            def fill():
                with open(m.p('big'), 'wb') as f:
                    for _ in range(64):
                        f.write(b'x' * 65536)
                    f.flush()
                    os.fsync(f.fileno())
            expect_errno(errno.ENOSPC, fill)
            os.unlink(m.p('big'))
            # The space comes back when the last descriptor of the file closes in the
            # source: mirror's, at the RELEASE that close(2) sends without waiting.
            wait_for('the space of a removed file',
                     lambda: os.statvfs(src).f_bfree * os.statvfs(src).f_frsize >= 512 * 1024)
            write_file(m.p('small'), b'ok')
            H.check(H.run(['mount', '-o', 'remount,ro', src]))
            expect_errno(errno.EROFS, write_file, m.p('new'), b'')
            expect_errno(errno.EROFS, os.mkdir, m.p('d'))
            expect_errno(errno.EROFS, os.unlink, m.p('small'))
            expect_errno(errno.EROFS, os.open, m.p('small'), os.O_WRONLY)
            assert read_file(m.p('small')) == b'ok'
        finally:
            m.cleanup()
    finally:
        H.run(['umount', src])


# ---------------------------------------------------------------------------- integrity

def _writer(path, index, chunk, rounds, seed):
    rnd = random.Random(seed)
    fd = os.open(path, os.O_WRONLY)
    try:
        for r in range(rounds):
            data = rnd.randbytes(chunk)
            os.pwrite(fd, data, index * chunk)
            if r % 4 == 0:
                os.fsync(fd)
        os.fsync(fd)
    finally:
        os.close(fd)
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize('passthrough', [True, False], ids=['passthrough', 'no-passthrough'])
def test_concurrent_writers_match_source(workdir, passthrough):
    extra = [] if passthrough else ['--no-passthrough']
    m, src = mount_mirror(workdir, *extra)
    writers, chunk, rounds = 6, 256 * 1024 + 13, 12
    path = m.p('data')
    write_file(path, b'\0' * (writers * chunk))
    results = [None] * writers

    def run(i):
        results[i] = H.in_child(_writer, path, i, chunk, rounds, 1000 + i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    through = read_file(path)
    direct = read_file(os.path.join(src, 'data'))
    assert len(direct) == writers * chunk
    assert hashlib.sha256(through).hexdigest() == hashlib.sha256(direct).hexdigest()
    for i in range(writers):
        assert hashlib.sha256(direct[i * chunk:(i + 1) * chunk]).hexdigest() == results[i], i
    m.cleanup()


@pytest.mark.parametrize('passthrough', [True, False], ids=['passthrough', 'no-passthrough'])
def test_passthrough_log_and_io(workdir, passthrough):
    extra = [] if passthrough else ['--no-passthrough']
    m, src = mount_mirror(workdir, *extra, foreground=True)
    data = os.urandom(3 * 1024 * 1024 + 5)
    write_file(m.p('f'), data)
    assert read_file(os.path.join(src, 'f')) == data
    import mmap
    with open(m.p('f'), 'r+b') as f:
        mm = mmap.mmap(f.fileno(), 0)
        assert mm[:100] == data[:100]
        mm[0:4] = b'MMAP'
        mm.flush()
        mm.close()
    assert read_file(os.path.join(src, 'f'))[:4] == b'MMAP'
    text = m.stderr_text()
    m.cleanup()
    if not passthrough:
        assert 'passthrough off' in text, text
    else:
        assert 'kernel passthrough I/O' in text or 'kernel passthrough not available' in text, text


def test_readers_and_writers_share_a_file(mirror_backing):
    """With passthrough the kernel wants one backing file per inode: a writer that
    comes after a reader, and readers after a writer, all see the same data."""
    m, src = mirror_backing
    write_file(os.path.join(src, 'f'), b'old contents')
    r = os.open(m.p('f'), os.O_RDONLY)
    try:
        assert os.pread(r, 100, 0) == b'old contents'
        w = os.open(m.p('f'), os.O_WRONLY)
        try:
            os.pwrite(w, b'new', 0)
            assert os.pread(r, 100, 0) == b'new contents'
            r2 = os.open(m.p('f'), os.O_RDONLY)
            assert os.pread(r2, 100, 0) == b'new contents'
            os.close(r2)
        finally:
            os.close(w)
    finally:
        os.close(r)
    assert read_file(os.path.join(src, 'f')) == b'new contents'


def test_a_program_written_through_the_mount_runs_from_the_source(mirror_backing):
    """Once its writer has closed it, nothing mirror holds keeps write access to a
    file: a program written through the mount runs from SOURCE at once, also while
    a reader has it open through the mount (a source file open for writing would
    refuse to run: ETXTBSY)."""
    m, src = mirror_backing
    write_file(m.p('tool'), b'#!/bin/sh\necho ran\n', mode=0o755)
    with open(m.p('tool'), 'rb') as reader:
        assert reader.read(2) == b'#!'
        res = H.run([os.path.join(src, 'tool')])
        assert (res.rc, res.out) == (0, 'ran\n'), res
        res = H.run([m.p('tool')])
        assert (res.rc, res.out) == (0, 'ran\n'), res
    with open(m.p('tool'), 'r+b'):
        expect_errno(errno.ETXTBSY, subprocess.run, [os.path.join(src, 'tool')])


# ---------------------------------------------------------------------------- bad input

def _one_line(res):
    lines = H.error_lines(res.err)
    assert len(lines) == 1, res.err
    return lines[0]


def test_bad_sources(workdir, umfs_bin):
    mnt = os.path.join(workdir, 'mnt')
    os.mkdir(mnt)
    write_file(os.path.join(workdir, 'file'), b'')
    src = os.path.join(workdir, 'src')
    os.mkdir(src)
    os.mkdir(os.path.join(src, 'inner'))
    cases = [
        ([os.path.join(workdir, 'missing'), mnt], 'missing'),
        ([os.path.join(workdir, 'file'), mnt], 'not a directory'),
        ([mnt, mnt], 'same'),
        ([src, os.path.join(src, 'inner')], 'inside'),
        ([workdir, mnt], 'inside'),
    ]
    for args, what in cases:
        res = H.umfs('mount', 'mirror', *args)
        assert res.rc == H.EXIT_USAGE, (args, res)
        line = _one_line(res)
        assert line.startswith('umfs: mirror:'), line
        assert not H.is_mounted(args[1])
    res = H.umfs('mount', 'mirror', mnt)
    assert res.rc == H.EXIT_USAGE, res
    res = H.umfs('mount', 'memfs', mnt, '--no-impersonate')
    assert res.rc == H.EXIT_USAGE, res
    assert not H.is_mounted(mnt)


def test_impersonation_without_the_right_refuses_to_start(workdir, umfs_bin):
    """Root without CAP_SETUID/CAP_SETGID cannot act as its callers: rather than serve
    every caller with root's rights, mirror refuses to start, and says what to do."""
    mnt = os.path.join(workdir, 'mnt')
    src = os.path.join(workdir, 'src')
    os.mkdir(mnt)
    os.mkdir(src)
    drop = ['setpriv', '--inh-caps=-setuid,-setgid', '--bounding-set=-setuid,-setgid']
    res = H.run(drop + [H.UMFS, 'mount', 'mirror', src, mnt])
    assert res.rc != 0, res
    assert '--no-impersonate' in _one_line(res)
    assert not H.is_mounted(mnt)
    H.check(H.run(drop + [H.UMFS, 'mount', 'mirror', src, mnt, '--no-impersonate']))
    try:
        assert H.is_mounted(mnt)
        write_file(os.path.join(mnt, 'f'), b'x')
        assert read_file(os.path.join(src, 'f')) == b'x'
    finally:
        H.check(H.umfs("unmount", mnt))
