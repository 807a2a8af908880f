/* SPDX-License-Identifier: MIT */
/*
 * Reading an ELF core: a tripod snapshot (an index in a block store, or a
 * single-file BGZF .core.gz), a gzip'd core, or a plain core made by the
 * kernel or gdb's gcore.
 *
 * The core is exposed three ways: a libelf handle for libdwfl
 * (dwfl_core_file_report), the notes parsed into plain structs, and a
 * tp_memsrc that reads target memory.  A stored snapshot or a BGZF core is
 * never inflated whole: each block (each gzip member) is decompressed when
 * a read first needs it, into a block cache that cores opened one after
 * another can share (tp_core_open_with()), so that blocks many snapshots
 * share are decompressed once.  A plain core is mapped; a gzip'd core that
 * is not BGZF is inflated whole.
 *
 * Memory reads: bytes inside a PT_LOAD's file part come from the core.  Bytes
 * past p_filesz (up to p_memsz) come from the mapped file when an NT_FILE
 * entry covers the address (read-only code and data that were not copied),
 * through the file resolver; otherwise, in a tripod snapshot, they are zero
 * (pages the target never touched); in a foreign core they are a fault.
 * An address that an NT_FILE entry covers but whose file the resolver
 * cannot supply is a fault in both kinds of core: zeros there would be a
 * lie about code and constants.
 *
 * A core cut short (a full disk, a copy interrupted) still opens when its
 * headers and notes are intact: segment bytes past the end of the file read
 * as a fault, tp_core_is_truncated() is true and tp_core_warning() says how
 * much is missing.
 *
 * A core (and its memsrc, which caches open files) is not safe for
 * concurrent use from several threads.
 */
#ifndef TRIPOD_CORE_COREREAD_H
#define TRIPOD_CORE_COREREAD_H

#include <libelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/procfs.h>
#include <sys/types.h>

#include "common/error.h"
#include "core/memsrc.h"

struct tp_core;

struct tp_core_thread_info {
	pid_t tid;
	elf_gregset_t regs;        /* pr_reg of NT_PRSTATUS */
	int signo;
};

struct tp_core_file_info {
	uint64_t start, end, offset;   /* offset in bytes */
	const char *path;
};

/** One PT_LOAD, as found in the core (segments are sorted by vaddr). */
struct tp_core_segment_info {
	uint64_t vaddr, memsz;
	uint64_t offset, filesz;   /* p_offset, p_filesz */
	uint64_t avail;            /* bytes of the file part present (<= filesz) */
	uint32_t flags;            /* PF_R | PF_W | PF_X */
	bool unreadable;           /* a stored snapshot's hole: tripod-snap
				      could not read these bytes; reads of
				      them fail */
};

/** Default cap on the inflated size of a compressed core. */
#define TP_CORE_MAX_SIZE (64ULL << 30)

/**
 * Open the core at @path (gzip'd or plain).  Errors: TP_ERR_OS (cannot
 * open/read), TP_ERR_FORMAT (bad gzip, not an ELF core, truncated headers or
 * notes; the message says what).
 */
struct tp_error *tp_core_open(const char *path, struct tp_core **ret);

struct tp_blockcache;

struct tp_core_open_opts {
	/* Decompressed blocks, shared with other cores (borrowed; it must
	 * outlive the core); NULL: a private cache. */
	struct tp_blockcache *cache;
};

/**
 * tp_core_open() with options (@opts may be NULL).  A snapshot index
 * (doc/snapshot-format.md) also needs its block store; errors about the
 * index or the store name the file: TP_ERR_FORMAT (damaged),
 * TP_ERR_UNSUPPORTED (a newer format), TP_ERR_OS (store missing).  A
 * block missing or damaged in the store is found when it is read: the
 * read fails (TP_ERR_FAULT) with the reason.
 */
struct tp_error *tp_core_open_with(const char *path,
				   const struct tp_core_open_opts *opts,
				   struct tp_core **ret);
void tp_core_destroy(struct tp_core *core);

/**
 * libelf handle on the core, made with elf_memory() on first use; owned
 * by @core.  For a plain or gzip'd core it is the whole image; for a
 * stored snapshot or a BGZF core, a smaller image for module discovery:
 * the headers, the notes, and the data of segments that file mappings
 * cover (other segments show p_filesz 0).  NULL if libelf refuses the
 * image (elf_errmsg(-1) says why) or memory runs out.
 */
