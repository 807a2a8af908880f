/* SPDX-License-Identifier: MIT */
/*
 * Copying a stopped process's memory: the part of a snapshot done inside
 * the freeze.  Which mappings are copied, and how much of each, follows
 * DESIGN.md "Snapshot format"; see tp_capture_classify().
 */
#ifndef TRIPOD_SNAP_CAPTURE_H
#define TRIPOD_SNAP_CAPTURE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "core/corewrite.h"
#include "core/maps.h"

/** Cap on the bytes copied for one snapshot. */
#define TP_CAPTURE_MAX_BYTES (64ULL << 30)

/**
 * Past this many segments, mappings that would be split at every run of
 * untouched pages are copied whole instead (correct, only larger: those
 * pages read as zeros or as the file's), so that a sparse address space
 * stays under the 65533 program headers an ELF file can have.
 */
#define TP_CAPTURE_SPLIT_SEGMENTS 32768

/** How much of a mapping goes into the snapshot. */
enum tp_dump_kind {
	TP_DUMP_SKIP,     /* not in the core at all ([vvar], [vsyscall]) */
	TP_DUMP_NONE,     /* a PT_LOAD with no data (read-only file data,
			     unreadable mappings) */
	TP_DUMP_HEAD,     /* the first page only (the ELF header page of a
			     file mapped from offset 0) */
	TP_DUMP_CHANGED,  /* a private read-only file mapping: the pages the
			     process changed (pagemap: present and no longer
			     the file's page, or swapped), such as relocated
			     RELRO data, plus the first page when it maps
			     offset 0; the others are the file's */
	TP_DUMP_ALL,      /* every page */
	TP_DUMP_PRESENT,  /* pages present or swapped (pagemap); the others
			     read as zero */
};

enum tp_dump_kind tp_capture_classify(const struct tp_mapping *m);

struct tp_capture {
	struct tp_maps maps;            /* /proc/PID/maps in the freeze */
	struct tp_core_segment *segs;   /* address order; data in bufs */
	size_t nsegs, segcap;
	struct tp_core_file *files;     /* every file-backed mapping */
	size_t nfiles;
	void **bufs;                    /* copied bytes, owned */
	size_t nbufs, bufcap;
	uint64_t copied;                /* bytes copied */
	uint64_t pulled;                /* bytes of pull segments */
	uint64_t holes;                 /* bytes that could not be read */
};

/** tp_capture_memory() flag: read pagemap even if PAGEMAP_SCAN works. */
#define TP_CAPTURE_NO_SCAN 1u
/**
 * tp_capture_clone() flag: copy nothing; the segments to copy are pull
 * segments (tp_core_segment.pull) that the snapshot writer reads from the
 * process while it stores them, a block at a time.
 */
#define TP_CAPTURE_DEFER 2u

/**
 * Read the maps of stopped process @pid and copy its memory.  @pagemap_fd
 * is /proc/PID/pagemap, or -1 (then private anonymous mappings are copied
 * whole).  @flags: 0, or TP_CAPTURE_NO_SCAN (for tests).  TP_ERR_EXITED
 * when the process is gone.  On error @ret holds nothing to free.
 */
struct tp_error *tp_capture_memory(pid_t pid, int pagemap_fd, unsigned flags,
				   struct tp_capture *ret);

/*
 * The copy-on-write capture (snapshot.c): a clone of the stopped target
 * holds its memory as it was, and is read after the target runs again.
 * But the clone lacks the mappings marked MADV_DONTFORK and has zeros in
 * those marked MADV_WIPEONFORK: those are copied from the target itself,
 * while it is stopped.
 */

/**
 * Which of @maps (of process @pid, read before the freeze: their flags
 * rarely change) the kernel does not copy into a child (MADV_DONTFORK,
 * MADV_WIPEONFORK): a new array of @maps->n flags in *@ret, how many are
 * set in *@ret_n.
 */
struct tp_error *tp_capture_nofork(pid_t pid, const struct tp_maps *maps,
				   bool **ret, size_t *ret_n);

/**
 * Copy the mappings of @maps (of stopped process @pid) that @which
 * selects, as tp_capture_memory() would; @ret has no maps or files, only
 * segments and buffers.
 */
struct tp_error *tp_capture_mappings(pid_t pid, int pagemap_fd,
				     const struct tp_maps *maps,
				     const bool *which,
				     struct tp_capture *ret);

/**
 * Capture @maps (the target's, read in the freeze; taken over) from its
 * clone @child (@pagemap_fd: the child's), except the mappings @which
 * selects (NULL: none), whose segments come from @pre (made by
 * tp_capture_mappings() with the same @maps and @which; its buffers are
 * taken over).  @flags: TP_CAPTURE_DEFER, TP_CAPTURE_NO_SCAN.
 */
struct tp_error *tp_capture_clone(struct tp_maps *maps, pid_t child,
				  int pagemap_fd, unsigned flags,
				  const bool *which, struct tp_capture *pre,
				  struct tp_capture *ret);


void tp_capture_deinit(struct tp_capture *c);

#endif /* TRIPOD_SNAP_CAPTURE_H */
