"""Real programs on the mount: cp, diff, tar, git, gcc, python, sqlite3."""

import os
import shutil
import stat

import pytest

import umfs_helpers as H
from umfs_helpers import check, read_file, write_file

SRC_TREE = '/usr/include/linux'


def need(*programs):
    for p in programs:
        if shutil.which(p, path=H.SYS_PATH) is None:
            pytest.skip('%s is not installed' % p)


def tree_entries(root):
    """{relative path: (type, mode, size, mtime_ns, link target)} for a tree."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            rel = os.path.relpath(full, root)
            target = os.readlink(full) if stat.S_ISLNK(st.st_mode) else None
            size = st.st_size if stat.S_ISREG(st.st_mode) else None
            out[rel] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), size,
                        st.st_mtime_ns, target)
    return out


def test_cp_a_and_diff(fs):
    need('cp', 'diff')
    check(H.run(['cp', '-a', SRC_TREE, fs.path + '/']))
    dst = fs.p(os.path.basename(SRC_TREE))
    check(H.run(['diff', '-r', '--no-dereference', SRC_TREE, dst]), 'diff -r')
    src_tree, dst_tree = tree_entries(SRC_TREE), tree_entries(dst)
    assert sorted(dst_tree) == sorted(src_tree)
    for rel, meta in src_tree.items():
        # type, permissions, size, mtime (cp -a preserves it, also of dirs and symlinks), target
        assert dst_tree[rel] == meta, rel


def test_tar_roundtrip(fs):
    need('tar', 'diff', 'sh', 'wc')
    os.mkdir(fs.p('x'))
    check(H.run('tar -C %s -cf - %s | tar -C %s -xf -' % (
        os.path.dirname(SRC_TREE), os.path.basename(SRC_TREE), fs.p('x')), shell=True))
    check(H.run(['diff', '-r', SRC_TREE, fs.p('x', os.path.basename(SRC_TREE))]), 'diff -r')
    count = 1  # "./"
    for _, dirnames, filenames in os.walk(fs.path):
        count += len(dirnames) + len(filenames)
    res = check(H.run('tar -C %s -cf - . | tar -tf - | wc -l' % fs.path, shell=True))
    assert int(res.out.strip()) == count


def test_git(fs, workdir):
    need('git')
    repo = fs.p('repo')
    env = H.base_env({'HOME': workdir, 'GIT_CONFIG_NOSYSTEM': '1', 'GIT_CONFIG_GLOBAL': '/dev/null'})
    git = ['git', '-c', 'user.name=umfs test', '-c', 'user.email=test@umfs.invalid',
           '-c', 'safe.directory=*', '-c', 'init.defaultBranch=main', '-c', 'gc.auto=0']

    def g(*args):
        return check(H.run(git + list(args), cwd=repo, env=env), 'git ' + ' '.join(args))

    os.mkdir(repo)
    g('init', '-q')
    for i in range(50):
        os.makedirs(os.path.join(repo, 'dir%d' % (i % 5)), exist_ok=True)
        write_file(os.path.join(repo, 'dir%d' % (i % 5), 'file%d.txt' % i), 'line %d\n' % i * (i + 1))
    g('add', '-A')
    g('commit', '-q', '-m', 'first')
    write_file(os.path.join(repo, 'dir0', 'file0.txt'), b'changed\n')
    os.rename(os.path.join(repo, 'dir1'), os.path.join(repo, 'renamed'))
    g('add', '-A')
    g('commit', '-q', '-m', 'second')
    log = g('log', '--oneline').out.splitlines()
    assert len(log) == 2 and log[0].endswith('second') and log[1].endswith('first')
    assert g('status', '--porcelain').out == ''
    g('gc', '-q')
    g('fsck', '--strict', '--no-progress')
    assert g('show', 'HEAD~1:dir0/file0.txt').out == 'line 0\n'
    g('checkout', '-q', 'HEAD~1')
    assert read_file(os.path.join(repo, 'dir0', 'file0.txt')) == b'line 0\n'
    assert os.path.isdir(os.path.join(repo, 'dir1'))


def test_gcc(fs):
    need('gcc')
    src = fs.p('src')
    os.makedirs(os.path.join(src, 'tmp'))
    write_file(os.path.join(src, 'util.c'), '#include "util.h"\nint twice(int x) { return 2 * x; }\n')
    write_file(os.path.join(src, 'util.h'), 'int twice(int x);\n')
    write_file(os.path.join(src, 'main.c'),
               '#include <stdio.h>\n#include "util.h"\n'
               'int main(void) { printf("hello from umfs %d\\n", twice(21)); return 0; }\n')
    env = H.base_env({'TMPDIR': os.path.join(src, 'tmp')})
    check(H.run(['gcc', '-O1', '-Wall', '-c', 'util.c', '-o', 'util.o'], cwd=src, env=env))
    check(H.run(['gcc', '-O1', '-Wall', '-save-temps', 'main.c', 'util.o', '-o', 'hello'],
                cwd=src, env=env))
    assert os.stat(os.path.join(src, 'hello')).st_mode & 0o111
    res = check(H.run(['./hello'], cwd=src))
    assert res.out == 'hello from umfs 42\n'


PY_SCRIPT = r'''
import hashlib, json, os, shutil, sys, tempfile, zipfile
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import helpermod                       # imported from the mount: __pycache__ written there
root = sys.argv[1]
os.makedirs(os.path.join(root, 'data'))
digests = {}
for i in range(200):
    p = os.path.join(root, 'data', 'item%03d.json' % i)
    body = json.dumps({'i': i, 'payload': 'x' * (i * 37)})
    with open(p + '.tmp', 'w') as f:
        f.write(body)
        f.flush()
        os.fsync(f.fileno())
    os.replace(p + '.tmp', p)
    digests[p] = hashlib.sha256(body.encode()).hexdigest()
for p, d in digests.items():
    with open(p, 'rb') as f:
        assert hashlib.sha256(f.read()).hexdigest() == d, p
shutil.copytree(os.path.join(root, 'data'), os.path.join(root, 'copy'))
assert sorted(os.listdir(os.path.join(root, 'copy'))) == sorted(os.listdir(os.path.join(root, 'data')))
with tempfile.NamedTemporaryFile(dir=root, delete=False) as t:
    t.write(b'temp')
os.unlink(t.name)
z = os.path.join(root, 'a.zip')
with zipfile.ZipFile(z, 'w', zipfile.ZIP_DEFLATED) as zf:
    for p in list(digests)[:50]:
        zf.write(p, os.path.basename(p))
with zipfile.ZipFile(z) as zf:
    assert zf.testzip() is None and len(zf.namelist()) == 50
shutil.rmtree(os.path.join(root, 'copy'))
print(helpermod.MESSAGE)
'''


def test_python_script(fs):
    write_file(fs.p('script.py'), PY_SCRIPT)
    write_file(fs.p('helpermod.py'), 'MESSAGE = "python ok"\n')
    os.mkdir(fs.p('work'))
    res = check(H.run([H.PYTHON, fs.p('script.py'), fs.p('work')], cwd=fs.path))
    assert res.out.strip() == 'python ok'
    assert os.path.isdir(fs.p('__pycache__'))
    assert len(os.listdir(fs.p('work', 'data'))) == 200
    assert not os.path.exists(fs.p('work', 'copy'))


@pytest.mark.parametrize('journal', ['delete', 'wal'])
def test_sqlite3(fs, journal):
    if not os.path.exists('/usr/bin/sqlite3'):
        pytest.skip('/usr/bin/sqlite3 is not installed')
    db = fs.p('test.db')
    sql = ('PRAGMA journal_mode=%s;\n'
           'CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);\n'
           'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 20000)\n'
           "  INSERT INTO t(v) SELECT printf('value-%%06d', x) FROM c;\n"
           'CREATE INDEX tv ON t(v);\n'
           "UPDATE t SET v = v || '!' WHERE id %% 3 = 0;\n"
           'DELETE FROM t WHERE id %% 10 = 0;\n'
           'SELECT count(*) FROM t;\n'
           'PRAGMA integrity_check;\n' % journal)
    res = check(H.run(['/usr/bin/sqlite3', db], input=sql, cwd=fs.path))
    lines = res.out.split()
    assert lines[0] == journal
    assert lines[1:] == ['18000', 'ok'], res.out
    res = check(H.run(['/usr/bin/sqlite3', db, "SELECT count(*) FROM t WHERE v LIKE '%!';"]))
    assert res.out.strip() == '6000'
