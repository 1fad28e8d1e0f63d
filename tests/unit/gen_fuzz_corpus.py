#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the seed corpus for fuzz_decode: a handful of small, valid FUSE requests.

    python3 tests/unit/gen_fuzz_corpus.py [outdir]   (default: tests/unit/fuzz_corpus)

Layouts as in lib/wire.h, little-endian. The files are checked in; rerun this only when
the seeds should change.
"""
import os
import struct
import sys

HDR = struct.Struct("<IIQQIIIHH")  # fuse_in_header, 40 bytes

OP = dict(LOOKUP=1, FORGET=2, GETATTR=3, SETATTR=4, SYMLINK=6, MKNOD=8, MKDIR=9, RENAME=12,
          LINK=13, READ=15, WRITE=16, SETXATTR=21, GETXATTR=22, INIT=26, READDIRPLUS=44,
          CREATE=35, BATCH_FORGET=42, RENAME2=45, LSEEK=46, COPY_FILE_RANGE=47, TMPFILE=51,
          STATX=52)


def req(op, body, unique=2, nodeid=1, extlen=0):
    return HDR.pack(HDR.size + len(body), OP[op], unique, nodeid, 1000, 1000, 4242,
                    extlen, 0) + body


def z(s):
    return s.encode() + b"\0"


FUSE_INIT_EXT = 1 << 30
SEEDS = {
    "init64": req("INIT", struct.pack("<IIIII44x", 7, 45, 131072,
                                      0x1 | (1 << 29) | FUSE_INIT_EXT, 0x21), unique=1),
    "init16": req("INIT", struct.pack("<IIII", 7, 31, 131072, 0x1), unique=1),
    "lookup": req("LOOKUP", z("file.txt")),
    "lookup_ext": req("LOOKUP", z("file.txt") + b"\xee" * 8, extlen=1),
    "getattr": req("GETATTR", struct.pack("<IIQ", 1, 0, 7)),
    "setattr": req("SETATTR", struct.pack("<IIQQQQQQIIIIIIII", 0x3f, 0, 7, 4096, 0,
                                          1, 2, 3, 4, 5, 6, 0o100644, 0, 1000, 1000, 0)),
    "symlink": req("SYMLINK", z("link") + z("../target")),
    "mknod": req("MKNOD", struct.pack("<IIII", 0o20600, 0x801, 0o22, 0) + z("dev")),
    "mkdir": req("MKDIR", struct.pack("<II", 0o755, 0o22) + z("dir")),
    "rename": req("RENAME", struct.pack("<Q", 1) + z("a") + z("b")),
    "rename2": req("RENAME2", struct.pack("<QII", 1, 2, 0) + z("old") + z("new")),
    "link": req("LINK", struct.pack("<Q", 5) + z("hard")),
    "create": req("CREATE", struct.pack("<IIII", 0o101, 0o100644, 0o22, 0) + z("new")),
    "tmpfile": req("TMPFILE", struct.pack("<IIII", 0o20000002, 0o100600, 0o22, 0) + z("/")),
    "read": req("READ", struct.pack("<QQIIQII", 7, 0, 4096, 0, 0, 0, 0)),
    "readdirplus": req("READDIRPLUS", struct.pack("<QQIIQII", 7, 3, 4096, 0, 0, 0, 0)),
    "write": req("WRITE", struct.pack("<QQIIQII", 7, 0, 5, 0, 0, 0, 0) + b"hello"),
    "setxattr8": req("SETXATTR", struct.pack("<II", 3, 0) + z("user.k") + b"val"),
    "setxattr16": req("SETXATTR", struct.pack("<IIII", 3, 0, 0, 0) + z("user.k") + b"val"),
    "getxattr": req("GETXATTR", struct.pack("<II", 64, 0) + z("user.k")),
    "forget": req("FORGET", struct.pack("<Q", 1)),
    "batch_forget": req("BATCH_FORGET", struct.pack("<II", 2, 0) +
                        struct.pack("<QQQQ", 5, 1, 6, 2)),
    "lseek": req("LSEEK", struct.pack("<QQII", 7, 0, 3, 0)),
    "copy_file_range": req("COPY_FILE_RANGE", struct.pack("<QQQQQQQ", 7, 0, 9, 8, 0, 4096, 0)),
    "statx": req("STATX", struct.pack("<IIQII", 0, 0, 0, 0, 0xfff)),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__),
                                                             "fuzz_corpus")
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
