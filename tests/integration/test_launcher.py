# SPDX-License-Identifier: MIT
"""umfsd and umfsctl: a real umfsd on a temporary socket and state directory, real
unprivileged users (created here with useradd), real mounts.

Users: umfsl-a and umfsl-c are in group umfsl, umfsl-b is not. Each test starts its
own umfsd with the service files it needs, and stops it afterwards (a clean stop must
leave no mount and no process behind, which every test checks on the way out).
"""

import concurrent.futures
import json
import os
import signal
import socket
import stat
import struct
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import umfs_helpers as H  # noqa: E402

UMFSD = os.path.join(H.BUILD, 'launcher', 'umfsd')
UMFSCTL = os.path.join(H.BUILD, 'launcher', 'umfsctl')
GROUP = 'umfsl'
USERS = {'umfsl-a': True, 'umfsl-b': False, 'umfsl-c': True}  # name -> in GROUP

pytestmark = pytest.mark.fuse_only

# umfsctl's exit codes
OK, FAIL, USAGE, UNREACHABLE, PERM = range(5)


# ------------------------------------------------------------------------- fixtures

def _ensure_group(name):
    res = H.run(['groupadd', '--system', '-f', name])
    assert res.rc == 0, res.err


def _ensure_user(name, in_group):
    try:
        H.user_by_name(name)
    except KeyError:
        res = H.run(['useradd', '--system', '--user-group', '--no-create-home',
                     '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', name])
        assert res.rc in (0, 9), res.err
    if in_group:
        H.run(['usermod', '-aG', GROUP, name])
    return H.user_by_name(name)


def _let_others_reach(path):
    """Give others search permission on every directory above `path` that lacks it,
    and return what to put back. umfsd runs instances as the test users, who must be
    able to execute the build's `umfs`; a checkout under a private directory (mktemp
    -d makes one 0700) would otherwise refuse them."""
    changed = []
    d = os.path.dirname(os.path.abspath(path))
    while True:
        mode = stat.S_IMODE(os.stat(d).st_mode)
        if not mode & stat.S_IXOTH:
            os.chmod(d, mode | stat.S_IXOTH)
            changed.append((d, mode))
        if d == '/':
            return changed
        d = os.path.dirname(d)


@pytest.fixture(scope='module')
def users():
    for exe in (UMFSD, UMFSCTL):
        if not os.access(exe, os.X_OK):
            pytest.fail('%s is not built' % exe)
    _ensure_group(GROUP)
    changed = _let_others_reach(H.UMFS)
    try:
        yield {name: _ensure_user(name, g) for name, g in USERS.items()}
    finally:
        for d, mode in reversed(changed):
            os.chmod(d, mode)


class Launcher:
    """One umfsd with its own socket, service, state and log directories."""

    def __init__(self, root):
        self.root = root
        self.svc = os.path.join(root, 'services')
        self.state = os.path.join(root, 'state')
        self.logs = os.path.join(root, 'logs')
        self.sock = os.path.join(root, 'state', 'launcher.sock')
        self.err = os.path.join(root, 'umfsd.err')
        os.makedirs(self.svc, exist_ok=True)
        self.proc = None

    def service(self, name, text):
        with open(os.path.join(self.svc, name + '.conf'), 'w') as f:
            f.write(text)

    def start(self):
        self.errf = open(self.err, 'ab')
        self.proc = subprocess.Popen([UMFSD, '--stderr', '-s', self.sock, '-c', self.svc,
                                      '-S', self.state, '-l', self.logs],
                                     stdin=subprocess.DEVNULL, stdout=self.errf,
                                     stderr=self.errf, start_new_session=True)
        assert H.wait_for(lambda: os.path.exists(self.sock) or self.proc.poll() is not None), \
            'umfsd did not create its socket'
        assert self.proc.poll() is None, 'umfsd exited: %s' % self.stderr()
        # The socket exists once bound; it answers once listening (a list proves it).
        assert H.wait_for(lambda: self.ctl('list').rc == OK)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=120)
        rc = self.proc.returncode if self.proc else 0
        self.proc = None
        self.errf.close()
        return rc

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=60)
        self.proc = None
        self.errf.close()

    def stderr(self):
        with open(self.err, errors='replace') as f:
            return f.read()

    def ctl(self, *args, user=None, input=None, cwd=None):
        return H.run([UMFSCTL, '-s', self.sock] + [str(a) for a in args], user=user,
                     input=input, cwd=cwd)

    def ok(self, *args, **kw):
        res = self.ctl(*args, **kw)
        assert res.rc == OK, 'umfsctl %s: rc %d: %s%s' % (args, res.rc, res.out, res.err)
        return res

    def info(self, svc, inst, user=None):
        return json.loads(self.ok('info', '--json', svc, inst, user=user).out)

    def listing(self, user=None):
        return json.loads(self.ok('list', '--json', user=user).out)

    def pid(self):
        return self.proc.pid


