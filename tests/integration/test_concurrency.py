"""Several processes on one mount at the same time."""

import hashlib
import json
import os
import subprocess
import time

import pytest

import umfs_helpers as H
from concurrency_worker import content, replace_body, stripe_block

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'concurrency_worker.py')
TIMEOUT = 240


class Workers:
    """Start worker processes that block until go(), then collect their JSON output."""

    def __init__(self):
        self.procs = []

    def start(self, *args):
        p = subprocess.Popen([H.PYTHON, WORKER] + [str(a) for a in args], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=H.base_env())
        self.procs.append((args, p))
        return p

    def go(self):
        for _, p in self.procs:
            p.stdin.write(b'go\n')
            p.stdin.flush()
            p.stdin.close()
            p.stdin = None

    def results(self, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        out = []
        try:
            for args, p in self.procs:
                stdout, stderr = p.communicate(timeout=max(1, deadline - time.monotonic()))
                assert p.returncode == 0, 'worker %r exited %d: %s' % (args, p.returncode, stderr.decode())
                res = json.loads(stdout)
                assert 'exception' not in res, 'worker %r: %s' % (args, res['exception'])
                out.append(res)
        finally:
            self.kill()
        return out

    def kill(self):
        for _, p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def test_parallel_files(fs):
    nproc, count = 8, 300
    shared = fs.p('shared')
    os.mkdir(shared)
    w = Workers()
    for i in range(nproc):
        own = fs.p('own%d' % i)
        os.mkdir(own)
        w.start('files', i, own, shared, count)
    w.go()
    results = w.results()
    errors = [e for r in results for e in r['errors']]
    assert not errors, errors[:20]
    expected = {}
    for i, r in enumerate(results):
        expected.update(r['kept'])
        assert sorted(os.listdir(fs.p('own%d' % i))) == sorted(r['kept'])
    assert sorted(os.listdir(shared)) == sorted(expected)
    assert len(expected) == nproc * count // 2
    for name, digest in expected.items():
        wid, j = (int(x) for x in name[1:].split('_'))
        assert digest == hashlib.sha256(content(wid, j)).hexdigest()
        for d in (shared, fs.p('own%d' % wid)):
            with open(os.path.join(d, name), 'rb') as f:
                assert hashlib.sha256(f.read()).hexdigest() == digest, os.path.join(d, name)


def test_concurrent_appenders(fs):
    nproc, count, reclen = 8, 500, 100
    log = fs.p('log')
    H.write_file(log, b'')
    w = Workers()
    for i in range(nproc):
        w.start('append', i, log, count, reclen)
    w.go()
    for r in w.results():
        assert r['short_writes'] == 0
    data = H.read_file(log)
    assert len(data) == nproc * count * reclen
    seen = {i: [] for i in range(nproc)}
    for k in range(0, len(data), reclen):
        rec = data[k:k + reclen]
        assert rec.endswith(b'\n') and rec.count(b'\n') == 1, 'torn record at %d: %r' % (k, rec)
        wid, j = int(rec[0:2]), int(rec[3:9])
        seen[wid].append(j)
    for i in range(nproc):
        assert seen[i] == list(range(count)), 'writer %d: records missing, doubled or reordered' % i


def test_rename_while_stat(fs, workdir):
    a, b = fs.p('a'), fs.p('b')
    da, db = fs.p('da'), fs.p('db')
    H.write_file(a, b'payload')
    os.mkdir(da)
    H.write_file(os.path.join(da, 'inner'), b'inner')
    ino = os.stat(a).st_ino
    rdir = fs.p('replace')
    os.mkdir(rdir)
    target = os.path.join(rdir, 'target')
    H.write_file(target, replace_body(0))
    stopfile = os.path.join(workdir, 'stop')       # outside the mount

    w = Workers()
    renamer = w.start('rename', a, b, da, db, 1500)
    replacer = w.start('replace', rdir, target, 1500)
    for _ in range(4):
        w.start('watch', stopfile, a, b, da, db, target)
    w.go()
    deadline = time.monotonic() + TIMEOUT
    for p in (renamer, replacer):
        while p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
    H.write_file(stopfile, b'')
    results = w.results()
    assert results[0] == {'done': 1500}
    assert results[1] == {'done': 1500}
    for r in results[2:]:
        assert not r['errors'], r['errors'][:20]
        assert r['counts']['ok'] > 0 and r['counts']['target_ok'] > 0
    # everything is back where it started
    assert os.stat(a).st_ino == ino and H.read_file(a) == b'payload'
    assert H.read_file(os.path.join(da, 'inner')) == b'inner'
    assert not os.path.exists(b) and not os.path.exists(db)
    assert H.read_file(target) == replace_body(1500)
    assert os.listdir(rdir) == ['target']


def test_readdir_during_churn(fs, workdir):
    """Entries that are neither added nor removed while a directory is read must be
    listed exactly once, however the directory changes around them (readdir offsets)."""
    d = fs.p('dir')
    os.mkdir(d)
    stable = ['stable-%04d-%s' % (i, 'y' * (i % 30)) for i in range(2000)]
    for n in stable:
        os.close(os.open(os.path.join(d, n), os.O_CREAT | os.O_WRONLY, 0o644))
    stopfile = os.path.join(workdir, 'stop')
    w = Workers()
    w.start('churn', d, stopfile, 'churn-a-')
    w.start('churn', d, stopfile, 'churn-b-')
    w.go()
    try:
        # wait until both churners run, then list for a while
        assert H.wait_for(lambda: {n[:8] for n in os.listdir(d) if n.startswith('churn')} >=
                          {'churn-a-', 'churn-b-'}, 60), 'the churn workers did not start'
        start, listings = time.monotonic(), 0
        while listings < 30 or time.monotonic() - start < 2.0:
            listings += 1
            listing = os.listdir(d)
            if len(set(listing)) != len(listing):
                seen, dups = set(), set()
                for n in listing:
                    (dups if n in seen else seen).add(n)
                pytest.fail('listed twice: %s' % sorted(dups)[:10])
            missing = sorted(set(stable) - set(listing))
            assert not missing, '%d stable entries missing, e.g. %s' % (len(missing), missing[:5])
    finally:
        H.write_file(stopfile, b'')
        results = w.results()
    assert all(r['done'] > 0 for r in results)


def test_parallel_writes_one_file(fs):
    nproc, blocks, size = 8, 96, 40000          # unaligned blocks: neighbours share pages
    p = fs.p('shared-file')
    H.write_file(p, b'')
    w = Workers()
    for i in range(nproc):
        w.start('stripe', i, nproc, p, blocks, size)
    w.go()
    for i, r in enumerate(w.results()):
        assert r['bad'] == [], 'worker %d read back wrong blocks %s' % (i, r['bad'][:10])
    data = H.read_file(p)
    assert len(data) == nproc * blocks * size
    for k in range(blocks):
        for i in range(nproc):
            off = (k * nproc + i) * size
            assert data[off:off + size] == stripe_block(i, k, size), 'block %d of worker %d' % (k, i)
