#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""posix_check.py - POSIX behaviour of a mounted memfs, checked with plain system calls.

usage: posix_check.py MOUNTPOINT   (as root, on an empty memfs mounted with `umfs mount memfs`)

Covers rename rules (incl. RENAME_NOREPLACE/EXCHANGE), links, xattrs, O_TMPFILE, sparse
files, fallocate, copy_file_range, special files, timestamps, O_TRUNC, set-group-ID
directories, set-user-ID clearing, readdir while entries go away, statvfs. Prints one
line per failure and exits 1 if any.
"""
import os, sys, errno, ctypes, stat, time, subprocess
if len(sys.argv) != 2:
    sys.exit(__doc__)
M = sys.argv[1]
libc = ctypes.CDLL(None, use_errno=True)
fails = 0
def check(cond, msg):
    global fails
    if not cond:
        fails += 1; print("FAIL:", msg)
def expect_err(e, fn, *a):
    try:
        fn(*a)
    except OSError as ex:
        check(ex.errno == e, f"{fn.__name__}{a}: got {errno.errorcode.get(ex.errno)} want {errno.errorcode[e]}")
        return
    check(False, f"{fn.__name__}{a}: no error, want {errno.errorcode[e]}")
def renameat2(a, b, flags):
    r = libc.syscall(316, -100, a.encode(), -100, b.encode(), flags)
    if r: 
        e = ctypes.get_errno(); raise OSError(e, os.strerror(e))
# Everything happens under M/t.
os.chdir(M)
os.makedirs("t/a/b/c"); open("t/f", "w").write("x"); open("t/g", "w").write("y")
expect_err(errno.EINVAL, os.rename, "t/a", "t/a/b/c/a")
expect_err(errno.ENOTEMPTY, os.rename, "t/a/b/c", "t/a")  # kernel catches this one itself
expect_err(errno.EISDIR, os.rename, "t/f", "t/a")
expect_err(errno.ENOTDIR, os.rename, "t/a", "t/f")
expect_err(errno.EEXIST, renameat2, "t/f", "t/g", 1)
renameat2("t/f", "t/a", 2)
check(os.path.isdir("t/f") and os.path.isfile("t/a"), "exchange")
check(os.path.isdir("t/f/b/c"), "exchange moved dir")
renameat2("t/f", "t/a", 2)
os.mkdir("t/empty"); os.rename("t/empty", "t/a/b/c")
check(not os.path.exists("t/empty") and os.listdir("t/a/b") == ["c"], "dir over empty dir")
expect_err(errno.ENOTEMPTY, os.rmdir, "t/a")
expect_err(errno.EISDIR, os.unlink, "t/a")
# nlink
os.link("t/f", "t/f2"); check(os.stat("t/f").st_nlink == 2, "nlink 2")
check(os.stat("t/a").st_nlink == 3, "dir nlink")
os.unlink("t/f2"); check(os.stat("t/f").st_nlink == 1, "nlink 1")
# xattr
os.setxattr("t/f", "user.k", b"v1")
expect_err(errno.EEXIST, os.setxattr, "t/f", "user.k", b"v2", os.XATTR_CREATE)
expect_err(errno.ENODATA, os.setxattr, "t/f", "user.z", b"v2", os.XATTR_REPLACE)
check(os.getxattr("t/f", "user.k") == b"v1", "getxattr")
check(os.listxattr("t/f") == ["user.k"], "listxattr")
os.removexattr("t/f", "user.k"); expect_err(errno.ENODATA, os.getxattr, "t/f", "user.k")
expect_err(errno.EOPNOTSUPP, os.setxattr, "t/f", "foo.k", b"v")
os.setxattr("t/f", "user.big", b"x" * 65536); check(len(os.getxattr("t/f", "user.big")) == 65536, "big xattr")
# O_TMPFILE
fd = os.open("t", os.O_TMPFILE | os.O_RDWR, 0o600)
os.write(fd, b"tmpdata"); check(os.fstat(fd).st_nlink == 0, "tmpfile nlink 0")
check(libc.linkat(-100, f"/proc/self/fd/{fd}".encode(), -100, b"t/linked", 0x400) == 0, "linkat tmpfile")
check(open("t/linked").read() == "tmpdata", "tmpfile linked"); check(os.fstat(fd).st_nlink == 1, "tmpfile nlink 1"); os.close(fd)
# sparse, seek, fallocate
fd = os.open("t/sparse", os.O_CREAT | os.O_RDWR, 0o644)
os.pwrite(fd, b"A" * 4096, 0); os.pwrite(fd, b"B" * 10, 1 << 30)
os.close(fd); fd = os.open("t/sparse", os.O_RDWR)  # with the writeback cache, close refreshes st_blocks
check(os.fstat(fd).st_blocks == 16, f"sparse blocks {os.fstat(fd).st_blocks}")
h = os.lseek(fd, 0, os.SEEK_HOLE)
check(h in (4096, (1 << 30) + 10), "seek hole")
check(os.lseek(fd, 4096, os.SEEK_DATA) == (1 << 30 if h == 4096 else 4096), "seek data")
expect_err(errno.ENXIO, os.lseek, fd, (1 << 30) + 10, os.SEEK_DATA)
check(os.pread(fd, 10, 1 << 20) == b"\0" * 10, "hole reads zeros")
os.posix_fallocate(fd, 0, 8 << 20); os.fsync(fd); check(os.fstat(fd).st_blocks >= 8 << 11, "fallocate")
FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE = 1, 2
r = libc.fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, ctypes.c_long(0), ctypes.c_long(8 << 20))
check(r == 0, "punch"); os.fsync(fd); check(os.fstat(fd).st_blocks == 8, f"after punch {os.fstat(fd).st_blocks}")
check(os.pread(fd, 4, 0) == b"\0" * 4, "punched zeros")
r = libc.fallocate(fd, 0x8, ctypes.c_long(0), ctypes.c_long(4096)); check(r != 0 and ctypes.get_errno() == errno.EOPNOTSUPP, "collapse unsupported")
os.close(fd)
# copy_file_range
src = os.open("t/sparse", os.O_RDONLY); dst = os.open("t/copy", os.O_CREAT | os.O_WRONLY, 0o644)
n = os.copy_file_range(src, dst, (1 << 30) + 10, 0, 0); check(n == (1 << 30) + 10, f"cfr {n}")
os.close(src); os.close(dst)
check(os.stat("t/copy").st_blocks <= 16, f"copy stays sparse {os.stat('t/copy').st_blocks}")
check(open("t/copy", "rb").read()[-10:] == b"B" * 10, "copy data")
# special files
os.mkfifo("t/fifo"); check(stat.S_ISFIFO(os.stat("t/fifo").st_mode), "fifo")
os.mknod("t/dev", 0o600 | stat.S_IFCHR, os.makedev(1, 3)); check(os.stat("t/dev").st_rdev == os.makedev(1, 3), "rdev")
os.symlink("a" * 4000, "t/longlink"); check(os.readlink("t/longlink") == "a" * 4000, "long symlink")
# timestamps
open("t/ts", "w").close(); st0 = os.stat("t/ts"); time.sleep(0.01)
with open("t/ts", "a") as f: f.write("z")
st1 = os.stat("t/ts"); check(st1.st_mtime_ns > st0.st_mtime_ns and st1.st_ctime_ns > st0.st_ctime_ns, "write updates m/ctime")
time.sleep(0.01); os.chmod("t/ts", 0o600); st2 = os.stat("t/ts")
check(st2.st_ctime_ns > st1.st_ctime_ns and st2.st_mtime_ns == st1.st_mtime_ns, "chmod ctime only")
d0 = os.stat("t"); time.sleep(0.01); open("t/newfile", "w").close(); d1 = os.stat("t")
check(d1.st_mtime_ns > d0.st_mtime_ns, "dir mtime on create")
os.utime("t/ts", ns=(1, 2)); s = os.stat("t/ts"); check(s.st_atime_ns == 1 and s.st_mtime_ns == 2, "utime ns")
os.utime("t/ts", ns=(-5_000_000_000, 253402300799_999999999)); s = os.stat("t/ts"); check(s.st_atime_ns == -5_000_000_000 and s.st_mtime_ns == 253402300799_999999999, f"utime extremes {s.st_atime_ns} {s.st_mtime_ns}")
# truncate via O_TRUNC
open("t/tr", "w").write("hello world"); open("t/tr", "w").close(); check(os.stat("t/tr").st_size == 0, "O_TRUNC")
os.truncate("t/tr", 5000); check(open("t/tr", "rb").read() == b"\0" * 5000, "truncate up zeros")
# setgid dir and ownership as another user
os.mkdir("t/sg"); os.chown("t/sg", 0, 1234); os.chmod("t/sg", 0o2777)
pid = os.fork()
if pid == 0:
    os.setgid(2000); os.setuid(1000)
    os.mkdir("t/sg/sub"); open("t/sg/file", "w").close()
    open("t/sg/suid", "w").write("x")
    os._exit(0)
os.waitpid(pid, 0)
s = os.stat("t/sg/sub"); check(s.st_gid == 1234 and s.st_mode & stat.S_ISGID and s.st_uid == 1000, f"sgid dir inherit {s}")
s = os.stat("t/sg/file"); check(s.st_gid == 1234 and s.st_uid == 1000, f"sgid file gid {s}")
os.chmod("t/sg/suid", 0o6777); os.chown("t/sg/suid", 1000, 1234)
check(os.stat("t/sg/suid").st_mode & 0o7777 == 0o777, f"root chown kills suid/sgid (Linux): {oct(os.stat('t/sg/suid').st_mode)}")
os.chmod("t/sg/suid", 0o6777)
pid = os.fork()
if pid == 0:
    os.setgid(2000); os.setuid(1000)
    with open("t/sg/suid", "a") as f: f.write("more")
    os._exit(0)
os.waitpid(pid, 0)
check(os.stat("t/sg/suid").st_mode & 0o7777 == 0o777, f"write by owner kills suid: {oct(os.stat('t/sg/suid').st_mode)}")
# readdir while deleting
os.mkdir("t/many")
for i in range(3000): open(f"t/many/f{i}", "w").close()
seen = set()
with os.scandir("t/many") as it:
    for k, e in enumerate(it):
        seen.add(e.name)
        if k == 100:
            for j in range(1500, 2000): os.unlink(f"t/many/f{j}")
check(all(f"f{i}" in seen for i in range(1500)) and all(f"f{i}" in seen for i in range(2000, 3000)), "readdir stable")
check(len(seen) <= 3000, "no dupes")
sv = os.statvfs(M); check(sv.f_bsize == 4096 and sv.f_namemax == 255, "statvfs")
expect_err(errno.ENAMETOOLONG, open, "t/" + "n" * 256, "w")
open("t/" + "n" * 255, "w").close()
print("posix checks:", "FAIL" if fails else "OK", fails)
sys.exit(1 if fails else 0)