def fuse_mounts_under(d):
    """FUSE file systems mounted under d (umfsd's own fusectl in its state directory
    is not one)."""
    return [e for e in H.mounts_under(d) if e.fstype == 'fuse' or e.fstype.startswith('fuse.')]


def user_dir(parent, name, owner, mode=0o755):
    d = os.path.join(parent, name)
    os.mkdir(d)
    os.chown(d, owner.uid, owner.gid)
    os.chmod(d, mode)
    return d


def script(parent, name, body):
    path = os.path.join(parent, name)
    with open(path, 'w') as f:
        f.write(body)
    os.chmod(path, 0o755)
    return path


def ram_service(allow='@%s:start,stop,info' % GROUP, extra=''):
    return ('[service]\n'
            'executable   = %s\n'
            'command-line = mount memfs %%2 -f --max-nodes 65536 --max-size 64M --fsname ram:%%1\n'
            'run-as       = caller            # the caller runs its own file system\n'
            '%s'
            'job-control  = yes\n'
            'stop-timeout = 10s\n%s') % (H.UMFS, ('allow = %s\n' % allow) if allow else '', extra)


def processes_of(text):
    """pids of instance processes: umfs serving a handed-over /dev/fd/N (text
    '/dev/fd/3'), or anything whose command line mentions text (a test directory)."""
    out = []
    for p in os.listdir('/proc'):
        if p.isdigit():
            try:
                with open('/proc/%s/cmdline' % p, 'rb') as f:
                    args = f.read().split(b'\0')
            except OSError:
                continue
            if text == '/dev/fd/3':
                if args[0] == H.UMFS.encode() and b'/dev/fd/3' in args:
                    out.append(int(p))
            elif any(text.encode() in a for a in args):
                out.append(int(p))
    return out


