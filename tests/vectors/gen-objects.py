#!/usr/bin/env python3
"""Writes objects.txt: known-answer chunk objects (format 4, algorithm 2).

An implementation independent of evault's C code: Python's hashlib (the
class-key KDF is keyed BLAKE2b with salt and personalisation, as libsodium's
crypto_kdf_derive_from_key; SHA-256; HMAC-SHA-256), HChaCha20 written out
below, the IETF ChaCha20-Poly1305 of python3-cryptography; the compressed payload
is libzstd's one-shot ZSTD_compress at level 3 (what chunk_seal calls).
See README.md.

usage: tests/vectors/gen-objects.py > tests/vectors/objects.txt
"""
import ctypes
import ctypes.util
import hashlib
import hmac
import struct

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

CLASS_KEY = bytes(range(32))
VAULT_ID = bytes(range(0xA0, 0xB0))
MISSION = b"M-KAT-1"
CLASS = 1  # work
CLASSES = {0: "dossier", 1: "work", 2: "codes"}


def kdf(key, sub_id, length=32):
    return hashlib.blake2b(b"", digest_size=length, key=key,
                           salt=struct.pack("<Q", sub_id) + bytes(8),
                           person=b"evault-c" + bytes(8)).digest()


def rotl(v, n):
    return ((v << n) & 0xFFFFFFFF) | (v >> (32 - n))


def hchacha20(key, nonce16):
    s = list(struct.unpack("<4I", b"expand 32-byte k")) + \
        list(struct.unpack("<8I", key)) + list(struct.unpack("<4I", nonce16))

    def qr(a, b, c, d):
        s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = rotl(s[d] ^ s[a], 16)
        s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = rotl(s[b] ^ s[c], 12)
        s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = rotl(s[d] ^ s[a], 8)
        s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = rotl(s[b] ^ s[c], 7)

    for _ in range(10):
        qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15)
        qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14)
    return struct.pack("<8I", *(s[0:4] + s[12:16]))


def xchacha20poly1305(key, nonce24, plain, ad):
    sub = hchacha20(key, nonce24[:16])
    return ChaCha20Poly1305(sub).encrypt(bytes(4) + nonce24[16:], plain, ad)


def payload_of(plain):
    """What chunk_seal encrypts: the zstd frame when it is worth it."""
    if len(plain) < 64:
        return plain, 0
    assert len(plain) < 128 * 1024  # no sampling step for these sizes
    zstd = ctypes.CDLL(ctypes.util.find_library("zstd"))
    zstd.ZSTD_compressBound.restype = ctypes.c_size_t
    zstd.ZSTD_compress.restype = ctypes.c_size_t
    zstd.ZSTD_isError.argtypes = [ctypes.c_size_t]
    cap = zstd.ZSTD_compressBound(ctypes.c_size_t(len(plain)))
    dst = ctypes.create_string_buffer(cap)
    n = zstd.ZSTD_compress(dst, ctypes.c_size_t(cap), plain, ctypes.c_size_t(len(plain)), 3)
    assert not zstd.ZSTD_isError(n)
    frame = dst.raw[:n]
    if len(frame) >= len(plain) - len(plain) // 32:
        return plain, 0
    return frame, 1


def seal(plain):
    content, nonce_key = kdf(CLASS_KEY, 1), kdf(CLASS_KEY, 2)
    payload, flags = payload_of(plain)
    header = b"EVOB" + bytes([1, 2, flags, 1])
    nonce = hmac.new(nonce_key, header + payload, hashlib.sha256).digest()[:24]
    ad = header + VAULT_ID + bytes([len(MISSION)]) + MISSION + bytes([CLASS])
    obj = header + nonce + xchacha20poly1305(content, nonce, payload, ad)
    return obj, hashlib.sha256(obj).hexdigest()


def stream(n):
    out = b""
    i = 0
    while len(out) < n:
        out += hashlib.sha256(b"evault-kat %d" % i).digest()
        i += 1
    return out[:n]


def main():
    texts = [
        ("empty", b""),
        ("small", b"intervention report: badge reader replaced at door 3\n"),
        ("compressible", b"".join(b"line %04d of a compressible report\n" % i
                                  for i in range(120))[:4096]),
        ("random-6000", stream(6000)),
    ]
    print("# Known-answer chunk objects, vault format 4 (algorithm 2).")
    print("# Made by tests/vectors/gen-objects.py; see README.md.")
    print("class-key", CLASS_KEY.hex())
    print("vault-id", VAULT_ID.hex())
    print("mission", MISSION.decode())
    print("class", CLASSES[CLASS])
    print("zstd-level 3")
    for label, plain in texts:
        obj, name = seal(plain)
        print()
        print("vector", label)
        print("plain", plain.hex()) if plain else print("plain")
        print("name", name)
        print("object", obj.hex())


if __name__ == "__main__":
    main()
