/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the CPython decoder and the renderers, through the memory
 * source seam: the fuzzer's bytes are the target's heap (decoder_world.h).
 * The walk (interpreter, thread, frames, code, line table, locals), every
 * value decoder, repr, pprint, the Dogslow text and JSON run on them.
 * Seeds: fixtures/fuzz/decoder/, made by gen_decoder_seeds.
 */
#include "config.h"

#include "decoder_world.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	dw_run(data, size, false);
	return 0;
}
