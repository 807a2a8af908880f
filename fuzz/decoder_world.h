/* SPDX-License-Identifier: MIT */
/*
 * The decoder's fuzz input: a synthetic target (tests/python/synth.h) of a
 * chosen Python version whose heap is the fuzzer's bytes.
 *
 *   bytes 0..16   header: [0] the version (modulo 4: 3.12, 3.11, 2.7,
 *                 3.10); [4..8) the offset in the heap of the thread's
 *                 innermost frame; [8..12) the offset of an object decoded
 *                 on its own (little-endian)
 *   bytes 16..    the heap, mapped at SYNTH_HEAP_BASE
 *
 * Everything else is fixed: the type objects, singletons, runtime,
 * interpreter and thread state are the statics of synth.h, at the same
 * addresses in every input, so pointers in the heap can name them.
 */
#ifndef TRIPOD_FUZZ_DECODER_WORLD_H
#define TRIPOD_FUZZ_DECODER_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../tests/python/synth.h"

#define DW_HEADER 16
#define DW_VERSIONS 4

/** The world of version @sel (0 .. DW_VERSIONS-1), made once. */
struct synth *dw_world(unsigned sel);

/**
 * Decode @data as described above: walk, render, decode the object.  With
 * @show, print the Dogslow text and the object's repr on stdout (to look
 * at a seed or a finding: gen_decoder_seeds --show FILE).
 */
void dw_run(const uint8_t *data, size_t size, bool show);

#endif /* TRIPOD_FUZZ_DECODER_WORLD_H */
