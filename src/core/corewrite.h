/* SPDX-License-Identifier: MIT */
/*
 * Writing an ELF core file (ET_CORE) in the layout gdb, eu-stack, drgn and
 * libdwfl expect: one PT_NOTE segment first (NT_PRSTATUS [+ NT_FPREGSET] per
 * thread, the main thread first, then NT_PRPSINFO, NT_AUXV, NT_FILE and the
 * tripod note), then one PT_LOAD per segment in address order.  A segment
 * whose data was not copied has p_filesz 0 (or less than p_memsz).
 *
 * The writer only formats: it gets everything already captured and writes it
 * through a sink (a gzip stream for snapshots, a plain file in tests).
 */
#ifndef TRIPOD_CORE_COREWRITE_H
#define TRIPOD_CORE_COREWRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/procfs.h>
#include <sys/types.h>

#include "common/error.h"

/** Name and type of the tripod note (in the PT_NOTE segment). */
#define TP_NOTE_NAME "TRIPOD"
#define TP_NOTE_TYPE 0x54500001u

struct tp_core_thread {
	pid_t tid;
	elf_gregset_t regs;        /* as PTRACE_GETREGSET NT_PRSTATUS */
	elf_fpregset_t fpregs;     /* as PTRACE_GETREGSET NT_FPREGSET */
	bool have_fpregs;
	int signo;                 /* pr_cursig, usually 0 */
};

struct tp_core_segment {
	uint64_t vaddr, memsz;
	bool read, write, exec;    /* p_flags */
	const void *data;          /* the first `filesz` bytes, or NULL */
	uint64_t filesz;           /* <= memsz */
	bool unreadable;           /* filesz 0: the bytes could not be read
				      (a stored snapshot records it; a core
				      file cannot) */
	/*
	 * The bytes were not copied yet: data is NULL, filesz == memsz, and
	 * the snapshot writer reads them from the process when it stores
	 * them (tp_snapwriter_pull()).  tp_core_write() refuses such a
	 * segment.
	 */
	bool pull;
};

struct tp_core_file {              /* one NT_FILE entry */
	uint64_t start, end;
	uint64_t offset;           /* file offset in bytes (page aligned) */
	const char *path;
};

/** key=value pairs of the tripod note; a key may repeat (argv). */
struct tp_core_kv {
	const char *key;
	const char *value;
};

/** A note of name TP_NOTE_NAME with its type and bytes. */
struct tp_core_extra_note {
	uint32_t type;
	const void *data;
	size_t len;
};

struct tp_core_desc {
	pid_t pid, ppid, pgrp, sid;
	uid_t uid;
	gid_t gid;
	char state;                /* 'R', 'S', ... for NT_PRPSINFO */
	const char *fname;         /* comm, truncated to 15 bytes */
	const char *psargs;        /* argv joined by spaces, truncated to 79 */
	const struct tp_core_thread *threads;  /* main thread first */
	size_t nthreads;
	const struct tp_core_segment *segments; /* sorted by vaddr, disjoint */
	size_t nsegments;
	const struct tp_core_file *files;
	size_t nfiles;
	const void *auxv;          /* raw /proc/PID/auxv, or NULL */
	size_t auxv_len;
	const struct tp_core_kv *kv;  /* the tripod note, or NULL */
	size_t nkv;
	/* More tripod notes (name TP_NOTE_NAME), written after the tripod
	   note: the native stacks (core/nstacks.h) */
	const struct tp_core_extra_note *extra;
	size_t nextra;
};

/** Receives the core's bytes in order. */
struct tp_sink {
	struct tp_error *(*write)(struct tp_sink *sink, const void *data,
				  size_t len);
};

/**
 * Write the core described by @desc to @sink.  The page size used for the
 * file layout and NT_FILE is this machine's (the target's: tripod-snap runs
 * next to it).  Errors: TP_ERR_INVALID for an inconsistent description
 * (segments unsorted or overlapping, filesz > memsz, an NT_FILE offset not
 * page aligned, a tripod key that is empty or contains '='), TP_ERR_LIMIT
 * for more segments than e_phnum can count (65533), or whatever the sink
 * returns.  The tripod note is written only when @desc->kv is not NULL.
 */
struct tp_error *tp_core_write(const struct tp_core_desc *desc,
			       struct tp_sink *sink);

struct tp_strbuf;

/**
 * Append to @out the contents of the PT_NOTE segment that tp_core_write()
 * makes for @desc (its segments are not looked at), with NT_FILE in pages
 * of @page bytes.  Errors as tp_core_write() for the parts it reads.
 */
struct tp_error *tp_core_build_notes(const struct tp_core_desc *desc,
				     uint64_t page, struct tp_strbuf *out);

/** A PT_LOAD for tp_core_build_head(). */
struct tp_core_load {
	uint64_t vaddr, memsz, filesz;
	uint32_t flags;            /* PF_R | PF_W | PF_X */
};

/**
 * Append to @out the first bytes of an ELF core: the ELF header, the
 * program headers (PT_NOTE, then @loads in order) and the @notes_len bytes
 * of @notes.  Each PT_LOAD's data goes at a page-aligned offset after
 * that, stored in @offsets[i] (if not NULL); *@ret_size (if not NULL) gets
 * the size of the whole core.  The layout is tp_core_write()'s: a core
 * written piecewise from this head is the core tp_core_write() makes.
 */
struct tp_error *tp_core_build_head(const struct tp_core_load *loads,
				    size_t n, const void *notes,
				    size_t notes_len, uint64_t page,
				    struct tp_strbuf *out, uint64_t *offsets,
				    uint64_t *ret_size);

/** Write @n zero bytes to @sink. */
struct tp_error *tp_sink_zeros(struct tp_sink *sink, uint64_t n);

struct tp_gzwriter;

/** A sink that appends to a gzip stream (gz.h); the caller finishes it. */
struct tp_sink_gz {
	struct tp_sink sink;
	struct tp_gzwriter *w;
};
void tp_sink_gz_init(struct tp_sink_gz *s, struct tp_gzwriter *w);

/** A sink that writes to a file descriptor (not closed); counts bytes. */
struct tp_sink_fd {
	struct tp_sink sink;
	int fd;
	uint64_t written;
};
void tp_sink_fd_init(struct tp_sink_fd *s, int fd);

#endif /* TRIPOD_CORE_COREWRITE_H */
