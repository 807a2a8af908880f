/* SPDX-License-Identifier: MIT */
/*
 * tp_hash128: four 64-bit lanes, each folding in one little-endian 64-bit
 * word of every 32-byte stripe with a multiply-rotate-multiply round (the
 * round and the odd constants are those of the well-known 64-bit xxHash
 * design; the lanes are independent, so the multiplies overlap in the
 * CPU's pipeline and the loop runs at memory speed).  After the stripes,
 * the lanes are merged twice, in two different orders, into two 64-bit
 * halves; the tail (under 32 bytes) and the length go into both halves,
 * and each half is finally avalanched.  doc/snapshot-format.md gives the
 * same steps in prose.
 */
#include "config.h"

#include <string.h>

#include "core/hash.h"

#define K1 0x9E3779B185EBCA87ULL
#define K2 0xC2B2AE3D27D4EB4FULL
#define K3 0x165667B19E3779F9ULL
#define K4 0x85EBCA77C2B2AE63ULL
#define K5 0x27D4EB2F165667C5ULL

static inline uint64_t rotl(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static inline uint64_t le64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

static inline uint64_t le32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	return v;
}

static inline uint64_t round1(uint64_t acc, uint64_t word)
{
	acc += word * K2;
	acc = rotl(acc, 31);
	return acc * K1;
}

static inline uint64_t merge(uint64_t h, uint64_t lane)
{
	h ^= round1(0, lane);
	return h * K1 + K4;
}

static inline uint64_t avalanche(uint64_t h)
{
	h ^= h >> 33;
	h *= K2;
	h ^= h >> 29;
	h *= K3;
	h ^= h >> 32;
	return h;
}

/* The tail: 8-byte words, then a 4-byte word, then single bytes. */
static uint64_t tail(uint64_t h, const unsigned char *p, size_t n)
{
	while (n >= 8) {
		h ^= round1(0, le64(p));
		h = rotl(h, 27) * K1 + K4;
		p += 8;
		n -= 8;
	}
	if (n >= 4) {
		h ^= le32(p) * K1;
		h = rotl(h, 23) * K2 + K3;
		p += 4;
		n -= 4;
	}
	while (n--) {
		h ^= (*p++) * K5;
		h = rotl(h, 11) * K1;
	}
	return h;
}

struct tp_hash tp_hash128(const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t n = len;
	uint64_t a = K1 + K2, b = K2, c = 0, d = 0 - K1;
	while (n >= 32) {
		a = round1(a, le64(p));
		b = round1(b, le64(p + 8));
		c = round1(c, le64(p + 16));
		d = round1(d, le64(p + 24));
		p += 32;
		n -= 32;
	}
	uint64_t lo = rotl(a, 1) + rotl(b, 7) + rotl(c, 12) + rotl(d, 18);
	lo = merge(merge(merge(merge(lo, a), b), c), d);
	uint64_t hi = rotl(d, 1) + rotl(c, 7) + rotl(b, 12) + rotl(a, 18) + K5;
	hi = merge(merge(merge(merge(hi, d), c), b), a);
	lo += (uint64_t)len;
	hi ^= (uint64_t)len * K3;
	lo = avalanche(tail(lo, p, n));
	hi = avalanche(tail(hi ^ lo, p, n));

	struct tp_hash h;
	for (int i = 0; i < 8; i++) {
		h.b[i] = (uint8_t)(lo >> (8 * i));
		h.b[8 + i] = (uint8_t)(hi >> (8 * i));
	}
	return h;
}

bool tp_hash_is_zero(const struct tp_hash *h)
{
	for (int i = 0; i < 16; i++)
		if (h->b[i])
			return false;
	return true;
}

void tp_hash_hex(const struct tp_hash *h, char out[TP_HASH_HEX_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	for (int i = 0; i < 16; i++) {
		out[2 * i] = hex[h->b[i] >> 4];
		out[2 * i + 1] = hex[h->b[i] & 15];
	}
	out[TP_HASH_HEX_LEN] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

bool tp_hash_parse(const char *hex, struct tp_hash *ret)
{
	for (int i = 0; i < 16; i++) {
		int x = hexval(hex[2 * i]), y = x < 0 ? -1 : hexval(hex[2 * i + 1]);
		if (x < 0 || y < 0)
			return false;
		ret->b[i] = (uint8_t)(x << 4 | y);
	}
	return hex[TP_HASH_HEX_LEN] == '\0';
}