def proc_uid(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('Uid:'):
                return int(line.split()[1])


def cmdline(pid):
    with open('/proc/%d/cmdline' % pid, 'rb') as f:
        return f.read().split(b'\0')[:-1]


@pytest.fixture
def launcher(workdir, users):
    os.chmod(workdir, 0o755)
    la = Launcher(os.path.join(workdir, 'launcher'))
    yield la
    if la.proc:
        assert la.stop() == 0, la.stderr()
    # A clean stop leaves nothing: no mount, no instance process.
    left = H.mounts_under(workdir)
    for e in reversed(left):
        H.force_unmount(e.target)
    procs = processes_of('/dev/fd/3') + processes_of(workdir)
    H.kill_pids(procs)
    assert not left, 'mounts left: %s' % [e.target for e in left]
    assert not procs, 'processes left: %s' % procs


# ------------------------------------------------------------------------- basics

def test_help_and_usage(launcher):
    for exe in (UMFSD, UMFSCTL):
        res = H.run([exe, '--help'])
        assert res.rc == 0 and 'Usage' in res.out
    res = H.run([UMFSCTL, 'frobnicate'])
    assert res.rc == USAGE and res.err.count('\n') == 1
    res = H.run([UMFSCTL, '-s', os.path.join(launcher.root, 'nothing'), 'list'])
    assert res.rc == UNREACHABLE and 'cannot reach umfsd' in res.err


def test_user_starts_uses_and_stops_own_instance(launcher, users, workdir):
    a, b = users['umfsl-a'], users['umfsl-b']
    launcher.service('ram', ram_service())
    launcher.start()
    mp = user_dir(workdir, 'mp', a)
    res = launcher.ok('start', 'ram', 'scratch', mp, user=a)
    assert 'started ram/scratch' in res.out
    e = H.mount_entry(mp)
    assert e and e.fstype == 'fuse.ram', e
    assert 'user_id=%d' % a.uid in H.proc_mounts_text()
    info = launcher.info('ram', 'scratch', user=a)
    assert info['state'] == 'running' and info['owner'] == a.name and info['mountpoint'] == mp
    # The file system runs as the caller, on the descriptor umfsd mounted.
    assert proc_uid(info['pid']) == a.uid
    assert cmdline(info['pid'])[1:4] == [b'mount', b'memfs', b'/dev/fd/3']
    # A real program on the mount, as the owner.
    H.check(H.run(['sh', '-c', 'echo hello > %s/f && cp /etc/services %s/ && cmp /etc/services %s/services'
                   % (mp, mp, mp)], user=a))
    # b has no right at all: sees nothing, may not stop it.
    assert launcher.listing(user=b) == []
    assert launcher.ctl('info', 'ram', 'scratch', user=b).rc == FAIL
    assert launcher.ctl('stop', 'ram', 'scratch', user=b).rc == FAIL
    assert H.is_mounted(mp)
    rows = launcher.listing(user=a)
    assert [(r['service'], r['instance'], r['state']) for r in rows] == [('ram', 'scratch', 'running')]
    res = launcher.ok('stop', 'ram', 'scratch', user=a)
    # stop returns once the instance has exited and its mount is gone, and says how.
    assert 'exited with status 0' in res.out, res.out
    assert not H.is_mounted(mp)
    assert not H.pid_alive(info['pid'])
    assert launcher.info('ram', 'scratch', user=a)['state'] == 'exited'
    log = launcher.ok('log', 'ram', 'scratch', user=a).out
    assert 'umfsd: starting' in log
    assert 'started ram/scratch' in launcher.stderr() and 'stop ram/scratch' in launcher.stderr()


def test_each_right_allowed_and_refused(launcher, users, workdir):
    a, b, c = users['umfsl-a'], users['umfsl-b'], users['umfsl-c']
    # group members start; b may only look; c may also stop others' instances.
    launcher.service('ram', ram_service(allow='@%s:start umfsl-b:info umfsl-c:stop,info' % GROUP))
    launcher.service('rootonly', ram_service(allow=None))
    launcher.start()
    mp_a, mp_b, mp_c = (user_dir(workdir, n, u) for n, u in (('a', a), ('b', b), ('c', c)))
    # start
    assert launcher.ctl('start', 'ram', 'x', mp_b, user=b).rc == PERM
    assert 'may not start' in launcher.ctl('start', 'ram', 'x', mp_b, user=b).err
    launcher.ok('start', 'ram', 'ia', mp_a, user=a)
    launcher.ok('start', 'ram', 'ic', mp_c, user=c)
    # info: b (info right) and c see both; a sees its own only (owner, no info right)
    assert sorted(r['instance'] for r in launcher.listing(user=b)) == ['ia', 'ic']
    assert sorted(r['instance'] for r in launcher.listing(user=a)) == ['ia']
    assert launcher.info('ram', 'ia', user=b)['owner'] == a.name
    assert launcher.ctl('info', 'ram', 'ic', user=a).rc == FAIL
    assert launcher.ctl('log', 'ram', 'ic', user=a).rc == FAIL
    assert 'umfsd: starting' in launcher.ok('log', 'ram', 'ic', user=b).out
    # stop: b may see but not stop (refused, said so); a may not stop c's; c may stop a's
    res = launcher.ctl('stop', 'ram', 'ic', user=b)
    assert res.rc == PERM and 'may not stop' in res.err
    assert launcher.ctl('stop', 'ram', 'ic', user=a).rc == FAIL
    assert H.is_mounted(mp_c)
    launcher.ok('stop', 'ram', 'ia', user=c)
    assert not H.is_mounted(mp_a)
    # the owner may always stop its own, whatever the list says of stop
    launcher.ok('stop', 'ram', 'ic', user=c)
    # no allow list: root only
    assert launcher.ctl('start', 'rootonly', 'r', mp_a, user=a).rc == PERM
    launcher.ok('start', 'rootonly', 'r', mp_a)
    assert launcher.ctl('info', 'rootonly', 'r', user=a).rc == FAIL
    launcher.ok('stop', 'rootonly', 'r')
    assert 'refused: umfsl-b' in launcher.stderr()


# ------------------------------------------------------------------------- privilege boundary

def test_privilege_boundary(launcher, users, workdir):
    a, b = users['umfsl-a'], users['umfsl-b']
    launcher.service('ram', ram_service(
        extra='mount-options = default_permissions,fsname=%3\ncommand-line = mount memfs %2 -f --fsname %3\n'))
    launcher.service('opts', ram_service(
        extra='command-line = mount memfs %2 -f %3\noptions = %3\n'))
    launcher.start()
    own = user_dir(workdir, 'own', a)
    roots = user_dir(workdir, 'roots', H.user_by_name('root'))
    others = user_dir(workdir, 'others', b)
    sticky = user_dir(workdir, 'sticky', H.user_by_name('root'), mode=0o1777)
    writable = user_dir(workdir, 'writable', b, mode=0o777)
    os.symlink(roots, os.path.join(own, 'link'))

    def refused(*args, why):
        res = launcher.ctl('start', *args, user=a)
        assert res.rc != OK, 'start %s was allowed' % (args,)
        assert why in res.err, res.err
        assert res.err.count('\n') == 1

    # mount points a could not mount on by itself
    refused('ram', 'i1', roots, 'n', why='you may not mount there')
    refused('ram', 'i2', others, 'n', why='you may not mount there')
    refused('ram', 'i3', sticky, 'n', why='you may not mount there')
    refused('ram', 'i4', os.path.join(own, 'link'), 'n', why='you may not mount there')
    refused('ram', 'i5', '/root', 'n', why='mount point')
    refused('ram', 'i5', os.path.join(own, 'missing'), 'n', why='No such file')
    # arguments that would be options, commas that would add mount options,
    # control characters, the wrong number of arguments
    refused('ram', 'i6', own, '-oallow_other', why="starts with '-'")
    refused('ram', 'i6', '--debug', 'n', why="starts with '-'")
    refused('ram', 'i7', own, 'x,allow_other', why="','")
    refused('ram', 'i8', own, 'a\nb', why='control character')
    refused('ram', 'i9', own, why='takes 2 arguments')
    refused('ram', 'i9', own, 'n', 'extra', why='takes 2 arguments')
    assert fuse_mounts_under(workdir) == []
    # allowed: a directory a may write to (fusermount3's rule), and a relative path
    launcher.ok('start', 'ram', 'w', writable, 'fs-w', user=a)
    assert H.mount_entry(writable).fstype == 'fuse.ram'
    launcher.ok('start', 'ram', 'rel', 'own', 'fs-rel', user=a, cwd=workdir)
    assert H.mount_entry(own).source == 'fs-rel'
    # the run-as user is always the caller: the processes are a's, never root's
    for inst in ('w', 'rel'):
        assert proc_uid(launcher.info('ram', inst, user=a)['pid']) == a.uid
    # not on top of a FUSE mount (here: its own running instance)
    refused('ram', 'again', writable, 'n', why='already mounted there')
    launcher.ok('stop', 'ram', 'w', user=a)
    launcher.ok('stop', 'ram', 'rel', user=a)
    # where the service expects an option, a leading '-' is fine
    launcher.ok('start', 'opts', 'o', own, '--single-threaded', user=a)
    launcher.ok('stop', 'opts', 'o', user=a)
    # names that are not names never reach the service
    res = launcher.ctl('start', 'ram', '../x', own, 'n', user=a)
    assert res.rc == USAGE


def test_start_waits_until_serving_and_reports_an_early_end(launcher, users, workdir):
    a = users['umfsl-a']
    launcher.service('ram', ram_service(extra='restart = on-failure\n'))
    launcher.service('bad', ram_service(
        extra='command-line = mount memfs %2 -f --no-such-option\nrestart = on-failure\n'))
    launcher.start()
    mp = user_dir(workdir, 'mp', a)
    launcher.ok('start', 'ram', 'r', mp, user=a)
    # The reply came after the file system answered the kernel: nothing is waiting.
    conn = H.fuse_connection_dir(mp)
    with open(os.path.join(conn, 'waiting')) as f:
        assert f.read().strip() == '0'
    launcher.ok('stop', 'ram', 'r', user=a)
    res = launcher.ctl('start', 'bad', 'b', mp, user=a)
    assert res.rc == FAIL and 'exited with status 2 before serving' in res.err, res.err
    assert res.err.count('\n') == 1
    # No restart loop after a failed start, no mount left, the reason in its log.
    assert launcher.info('bad', 'b', user=a)['state'] == 'failed'
    assert not H.is_mounted(mp)
    assert "unknown option '--no-such-option'" in launcher.ok('log', 'bad', 'b', user=a).out


def test_run_as_a_named_user_or_root(launcher, users, workdir):
    a, b = users['umfsl-a'], users['umfsl-b']
    launcher.service('asb', ram_service().replace('run-as       = caller', 'run-as = umfsl-b'))
    launcher.service('asroot', ram_service().replace('run-as       = caller', 'run-as = root'))
    launcher.start()
    mp1, mp2 = user_dir(workdir, 'm1', a), user_dir(workdir, 'm2', a)
    launcher.ok('start', 'asb', 'x', mp1, user=a)
    info = launcher.info('asb', 'x', user=a)
    assert proc_uid(info['pid']) == b.uid and info['run-as'] == b.name
    assert 'user_id=%d,' % b.uid in [l for l in H.proc_mounts_text().splitlines() if mp1 in l][0]
    launcher.ok('start', 'asroot', 'y', mp2, user=a)
    assert proc_uid(launcher.info('asroot', 'y', user=a)['pid']) == 0
    # the mount point was still checked as the caller: not a directory of root's
    res = launcher.ctl('start', 'asroot', 'z', workdir, user=a)
    assert res.rc == PERM
    launcher.ok('stop', 'asb', 'x', user=a)
    launcher.ok('stop', 'asroot', 'y', user=a)


def test_arguments_are_argv_elements_never_a_shell(launcher, users, workdir):
    a = users['umfsl-a']
    dump = script(workdir, 'dump.py', '#!/usr/bin/python3\n'
                  'import sys, signal, time\n'
                  'print(repr(sys.argv[1:]), file=sys.stderr, flush=True)\n'
                  'signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))\n'
                  'while True: time.sleep(60)\n')
    launcher.service('dump', '[service]\nexecutable = %s\ncommand-line = %%1 x%%2y %%3\n'
                     'mount-point = none\nrun-as = caller\nallow = @%s:all\n' % (dump, GROUP))
    launcher.start()
    marker = os.path.join(workdir, 'pwned')
    evil = ['a b; touch %s' % marker, '$(touch %s) `id`' % marker]
    launcher.ok('start', 'dump', 'd', *evil, user=a)
    info = launcher.info('dump', 'd', user=a)
    assert cmdline(info['pid'])[2:] == [b'd', ('x%sy' % evil[0]).encode(), evil[1].encode()]
    assert proc_uid(info['pid']) == a.uid
    assert H.wait_for(lambda: 'x' in launcher.ok('log', 'dump', 'd', user=a).out.split('\n', 1)[-1])
    launcher.ok('stop', 'dump', 'd', user=a)
    assert not os.path.exists(marker)


def test_a_stopped_file_system_of_the_caller_cannot_hang_umfsd(launcher, users, workdir):
    """A user may SIGSTOP its own file system; paths through it then never resolve.
    umfsd walks such paths only in children it gives up on, and keeps serving."""
    a = users['umfsl-a']
    launcher.service('ram', ram_service())
    launcher.start()
    outer = user_dir(workdir, 'outer', a)
    launcher.ok('start', 'ram', 'outer', outer, user=a)
    H.check(H.run(['mkdir', os.path.join(outer, 'inner')], user=a))
    launcher.ok('start', 'ram', 'inner', os.path.join(outer, 'inner'), user=a)
    outer_pid = launcher.info('ram', 'outer', user=a)['pid']
    os.kill(outer_pid, signal.SIGSTOP)
    try:
        # a name never looked up: its lookup goes to the stopped server
        res = launcher.ctl('start', 'ram', 'inner2', os.path.join(outer, 'never-seen'), user=a)
        assert res.rc == FAIL and 'did not resolve in time' in res.err, res.err
        res = launcher.ok('stop', 'ram', 'inner', user=a)
        assert 'its mount could not be removed' in res.out, res.out
        assert launcher.ctl('list').rc == OK
    finally:
        os.kill(outer_pid, signal.SIGCONT)
    # Once the outer file system is gone, so is what was mounted inside it.
    launcher.ok('stop', 'ram', 'outer', user=a)
    assert fuse_mounts_under(workdir) == []


# ------------------------------------------------------------------------- concurrency

def test_50_concurrent_requests_leak_nothing(launcher, users, workdir):
    a, c = users['umfsl-a'], users['umfsl-c']
    root = H.user_by_name('root')
    launcher.service('ram', ram_service())
    launcher.start()
    def fds():
        """umfsd's descriptors other than sockets (fd number -> what it is)."""
        d = '/proc/%d/fd' % launcher.pid()
        links = {f: os.readlink(os.path.join(d, f)) for f in os.listdir(d)}
        return {f: l for f, l in links.items() if not l.startswith('socket:')}

    def connections():
        """Accepted connections still open on umfsd's socket (from /proc/net/unix)."""
        with open('/proc/net/unix') as f:
            return [l for l in f.read().splitlines()[1:]
                    if l.split()[-1] == launcher.sock and l.split()[5] == '03']
    fds_before = fds()
    owners = (a, c, None)   # None: root, no setpriv
    jobs = []
    for i in range(50):
        u = owners[i % 3]
        jobs.append((u, 'i%d' % i, user_dir(workdir, 'm%d' % i, u or root)))
    first, second = jobs[:25], jobs[25:]

    def start(job):
        u, name, mp = job
        return ('start', job, launcher.ctl('start', 'ram', name, mp, user=u))

    def stop(job):
        u, name, mp = job
        return ('stop', job, launcher.ctl('stop', 'ram', name, user=u))

    def ok(results):
        bad = [(what, job[1], r.rc, r.out, r.err) for what, job, r in results
               if r.rc != OK or (what == 'stop' and 'exited with status 0' not in r.out)]
        assert not bad, bad

    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        ok(list(pool.map(start, first)))
        assert len(launcher.listing()) == 25
        # 50 at once: the first 25 stop while 25 others start, from three users.
        mixed = [pool.submit(stop, j) for j in first] + [pool.submit(start, j) for j in second]
        ok([f.result() for f in mixed])
        for u, name, mp in first:
            assert not H.is_mounted(mp)
        for u, name, mp in second:
            assert H.is_mounted(mp)
        ok(list(pool.map(stop, second)))
    assert fuse_mounts_under(workdir) == []
    assert processes_of('/dev/fd/3') == []
    assert [r['state'] for r in launcher.listing()] == ['exited'] * 50
    # umfsd holds no descriptor for them any more: no /dev/fuse, no pidfd, no log, and
    # no connection (it closes one when it sees the client's end, which may come later).
    assert H.wait_for(lambda: connections() == []), connections()
    assert fds() == fds_before


def test_second_umfsd_on_the_same_state_refuses(launcher):
    launcher.service('ram', ram_service())
    launcher.start()
    res = H.run([UMFSD, '-s', launcher.sock + '2', '-c', launcher.svc, '-S', launcher.state,
                 '-l', launcher.logs])
    assert res.rc == 1 and 'another umfsd is running' in res.err
    assert launcher.ctl('list').rc == OK


# ------------------------------------------------------------------------- supervision

def test_child_ignoring_sigterm_is_killed_at_the_timeout(launcher, users, workdir):
    a = users['umfsl-a']
    # Ignores SIGTERM and keeps its file system (a child in its job) serving.
    stubborn = script(workdir, 'stubborn.py', '#!/usr/bin/python3\n'
                      'import signal, subprocess, sys\n'
                      'signal.signal(signal.SIGTERM, signal.SIG_IGN)\n'
                      'subprocess.run([%r, "mount", "memfs", sys.argv[1], "-f"], pass_fds=[3],\n'
                      '               preexec_fn=lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL))\n'
                      'signal.pause()\n' % H.UMFS)
    launcher.service('stubborn', '[service]\nexecutable = %s\ncommand-line = %%2\n'
                     'run-as = caller\nallow = @%s:all\nstop-timeout = 1s\n' % (stubborn, GROUP))
    launcher.start()
    mp = user_dir(workdir, 'mp', a)
    launcher.ok('start', 'stubborn', 's', mp, user=a)
    pid = launcher.info('stubborn', 's', user=a)['pid']
    H.check(H.run(['touch', os.path.join(mp, 'f')], user=a))
    res = launcher.ok('stop', 'stubborn', 's', user=a)
    assert 'killed with SIGKILL after the 1000 ms stop timeout' in res.out, res.out
    assert not H.is_mounted(mp)
    assert not H.pid_alive(pid)
    assert 'did not stop within 1000 ms' in launcher.stderr()


def test_stop_kills_what_left_the_process_group(launcher, users, workdir):
    """A process of the instance that made itself a session of its own (setsid) is not
    in the process group: the instance's cgroup still holds it, and a stop kills it."""
    a = users['umfsl-a']
    marker = os.path.join(workdir, 'escaped-marker')
    escaper = script(workdir, 'escaper.py', '#!/usr/bin/python3\n'
                     'import os, subprocess, sys\n'
                     'subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1000)", %r],\n'
                     '                 start_new_session=True)\n'
                     'os.execv(%r, [%r, "mount", "memfs", sys.argv[1], "-f"])\n'
                     % (marker, H.UMFS, H.UMFS))
    launcher.service('esc', '[service]\nexecutable = %s\ncommand-line = %%2\n'
                     'run-as = caller\nallow = @%s:all\n' % (escaper, GROUP))
    launcher.start()
    mp = user_dir(workdir, 'mp', a)
    launcher.ok('start', 'esc', 'e', mp, user=a)
    info = launcher.info('esc', 'e', user=a)
    assert H.wait_for(lambda: processes_of(marker))
    escaped = processes_of(marker)[0]
    assert os.getpgid(escaped) != info['pid']
    if info['job'] == 'process group':
        H.kill_pids([escaped])
        launcher.ok('stop', 'esc', 'e', user=a)
        pytest.skip('no writable cgroup v2 hierarchy here: a job is its process group')
    assert info['job'].startswith('/') and os.path.isdir(info['job'])
    launcher.ok('stop', 'esc', 'e', user=a)
    assert H.wait_for(lambda: not H.pid_alive(escaped))
    assert not H.is_mounted(mp)
    # and the cgroup itself goes once empty
    assert H.wait_for(lambda: not os.path.exists(info['job']))


def test_killed_child_is_cleaned_up_and_restarted(launcher, users, workdir):
    a = users['umfsl-a']
    launcher.service('ram', ram_service(extra='restart = on-failure\n'))
    launcher.service('once', ram_service())
    launcher.start()
    mp, mp2 = user_dir(workdir, 'mp', a), user_dir(workdir, 'mp2', a)
    launcher.ok('start', 'ram', 'r', mp, user=a)
    launcher.ok('start', 'once', 'o', mp2, user=a)
    old = launcher.info('ram', 'r', user=a)['pid']
    os.kill(old, signal.SIGKILL)
    os.kill(launcher.info('once', 'o', user=a)['pid'], signal.SIGKILL)

    def restarted():
        i = launcher.info('ram', 'r', user=a)
        return i['state'] == 'running' and i['pid'] != old and i['restarts'] == 1
    assert H.wait_for(restarted), launcher.info('ram', 'r', user=a)
    info = launcher.info('ram', 'r', user=a)
    assert 'killed by signal 9' in info['ended']
    # The new instance serves a fresh mount on the same point.
    H.check(H.run(['sh', '-c', 'echo again > %s/f && cat %s/f' % (mp, mp)], user=a))
    # Without a restart policy: cleaned up (no dead mount), recorded as failed.
    assert H.wait_for(lambda: launcher.info('once', 'o', user=a)['state'] == 'failed')
    assert not H.is_mounted(mp2)
    launcher.ok('stop', 'ram', 'r', user=a)
    assert not H.is_mounted(mp)


def test_umfsd_killed_and_restarted_adopts_and_cleans_up(launcher, users, workdir):
    a = users['umfsl-a']
    launcher.service('ram', ram_service())
    launcher.start()
    live, dead = user_dir(workdir, 'live', a), user_dir(workdir, 'dead', a)
    launcher.ok('start', 'ram', 'live', live, user=a)
    launcher.ok('start', 'ram', 'dead', dead, user=a)
    H.check(H.run(['sh', '-c', 'echo kept > %s/f' % live], user=a))
    dead_pid = launcher.info('ram', 'dead', user=a)['pid']
    launcher.kill()
    # While umfsd is down, one instance dies; the other keeps serving.
    os.kill(dead_pid, signal.SIGKILL)
    assert H.wait_for(lambda: not H.pid_alive(dead_pid))
    assert H.run(['cat', os.path.join(live, 'f')], user=a).out == 'kept\n'
    launcher.start()
    rows = {r['instance']: r for r in launcher.listing(user=a)}
    assert rows['live']['state'] == 'running'
    assert rows['dead']['state'] == 'exited' and 'not running' in rows['dead']['ended']
    assert not H.is_mounted(dead)
    assert H.run(['cat', os.path.join(live, 'f')], user=a).out == 'kept\n'
    assert 'adopted ram/live' in launcher.stderr()
    launcher.ok('stop', 'ram', 'live', user=a)
    assert not H.is_mounted(live)


def test_clean_shutdown_stops_everything(launcher, users, workdir):
    a = users['umfsl-a']
    launcher.service('ram', ram_service())
    launcher.start()
    mps = [user_dir(workdir, 'm%d' % i, a) for i in range(3)]
    for i, mp in enumerate(mps):
        launcher.ok('start', 'ram', 'i%d' % i, mp, user=a)
    pids = [r['pid'] for r in launcher.listing()]
    assert launcher.stop() == 0
    assert H.mounts_under(workdir) == []   # its fusectl too
    assert not any(H.pid_alive(p) for p in pids)
    assert os.listdir(os.path.join(launcher.state, 'instances')) == []
    assert not os.path.exists(launcher.sock)


# ------------------------------------------------------------------------- boot, secret, logs

def test_boot_instances(launcher, users, workdir):
    a = users['umfsl-a']
    mp = user_dir(workdir, 'boot', a)
    launcher.service('ram', ram_service() + '\n[instance early]\nowner = umfsl-a\nargs = %s\n' % mp)
    launcher.start()
    info = launcher.info('ram', 'early', user=a)
    assert info['state'] == 'running' and info['owner'] == a.name
    assert proc_uid(info['pid']) == a.uid
    assert H.mount_entry(mp).fstype == 'fuse.ram'
    launcher.ok('stop', 'ram', 'early', user=a)


def test_secret_reaches_stdin_never_argv(launcher, users, workdir):
    a = users['umfsl-a']
    reader = script(workdir, 'reader.py', '#!/usr/bin/python3\n'
                    'import sys, signal, time, hashlib\n'
                    'data = sys.stdin.buffer.read()\n'
                    'print("got %d bytes, sha256 %s" % (len(data), hashlib.sha256(data).hexdigest()),'
                    ' file=sys.stderr, flush=True)\n'
                    'signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))\n'
                    'while True: time.sleep(60)\n')
    launcher.service('crypt', '[service]\nexecutable = %s\ncommand-line = %%1\n'
                     'mount-point = none\nrun-as = caller\nallow = @%s:all\n' % (reader, GROUP))
    launcher.start()
    secret = b'correct horse battery staple\n'
    launcher.ok('start', '--secret', 'crypt', 'vault', user=a, input=secret)
    import hashlib
    want = 'got %d bytes, sha256 %s' % (len(secret), hashlib.sha256(secret).hexdigest())
    assert H.wait_for(lambda: want in launcher.ok('log', 'crypt', 'vault', user=a).out)
    pid = launcher.info('crypt', 'vault', user=a)['pid']
    assert all(b'horse' not in arg for arg in cmdline(pid))
    with open(os.path.join(launcher.state, 'instances', 'crypt@vault'), 'rb') as f:
        assert b'horse' not in f.read()
    launcher.ok('stop', 'crypt', 'vault', user=a)


# ------------------------------------------------------------------------- bad input

def test_bad_service_file_is_reported_and_others_load(launcher, users, workdir):
    a = users['umfsl-a']
    launcher.service('ram', ram_service())
    launcher.service('broken', '[service]\nexecutable = /bin/true\ncommand-line = %2\n'
                     'run-as = caller\nallow = nosuchuser-xyz:start\n')
    launcher.service('typo', '[service]\nexecutabel = /bin/true\n')
    launcher.service('empty', '# nothing\n')
    launcher.start()
    err = launcher.stderr()
    assert os.path.join(launcher.svc, 'broken.conf') + ":5: unknown user 'nosuchuser-xyz'" in err
    assert os.path.join(launcher.svc, 'typo.conf') + ":2: unknown key 'executabel'" in err
    assert os.path.join(launcher.svc, 'empty.conf') + ': no executable' in err
    mp = user_dir(workdir, 'mp', a)
    assert launcher.ctl('start', 'broken', 'b', mp, user=a).rc == FAIL
    launcher.ok('start', 'ram', 'r', mp, user=a)
    launcher.ok('stop', 'ram', 'r', user=a)


def _raw(sock_path, payload):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock_path)
    s.sendall(payload)
    data = b''
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return data


