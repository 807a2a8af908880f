/* SPDX-License-Identifier: MIT */
/*
 * A cache of decompressed blocks (store blocks, BGZF members) shared by
 * the cores a program opens one after another, so that a block that many
 * snapshots share is decompressed once.  Least recently used blocks go
 * first when the cache holds more than its byte limit; its memory does
 * not grow with the number of snapshots read.  Not thread-safe.
 */
#ifndef TRIPOD_CORE_BLOCKCACHE_H
#define TRIPOD_CORE_BLOCKCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/** Default byte limit. */
#define TP_BLOCKCACHE_DEFAULT_BYTES (64u << 20)

struct tp_blockcache;

/** What a cached block is: the kind of source and where in it. */
struct tp_blockcache_key {
	uint64_t kind;             /* TP_BLOCKCACHE_STORE, _BGZF */
	uint64_t a, b, c;
};
#define TP_BLOCKCACHE_STORE 1u     /* a, b: the block's hash; c: 0 */
#define TP_BLOCKCACHE_BGZF 2u      /* a, b: st_dev, st_ino; c: offset */

struct tp_error *tp_blockcache_create(size_t max_bytes,
				      struct tp_blockcache **ret);
void tp_blockcache_destroy(struct tp_blockcache *c);

/**
 * The block for @key, or NULL; its length in *@len.  The pointer stays
 * valid until the next tp_blockcache_put() on @c.
 */
const unsigned char *tp_blockcache_get(struct tp_blockcache *c,
				       const struct tp_blockcache_key *key,
				       size_t *len);

/**
 * Add @data (@len bytes, malloc'd: the cache owns it from now on, even on
 * error) for @key, which must not be in the cache.  May evict other
 * blocks.  *@ret gets @data.
 */
struct tp_error *tp_blockcache_put(struct tp_blockcache *c,
				   const struct tp_blockcache_key *key,
				   unsigned char *data, size_t len,
				   const unsigned char **ret);

/**
 * A number that changes whenever a pointer given by tp_blockcache_get()
 * may have become invalid (every put): a caller that keeps a pointer
 * checks it has not changed before using the pointer again.
 */
uint64_t tp_blockcache_generation(const struct tp_blockcache *c);

/** Bytes held now. */
size_t tp_blockcache_bytes(const struct tp_blockcache *c);
/** Counters: lookups that found the block, and that did not. */
void tp_blockcache_counts(const struct tp_blockcache *c, uint64_t *hits,
			  uint64_t *misses);

#endif /* TRIPOD_CORE_BLOCKCACHE_H */
