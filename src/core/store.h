/* SPDX-License-Identifier: MIT */
/*
 * The deduplicated snapshot store (doc/snapshot-format.md).
 *
 * A snapshot directory DIR holds one block store, DIR/blocks/, of
 * content-addressed compressed blocks, and one small index per snapshot,
 * DIR/snapshot-NNNNNN.tripod (or DIR/PID/snapshot-NNNNNN.tripod when
 * tripod-snap follows several processes).  An index holds what an ELF core
 * holds besides memory (the notes: threads, registers, NT_FILE, the tripod
 * note) and, for each PT_LOAD, the names of the blocks that hold its bytes.
 * Blocks are cut at multiples of TP_STORE_BLOCK_SIZE in the target's
 * address space, so a block that did not change since the previous
 * snapshot has the same bytes, the same name, and is stored once.
 *
 * This module writes snapshots (tp_snapwriter), loads indexes and blocks
 * for the reader (coreread.c), and drops old snapshots (tp_store_retain).
 * One process writes a directory at a time: tp_store_open() takes a lock.
 */
#ifndef TRIPOD_CORE_STORE_H
#define TRIPOD_CORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "core/corewrite.h"
#include "core/hash.h"

/** Blocks cover [k * SIZE, (k + 1) * SIZE) of the address space at most. */
#define TP_STORE_BLOCK_SIZE 65536u
/** The block store's directory, in the snapshot directory. */
#define TP_STORE_BLOCKS_DIR "blocks"
/** Name of an index: "snapshot-" six digits ".tripod". */
#define TP_STORE_INDEX_PREFIX "snapshot-"
#define TP_STORE_INDEX_SUFFIX ".tripod"
/** The single-file form (tripod-snap --standalone): a gzip'd ELF core. */
#define TP_STORE_CORE_GZ_SUFFIX ".core.gz"

/** Index segment flag: the bytes could not be read; reads of them fail. */
#define TP_STORE_SEG_UNREADABLE 0x100u

/** Caps on what an index (foreign bytes) may claim. */
#define TP_STORE_MAX_INDEX_SIZE (1ULL << 30)
#define TP_STORE_MAX_SEGMENTS 65533u

/* ---- reading ------------------------------------------------------------ */

/** One PT_LOAD of an index. */
struct tp_index_segment {
	uint64_t vaddr, memsz, filesz;
	uint32_t flags;            /* PF_R | PF_W | PF_X | TP_STORE_SEG_UNREADABLE */
	uint64_t first_ref;        /* its blocks: refs[first_ref ...] */
	uint64_t nrefs;
};

/** A loaded index; every pointer points into its own buffer. */
struct tp_index {
	char *path;
	void *buf;
	size_t size;
	uint32_t block_size, page_size;
	const char *store_path;    /* relative to the index's directory */
	size_t store_path_len;
	const unsigned char *notes;   /* the PT_NOTE contents */
	size_t notes_len;
	struct tp_index_segment *segs;
	size_t nsegs;
	const struct tp_hash *refs;   /* unaligned-safe: tp_hash is bytes */
	uint64_t nrefs;
};

/**
 * Load and check the index at @path: magic, version, sizes, the trailing
 * checksum, segment order.  Errors: TP_ERR_OS (cannot read), TP_ERR_FORMAT
 * (not an index, damaged or truncated: the message says which and names
 * the file), TP_ERR_UNSUPPORTED (a newer format version).
 */
struct tp_error *tp_index_load(const char *path, struct tp_index **ret);
void tp_index_destroy(struct tp_index *ix);

/** True if @head (the first @len bytes of a file) starts like an index. */
bool tp_index_is_index(const void *head, size_t len);

/** The blocks of @seg: ceil over the address-aligned pieces of its data. */
uint64_t tp_store_nblocks(uint64_t vaddr, uint64_t filesz, uint32_t block_size);

/**
 * Open the block store named by @ix (its store_path, relative to the
 * index's directory) as a directory descriptor (close() it).
 */
struct tp_error *tp_index_open_store(const struct tp_index *ix, int *ret_fd);

/**
 * Read block @h of @len bytes from the store open at @dirfd into @out
 * (@len bytes): decompress it and check that its bytes have the hash it is
 * named by.  The zero hash is the all-zero block and reads no file.
 * Errors: TP_ERR_OS (missing or unreadable file), TP_ERR_FORMAT (damaged:
 * bad header, wrong length, decompression failure, hash mismatch).
 */
struct tp_error *tp_store_read_block(int dirfd, const struct tp_hash *h,
				     void *out, size_t len);

/* ---- the store, for writing --------------------------------------------- */

struct tp_store;

/**
 * Open the store of snapshot directory @dir (which must exist) for
 * writing; DIR/blocks is created (0700) when the first block is written.
 * Reads every index in
 * DIR and DIR's subdirectories to know which blocks are in use, and locks
 * the store: a second writer gets TP_ERR_INVALID "in use by another
 * tripod-snap".
 */
struct tp_error *tp_store_open(const char *dir, struct tp_store **ret);
void tp_store_close(struct tp_store *st);

/**
 * The size that --max-size limits: the bytes of every snapshot file (index
 * or single-file .core.gz) in DIR and its subdirectories, plus the bytes
 * of every block file, each counted once.
 */
struct tp_error *tp_store_size(struct tp_store *st, uint64_t *ret);

/* ---- writing one snapshot ----------------------------------------------- */

struct tp_snapwriter;

