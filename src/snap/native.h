/* SPDX-License-Identifier: MIT */
/*
 * tripod-snap --native: each thread's native stack, unwound with
 * libunwind's remote API from the registers the freeze read and memory
 * read through a callback, then recorded in the snapshot (core/nstacks.h)
 * with, for each frame, the module that holds it (path, build-id, load
 * bias) and the pc's offset in it, for symbolization offline.
 *
 * Nothing here needs the target stopped: given the registers of the
 * stopped threads and memory as it was then (the copy the capture made,
 * or a copy-on-write child of the target), the unwinding runs after the
 * target is let go.  Memory is read in pages through the callback
 * (process_vm_readv behind it), never word by word with PTRACE_PEEKDATA.
 */
#ifndef TRIPOD_SNAP_NATIVE_H
#define TRIPOD_SNAP_NATIVE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/procfs.h>
#include <sys/types.h>

#include "common/error.h"
#include "core/corewrite.h"
#include "core/maps.h"
#include "core/nstacks.h"
#include "snap/buildid.h"
#include "snap/capture.h"

/** Frames unwound per thread (as tripod-analyze's TP_NATIVE_MAX_FRAMES). */
#define TP_SNAP_NATIVE_MAX_FRAMES 2048

/**
 * Read @len bytes of the target at @addr into @buf; false when any of
 * them cannot be read.
 */
typedef bool tp_native_read_fn(void *arg, uint64_t addr, void *buf,
			       size_t len);

/** A reader of process @pid's memory with process_vm_readv: arg = &pid. */
bool tp_native_read_pid(void *arg, uint64_t addr, void *buf, size_t len);

/**
 * A reader of the memory a capture copied (struct tp_native_capture_src),
 * falling back to process_vm_readv on the process for what it did not
 * copy (code and read-only data, which do not change).
 */
struct tp_native_capture_src {
	const struct tp_capture *mem;
	pid_t pid;
};
bool tp_native_read_capture(void *arg, uint64_t addr, void *buf, size_t len);

/**
 * Unwind one thread: registers @regs (as PTRACE_GETREGSET NT_PRSTATUS
 * gives them), memory through @read.  @maps_pid names the process whose
 * /proc/PID/maps and mapped files give the call frame information (the
 * target, or a copy-on-write child of it).  The frames go to @ret (pc, sp,
 * activation; modules are tp_native_annotate()'s business); a stack that
 * cannot be unwound to its end says why in @ret->error.  Errors: only
 * TP_ERR_NOMEM, TP_ERR_OTHER when libunwind cannot start.
 */
struct tp_error *tp_native_unwind(pid_t maps_pid, const elf_gregset_t regs,
				  tp_native_read_fn *read, void *arg,
				  struct tp_nstack_thread *ret);

/**
 * Fill @s->modules and each frame's module and offset from the process's
 * mappings @maps: the module is the mapped file holding the pc, its
 * build-id from @ids (process @pid), its load bias from its program
 * headers (read through @read).  Errors: TP_ERR_NOMEM.
 */
struct tp_error *tp_native_annotate(struct tp_nstacks *s,
				    const struct tp_maps *maps,
				    struct tp_buildid_cache *ids, pid_t pid,
				    tp_native_read_fn *read, void *arg);

/**
 * Every thread of @threads (@n of them, stopped when their registers were
 * read) unwound and annotated into @ret: what tp_snap_capture() calls
 * after the target (@pid: build-ids come from its mapped files) runs
 * again.  Memory comes from @mem where it holds the bytes, else from
 * process @mem_pid, whose mappings also give the call frame information:
 * the copy-on-write clone of the target, or the target itself when @mem
 * is a copy.
 */
struct tp_error *tp_native_record(pid_t pid, pid_t mem_pid,
				  const struct tp_core_thread *threads,
				  size_t n, const struct tp_capture *mem,
				  struct tp_buildid_cache *ids,
				  struct tp_nstacks *ret);

#endif /* TRIPOD_SNAP_NATIVE_H */
