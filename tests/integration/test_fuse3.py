"""libumfs-fuse3: libfuse's own examples, built unmodified against libfuse and against
umfs-fuse3 (tests/fuse3/meson.build), run side by side through the same checks.

Every test takes `variant` ('libfuse' or 'umfs'): the check is the same, only the
library under the example changes. The POSIX suite runs on the passthrough examples
too (the fuse3-* kinds in umfs_helpers.FS_KINDS).
"""

import contextlib
import errno
import fcntl
import json
import os
import select
import shutil
import signal
import stat
import struct
import subprocess
import sys
import threading
import time

import pytest

import umfs_helpers as H

pytestmark = pytest.mark.fuse_only

EXAMPLES = '/usr/share/doc/libfuse3-dev/examples'
VARIANTS = ['libfuse', 'umfs']


def example(variant, name):
    path = H.fuse3_example(name, variant)
    if not os.access(path, os.X_OK):
        if variant == 'libfuse':
            pytest.skip('libfuse build of %s missing (libfuse3-dev not installed?)' % name)
        pytest.fail('%s not built (tests/fuse3/meson.build needs %s)' % (path, EXAMPLES))
    return path


@pytest.fixture(params=VARIANTS)
def variant(request):
    return request.param


class Running:
    """An example program serving a mount in the foreground (-f)."""

    def __init__(self, argv, mnt, workdir, env=None):
        self.mnt = mnt
        self.log = os.path.join(workdir, 'example.log')
        with open(self.log, 'wb') as f:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=f, stderr=f,
                                         start_new_session=True,
                                         env=dict(H.fuse3_env(), **(env or {})))
        H.wait_for(lambda: H.is_mounted(mnt) or self.proc.poll() is not None)
        if not H.is_mounted(mnt):
            self.stop()
            pytest.fail('%s did not mount (exit %r): %s' % (argv[0], self.proc.poll(), self.output()))

    def output(self):
        with open(self.log, errors='replace') as f:
            return f.read()

    def stop(self):
        """Unmount the normal way; returns the program's exit status."""
        if H.is_mounted(self.mnt):
            H.run(['fusermount3', '-u', self.mnt], timeout=60)
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            H.force_unmount(self.mnt)
            self.proc.kill()
            self.proc.wait()
            pytest.fail('the example did not end after unmount')


@pytest.fixture
def serve(workdir):
    """serve(variant, name, *options, mnt=None, env=None) -> Running; stopped after the
    test. env: variables added to the program's environment."""
    started = []

    def start(variant, name, *options, mnt=None, env=None):
        mnt = mnt or os.path.join(workdir, 'mnt')
        if not os.path.exists(mnt):
            os.mkdir(mnt)
        r = Running([example(variant, name), '-f'] + list(options) + [mnt], mnt, workdir, env)
        started.append(r)
        return r

    yield start
    for r in started:
        if r.proc.poll() is None:
            r.stop()
        if H.is_mounted(r.mnt):
            H.force_unmount(r.mnt)


def stopped_cleanly(r):
    rc = r.stop()
    assert rc == 0, 'exit %d: %s' % (rc, r.output())
    assert not H.is_mounted(r.mnt)


# ------------------------------------------------------------------------------------
# The hello file systems (high level and low level)

@pytest.mark.parametrize('name', ['hello', 'hello_ll'])
def test_hello(serve, variant, name):
    r = serve(variant, name)
    # the program's name is the default subtype
    assert H.mount_entry(r.mnt).fstype == 'fuse.%s-%s' % (variant, name)
    assert os.listdir(r.mnt) == ['hello']
    st = os.stat(os.path.join(r.mnt, 'hello'))
    assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o444
    assert st.st_size == 13
    with open(os.path.join(r.mnt, 'hello'), 'rb') as f:
        assert f.read() == b'Hello World!\n'
    with pytest.raises(OSError) as e:
        os.open(os.path.join(r.mnt, 'hello'), os.O_WRONLY)
    assert e.value.errno == errno.EACCES
    with pytest.raises(FileNotFoundError):
        os.stat(os.path.join(r.mnt, 'nothere'))
    stopped_cleanly(r)
    # a normal run prints nothing of umfs's own (its notes only with -d); libfuse 3.14
    # prints one line of its own here (max threads), which umfs-fuse3 has no cause for
    assert 'umfs' not in r.output()


def test_null_on_a_file(serve, variant, workdir):
    target = os.path.join(workdir, 'file')
    H.write_file(target, b'')
    r = serve(variant, 'null', mnt=target)
    st = os.stat(target)
    assert stat.S_ISREG(st.st_mode) and st.st_size == 1 << 32
    with open(target, 'rb') as f:
        f.seek(12345)
        assert f.read(4096) == b'\0' * 4096
    with open(target, 'r+b') as f:
        assert f.write(b'x' * 1000) == 1000
    stopped_cleanly(r)


# ------------------------------------------------------------------------------------
# The passthrough file systems: a quick round of real programs (the POSIX suite runs
# on them too, as fuse3-* kinds)

def passthrough(serve, variant, name, workdir):
    src = os.path.join(workdir, 'src')
    os.mkdir(src)
    if name == 'passthrough_ll':
        r = serve(variant, name, '-o', 'source=%s,xattr' % src)
        return r, r.mnt, src
    r = serve(variant, name)          # these show the whole root
    return r, r.mnt + src, src