def _reply_status(data):
    length, version, typ, rid, status = struct.unpack('<IHHIi', data[:16])
    assert length == len(data) - 4 and version == 1 and typ == 0x100
    return status


def test_malformed_and_oversized_requests(launcher, users):
    launcher.service('ram', ram_service())
    launcher.start()
    import errno
    cases = [
        (struct.pack('<I', 10 * 1024 * 1024), -errno.EMSGSIZE),                   # oversized
        (struct.pack('<IHHI', 8, 2, 4, 7), -errno.EPROTONOSUPPORT),               # version 2
        (struct.pack('<IHHI', 8, 1, 99, 7), -errno.EBADMSG),                      # no such type
        (struct.pack('<IHHI', 12, 1, 2, 7) + b'ram\0', -errno.EPROTO),            # truncated
        (struct.pack('<IHHI', 17, 1, 2, 7) + b'ram\0../x\0\0', -errno.EINVAL),    # bad name
        (struct.pack('<IHHI', 9, 1, 4, 7) + b'x', -errno.EPROTO),                 # trailing byte
        (struct.pack('<I', 3), -errno.EPROTO),                                    # too short
    ]
    for payload, want in cases:
        data = _raw(launcher.sock, payload)   # the reply, then the connection closes
        assert _reply_status(data) == want, (payload, data)
    # umfsd keeps serving, and says what it refused.
    assert launcher.ctl('list').rc == OK
    assert 'request too large' in launcher.stderr() or 'refused' in launcher.stderr()
    assert launcher.proc.poll() is None


