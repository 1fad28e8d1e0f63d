"""Worker processes for test_concurrency.py (run with /usr/bin/python3, stdlib only).

Each mode waits for one line on stdin ("go") so that the test can start all workers at
the same moment, and prints one JSON object on stdout.

  files    WID OWN SHARED COUNT       create/write/verify/delete COUNT files in OWN and SHARED
  append   WID PATH COUNT RECLEN      COUNT O_APPEND writes of RECLEN-byte records
  rename   A B DIR_A DIR_B ITERATIONS rename a file A<->B and a directory DIR_A<->DIR_B
  replace  DIR TARGET ITERATIONS      write a temp file and rename() it over TARGET
  watch    STOPFILE A B DIR_A DIR_B TARGET
                                      stat/read everything until STOPFILE exists
  stripe   WID N PATH BLOCKS SIZE      pwrite every N-th block of one shared file, verify
  churn    DIR STOPFILE PREFIX        create and delete files in DIR until STOPFILE exists
"""

import errno
import hashlib
import json
import os
import random
import sys
import time

RECORD_PAD = b'.'


def content(wid, j):
    r = random.Random(wid * 1000003 + j)
    return r.randbytes(r.randint(0, 16384))


def write_all(path, data):
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def read_all(path):
    with open(path, 'rb') as f:
        return f.read()


def mode_files(wid, own, shared, count):
    wid, count = int(wid), int(count)
    names = ['w%d_%04d' % (wid, j) for j in range(count)]
    errors = []
    for j, n in enumerate(names):
        data = content(wid, j)
        write_all(os.path.join(own, n), data)
        write_all(os.path.join(shared, n), data)
    for j, n in enumerate(names):
        data = content(wid, j)
        for d in (own, shared):
            got = read_all(os.path.join(d, n))
            if got != data:
                errors.append('mismatch %s/%s: %d bytes, expected %d' % (d, n, len(got), len(data)))
    for j, n in enumerate(names):
        if j % 2:
            os.unlink(os.path.join(own, n))
            os.unlink(os.path.join(shared, n))
    kept = {}
    for j, n in enumerate(names):
        if j % 2 == 0:
            kept[n] = hashlib.sha256(content(wid, j)).hexdigest()
            for d in (own, shared):
                if read_all(os.path.join(d, n)) != content(wid, j):
                    errors.append('mismatch after deletes %s/%s' % (d, n))
    listing = sorted(os.listdir(own))
    if listing != sorted(kept):
        errors.append('own dir listing differs: %d entries, expected %d' % (len(listing), len(kept)))
    return {'kept': kept, 'errors': errors}


def mode_append(wid, path, count, reclen):
    wid, count, reclen = int(wid), int(count), int(reclen)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    short = 0
    try:
        for j in range(count):
            head = b'%02d:%06d:' % (wid, j)
            rec = head + RECORD_PAD * (reclen - len(head) - 1) + b'\n'
            if os.write(fd, rec) != len(rec):
                short += 1
    finally:
        os.close(fd)
    return {'short_writes': short}


def mode_rename(a, b, da, db, iterations):
    for _ in range(int(iterations)):
        os.rename(a, b)
        os.rename(da, db)
        os.rename(b, a)
        os.rename(db, da)
    return {'done': int(iterations)}


def replace_body(i):
    head = b'generation %08d\n' % i
    return head + b'#' * (8192 - len(head))


def mode_replace(directory, target, iterations):
    for i in range(1, int(iterations) + 1):
        tmp = os.path.join(directory, '.tmp%d' % i)
        write_all(tmp, replace_body(i))
        os.rename(tmp, target)
    return {'done': int(iterations)}


def mode_watch(stopfile, a, b, da, db, target):
    counts = {'ok': 0, 'enoent': 0, 'target_ok': 0}
    errors = []
    deadline = time.monotonic() + 120
    while not os.path.exists(stopfile) and time.monotonic() < deadline:
        for p in (a, b, da, db, os.path.join(da, 'inner'), os.path.join(db, 'inner')):
            try:
                os.stat(p)
                counts['ok'] += 1
            except OSError as e:
                if e.errno == errno.ENOENT:
                    counts['enoent'] += 1
                else:
                    errors.append('stat %s: %s' % (p, e))
        try:
            os.stat(target)
            data = read_all(target)
            gen = int(data[11:19])
            if data != replace_body(gen):
                errors.append('torn content of %s (generation %d, %d bytes)' % (target, gen, len(data)))
            else:
                counts['target_ok'] += 1
        except (OSError, ValueError) as e:
            errors.append('replaced target %s: %r' % (target, e))
        if len(errors) > 50:
            break
    return {'counts': counts, 'errors': errors}


def mode_churn(directory, stopfile, prefix):
    """Create and delete files PREFIXnnnnnn in directory until stopfile exists."""
    n = 0
    deadline = time.monotonic() + 120
    while not os.path.exists(stopfile) and time.monotonic() < deadline:
        p = os.path.join(directory, '%s%06d' % (prefix, n))
        os.close(os.open(p, os.O_CREAT | os.O_WRONLY, 0o644))
        if n >= 50:
            os.unlink(os.path.join(directory, '%s%06d' % (prefix, n - 50)))
        n += 1
    return {'done': n}


def stripe_block(wid, k, size):
    return (b'%02d:%06d:' % (wid, k)) * (size // 10) + b'#' * (size % 10)


def mode_stripe(wid, nworkers, path, blocks, size):
    """pwrite block k of this worker at ((k * nworkers) + wid) * size, then read back."""
    wid, nworkers, blocks, size = int(wid), int(nworkers), int(blocks), int(size)
    fd = os.open(path, os.O_WRONLY)
    try:
        for k in range(blocks):
            os.pwrite(fd, stripe_block(wid, k, size), (k * nworkers + wid) * size)
    finally:
        os.close(fd)
    bad = []
    fd = os.open(path, os.O_RDONLY)
    try:
        for k in range(blocks):
            if os.pread(fd, size, (k * nworkers + wid) * size) != stripe_block(wid, k, size):
                bad.append(k)
    finally:
        os.close(fd)
    return {'bad': bad}


MODES = {'stripe': mode_stripe, 'churn': mode_churn, 'files': mode_files, 'append': mode_append, 'rename': mode_rename,
         'replace': mode_replace, 'watch': mode_watch}


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    sys.stdin.readline()                       # wait for "go"
    try:
        result = MODES[mode](*args)
    except Exception as e:  # report, do not just die
        result = {'exception': '%s: %s' % (type(e).__name__, e)}
    json.dump(result, sys.stdout)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
