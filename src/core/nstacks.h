/* SPDX-License-Identifier: MIT */
/*
 * Native stacks recorded in a snapshot: the note tripod-snap --native
 * writes (name "TRIPOD", type TP_NOTE_NSTACKS_TYPE; its bytes are laid out
 * in doc/snapshot-format.md, "Native stacks") and tripod-analyze reads.
 * For each thread, the program counters of its frames, innermost first,
 * each with the module (mapped file) that holds it: its build-id, path
 * and load bias, so that the frame can be symbolized offline.
 */
#ifndef TRIPOD_CORE_NSTACKS_H
#define TRIPOD_CORE_NSTACKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "common/strbuf.h"

#define TP_NOTE_NSTACKS_TYPE 0x54500002u

/** Caps a reader enforces on what the note claims. */
#define TP_NSTACKS_MAX_THREADS 65536
#define TP_NSTACKS_MAX_MODULES 65536
#define TP_NSTACKS_MAX_FRAMES 4096
#define TP_NSTACKS_MAX_STRING 4096

/** No module: the pc is in no mapped file (JIT code, a bad address). */
#define TP_NSTACKS_NO_MODULE UINT32_MAX

struct tp_nstack_module {
	char *path;
	char *build_id;            /* lower-case hex, "" when none */
	uint64_t bias;             /* load bias: address = bias + ELF vaddr */
};

struct tp_nstack_frame {
	uint64_t pc;
	/* The stack pointer in this frame (the innermost: the thread's
	 * rsp; the others: the canonical frame address of the frame
	 * inside), 0 if unknown.  A local variable of the frame lies
	 * between it and the next frame's. */
	uint64_t sp;
	/* The pc is where the thread stopped (the innermost frame, or a
	 * frame interrupted by a signal), not a return address. */
	bool activation;
	uint32_t module;           /* index in modules, or TP_NSTACKS_NO_MODULE */
	uint64_t offset;           /* pc - the module's bias */
};

struct tp_nstack_thread {
	pid_t tid;
	struct tp_nstack_frame *frames;   /* innermost first */
	size_t nframes;
	bool truncated;            /* more frames than the unwinder's cap */
	char *error;               /* why unwinding stopped early, or NULL */
};

struct tp_nstacks {
	struct tp_nstack_module *modules;
	size_t nmodules;
	struct tp_nstack_thread *threads;
	size_t nthreads;
};

/** Append the note's bytes for @s to @out. */
void tp_nstacks_encode(const struct tp_nstacks *s, struct tp_strbuf *out);

/**
 * Parse the note's bytes.  TP_ERR_FORMAT naming what is wrong when they do
 * not follow the format or pass a cap; TP_ERR_UNSUPPORTED for a newer
 * version.  On error @ret holds nothing to free.
 */
struct tp_error *tp_nstacks_decode(const void *data, size_t len,
				   struct tp_nstacks *ret);

void tp_nstacks_deinit(struct tp_nstacks *s);

#endif /* TRIPOD_CORE_NSTACKS_H */