Elf *tp_core_elf(struct tp_core *core);
/**
 * The whole uncompressed core file (read-only), its size in *@len;
 * owned by @core.  For a stored snapshot or a BGZF core this decompresses
 * everything into memory (bytes that cannot be read are zeros): meant for
 * tests.  NULL when memory runs out.
 */
const void *tp_core_image(struct tp_core *core, size_t *len);

struct tp_sink;

/**
 * Write @core as a standalone ELF core to @sink, the way tp_core_write()
 * lays one out: the notes of the core as they are, one PT_LOAD per
 * segment, data page aligned.  A stored snapshot becomes the core
 * tripod-snap would have written whole; an unreadable segment gets
 * p_filesz 0, a truncated one its bytes present.  Bytes that cannot be
 * read (a block missing from the store) are written as zeros and counted
 * in *@ret_unread (if not NULL).
 */
struct tp_error *tp_core_export(struct tp_core *core, struct tp_sink *sink,
				uint64_t *ret_unread);
/** The memory source over this core; owned by @core. */
struct tp_memsrc *tp_core_memsrc(struct tp_core *core);

/** True when the core carries a tripod note (it is a tripod snapshot). */
bool tp_core_is_snapshot(const struct tp_core *core);

/**
 * True when PT_LOAD file ranges reach past the end of the file; the missing
 * bytes read as a fault.  tp_core_warning() then describes it in one line
 * for the caller to report; NULL when the core is whole.
 */
bool tp_core_is_truncated(const struct tp_core *core);
const char *tp_core_warning(const struct tp_core *core);

/** PT_LOAD segments in address order (segments with p_memsz 0 left out). */
size_t tp_core_nsegments(const struct tp_core *core);
const struct tp_core_segment_info *tp_core_segment(const struct tp_core *core,
						   size_t i);

size_t tp_core_nthreads(const struct tp_core *core);
/** Threads in note order (the first is the one the core names first). */
const struct tp_core_thread_info *tp_core_thread(const struct tp_core *core,
						 size_t i);

/** NT_PRPSINFO: pid, ppid, fname, psargs; 0 / NULL when absent. */
pid_t tp_core_pid(const struct tp_core *core);
pid_t tp_core_ppid(const struct tp_core *core);
const char *tp_core_fname(const struct tp_core *core);
const char *tp_core_psargs(const struct tp_core *core);
/** NT_PRPSINFO: the process's user and group ids; -1 when absent. */
long long tp_core_uid(const struct tp_core *core);
long long tp_core_gid(const struct tp_core *core);

/** NT_FILE entries in note order; paths are owned by @core. */
size_t tp_core_nfiles(const struct tp_core *core);
const struct tp_core_file_info *tp_core_file(const struct tp_core *core,
					     size_t i);

/** Raw NT_AUXV bytes, or NULL. */
const void *tp_core_auxv(const struct tp_core *core, size_t *len);

/**
 * Tripod note: the first value for @key, or NULL.  tp_core_note_all() gives
 * every value of a repeated key (argv) in order, stored in a new array of
 * borrowed pointers (free() the array only).
 */
const char *tp_core_note_get(const struct tp_core *core, const char *key);
struct tp_error *tp_core_note_all(const struct tp_core *core, const char *key,
				  const char ***ret, size_t *ret_n);

/**
 * The bytes of the native stacks note tripod-snap --native wrote
 * (core/nstacks.h: tp_nstacks_decode() checks them), their length in
 * *@len; NULL when the core has none.
 */
const void *tp_core_nstacks(const struct tp_core *core, size_t *len);

/**
 * The bytes of the sockets note (core/sockets.h: tp_sockets_decode()
 * checks them), their length in *@len; NULL when the core has none.
 */
const void *tp_core_sockets(const struct tp_core *core, size_t *len);

/**
 * How a file-backed range that was not copied is found.  Given the NT_FILE
 * path, return a readable fd (the core closes it) or -1.  The default opens
 * the path (a regular file only, O_CLOEXEC) and, when the core holds the
 * file's first page, accepts the file only if its first page matches.
 * Each path is resolved once and the answer cached; setting a resolver
 * (NULL restores the default) drops the cache.
 */
typedef int tp_core_file_resolver(void *arg, const char *path);
void tp_core_set_file_resolver(struct tp_core *core,
			       tp_core_file_resolver *fn, void *arg);

#endif /* TRIPOD_CORE_COREREAD_H */
