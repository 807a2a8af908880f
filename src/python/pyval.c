/* SPDX-License-Identifier: MIT */
/*
 * The value arena and node constructor.
 *
 * The arena is a list of chunks with a bump pointer in the newest one.  A
 * request too big for a normal chunk gets a chunk of its own, linked behind
 * the current one so that the current chunk's free space is not lost.
 * Everything is freed at once by tp_pyval_arena_destroy().
 */
#include "config.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "python/pyval.h"

#define ARENA_CHUNK_SIZE ((size_t)64 * 1024)
#define ARENA_ALIGN alignof(max_align_t)

struct arena_chunk {
	struct arena_chunk *next;
	size_t size;   /* usable bytes in data */
	size_t used;
	alignas(max_align_t) unsigned char data[];
};

struct tp_pyval_arena {
	struct arena_chunk *head;   /* bump allocation happens here */
};

struct tp_error *tp_pyval_arena_create(struct tp_pyval_arena **ret)
{
	struct tp_pyval_arena *arena = calloc(1, sizeof(*arena));
	if (!arena)
		return &tp_error_nomem;
	*ret = arena;
	return NULL;
}

void tp_pyval_arena_destroy(struct tp_pyval_arena *arena)
{
	if (!arena)
		return;
	struct arena_chunk *c = arena->head;
	while (c) {
		struct arena_chunk *next = c->next;
		free(c);
		c = next;
	}
	free(arena);
}

static struct arena_chunk *chunk_new(size_t size)
{
	if (size > SIZE_MAX - sizeof(struct arena_chunk))
		return NULL;
	struct arena_chunk *c = malloc(sizeof(*c) + size);
	if (!c)
		return NULL;
	c->next = NULL;
	c->size = size;
	c->used = 0;
	return c;
}

void *tp_pyval_arena_alloc(struct tp_pyval_arena *arena, size_t size)
{
	if (size == 0)
		size = 1;
	if (size > SIZE_MAX - ARENA_ALIGN)
		return NULL;
	size = (size + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);

	struct arena_chunk *c = arena->head;
	if (c && c->size - c->used >= size) {
		void *p = c->data + c->used;
		c->used += size;
		memset(p, 0, size);
		return p;
	}
	if (size > ARENA_CHUNK_SIZE / 4) {
		/* A chunk of its own, kept behind the bump chunk. */
		struct arena_chunk *big = chunk_new(size);
		if (!big)
			return NULL;
		big->used = size;
		if (c) {
			big->next = c->next;
			c->next = big;
		} else {
			arena->head = big;
		}
		memset(big->data, 0, size);
		return big->data;
	}
	struct arena_chunk *fresh = chunk_new(ARENA_CHUNK_SIZE);
	if (!fresh)
		return NULL;
	fresh->next = c;
	arena->head = fresh;
	fresh->used = size;
	memset(fresh->data, 0, size);
	return fresh->data;
}

void *tp_pyval_arena_calloc(struct tp_pyval_arena *arena, size_t n,
			    size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	return tp_pyval_arena_alloc(arena, n * size);
}

void *tp_pyval_arena_memdup(struct tp_pyval_arena *arena, const void *p,
			    size_t size)
{
	void *q = tp_pyval_arena_alloc(arena, size);
	if (q && size)
		memcpy(q, p, size);
	return q;
}

char *tp_pyval_arena_strdup(struct tp_pyval_arena *arena, const char *s)
{
	return tp_pyval_arena_memdup(arena, s, strlen(s) + 1);
}

struct tp_pyval *tp_pyval_new(struct tp_pyval_arena *arena,
			      enum tp_pyval_kind kind, uint64_t addr,
			      const char *type_name)
{
	struct tp_pyval *v = tp_pyval_arena_alloc(arena, sizeof(*v));
	if (!v)
		return NULL;
	v->kind = kind;
	v->addr = addr;
	v->type_name = type_name;
	return v;
}

const char *tp_pyval_type_name(const struct tp_pyval *v)
{
	if (v->type_name)
		return v->type_name;
	bool py2 = v->flags & TP_PV_PY2;
	switch (v->kind) {
	case TP_PV_NONE:
		return "NoneType";
	case TP_PV_BOOL:
		return "bool";
	case TP_PV_INT:
		return (v->flags & TP_PV_LONG) ? "long" : "int";
	case TP_PV_FLOAT:
		return "float";
	case TP_PV_STR:
		return py2 ? "unicode" : "str";
	case TP_PV_BYTES:
		return py2 ? "str" : "bytes";
	case TP_PV_BYTEARRAY:
		return "bytearray";
	case TP_PV_TUPLE:
		return "tuple";
	case TP_PV_LIST:
		return "list";
	case TP_PV_DICT:
		return "dict";
	case TP_PV_SET:
		return "set";
	case TP_PV_FROZENSET:
		return "frozenset";
	case TP_PV_TEXT:
	case TP_PV_OBJECT:
	case TP_PV_UNREADABLE:
	case TP_PV_TOOLONG:
	case TP_PV_COMPOSITE:
		break;
	}
	return "object";
}

bool tp_pyval_is_placeholder(const struct tp_pyval *v)
{
	return v && ((v->kind == TP_PV_OBJECT && !(v->flags & TP_PV_ATTRS)) ||
		     v->kind == TP_PV_UNREADABLE || v->kind == TP_PV_TOOLONG);
}