@pytest.mark.parametrize('name', ['passthrough', 'passthrough_fh', 'passthrough_ll'])
def test_passthrough_programs(serve, variant, name, workdir):
    r, top, src = passthrough(serve, variant, name, workdir)
    data = os.urandom(300000)
    H.write_file(os.path.join(top, 'a'), data)
    assert H.read_file(os.path.join(src, 'a')) == data
    os.mkdir(os.path.join(top, 'd'))
    os.rename(os.path.join(top, 'a'), os.path.join(top, 'd', 'b'))
    assert os.listdir(os.path.join(src, 'd')) == ['b']
    os.symlink('b', os.path.join(top, 'd', 'l'))
    assert os.readlink(os.path.join(top, 'd', 'l')) == 'b'
    os.link(os.path.join(top, 'd', 'b'), os.path.join(top, 'h'))
    assert os.stat(os.path.join(src, 'h')).st_nlink == 2
    # tar and cp through the mount, compared with the source
    res = H.run(['tar', '-C', top, '-cf', os.path.join(workdir, 'x.tar'), 'd'])
    assert res.rc == 0, res.err
    res = H.run(['cp', '-a', os.path.join(top, 'd'), os.path.join(top, 'e')])
    assert res.rc == 0, res.err
    assert H.read_file(os.path.join(src, 'e', 'b')) == data
    many = ['f%03d' % i for i in range(300)]
    for n in many:
        H.write_file(os.path.join(top, 'e', n), n.encode())
    assert sorted(os.listdir(os.path.join(top, 'e'))) == sorted(many + ['b', 'l'])
    os.setxattr(os.path.join(top, 'h'), 'user.k', b'v')
    assert os.getxattr(os.path.join(src, 'h'), 'user.k') == b'v'
    shutil.rmtree(os.path.join(top, 'e'))
    assert not os.path.exists(os.path.join(src, 'e'))
    stopped_cleanly(r)


@pytest.mark.parametrize('name', ['passthrough', 'passthrough_ll'])
def test_listing_every_name_length(serve, variant, name, workdir):
    """Directory entries of every name length from 1 to 255 (each alignment of the
    entries the program packs with fuse_add_direntry(_plus)) come out whole, in
    listings larger than one reply, plain and plus."""
    r, top, src = passthrough(serve, variant, name, workdir)
    names = set()
    for n in range(1, 256):
        nm = ''.join(chr(ord('a') + (n + i) % 26) for i in range(n))
        names.add(nm)
        H.write_file(os.path.join(src, nm), b'')
    for _ in range(2):  # the kernel asks for plus entries first, then plain ones
        assert set(os.listdir(top)) == names
    res = H.run(['ls', '-l', top])
    assert res.rc == 0 and len(res.out.splitlines()) == 256, res.err
    stopped_cleanly(r)


@pytest.mark.parametrize('name', ['passthrough', 'passthrough_fh', 'passthrough_ll'])
def test_unlinked_while_open(serve, variant, name, workdir):
    """An open file keeps its data after unlink. The path-based ones (libfuse's
    semantics) park it under a .fuse_hidden name until the last close."""
    r, top, src = passthrough(serve, variant, name, workdir)
    p = os.path.join(top, 'f')
    H.write_file(p, b'still here')
    fd = os.open(p, os.O_RDWR)
    try:
        os.unlink(p)
        assert not os.path.exists(p)
        hidden = [n for n in os.listdir(src) if n.startswith('.fuse_hidden')]
        assert len(hidden) == (0 if name == 'passthrough_ll' else 1)
        assert os.pread(fd, 100, 0) == b'still here'
        os.pwrite(fd, b'STILL', 0)
        assert os.pread(fd, 100, 0) == b'STILL here'
    finally:
        os.close(fd)
    assert H.wait_for(lambda: os.listdir(src) == [], 10), os.listdir(src)
    stopped_cleanly(r)


def test_rename_over_open_file(serve, variant, workdir):
    r, top, src = passthrough(serve, variant, 'passthrough_fh', workdir)
    H.write_file(os.path.join(top, 'old'), b'old data')
    H.write_file(os.path.join(top, 'new'), b'new data')
    fd = os.open(os.path.join(top, 'old'), os.O_RDONLY)
    try:
        os.rename(os.path.join(top, 'new'), os.path.join(top, 'old'))
        assert H.read_file(os.path.join(top, 'old')) == b'new data'
        assert os.pread(fd, 100, 0) == b'old data'
    finally:
        os.close(fd)
    assert H.wait_for(lambda: os.listdir(src) == ['old'], 10), os.listdir(src)
    stopped_cleanly(r)


