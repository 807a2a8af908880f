#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The block hash of doc/snapshot-format.md ("The block hash"), written
from that text alone, to check tripod's C implementation against it.

Prints "LEN HEX" for prefixes of a fixed buffer (see test_store.c)."""

M = (1 << 64) - 1
K1 = 0x9E3779B185EBCA87
K2 = 0xC2B2AE3D27D4EB4F
K3 = 0x165667B19E3779F9
K4 = 0x85EBCA77C2B2AE63
K5 = 0x27D4EB2F165667C5


def rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & M


def rnd(acc, w):
    return (rotl((acc + w * K2) & M, 31) * K1) & M


def merge(h, v):
    return (((h ^ rnd(0, v)) * K1) + K4) & M


def avalanche(h):
    h ^= h >> 33
    h = (h * K2) & M
    h ^= h >> 29
    h = (h * K3) & M
    h ^= h >> 32
    return h


def word(b, i, n):
    return int.from_bytes(b[i:i + n], "little")


def tail(h, rest):
    i = 0
    while len(rest) - i >= 8:
        h ^= rnd(0, word(rest, i, 8))
        h = (rotl(h, 27) * K1 + K4) & M
        i += 8
    if len(rest) - i >= 4:
        h ^= (word(rest, i, 4) * K1) & M
        h = (rotl(h, 23) * K2 + K3) & M
        i += 4
    for byte in rest[i:]:
        h ^= (byte * K5) & M
        h = (rotl(h, 11) * K1) & M
    return h


def hash128(data):
    a, b, c, d = (K1 + K2) & M, K2, 0, (-K1) & M
    n = len(data) // 32 * 32
    for i in range(0, n, 32):
        a = rnd(a, word(data, i, 8))
        b = rnd(b, word(data, i + 8, 8))
        c = rnd(c, word(data, i + 16, 8))
        d = rnd(d, word(data, i + 24, 8))
    lo = (rotl(a, 1) + rotl(b, 7) + rotl(c, 12) + rotl(d, 18)) & M
    for v in (a, b, c, d):
        lo = merge(lo, v)
    hi = (rotl(d, 1) + rotl(c, 7) + rotl(b, 12) + rotl(a, 18) + K5) & M
    for v in (d, c, b, a):
        hi = merge(hi, v)
    lo = (lo + len(data)) & M
    hi ^= (len(data) * K3) & M
    rest = data[n:]
    lo = avalanche(tail(lo, rest))
    hi = avalanche(tail(hi ^ lo, rest))
    return lo.to_bytes(8, "little") + hi.to_bytes(8, "little")


buf = bytes((i * 37 + 11) & 0xFF for i in range(300))
for n in (0, 1, 3, 4, 7, 8, 15, 31, 32, 33, 63, 64, 100, 300):
    print(n, hash128(buf[:n]).hex())
