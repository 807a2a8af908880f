/* SPDX-License-Identifier: MIT */
/*
 * Open addressing on the key (linear probing, deletion by shifting back),
 * and a doubly linked list in use order for eviction.
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/blockcache.h"

struct entry {
	struct tp_blockcache_key key;
	unsigned char *data;
	size_t len;
	struct entry *prev, *next;   /* use order: head is the newest */
	size_t slot;
};

struct tp_blockcache {
	size_t max_bytes, bytes;
	struct entry **slots;        /* cap: a power of two */
	size_t cap, n;
	struct entry *head, *tail;
	uint64_t hits, misses;
	uint64_t generation;
};

static uint64_t key_hash(const struct tp_blockcache_key *k)
{
	uint64_t h = k->kind * 0x9E3779B97F4A7C15ULL;
	h ^= k->a + 0x632BE59BD9B4E019ULL + (h << 6) + (h >> 2);
	h ^= k->b + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
	h ^= k->c + 0x85EBCA77C2B2AE63ULL + (h << 6) + (h >> 2);
	h ^= h >> 31;
	h *= 0xD6E8FEB86659FD93ULL;
	return h ^ (h >> 32);
}

static bool key_eq(const struct tp_blockcache_key *x,
		   const struct tp_blockcache_key *y)
{
	return x->kind == y->kind && x->a == y->a && x->b == y->b &&
	       x->c == y->c;
}

struct tp_error *tp_blockcache_create(size_t max_bytes,
				      struct tp_blockcache **ret)
{
	struct tp_blockcache *c = calloc(1, sizeof(*c));
	if (!c)
		return &tp_error_nomem;
	c->max_bytes = max_bytes ? max_bytes : TP_BLOCKCACHE_DEFAULT_BYTES;
	c->cap = 256;
	c->slots = calloc(c->cap, sizeof(*c->slots));
	if (!c->slots) {
		free(c);
		return &tp_error_nomem;
	}
	*ret = c;
	return NULL;
}

void tp_blockcache_destroy(struct tp_blockcache *c)
{
	if (!c)
		return;
	for (struct entry *e = c->head, *next; e; e = next) {
		next = e->next;
		free(e->data);
		free(e);
	}
	free(c->slots);
	free(c);
}

static size_t find_slot(const struct tp_blockcache *c,
			const struct tp_blockcache_key *k)
{
	size_t mask = c->cap - 1;
	for (size_t i = key_hash(k) & mask;; i = (i + 1) & mask)
		if (!c->slots[i] || key_eq(&c->slots[i]->key, k))
			return i;
}

static void unlink_entry(struct tp_blockcache *c, struct entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
}

static void push_front(struct tp_blockcache *c, struct entry *e)
{
	e->next = c->head;
	e->prev = NULL;
	if (c->head)
		c->head->prev = e;
	c->head = e;
	if (!c->tail)
		c->tail = e;
}

const unsigned char *tp_blockcache_get(struct tp_blockcache *c,
				       const struct tp_blockcache_key *key,
				       size_t *len)
{
	struct entry *e = c->slots[find_slot(c, key)];
	if (!e) {
		c->misses++;
		return NULL;
	}
	c->hits++;
	if (c->head != e) {
		unlink_entry(c, e);
		push_front(c, e);
	}
	*len = e->len;
	return e->data;
}

/* Remove @e from the table, shifting back its probe run. */
static void remove_slot(struct tp_blockcache *c, struct entry *e)
{
	size_t mask = c->cap - 1, i = e->slot, j = i;
	c->slots[i] = NULL;
	c->n--;
	for (;;) {
		j = (j + 1) & mask;
		struct entry *x = c->slots[j];
		if (!x)
			return;
		size_t home = key_hash(&x->key) & mask;
		bool stays = i <= j ? (home > i && home <= j)
				    : (home > i || home <= j);
		if (stays)
			continue;
		c->slots[i] = x;
		x->slot = i;
		c->slots[j] = NULL;
		i = j;
	}
}

static struct tp_error *grow(struct tp_blockcache *c)
{
	size_t cap = c->cap * 2;
	struct entry **v = calloc(cap, sizeof(*v));
	if (!v)
		return &tp_error_nomem;
	for (size_t k = 0; k < c->cap; k++) {
		struct entry *e = c->slots[k];
		if (!e)
			continue;
		size_t i = key_hash(&e->key) & (cap - 1);
		while (v[i])
			i = (i + 1) & (cap - 1);
		v[i] = e;
		e->slot = i;
	}
	free(c->slots);
	c->slots = v;
	c->cap = cap;
	return NULL;
}

struct tp_error *tp_blockcache_put(struct tp_blockcache *c,
				   const struct tp_blockcache_key *key,
				   unsigned char *data, size_t len,
				   const unsigned char **ret)
{
	c->generation++;
	/* Make room first; the newest block always stays, even if it alone
	 * is over the limit. */
	while (c->tail && c->bytes + len > c->max_bytes) {
		struct entry *old = c->tail;
		unlink_entry(c, old);
		remove_slot(c, old);
		c->bytes -= old->len;
		free(old->data);
		free(old);
	}
	if (2 * (c->n + 1) > c->cap) {
		struct tp_error *err = grow(c);
		if (err) {
			free(data);
			return err;
		}
	}
	struct entry *e = calloc(1, sizeof(*e));
	if (!e) {
		free(data);
		return &tp_error_nomem;
	}
	e->key = *key;
	e->data = data;
	e->len = len;
	e->slot = find_slot(c, key);
	c->slots[e->slot] = e;
	c->n++;
	c->bytes += len;
	push_front(c, e);
	*ret = data;
	return NULL;
}

uint64_t tp_blockcache_generation(const struct tp_blockcache *c)
{
	return c->generation;
}

size_t tp_blockcache_bytes(const struct tp_blockcache *c)
{
	return c->bytes;
}

void tp_blockcache_counts(const struct tp_blockcache *c, uint64_t *hits,
			  uint64_t *misses)
{
	*hits = c->hits;
	*misses = c->misses;
}
