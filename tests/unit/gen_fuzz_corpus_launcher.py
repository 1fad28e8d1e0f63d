#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the seed corpus for fuzz_launcher: valid umfsd requests and replies, as they
follow the length field (doc/umfsd-protocol.md).

    python3 tests/unit/gen_fuzz_corpus_launcher.py [outdir]
                                        (default: tests/unit/fuzz_corpus_launcher)
"""
import os
import struct
import sys


def hdr(typ, rid=7):
    return struct.pack('<HHI', 1, typ, rid)


def z(s):
    return s.encode() + b'\0'


def value(s):
    return struct.pack('<I', len(s)) + s.encode() + b'\0'


SEEDS = {
    'start': hdr(1) + z('ram') + z('scratch') + z('/home/a') + bytes([1]) + z('/home/a/mnt')
    + struct.pack('<II', 0, 0),
    'start_secret': hdr(1) + z('crypt') + z('vault') + z('/') + bytes([2]) + z('mnt') + z('-o')
    + struct.pack('<II', 1, 5) + b'hello',
    'stop': hdr(2) + z('ram') + z('scratch'),
    'info': hdr(3) + z('ram') + z('scratch'),
    'list': hdr(4),
    'log': hdr(5) + z('ram') + z('scratch') + struct.pack('<I', 4096),
    'reply_error': hdr(0x100) + struct.pack('<i', -13) + value('you may not') + struct.pack('<I', 0),
    'reply_list': hdr(0x100) + struct.pack('<i', 0) + value('') + struct.pack('<I', 1)
    + struct.pack('<H', 2) + z('service') + value('ram') + z('pid') + value('42'),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__),
                                                             'fuzz_corpus_launcher')
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