def test_rename_races_path_operations(serve, variant, workdir):
    """libfuse's tree locks: a path-based operation and a rename of a directory on its
    path never interleave, so operations below a directory renamed back and forth all
    succeed (without the locks, a path built before a rename is used after it and the
    program's lstat finds nothing)."""
    r, top, src = passthrough(serve, variant, 'passthrough', workdir)  # timeouts 0
    os.makedirs(os.path.join(src, 'a', 'b'))
    H.write_file(os.path.join(src, 'a', 'b', 'c'), b'content')
    fd_a = os.open(os.path.join(top, 'a'), os.O_RDONLY | os.O_DIRECTORY)
    fd_b = os.open(os.path.join(top, 'a', 'b'), os.O_RDONLY | os.O_DIRECTORY)
    done = threading.Event()
    renames = [0]
    failures = []

    def renamer():
        a, x = os.path.join(top, 'a'), os.path.join(top, 'x')
        try:
            while not done.is_set():
                os.rename(a, x)
                os.rename(x, a)
                renames[0] += 1
        except OSError as e:
            failures.append('rename: %r' % e)

    t = threading.Thread(target=renamer)
    t.start()
    try:
        for _ in range(2000):
            try:
                # LOOKUPs (entry timeout 0) and a GETATTR below the renamed directory
                os.stat('c', dir_fd=fd_b)
                os.stat('b', dir_fd=fd_a)
                fd = os.open('c', os.O_RDONLY, dir_fd=fd_b)
                try:
                    if os.read(fd, 100) != b'content':
                        failures.append('wrong content')
                finally:
                    os.close(fd)
            except OSError as e:
                failures.append(repr(e))
    finally:
        done.set()
        t.join(60)
        os.close(fd_a)
        os.close(fd_b)
    assert not t.is_alive(), 'the renames did not end'
    assert renames[0] > 0
    assert failures == [], '%d failures, first %s (%d renames)' % (
        len(failures), failures[:3], renames[0])
    stopped_cleanly(r)


@pytest.mark.parametrize('single', [False, True])
def test_replies_from_other_threads(serve, variant, single):
    """tests/fuse3/async_ll.c answers every request from a thread of its own, after
    its callback returned (libumfs's deferred replies underneath)."""
    size = 3 * 1024 * 1024 + 123
    r = serve(variant, 'async_ll', '-o', 'size=%d' % size, *(['-s'] if single else []))
    assert os.listdir(r.mnt) == ['slow']
    p = os.path.join(r.mnt, 'slow')
    assert os.stat(p).st_size == size
    want = bytes(ord('a') + i % 26 for i in range(size))
    assert H.read_file(p) == want
    # several readers at once, each request deferred
    res = H.run(['sh', '-c', 'for i in 1 2 3 4 5 6; do cat "$1" > /dev/null & done; wait', 'sh', p])
    assert res.rc == 0, res.err
    with pytest.raises(FileNotFoundError):
        os.stat(os.path.join(r.mnt, 'missing'))
    stopped_cleanly(r)