/**
 * Start snapshot DIR/@subdir/@name (@subdir NULL: DIR/@name; otherwise one
 * path component, created 0700 if missing).  @name must end in
 * TP_STORE_INDEX_SUFFIX.  Nothing is visible under @name until
 * tp_snapwriter_finish() succeeds.  The writer holds at most two blocks of
 * memory (about 130 KiB) whatever the snapshot's size.
 */
struct tp_error *tp_snapwriter_create(struct tp_store *st, const char *subdir,
				      const char *name,
				      struct tp_snapwriter **ret);

/**
 * Begin a PT_LOAD of @memsz bytes at @vaddr (page aligned; above the end
 * of the previous one) with ELF flags @pflags (PF_R | PF_W | PF_X).  The
 * bytes then given by tp_snapwriter_data(), _hole() and _pull() describe
 * it from its start, in order; whatever is not given before the next
 * segment (or finish) was not copied and reads as the core format says
 * for bytes past p_filesz: from the mapped file, else zeros.
 */
struct tp_error *tp_snapwriter_segment(struct tp_snapwriter *w, uint64_t vaddr,
				       uint64_t memsz, uint32_t pflags);

/** The next @len bytes of the segment, copied from @data (not kept). */
struct tp_error *tp_snapwriter_data(struct tp_snapwriter *w, const void *data,
				    size_t len);

/**
 * The next @len bytes (whole pages) could not be read.  The segment is
 * split around them: they become a PT_LOAD without data that reads as a
 * fault in tripod-analyze (flag TP_STORE_SEG_UNREADABLE) and as zeros in
 * an exported core.
 */
struct tp_error *tp_snapwriter_hole(struct tp_snapwriter *w, uint64_t len);

/**
 * Read target memory for tp_snapwriter_pull(): read up to @len bytes (at
 * most TP_STORE_BLOCK_SIZE, never crossing a block boundary) at @addr into
 * @buf and store the count read in *@ret.  A count below @len means the
 * page at @addr + *@ret (rounded down to a page) could not be read: the
 * writer records that page as a hole and asks again from the page after
 * it.  Return an error (TP_ERR_EXITED, ...) to abandon the snapshot.
 * process_vm_readv() has exactly these semantics.
 */
typedef struct tp_error *tp_snapwriter_read_fn(void *arg, uint64_t addr,
					       void *buf, size_t len,
					       size_t *ret);

/**
 * The next @len bytes of the segment, pulled through @fn in pieces of at
 * most one block (into the writer's own buffer), each hashed and, when its
 * block is new, compressed and stored before the next piece is read.
 */
struct tp_error *tp_snapwriter_pull(struct tp_snapwriter *w, uint64_t len,
				    tp_snapwriter_read_fn *fn, void *arg);

/** Counters of one snapshot. */
struct tp_snapwriter_stats {
	uint64_t bytes;            /* data bytes given */
	uint64_t blocks;           /* blocks referenced (zero blocks too) */
	uint64_t zero_blocks;      /* of which all zeros (no file) */
	uint64_t new_blocks;       /* of which stored by this snapshot */
	uint64_t new_bytes;        /* bytes of the block files written */
	uint64_t holes;            /* bytes that could not be read */
	uint64_t index_bytes;      /* size of the index file */
};

/**
 * Write the index: the notes made from @desc (threads, NT_PRPSINFO,
 * NT_AUXV, NT_FILE, the tripod note; @desc->segments must be empty, the
 * segments are those given to the writer) and the block lists, through a
 * temporary file renamed into place; mode 0600.  Whether it succeeds or
 * not, call tp_snapwriter_destroy() afterwards.  On error nothing of this
 * snapshot is left: no index, no block that only it used.
 */
struct tp_error *tp_snapwriter_finish(struct tp_snapwriter *w,
				      const struct tp_core_desc *desc);

const struct tp_snapwriter_stats *
tp_snapwriter_stats(const struct tp_snapwriter *w);

/**
 * Free the writer.  Unless tp_snapwriter_finish() succeeded, the snapshot
 * is abandoned: its temporary file and the blocks it alone stored are
 * removed (accepts NULL).
 */
void tp_snapwriter_destroy(struct tp_snapwriter *w);

/* ---- retention ---------------------------------------------------------- */

struct tp_store_retain_opts {
	/* Keep the newest @keep snapshots of each series (DIR, or DIR/PID
	 * with --subprocesses); TP_STORE_KEEP_ALL keeps them all. */
	unsigned long keep;
	/* After that, drop the oldest snapshots (by modification time, all
	 * series together) until the store's size is at most @max_size
	 * bytes; 0: no limit.  @protect (a path, or NULL) is never dropped
	 * by this rule: the snapshot just written. */
	uint64_t max_size;
	const char *protect;
};
#define TP_STORE_KEEP_ALL ((unsigned long)-1)

struct tp_store_retain_result {
	size_t removed;            /* snapshots removed */
	uint64_t size;             /* tp_store_size() after */
	bool over;                 /* still above max_size (only @protect
				      and what it needs are left) */
};

/**
 * Apply --keep and --max-size to the directory: remove snapshots (index
 * files, and single-file .core.gz snapshots), then every block no
 * remaining index names.  The size counted is the sum of the sizes of the
 * snapshot files and block files (what `ls -l` shows), each block once
 * however many snapshots share it.
 */
struct tp_error *tp_store_retain(struct tp_store *st,
				 const struct tp_store_retain_opts *opts,
				 struct tp_store_retain_result *ret);

#endif /* TRIPOD_CORE_STORE_H */
