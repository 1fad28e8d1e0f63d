#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Known answers for test_crypt.c, computed from the format document with an
independent implementation (python3-cryptography), not with cryptfs's own code.
Run it to see the vectors; test_crypt.c holds a copy of its output."""
import base64
import hashlib
import hmac

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

master = bytes(range(32))
key_id = bytes(range(0x40, 0x50))
file_id = bytes(range(0x80, 0x90))
dirid = bytes(range(0xa0, 0xb0))
nonce = bytes(range(0xc0, 0xcc))


def derive(label):
    return hmac.new(master, b'umfs-cryptfs 1 ' + label.encode(), hashlib.sha256).digest()


content, name_mac, name_enc = derive('content'), derive('name-mac'), derive('name-enc')
file_key = hmac.new(content, b'file' + file_id, hashlib.sha256).digest()
header = b'umfsCF' + (1).to_bytes(2, 'little') + key_id + file_id


def seal(index, final, plain):
    ad = file_id + index.to_bytes(8, 'little') + bytes([1 if final else 0])
    return nonce + AESGCM(file_key).encrypt(nonce, plain, ad)


def name(domain, s):
    iv = hmac.new(name_mac, domain + dirid + s, hashlib.sha256).digest()[:16]
    enc = Cipher(algorithms.AES(name_enc), modes.CTR(iv)).encryptor().update(s)
    return base64.urlsafe_b64encode(iv + enc).rstrip(b'=').decode()


def longname(s):
    h = hmac.new(name_mac, b'long' + dirid + s, hashlib.sha256).digest()
    return '~' + base64.urlsafe_b64encode(h).rstrip(b'=').decode()


block0 = bytes((i * 7) & 0xff for i in range(4096))
print('header    ', header.hex())
print('file_key  ', file_key.hex())
print('b0_sha256 ', hashlib.sha256(seal(0, False, block0)).hexdigest())
print('b3_final  ', seal(3, True, b'hello').hex())
print('empty     ', seal(0, True, b'').hex())
print('name      ', name(b'name', b'plan.txt'))
print('link      ', name(b'link', b'../a/b'))
print('long      ', longname(b'x' * 200))