def read_at_once(mnt, names, gate=None):
    """Read the files `names` of tests/fuse3/gate.c (mounted at gate, default mnt)
    through mnt, each from a thread of its own, all at once; returns the contents read
    and the gate's peak of reads inside."""
    got = {}

    def read(name):
        got[name] = H.read_file(os.path.join(mnt, name))

    threads = [threading.Thread(target=read, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open(os.path.join(gate or mnt, 'peak')) as f:
        return got, int(f.read())


@pytest.mark.parametrize('poll', ['default', 'off'])
def test_blocking_callbacks_run_side_by_side(serve, variant, poll):
    """Callbacks that block (tests/fuse3/gate.c: each read waits for the others, as a
    network file system's wait for their server) must not queue behind each other:
    fuse_main's multi-threaded loop runs up to 10 of them at once on libfuse, so eight
    reads are in the file system together, on any number of CPUs. On umfs, also with
    busy polling off (UMFS_POLL_US=0: its watcher then only looks after reserves)."""
    env = {'GATE': '8'}
    if poll == 'off':
        env['UMFS_POLL_US'] = '0'
    r = serve(variant, 'gate', env=env)
    names = [str(i) for i in range(8)]
    got, peak = read_at_once(r.mnt, names)
    assert peak == 8
    assert all(got[n][:len(n) + 1] == (n + '\n').encode() for n in names)
    stopped_cleanly(r)


def test_max_threads_bounds_the_callbacks_at_once(serve, variant):
    """-o max_threads=3: never more than three callbacks at once, however many wait (the
    gate wants four, so the first three wait for their deadline)."""
    r = serve(variant, 'gate', '-o', 'max_threads=3', env={'GATE': '4', 'GATE_DEADLINE': '2'})
    got, peak = read_at_once(r.mnt, [str(i) for i in range(5)])
    assert peak == 3
    assert len(got) == 5
    stopped_cleanly(r)


@pytest.mark.parametrize('max_threads', [None, 8])
def test_native_reserve_workers(serve, workdir, max_threads):
    """libumfs's own file systems get reserve workers with umfs --max-threads: a mirror
    (its reads through its workers, not kernel passthrough) of a slow source (gate.c,
    whose reads wait for each other) passes eight reads to it at once; its fixed pool
    of one worker, one at a time."""
    env = {'GATE': '8', 'GATE_DEADLINE': '1'}
    g = serve('umfs', 'gate', mnt=os.path.join(workdir, 'gate'), env=env)
    mnt = os.path.join(workdir, 'mirror')
    os.mkdir(mnt)
    extra = ['--max-threads', str(max_threads)] if max_threads else []
    m = H.umfs_mount('mirror', mnt, '--no-uring', '--no-passthrough', '--threads', '1',
                     *extra, args=['mirror', g.mnt, mnt])
    try:
        names = [str(i) for i in range(max_threads or 2)]
        got, peak = read_at_once(mnt, names, gate=g.mnt)
        assert peak == (max_threads or 1)
        assert all(got[n][:len(n) + 1] == (n + '\n').encode() for n in names)
    finally:
        H.check(m.unmount())
    stopped_cleanly(g)


# A reader that a signal stops: prints what its read of the file gave.
INTERRUPTED_READER = r"""
import os, signal, sys
class Stop(Exception):
    pass
def stop(sig, frame):
    raise Stop()
signal.signal(signal.SIGUSR1, stop)
fd = os.open(sys.argv[1], os.O_RDONLY)
try:
    print('data', os.read(fd, 4096).decode().strip(), flush=True)
except Stop:
    print('interrupted', flush=True)
"""


def test_interrupt_func(serve, variant):
    """tests/fuse3/intr_ll.c: a read registers fuse_req_interrupt_func() and waits; a
    signal to the reader makes the kernel send INTERRUPT, which must call the function
    registered earlier (the read then answers EINTR). Also: fuse_session_fd()."""
    r = serve(variant, 'intr_ll')
    state = os.path.join(r.mnt, 'state')
    # fuse_session_fd() is the /dev/fuse descriptor (a character device)
    assert H.read_file(state) == b'waiting 0 calls 0 fd 1\n'
    reader = subprocess.Popen([sys.executable, '-c', INTERRUPTED_READER,
                               os.path.join(r.mnt, 'wait')],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert H.wait_for(lambda: H.read_file(state).startswith(b'waiting 1'), 10), \
            H.read_file(state)
        reader.send_signal(signal.SIGUSR1)
        out, err = reader.communicate(timeout=60)
    finally:
        if reader.poll() is None:
            reader.kill()
            reader.wait()
    assert out.strip() == 'interrupted', (out, err)
    assert H.read_file(state) == b'waiting 0 calls 1 fd 1\n'
    stopped_cleanly(r)


def background_limits(mnt):
    """The kernel's max_background and congestion_threshold for the mount at mnt."""
    conn = H.fuse_connection_dir(mnt)  # mounts fusectl if need be
    assert conn and os.path.isdir(conn), ('no fusectl directory for', mnt, conn)
    values = []
    for name in ('max_background', 'congestion_threshold'):
        with open(os.path.join(conn, name)) as f:
            values.append(f.read().strip())
    return tuple(values)


def test_init_limits(serve, variant):
    """tests/fuse3/limits_ll.c sets max_write, max_readahead, max_background and
    congestion_threshold in init: the kernel's connection shows them, and a 1 MiB
    write arrives in requests of at most 64 KiB."""
    r = serve(variant, 'limits_ll')
    dev = os.stat(r.mnt).st_dev
    assert background_limits(r.mnt) == ('7', '5')
    with open('/sys/class/bdi/%d:%d/read_ahead_kb' % (os.major(dev), os.minor(dev))) as f:
        assert f.read().strip() == '64'
    fd = os.open(os.path.join(r.mnt, 'data'), os.O_WRONLY)
    try:
        assert os.write(fd, b'x' * (1024 * 1024)) == 1024 * 1024
    finally:
        os.close(fd)
    assert H.read_file(os.path.join(r.mnt, 'seen')) == \
        b'largest write 65536\ninit max_background 0 congestion_threshold 0\n'
    stopped_cleanly(r)


def test_default_background_limits(serve, variant):
    """A program that leaves max_background and congestion_threshold alone (limits_ll
    with LIMITS_KEEP=1) finds them 0 in init, as on libfuse, and the kernel keeps its
    own defaults (12 and 9): how many readahead and writeback requests are in flight at
    once is the program's choice, not the library's."""
    r = serve(variant, 'limits_ll', env={'LIMITS_KEEP': '1'})
    assert background_limits(r.mnt) == ('12', '9')
    assert H.read_file(os.path.join(r.mnt, 'seen')) == \
        b'largest write 0\ninit max_background 0 congestion_threshold 0\n'
    stopped_cleanly(r)


def test_listing_replies(serve, variant):
    """tests/fuse3/dirents_ll.c lays out its own readdir replies with
    fuse_add_direntry: 3000 entries of names of many lengths list whole and in order,
    a reply at a time; a name too long for the kernel or holding '/' fails the
    listing with EIO; an entry cut off at the end of a reply is left out, the
    entries before it listed."""
    r = serve(variant, 'dirents_ll')
    expected = ['e%d-%s' % (i, 'x' * (1 + i % 40)) for i in range(3000)]
    assert os.listdir(os.path.join(r.mnt, 'many')) == expected
    for name in ('long', 'slash'):
        with pytest.raises(OSError) as e:
            os.listdir(os.path.join(r.mnt, name))
        assert e.value.errno == errno.EIO, name
    assert os.listdir(os.path.join(r.mnt, 'cut')) == ['a']
    stopped_cleanly(r)


def file_handle(path):
    """name_to_handle_at(2): the kernel's (node id, generation) of a FUSE file."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)

    class FileHandle(ctypes.Structure):
        _fields_ = [('handle_bytes', ctypes.c_uint), ('handle_type', ctypes.c_int),
                    ('f_handle', ctypes.c_uint32 * 32)]
    fh = FileHandle(handle_bytes=128)
    mount_id = ctypes.c_int()
    if libc.name_to_handle_at(-100, path.encode(), ctypes.byref(fh),
                              ctypes.byref(mount_id), 0) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), path)
    # fs/fuse/inode.c, fuse_encode_fh: node id (high, low word), then generation
    assert fh.handle_bytes >= 12, fh.handle_bytes
    return (fh.f_handle[0] << 32) | fh.f_handle[1], fh.f_handle[2]


def test_node_ids_and_generations(serve, variant):
    """tests/fuse3/nodeids_ll.c: a program's inode numbers and generations are the
    kernel's node ids and generations, from lookup and readdirplus alike, and every
    reference the program handed out comes back through forget once the kernel drops
    its inodes."""
    r = serve(variant, 'nodeids_ll')
    base, gen = 0x123400000000, 7000
    assert file_handle(os.path.join(r.mnt, 'f3')) == (base + 3, gen + 3)  # lookup
    assert os.stat(r.mnt).st_size == 1
    names = os.listdir(r.mnt)  # readdirplus: every entry a reference
    assert names == ['f%d' % i for i in range(50)]
    assert os.stat(r.mnt).st_size == 51
    # the readdirplus entries' nodes, without another lookup (cached for 60 s)
    for i in (0, 17, 49):
        assert file_handle(os.path.join(r.mnt, 'f%d' % i)) == (base + i, gen + i)
    assert os.stat(r.mnt).st_size == 51
    H.write_file('/proc/sys/vm/drop_caches', b'2')
    assert H.wait_for(lambda: os.stat(r.mnt).st_size == 0), os.stat(r.mnt).st_size
    assert 'unknown inode' not in r.output()
    stopped_cleanly(r)


def test_overfilled_readdirplus_reply(serve, variant):
    """A program whose readdirplus reply holds more than the kernel asked for
    (nodeids_ll.c with NODEIDS_OVERFILL=1: twice as much, 1000 files): libfuse writes
    it as it is and the kernel refuses it, so the listing fails with EIO and the
    references of those entries are never given back; umfs-fuse3 sends the whole
    entries that fit, gives the others back through forget, and the listing
    completes. Either way nothing stays counted that the kernel does not hold, on
    umfs."""
    r = serve(variant, 'nodeids_ll', env={'NODEIDS_OVERFILL': '1'})
    if variant == 'libfuse':
        with pytest.raises(OSError) as e:
            os.listdir(r.mnt)
        assert e.value.errno == errno.EIO
        stopped_cleanly(r)
        return
    assert os.listdir(r.mnt) == ['f%d' % i for i in range(1000)]
    assert os.stat(r.mnt).st_size == 1000  # one reference an entry, no more
    H.write_file('/proc/sys/vm/drop_caches', b'2')
    assert H.wait_for(lambda: os.stat(r.mnt).st_size == 0), os.stat(r.mnt).st_size
    assert 'unknown inode' not in r.output()
    stopped_cleanly(r)


def test_file_identities_are_not_reused(serve, variant, workdir):
    """The high-level layer's nodes: a file created, looked up, deleted and forgotten
    over and over never gets the (node id, generation) of an earlier one, which the
    kernel takes as the file's identity (file handles, name_to_handle_at)."""
    r, top, src = passthrough(serve, variant, 'passthrough', workdir)
    seen = set()
    for i in range(30):
        path = os.path.join(top, 'f')
        H.write_file(path, b'x')
        ident = file_handle(path)
        assert ident not in seen, (i, ident)
        seen.add(ident)
        os.unlink(path)
        H.write_file('/proc/sys/vm/drop_caches', b'2')  # the kernel forgets the node
    stopped_cleanly(r)


# ------------------------------------------------------------------------------------
# ioctl and poll

def test_ioctl(serve, variant):
    r = serve(variant, 'ioctl')
    client = H.fuse3_example_client('ioctl_client')
    f = os.path.join(r.mnt, 'fioc')
    res = H.run([client, f])
    assert res.rc == 0 and res.out.strip() == '0', (res.out, res.err)
    res = H.run([client, f, '4096'])
    assert res.rc == 0, res.err
    res = H.run([client, f])
    assert res.out.strip() == '4096'
    # and directly: FIOC_GET_SIZE is _IOR('E', 0, size_t)
    fd = os.open(f, os.O_RDONLY)
    try:
        buf = fcntl.ioctl(fd, (2 << 30) | (8 << 16) | (ord('E') << 8) | 0, b'\0' * 8)
        assert struct.unpack('Q', buf)[0] == 4096
        with pytest.raises(OSError) as e:
            fcntl.ioctl(fd, (ord('E') << 8) | 77)
        assert e.value.errno in (errno.EINVAL, errno.ENOTTY)
    finally:
        os.close(fd)
    stopped_cleanly(r)


def test_poll(serve, variant):
    r = serve(variant, 'poll')
    res = H.run([H.fuse3_example_client('poll_client')], cwd=r.mnt, timeout=60)
    assert res.rc == 0, res.err
    lines = res.out.splitlines()
    assert len(lines) == 16
    # every select() returned something ready, and what was ready could be read
    assert all(any(c != '_' for c in line.replace(':', '').split()) for line in lines)
    # select on a file with nothing to read waits for poll's notification
    fd = os.open(os.path.join(r.mnt, '0'), os.O_RDONLY)
    try:
        ready, _, _ = select.select([fd], [], [], 30)
        assert ready == [fd]
        assert len(os.read(fd, 4096)) > 0
    finally:
        os.close(fd)
    stopped_cleanly(r)


# ------------------------------------------------------------------------------------
# Notifications: the kernel's cache follows the file system's changes

def read_twice(path, wait):
    first = H.read_file(path)
    deadline = time.time() + wait
    while time.time() < deadline:
        time.sleep(0.3)
        second = H.read_file(path)
        if second != first:
            return first, second
    return first, H.read_file(path)


@pytest.mark.parametrize('name', ['notify_inval_inode', 'notify_store_retrieve'])
def test_notify_inode(serve, variant, name):
    r = serve(variant, name, '--update-interval=1')
    p = os.path.join(r.mnt, 'current_time')
    first, second = read_twice(p, 10)
    assert first.startswith(b'The current time is ')
    assert second != first                  # the cached page was invalidated / stored
    # notify_store_retrieve asserts, at exit, that a retrieve came back with the data
    stopped_cleanly(r)


@pytest.mark.parametrize('only_expire', [False, True])
def test_notify_inval_entry(serve, variant, only_expire):
    opts = ['--update-interval=1', '--timeout=30'] + (['--only-expire'] if only_expire else [])
    r = serve(variant, 'notify_inval_entry', *opts)
    first = os.listdir(r.mnt)
    assert len(first) == 1 and first[0].startswith('Time_is_')
    os.stat(os.path.join(r.mnt, first[0]))   # now in the kernel's cache for 30 s
    assert H.wait_for(lambda: os.listdir(r.mnt) != first, 10)
    # the old name was dropped from the cache although its timeout has not passed
    assert H.wait_for(lambda: not os.path.exists(os.path.join(r.mnt, first[0])), 10)
    stopped_cleanly(r)


def test_invalidate_path(serve, variant):
    r = serve(variant, 'invalidate_path', '--update-interval=1')
    first, second = read_twice(os.path.join(r.mnt, 'current_time'), 10)
    assert second != first
    g = os.path.join(r.mnt, 'growing')
    size = os.stat(g).st_size
    assert H.wait_for(lambda: os.stat(g).st_size > size, 10)
    stopped_cleanly(r)


# ------------------------------------------------------------------------------------
# The library's command line and capabilities

def test_printcap(variant, workdir):
    res = H.run([example(variant, 'printcap')], cwd=workdir, timeout=60)
    assert res.rc == 0, res.err
    assert 'Protocol version: 7.' in res.out
    caps = [l.strip() for l in res.out.splitlines() if l.startswith('\tFUSE_CAP_')]
    for cap in ('FUSE_CAP_ASYNC_READ', 'FUSE_CAP_POSIX_LOCKS', 'FUSE_CAP_FLOCK_LOCKS',
                'FUSE_CAP_READDIRPLUS', 'FUSE_CAP_WRITEBACK_CACHE'):
        assert cap in caps
    assert not H.mounts_under('/tmp/fuse_printcap_')


def test_command_line(variant, workdir):
    ex = example(variant, 'hello')
    res = H.run([ex, '--help'])
    assert res.rc == 0 and '-o ' in res.out + res.err
    res = H.run([ex, '-V'])
    assert res.rc == 0 and 'FUSE library version' in res.out
    mnt = os.path.join(workdir, 'mnt')
    os.mkdir(mnt)
    res = H.run([ex, '-f', '-o', 'no_such_option', mnt], timeout=60)
    assert res.rc != 0 and 'no_such_option' in res.err
    res = H.run([ex], timeout=60)
    assert res.rc != 0
    assert not H.is_mounted(mnt)
    # -s (single-threaded) and -o options reach the mount
    r = Running([ex, '-f', '-s', '-o', 'fsname=hellofs,ro,noexec', mnt], mnt, workdir)
    e = H.mount_entry(mnt)
    assert e.source == 'hellofs' and 'ro' in e.options
    assert e.fstype == 'fuse'              # fsname= turns off the default subtype
    assert os.listdir(mnt) == ['hello']
    stopped_cleanly(r)
    # -d: the requests, and on umfs its own notes too (how it reads /dev/fuse)
    r = Running([ex, '-f', '-d', mnt], mnt, workdir)
    assert os.listdir(mnt) == ['hello']
    stopped_cleanly(r)
    assert 'INIT' in r.output()
    if variant == 'umfs':
        assert 'umfs: transport: ' in r.output()


def test_log_function(serve, variant):
    """A program's fuse_set_log_func gets the library's messages too: on umfs its -d
    notes and request traces, each through the function (LOG_PREFIX, ll_main.h)."""
    r = serve(variant, 'limits_ll', '-d', env={'LOG_PREFIX': 'LOG'})
    assert H.read_file(os.path.join(r.mnt, 'seen')).startswith(b'largest write')
    stopped_cleanly(r)
    lines = r.output().splitlines()
    assert any(l.startswith('LOG') and 'INIT' in l for l in lines), r.output()
    if variant == 'umfs':
        assert any(l.startswith('LOG6: umfs: transport: ') for l in lines), r.output()
        assert not [l for l in lines if l.startswith('umfs:')], r.output()


def test_daemonized(variant, workdir):
    """Without -f the example returns once mounted and serves in the background."""
    ex = example(variant, 'hello_ll')
    mnt = os.path.join(workdir, 'mnt')
    os.mkdir(mnt)
    res = H.run([ex, mnt], timeout=60)
    assert res.rc == 0, res.err
    try:
        assert H.wait_mounted(mnt)
        assert H.read_file(os.path.join(mnt, 'hello')) == b'Hello World!\n'
    finally:
        H.run(['fusermount3', '-u', mnt])
    assert H.wait_unmounted(mnt)
    assert H.wait_for(lambda: not H.pids_mentioning(mnt), 10)


# ------------------------------------------------------------------------------------
# Building against umfs-fuse3

def compiler_flags():
    """Flags a program needs to link with this build (sanitizers of an asan build)."""
    info = os.path.join(H.BUILD, 'meson-info', 'intro-buildoptions.json')
    with open(info) as f:
        opts = {o['name']: o['value'] for o in json.load(f)}
    san = opts.get('b_sanitize', 'none')
    return [] if san in ('none', '') else ['-fsanitize=' + san]


def pkg_config(*args):
    env = H.base_env({'PKG_CONFIG_PATH': os.path.join(H.BUILD, 'meson-uninstalled')})
    res = subprocess.run(['pkg-config'] + list(args), capture_output=True, text=True, env=env)
    assert res.returncode == 0, res.stderr
    return res.stdout.split()


def test_pkg_config_build(workdir):
    """What a user types: gcc hello.c $(pkg-config --cflags --libs umfs-fuse3)."""
    exe = os.path.join(workdir, 'hello')
    argv = (['gcc', '-o', exe, os.path.join(EXAMPLES, 'hello.c')] + compiler_flags()
            + pkg_config('--cflags', '--libs', 'umfs-fuse3'))
    res = H.run(argv)
    assert res.rc == 0, res.err
    # it links libumfs-fuse3, not libfuse3
    env = H.base_env({'LD_LIBRARY_PATH': os.path.join(H.BUILD, 'lib', 'fuse3')})
    ldd = H.run(['ldd', exe], env=env)
    assert 'libumfs-fuse3.so' in ldd.out and 'libfuse3' not in ldd.out
    mnt = os.path.join(workdir, 'mnt')
    os.mkdir(mnt)
    res = H.run([exe, mnt], env=env)
    assert res.rc == 0, res.err
    try:
        assert H.wait_mounted(mnt)
        assert H.read_file(os.path.join(mnt, 'hello')) == b'Hello World!\n'
    finally:
        H.run(['fusermount3', '-u', mnt])
    assert H.wait_for(lambda: not H.pids_mentioning(mnt), 10)


VERSIONS = list(range(30, 40)) + list(range(310, 315))
PROBE = r'''
#include <fuse.h>
#include <fuse_lowlevel.h>
#include <fuse_opt.h>
static int g(const char *p, struct stat *st, struct fuse_file_info *fi) { return -ENOENT; }
static void lk(fuse_req_t req, fuse_ino_t p, const char *n) { fuse_reply_err(req, ENOENT); }
static const struct fuse_operations hl = { .getattr = g };
static const struct fuse_lowlevel_ops ll = { .lookup = lk };
int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts o;
	struct fuse_session *se;
	if (fuse_parse_cmdline(&args, &o) != 0)
		return 1;
	se = fuse_session_new(&args, &ll, sizeof(ll), NULL);
	if (argc > 5) {
#if FUSE_USE_VERSION < 32
		fuse_session_loop_mt(se, 0);
#elif FUSE_USE_VERSION < 312
		struct fuse_loop_config c = { .clone_fd = 0, .max_idle_threads = 10 };
		fuse_session_loop_mt(se, &c);
#else
		struct fuse_loop_config *c = fuse_loop_cfg_create();
		fuse_session_loop_mt(se, c);
#endif
		fuse_new(&args, &hl, sizeof(hl), NULL);
		struct fuse_conn_info_opts *co = fuse_parse_conn_info_opts(&args);
		struct fuse_conn_info ci = { 0 };
		fuse_apply_conn_info_opts(co, &ci);
		struct fuse_fs *fs = fuse_fs_new(&hl, sizeof(hl), NULL);
		struct stat st;
		fuse_fs_getattr(fs, "/", &st, NULL);
		fuse_fs_lseek(fs, "/", 0, SEEK_SET, NULL);
		fuse_fs_destroy(fs);
	}
	fuse_session_destroy(se);
	return fuse_main(argc, argv, &hl, NULL);
}
'''


def test_every_api_version_builds(workdir):
    src = os.path.join(workdir, 'probe.c')
    with open(src, 'w') as f:
        f.write('#include <errno.h>\n' + PROBE)
    flags = pkg_config('--cflags', 'umfs-fuse3')
    for v in VERSIONS:
        res = H.run(['gcc', '-Wall', '-Werror', '-fsyntax-only', '-DFUSE_USE_VERSION=%d' % v,
                     src] + flags)
        assert res.rc == 0, 'FUSE_USE_VERSION=%d: %s' % (v, res.err)
    res = H.run(['gcc', '-fsyntax-only', '-DFUSE_USE_VERSION=29', src] + flags)
    assert res.rc != 0 and 'FUSE_USE_VERSION' in res.err


def test_own_loop_is_refused(workdir):
    """A program that reads /dev/fuse itself cannot run on umfs: its build says why."""
    src = os.path.join(workdir, 'l.c')
    with open(src, 'w') as f:
        f.write('#define FUSE_USE_VERSION 34\n#include <fuse_lowlevel.h>\n'
                'int f(struct fuse_session *se, struct fuse_buf *b)\n'
                '{ return fuse_session_receive_buf(se, b); }\n')
    res = H.run(['gcc', '-c', '-o', os.path.join(workdir, 'l.o'), src]
                + pkg_config('--cflags', 'umfs-fuse3'))
    assert res.rc != 0 and 'owns the /dev/fuse loop' in res.err


def test_cuse_is_refused(workdir):
    src = os.path.join(workdir, 'c.c')
    with open(src, 'w') as f:
        f.write('#define FUSE_USE_VERSION 31\n#include <cuse_lowlevel.h>\n')
    res = H.run(['gcc', '-fsyntax-only', src] + pkg_config('--cflags', 'umfs-fuse3'))
    assert res.rc != 0 and 'CUSE' in res.err


# ------------------------------------------------------------------------------------
# Binary compatibility: libfuse3.so.3 (lib/fuse3/abi) runs programs built against
# libfuse, unchanged, through LD_LIBRARY_PATH

ABI_DIR = os.path.join(H.BUILD, 'lib', 'fuse3', 'abi')
DEBIAN_LIBFUSE = '/lib/x86_64-linux-gnu/libfuse3.so.3'


def exported(lib):
    out = subprocess.run(['objdump', '-T', lib], capture_output=True, text=True, check=True).stdout
    syms = set()
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 7 and f[3] != '*UND*' and f[-1].startswith(('fuse_', 'cuse_')):
            syms.add((f[-2].strip('()'), f[-1]))
    return syms


def test_abi_symbols_match_libfuse():
    if not os.path.exists(DEBIAN_LIBFUSE):
        pytest.skip('Debian\'s libfuse3.so.3 is not installed')
    ours = exported(os.path.join(ABI_DIR, 'libfuse3.so.3'))
    theirs = exported(DEBIAN_LIBFUSE)
    assert theirs - ours == set(), 'missing: %s' % sorted(theirs - ours)
    assert ours - theirs == set(), 'extra: %s' % sorted(ours - theirs)


@contextlib.contextmanager
def libfuse_binary(argv, mnt, workdir, env):
    """Running(argv, ...) for a program built against libfuse, served by umfs-fuse3's
    libfuse3.so.3 (env: variables added to the program's environment); unmounted after,
    and it must exit 0."""
    r = Running(argv, mnt, workdir, dict(env, LD_LIBRARY_PATH=ABI_DIR))
    try:
        yield r
    except BaseException:
        r.stop()
        raise
    stopped_cleanly(r)


@pytest.mark.parametrize('name', ['hello', 'hello_ll', 'passthrough_ll'])
def test_libfuse_binaries_run_on_umfs(workdir, name):
    exe = example('libfuse', name)
    env = dict(H.fuse3_env(), LD_LIBRARY_PATH=ABI_DIR)
    ldd = H.run(['ldd', exe], env=env)
    assert os.path.join(ABI_DIR, 'libfuse3.so.3') in ldd.out, ldd.out
    mnt = os.path.join(workdir, 'mnt')
    os.mkdir(mnt)
    src = os.path.join(workdir, 'src')
    os.mkdir(src)
    args = ['-o', 'source=' + src] if name == 'passthrough_ll' else []
    with libfuse_binary([exe, '-f'] + args + [mnt], mnt, workdir, {}):
        # served by umfs: the version it reports is umfs-fuse3's
        res = H.run([exe, '-V'], env=env)
        assert 'umfs' in res.out
        if name == 'passthrough_ll':
            H.write_file(os.path.join(mnt, 'x'), b'through umfs')
            assert H.read_file(os.path.join(src, 'x')) == b'through umfs'
            assert os.listdir(mnt) == ['x']
        else:
            assert H.read_file(os.path.join(mnt, 'hello')) == b'Hello World!\n'


SFTP_SERVER = '/usr/lib/openssh/sftp-server'


def test_debian_sshfs_runs_on_umfs(workdir):
    """Debian's sshfs binary, built against libfuse, serves a real SFTP session (the
    OpenSSH sftp-server, started directly instead of through ssh) with umfs-fuse3's
    libfuse3.so.3 in place of libfuse's: tar, diff, mv and rm work through it."""
    if not (shutil.which('sshfs') and os.access(SFTP_SERVER, os.X_OK)):
        pytest.skip('sshfs or openssh-sftp-server not installed (scripts/install-deps.sh)')
    src, mnt = os.path.join(workdir, 'remote'), os.path.join(workdir, 'mnt')
    os.mkdir(src)
    os.mkdir(mnt)
    ssh = os.path.join(workdir, 'ssh')  # sshfs runs it as "ssh [options] host -s sftp"
    H.write_file(ssh, ('#!/bin/sh\nexec %s\n' % SFTP_SERVER).encode(), mode=0o755)
    env = {}
    sanitizers = [l.split()[2] for l in H.run(['ldd', os.path.join(ABI_DIR, 'libfuse3.so.3')]).out
                  .splitlines() if 'san.so' in l]
    if sanitizers:
        # an asan build of the library in a program built without: its runtime first,
        # and no leak report on exit (sshfs's own allocations are not ours to judge)
        env['LD_PRELOAD'] = ':'.join(sanitizers)
        env['ASAN_OPTIONS'] = H.fuse3_env().get('ASAN_OPTIONS', '') + ':detect_leaks=0'
    argv = ['sshfs', '-f', '-o', 'ssh_command=' + ssh, 'localhost:' + src, mnt]
    with libfuse_binary(argv, mnt, workdir, env) as r:
        with open('/proc/%d/maps' % r.proc.pid) as f:
            assert os.path.join(ABI_DIR, 'libfuse3.so.3') in f.read()
        tree = os.path.join(H.REPO, 'lib')
        res = H.run('tar -C %s -cf - . | tar -C %s -xf -' % (tree, mnt), shell=True)
        assert res.rc == 0, res.err
        res = H.run(['diff', '-r', tree, src])
        assert res.rc == 0, res.out
        os.rename(os.path.join(mnt, 'pool.c'), os.path.join(mnt, 'renamed.c'))
        assert H.read_file(os.path.join(src, 'renamed.c')) == \
            H.read_file(os.path.join(tree, 'pool.c'))
        res = H.run(['rm', '-r', os.path.join(mnt, 'fuse3')])
        assert res.rc == 0 and not os.path.exists(os.path.join(src, 'fuse3')), res.err
    assert 'umfs' not in r.output()
