/* SPDX-License-Identifier: MIT */
/*
 * A synthetic target for the CPython decoder: memory made of a few byte
 * regions at fixed addresses (served through the memory-source seam), a
 * target model without libdwfl whose symbols point into them, and the
 * layout of the built-in table of the chosen Python version.  Objects are
 * written into it by the builders below, field by field, at the offsets the
 * layout gives: the decoder reads them as it would a snapshot's.  Tests
 * build exactly the damage they need; the decoder's fuzz target maps the
 * fuzzer's bytes as the heap.
 *
 * Fixed addresses: the statics (type objects, None/True/False, Py_Version,
 * _PyRuntime, one interpreter and one thread state) at SYNTH_STATIC_BASE;
 * the heap (every object the builders make) from SYNTH_HEAP_BASE on.
 * Nothing is mapped below SYNTH_STATIC_BASE nor between the two.
 */
#ifndef TRIPOD_TESTS_SYNTH_H
#define TRIPOD_TESTS_SYNTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/memsrc.h"
#include "python/internal.h"
#include "python/target.h"

#define SYNTH_STATIC_BASE 0x100000ULL
#define SYNTH_STATIC_SIZE 0x10000ULL
#define SYNTH_HEAP_BASE 0x10000000ULL

struct synth {
	struct tp_memsrc src;          /* first: the memsrc is the synth */
	uint8_t statics[SYNTH_STATIC_SIZE];
	uint64_t static_next;
	uint8_t *heap;                 /* SYNTH_HEAP_BASE .. + heap_len */
	size_t heap_len, heap_cap;
	bool heap_fixed;               /* synth_map_heap(): not ours to grow */
	unsigned long reads;           /* reads served (or refused) */
	struct tp_target target;       /* no libdwfl: symbols only */
	struct tp_python *py;
	unsigned major, minor;
	uint64_t interp, tstate, cframe;
};

/**
 * Make the world for Python @major.@minor (a version with a built-in
 * layout table) and open a decoder on it.  The decoder's options are the
 * defaults with @max_repr.  False (and nothing to free) when the version
 * has no table.
 */
bool synth_init(struct synth *s, unsigned major, unsigned minor,
		size_t max_repr);
void synth_deinit(struct synth *s);

/** Serve @len bytes at @data as the heap instead (the fuzzer's input). */
void synth_map_heap(struct synth *s, const uint8_t *data, size_t len);

/** Layout value of the decoder (an offset or size). */
int64_t synth_off(const struct synth *s, enum tp_layout_id id);
#define SOFF(s, id) synth_off((s), TP_L_##id)

/** @size zeroed bytes of heap; their address. */
uint64_t synth_alloc(struct synth *s, size_t size);
void synth_write(struct synth *s, uint64_t addr, const void *p, size_t len);
void synth_w64(struct synth *s, uint64_t addr, uint64_t v);
void synth_w32(struct synth *s, uint64_t addr, uint32_t v);
void synth_w8(struct synth *s, uint64_t addr, uint8_t v);

/** An object of @type with @size bytes (ob_refcnt 1). */
uint64_t synth_object(struct synth *s, uint64_t type, size_t size);
/** Builtin types and singletons by symbol. */
uint64_t synth_sym(const struct synth *s, enum tp_symbol_id id);

/** int (any 64-bit value; 2.7: a PyInt). */
uint64_t synth_int(struct synth *s, int64_t v);
/** int with the raw digit count word (ob_size, or 3.12+ lv_tag) @raw. */
uint64_t synth_int_raw(struct synth *s, uint64_t raw, const uint32_t *digits,
		       size_t ndigits);
/** str of ASCII text (3.x compact ASCII; 2.7 str). */
uint64_t synth_str(struct synth *s, const char *text);
/** bytes of @len bytes. */
uint64_t synth_bytes(struct synth *s, const void *data, size_t len);
uint64_t synth_tuple(struct synth *s, const uint64_t *items, size_t n);
uint64_t synth_list(struct synth *s, const uint64_t *items, size_t n);
/**
 * A set with @mask + 1 slots at @table (0: allocate and fill with @keys),
 * `used` @used.
 */
uint64_t synth_set(struct synth *s, int64_t mask, int64_t used,
		   uint64_t table, const uint64_t *keys, size_t nkeys);

/**
 * A code object (3.11+) named @name with the local names @names (all plain
 * locals), @argcount of them arguments.
 */
uint64_t synth_code(struct synth *s, const char *name, const char *const *names,
		    size_t nnames, int32_t argcount);
/**
 * A thread's interpreter frame (3.11+) running @code, with @values in its
 * local slots, called from @previous (0: the outermost).
 */
uint64_t synth_iframe(struct synth *s, uint64_t code, const uint64_t *values,
		      size_t n, uint64_t previous);
/** Make @frame the innermost frame of the world's thread. */
void synth_set_current_frame(struct synth *s, uint64_t frame);

#endif /* TRIPOD_TESTS_SYNTH_H */
