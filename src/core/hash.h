/* SPDX-License-Identifier: MIT */
/*
 * The 128-bit content hash of the block store (doc/snapshot-format.md,
 * "The block hash", specifies it byte for byte so that another program can
 * check a store).  Not cryptographic: it names blocks that tripod-snap
 * itself copied from the target, and it must cost less than reading the
 * bytes twice (an unchanged block costs a hash and nothing else).
 */
#ifndef TRIPOD_CORE_HASH_H
#define TRIPOD_CORE_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** A block's name: 16 bytes, written in files as 32 lower-case hex digits. */
struct tp_hash {
	uint8_t b[16];
};

#define TP_HASH_HEX_LEN 32

/** Hash @len bytes at @data. */
struct tp_hash tp_hash128(const void *data, size_t len);

static inline bool tp_hash_eq(const struct tp_hash *a, const struct tp_hash *b)
{
	const uint8_t *x = a->b, *y = b->b;
	for (int i = 0; i < 16; i++)
		if (x[i] != y[i])
			return false;
	return true;
}

/** True for the all-zero value (reserved: "a block of zeros"). */
bool tp_hash_is_zero(const struct tp_hash *h);

/** @out gets TP_HASH_HEX_LEN hex digits and a NUL. */
void tp_hash_hex(const struct tp_hash *h, char out[TP_HASH_HEX_LEN + 1]);

/** Parse exactly TP_HASH_HEX_LEN lower-case hex digits; false otherwise. */
bool tp_hash_parse(const char *hex, struct tp_hash *ret);

/** The first 8 bytes as an integer: a ready-made key for hash tables. */
static inline uint64_t tp_hash_key(const struct tp_hash *h)
{
	uint64_t k = 0;
	for (int i = 7; i >= 0; i--)
		k = k << 8 | h->b[i];
	return k;
}

#endif /* TRIPOD_CORE_HASH_H */