def _read_reply(s):
    def exactly(n):
        data = b''
        while len(data) < n:
            chunk = s.recv(n - len(data))
            assert chunk, 'connection closed early'
            data += chunk
        return data
    head = exactly(4)
    return head + exactly(struct.unpack('<I', head)[0])


def test_pipelined_requests_get_one_reply_each_in_order(launcher, users, workdir):
    a = users['umfsl-a']
    launcher.service('ram', ram_service())
    launcher.start()
    mp = user_dir(workdir, 'mp', a)
    launcher.ok('start', 'ram', 'p', mp, user=a)

    def msg(typ, rid, body=b''):
        return struct.pack('<IHHI', 8 + len(body), 1, typ, rid) + body
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(launcher.sock)
    # a stop (whose reply waits for the end), then a list and an info behind it
    s.sendall(msg(2, 0x7fff0011, b'ram\0p\0') + msg(4, 12) + msg(3, 13, b'ram\0p\0'))
    replies = [_read_reply(s) for _ in range(3)]
    s.close()
    ids = [struct.unpack('<I', r[8:12])[0] for r in replies]
    assert ids == [0x7fff0011, 12, 13]
    assert [_reply_status(r) for r in replies] == [0, 0, 0]
    assert b'exited with status 0' in replies[0] and b'exited' in replies[2]
    assert not H.is_mounted(mp)
