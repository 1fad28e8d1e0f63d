"""Worker of test_cryptfs.py, run by an allowed interpreter (a copy of python3 that
the mount's --allow names) or by the ordinary, not allowed /usr/bin/python3. What one
process sees is what its executable gets: the test compares the two.

  cryptfs_worker.py views PATH [SCRATCH]
                                    -> JSON: sha256 and length of PATH's bytes through
                                       read, mmap (private and shared), copy_file_range,
                                       sendfile and splice; st_size from stat and fstat
  cryptfs_worker.py hold PATH N     -> mmap PATH, print its sha256, then read it again
                                       N times, each time after a line on stdin
  cryptfs_worker.py model SEED OPS DIR REF
                                    -> apply OPS random writes, reads, truncates and
                                       renames to files in DIR and in REF; compare
  cryptfs_worker.py sha PATH        -> sha256 of PATH's bytes
  cryptfs_worker.py write PATH      -> write standard input to PATH (truncating)
  cryptfs_worker.py traced PATH     -> PTRACE_TRACEME (the parent becomes the tracer),
                                       then the sha256 of PATH's bytes
"""
import ctypes
import hashlib
import json
import mmap
import os
import random
import sys


def digest(b):
    return [hashlib.sha256(b).hexdigest(), len(b)]


def read_all(fd):
    out = bytearray()
    while True:
        b = os.read(fd, 1 << 20)
        if not b:
            return bytes(out)
        out += b


def views(path, scratch=None):
    res = {}
    st = os.stat(path)
    res['stat_size'] = st.st_size
    fd = os.open(path, os.O_RDONLY)
    res['fstat_size'] = os.fstat(fd).st_size
    res['read'] = digest(read_all(fd))
    size = os.fstat(fd).st_size
    if size:
        with mmap.mmap(fd, size, mmap.MAP_PRIVATE, mmap.PROT_READ) as m:
            res['mmap_private'] = digest(m[:])
        with mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ) as m:
            res['mmap_shared'] = digest(m[:])
    for how in ('copy_file_range', 'sendfile', 'splice'):
        # copy_file_range works within one file system only: its target is a scratch
        # file next to PATH (in the mount), read back by this same process.
        if how == 'copy_file_range':
            tmp = os.open(scratch or path + '.copy', os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        else:
            tmp = os.open('/tmp', os.O_TMPFILE | os.O_RDWR, 0o600)
        try:
            off, done = 0, 0
            while True:
                if how == 'copy_file_range':
                    n = os.copy_file_range(fd, tmp, 1 << 20, off, None)
                elif how == 'sendfile':
                    n = os.sendfile(tmp, fd, off, 1 << 20)
                else:
                    r, w = os.pipe()
                    try:
                        n = os.splice(fd, w, 65536, offset_src=off)
                        k = 0
                        while k < n:
                            k += os.splice(r, tmp, n - k)
                    finally:
                        os.close(r)
                        os.close(w)
                if n == 0:
                    break
                off += n
                done += n
            os.lseek(tmp, 0, os.SEEK_SET)
            res[how] = digest(read_all(tmp))
        finally:
            os.close(tmp)
            if how == 'copy_file_range':
                os.unlink(scratch or path + '.copy')
    os.close(fd)
    print(json.dumps(res))


def hold(path, n):
    fd = os.open(path, os.O_RDONLY)
    size = os.fstat(fd).st_size
    m = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ)
    print(hashlib.sha256(m[:]).hexdigest(), flush=True)
    for _ in range(n):
        sys.stdin.readline()
        os.lseek(fd, 0, os.SEEK_SET)
        print(hashlib.sha256(m[:]).hexdigest(), hashlib.sha256(read_all(fd)).hexdigest(),
              flush=True)
    m.close()
    os.close(fd)


def model(seed, ops, d, ref):
    rnd = random.Random(seed)
    names = ['f%d' % i for i in range(4)]
    for name in names:
        for base in (d, ref):
            open(os.path.join(base, name), 'wb').close()
    for i in range(ops):
        name = rnd.choice(names)
        op = rnd.random()
        paths = [os.path.join(base, name) for base in (d, ref)]
        if op < 0.45:
            off = rnd.randrange(0, 70000)
            data = rnd.randbytes(rnd.choice((1, 100, 4095, 4096, 4097, 9000, 30000)))
            for p in paths:
                with open(p, 'r+b') as f:
                    f.seek(off)
                    f.write(data)
        elif op < 0.75:
            off = rnd.randrange(0, 80000)
            n = rnd.choice((1, 4096, 5000, 20000, 100000))
            got = []
            for p in paths:
                with open(p, 'rb') as f:
                    f.seek(off)
                    got.append(f.read(n))
            if got[0] != got[1]:
                sys.exit('op %d: read %s at %d+%d differs (%d vs %d bytes)'
                         % (i, name, off, n, len(got[0]), len(got[1])))
        elif op < 0.9:
            size = rnd.randrange(0, 90000)
            for p in paths:
                os.truncate(p, size)
        else:
            other = rnd.choice([n for n in names if n != name])
            for base in (d, ref):
                os.rename(os.path.join(base, name), os.path.join(base, 'tmp'))
                os.rename(os.path.join(base, other), os.path.join(base, name))
                os.rename(os.path.join(base, 'tmp'), os.path.join(base, other))
        if os.stat(paths[0]).st_size != os.stat(paths[1]).st_size:
            sys.exit('op %d: sizes of %s differ' % (i, name))
    for name in names:
        a = open(os.path.join(d, name), 'rb').read()
        b = open(os.path.join(ref, name), 'rb').read()
        if a != b:
            sys.exit('final content of %s differs' % name)
    print('ok %d' % ops)


def write(path):
    data = sys.stdin.buffer.read()
    with open(path, 'wb') as f:
        f.write(data)


def traced(path):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.ptrace(0, 0, None, None) != 0:  # PTRACE_TRACEME
        sys.exit('ptrace: errno %d' % ctypes.get_errno())
    with open(path, 'rb') as f:
        print(hashlib.sha256(f.read()).hexdigest())


if __name__ == '__main__':
    cmd = sys.argv[1]
    if cmd == 'views':
        views(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
    elif cmd == 'hold':
        hold(sys.argv[2], int(sys.argv[3]))
    elif cmd == 'model':
        model(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5])
    elif cmd == 'sha':
        with open(sys.argv[2], 'rb') as f:
            print(hashlib.sha256(f.read()).hexdigest())
    elif cmd == 'write':
        write(sys.argv[2])
    elif cmd == 'traced':
        traced(sys.argv[2])
    else:
        sys.exit('unknown command ' + cmd)
