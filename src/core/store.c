/* SPDX-License-Identifier: MIT */
/*
 * The snapshot store: index files, block files, the writer, retention.
 * doc/snapshot-format.md describes the bytes; this comment the reasoning.
 *
 * Why one file per block.  Deleting a snapshot must give its space back
 * exactly (--max-size), and a block shared by many snapshots must live
 * until the last of them goes.  With one file per block, freeing a block
 * is an unlink and the store's size is the sum of its files' sizes; a
 * pack file would need compaction.  A 110 MB target makes about 1,700
 * blocks, a 1 GB one 16,000, spread over 256 subdirectories.
 *
 * Why address-aligned blocks.  A block covers [k * 64 KiB, (k + 1) * 64
 * KiB) of the target's address space, clipped to its segment, so the
 * block boundaries of a mapping stay where they are when the heap grows at
 * its end or a page in the middle becomes unreadable: the blocks before
 * and after keep their bytes, hence their names.
 *
 * What makes a snapshot of a steady target cheap.  An unchanged block is
 * hashed (about 10 GB/s), found in the in-memory table of the store's
 * blocks, and only named in the index: no compression, no file.  A block
 * of zeros is not even hashed: it is named by the reserved zero hash.
 *
 * Crash safety.  A block is written under a temporary name and renamed
 * into place, so a block file that exists is whole.  The index is written
 * last, the same way, so an index never names a block that is not on disk
 * (short of a power loss: nothing is fsync'd, as tripod-snap never did).
 * A snapshot that fails (a full disk) removes the blocks it alone added.
 * Blocks left unused by a crash cost space until the next retention pass
 * removes every block no index names.  Temporary files left by a crash
 * start with '.' and are removed when the store is next opened for
 * writing, under the lock that keeps a second writer out.
 */
#include "config.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "common/strbuf.h"
#include "core/fdio.h"
#include "core/store.h"

#define INDEX_MAGIC "TRIPODIX"
#define BLOCK_MAGIC "TRIPODBK"
#define INDEX_VERSION 1u
#define BLOCK_VERSION 1u
#define INDEX_HEADER_SIZE 64u
#define INDEX_SEGMENT_SIZE 32u
#define BLOCK_HEADER_SIZE 16u
#define TRAILER_SIZE 16u
#define METHOD_STORED 0u
#define METHOD_ZSTD 1u
/* zstd level 1: 5x faster than deflate -1 at a similar ratio. */
#define ZSTD_LEVEL 1
/* "../" at most this many times before "blocks" in an index. */
#define MAX_STORE_UP 8

/* ---- little-endian fields ----------------------------------------------- */

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t align8(uint64_t v)
{
	return (v + 7) & ~(uint64_t)7;
}

uint64_t tp_store_nblocks(uint64_t vaddr, uint64_t filesz, uint32_t bs)
{
	if (!filesz)
		return 0;
	return (vaddr + filesz - 1) / bs - vaddr / bs + 1;
}

/* "ab/abcdef..." for block @h: 2 + 1 + 32 characters and a NUL. */
static void block_name(const struct tp_hash *h, char out[36])
{
	char hex[TP_HASH_HEX_LEN + 1];
	tp_hash_hex(h, hex);
	out[0] = hex[0];
	out[1] = hex[1];
	out[2] = '/';
	memcpy(out + 3, hex, TP_HASH_HEX_LEN + 1);
}

/* ---- reading an index ----------------------------------------------------- */

bool tp_index_is_index(const void *head, size_t len)
{
	return len >= 8 && memcmp(head, INDEX_MAGIC, 8) == 0;
}

static struct tp_error *ix_error(const char *path, const char *what)
{
	return tp_error_create(TP_ERR_FORMAT, "%s: %s", path, what);
}

static bool store_path_ok(const char *p, size_t len)
{
	/* ("../")* "blocks": the store is the index's directory's or an
	 * ancestor's, never elsewhere. */
	size_t up = 0;
	while (len >= 3 && memcmp(p, "../", 3) == 0 && up < MAX_STORE_UP) {
		p += 3;
		len -= 3;
		up++;
	}
	return len == strlen(TP_STORE_BLOCKS_DIR) &&
	       memcmp(p, TP_STORE_BLOCKS_DIR, len) == 0;
}

static struct tp_error *index_parse(struct tp_index *ix)
{
	const unsigned char *b = ix->buf;
	const char *path = ix->path;
	uint64_t size = ix->size;
	if (size < 8 || memcmp(b, INDEX_MAGIC, 8) != 0)
		return ix_error(path, "not a tripod snapshot index (bad magic)");
	if (size < INDEX_HEADER_SIZE + TRAILER_SIZE)
		return ix_error(path, "snapshot index truncated");
	/* The checksum first: a damaged version field is damage, not a
	 * newer format (every version ends with this trailer). */
	struct tp_hash want = tp_hash128(b, size - TRAILER_SIZE), have;
	memcpy(have.b, b + size - TRAILER_SIZE, 16);
	if (!tp_hash_eq(&want, &have))
		return ix_error(path, "snapshot index damaged or truncated (checksum mismatch)");
	uint32_t version = get32(b + 8);
	if (version != INDEX_VERSION)
		return tp_error_create(TP_ERR_UNSUPPORTED,
				       "%s: snapshot index format version %" PRIu32 " (this tripod reads version %u)",
				       path, version, INDEX_VERSION);
	if (get32(b + 12) != INDEX_HEADER_SIZE)
		return ix_error(path, "snapshot index: bad header size");
	ix->block_size = get32(b + 16);
	ix->page_size = get32(b + 20);
	uint32_t nsegs = get32(b + 24), plen = get32(b + 28);
	uint64_t notes_len = get64(b + 32), nrefs = get64(b + 40);
	uint32_t bs = ix->block_size, ps = ix->page_size;
	if (bs < 4096 || bs > (1u << 24) || (bs & (bs - 1)) ||
	    ps < 512 || ps > bs || (ps & (ps - 1)))
		return ix_error(path, "snapshot index: bad block or page size");
	if (nsegs > TP_STORE_MAX_SEGMENTS)
		return ix_error(path, "snapshot index: too many segments");
	/* Every region is checked against what remains before it is used;
	 * sizes are compared, never added to an offset first. */
	uint64_t body = size - TRAILER_SIZE, off = INDEX_HEADER_SIZE;
	if (plen > body - off)
		return ix_error(path, "snapshot index: store path past the end");
	ix->store_path = (const char *)b + off;
	ix->store_path_len = plen;
	if (!store_path_ok(ix->store_path, plen))
		return ix_error(path, "snapshot index: bad block store path");
	off = align8(off + plen);
	if (off > body || notes_len > body - off)
		return ix_error(path, "snapshot index: notes past the end");
	ix->notes = b + off;
	ix->notes_len = (size_t)notes_len;
	off = align8(off + notes_len);
	if (off > body || nsegs > (body - off) / INDEX_SEGMENT_SIZE)
		return ix_error(path, "snapshot index: segments past the end");
	const unsigned char *sp = b + off;
	off += (uint64_t)nsegs * INDEX_SEGMENT_SIZE;
	if (nrefs > (body - off) / 16 || body - off != nrefs * 16)
		return ix_error(path, "snapshot index: block list does not fill the file");
	ix->refs = (const struct tp_hash *)(b + off);
	ix->nrefs = nrefs;

	ix->segs = calloc(nsegs ? nsegs : 1, sizeof(*ix->segs));
	if (!ix->segs)
		return &tp_error_nomem;
	uint64_t ref = 0, prev_end = 0;
	for (uint32_t i = 0; i < nsegs; i++, sp += INDEX_SEGMENT_SIZE) {
		struct tp_index_segment *s = &ix->segs[i];
		s->vaddr = get64(sp);
		s->memsz = get64(sp + 8);
		s->filesz = get64(sp + 16);
		s->flags = get32(sp + 24);
		char what[96];
		snprintf(what, sizeof(what), "snapshot index: segment %" PRIu32 " ", i);
		if (s->flags & ~(uint32_t)(PF_R | PF_W | PF_X |
					   TP_STORE_SEG_UNREADABLE))
			return ix_error(path, strcat(what, "has unknown flags"));
		if (!s->memsz || s->filesz > s->memsz ||
		    s->vaddr + s->memsz < s->vaddr ||
		    ((s->flags & TP_STORE_SEG_UNREADABLE) && s->filesz))
			return ix_error(path, strcat(what, "is invalid"));
		if (i && s->vaddr < prev_end)
			return ix_error(path, strcat(what, "overlaps the one before"));
		prev_end = s->vaddr + s->memsz;
		s->first_ref = ref;
		s->nrefs = tp_store_nblocks(s->vaddr, s->filesz, bs);
		if (s->nrefs > nrefs - ref)
			return ix_error(path, strcat(what, "has more blocks than the list"));
		ref += s->nrefs;
	}
	if (ref != nrefs)
		return ix_error(path, "snapshot index: block list longer than the segments");
	ix->nsegs = nsegs;
	return NULL;
}

struct tp_error *tp_index_load(const char *path, struct tp_index **ret)
{
	struct tp_index *ix = calloc(1, sizeof(*ix));
	if (!ix || !(ix->path = strdup(path))) {
		free(ix);
		return &tp_error_nomem;
	}
	struct tp_error *err = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) < 0) {
		err = tp_error_os(errno, path, "cannot open snapshot index");
		goto out;
	}
	if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > TP_STORE_MAX_INDEX_SIZE) {
		err = ix_error(path, S_ISREG(sb.st_mode)
				     ? "snapshot index too large"
				     : "not a regular file");
		goto out;
	}
	ix->buf = malloc(sb.st_size ? (size_t)sb.st_size : 1);
	if (!ix->buf) {
		err = &tp_error_nomem;
		goto out;
	}
	size_t got;
	int e = tp_fd_pread_full(fd, ix->buf, (size_t)sb.st_size, 0, &got);
	if (e) {
		err = tp_error_os(e, path, "cannot read snapshot index");
		goto out;
	}
	ix->size = got;
	err = index_parse(ix);
out:
	if (fd >= 0)
		close(fd);
	if (err) {
		tp_index_destroy(ix);
		return err;
	}
	*ret = ix;
	return NULL;
}

void tp_index_destroy(struct tp_index *ix)
{
	if (!ix)
		return;
	free(ix->path);
	free(ix->buf);
	free(ix->segs);
	free(ix);
}

struct tp_error *tp_index_open_store(const struct tp_index *ix, int *ret_fd)
{
	const char *slash = strrchr(ix->path, '/');
	char *p;
	int n = slash ? asprintf(&p, "%.*s/%.*s", (int)(slash - ix->path),
				 ix->path, (int)ix->store_path_len,
				 ix->store_path)
		      : asprintf(&p, "%.*s", (int)ix->store_path_len,
				 ix->store_path);
	if (n < 0)
		return &tp_error_nomem;
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct tp_error *err = NULL;
	if (fd < 0)
		err = tp_error_os(errno, p,
				  "cannot open the block store of %s", ix->path);
	free(p);
	if (!err)
		*ret_fd = fd;
	return err;
}

/* ---- reading a block ------------------------------------------------------ */

struct tp_error *tp_store_read_block(int dirfd, const struct tp_hash *h,
				     void *out, size_t len)
{
	if (tp_hash_is_zero(h)) {
		memset(out, 0, len);
		return NULL;
	}
	char name[36];
	block_name(h, name);
	/* O_NONBLOCK: a FIFO planted in the store must not hang the reader */
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK |
				     O_NOCTTY);
	if (fd < 0)
		return tp_error_os(errno, NULL, "cannot open block %s", name);
	struct stat bsb;
	if (fstat(fd, &bsb) < 0 || !S_ISREG(bsb.st_mode)) {
		close(fd);
		return tp_error_create(TP_ERR_FORMAT,
				       "block %s damaged (not a regular file)",
				       name);
	}
	size_t cap = BLOCK_HEADER_SIZE + ZSTD_COMPRESSBOUND(TP_STORE_BLOCK_SIZE);
	unsigned char *buf = malloc(cap + 1);
	struct tp_error *err = NULL;
	size_t got = 0;
	int e = buf ? tp_fd_read_full(fd, buf, cap + 1, &got) : ENOMEM;
	close(fd);
	if (e == ENOMEM) {
		free(buf);
		return &tp_error_nomem;
	}
	if (e) {
		err = tp_error_os(e, NULL, "cannot read block %s", name);
		goto out;
	}
	if (got < BLOCK_HEADER_SIZE || memcmp(buf, BLOCK_MAGIC, 8) != 0 ||
	    buf[8] != BLOCK_VERSION || got > cap) {
		err = tp_error_create(TP_ERR_FORMAT, "block %s damaged (bad header)",
				      name);
		goto out;
	}
	if (get32(buf + 12) != len) {
		err = tp_error_create(TP_ERR_FORMAT,
				      "block %s holds %" PRIu32 " bytes, the index says %zu",
				      name, get32(buf + 12), len);
		goto out;
	}
	const unsigned char *data = buf + BLOCK_HEADER_SIZE;
	size_t dlen = got - BLOCK_HEADER_SIZE;
	if (buf[9] == METHOD_STORED) {
		if (dlen != len) {
			err = tp_error_create(TP_ERR_FORMAT,
					      "block %s damaged (wrong length)", name);
			goto out;
		}
		memcpy(out, data, len);
	} else if (buf[9] == METHOD_ZSTD) {
		size_t n = ZSTD_decompress(out, len, data, dlen);
		if (ZSTD_isError(n) || n != len) {
			err = tp_error_create(TP_ERR_FORMAT,
					      "block %s damaged (%s)", name,
					      ZSTD_isError(n) ? ZSTD_getErrorName(n)
							      : "wrong length");
			goto out;
		}
	} else {
		err = tp_error_create(TP_ERR_FORMAT,
				      "block %s: unknown compression method %u",
				      name, buf[9]);
		goto out;
	}
	struct tp_hash got_h = tp_hash128(out, len);
	if (!tp_hash_eq(&got_h, h))
		err = tp_error_create(TP_ERR_FORMAT,
				      "block %s damaged (its bytes do not match its name)",
				      name);
out:
	free(buf);
	return err;
}

/* ---- the table of blocks ---------------------------------------------------- */

struct block_entry {
	struct tp_hash h;
	uint32_t refs;          /* occurrences in the indexes on disk */
	uint32_t size;          /* bytes of the block file */
	bool used;
};

struct block_map {
	struct block_entry *v;
	size_t cap, n;          /* cap: a power of two, or 0 */
};

static struct block_entry *map_find(const struct block_map *m,
				    const struct tp_hash *h)
{
	if (!m->cap)
		return NULL;
	for (size_t i = tp_hash_key(h) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		struct block_entry *e = &m->v[i];
		if (!e->used)
			return NULL;
		if (tp_hash_eq(&e->h, h))
			return e;
	}
}

static struct tp_error *map_grow(struct block_map *m)
{
	size_t cap = m->cap ? m->cap * 2 : 1024;
	struct block_entry *v = calloc(cap, sizeof(*v));
	if (!v)
		return &tp_error_nomem;
	for (size_t k = 0; k < m->cap; k++) {
		if (!m->v[k].used)
			continue;
		size_t i = tp_hash_key(&m->v[k].h) & (cap - 1);
		while (v[i].used)
			i = (i + 1) & (cap - 1);
		v[i] = m->v[k];
	}
	free(m->v);
	m->v = v;
	m->cap = cap;
	return NULL;
}

/* The entry for @h, added (refs 0, size 0) if missing. */
static struct tp_error *map_add(struct block_map *m, const struct tp_hash *h,
				struct block_entry **ret)
{
	struct block_entry *e = map_find(m, h);
	if (e) {
		*ret = e;
		return NULL;
	}
	if (2 * (m->n + 1) > m->cap) {
		struct tp_error *err = map_grow(m);
		if (err)
			return err;
	}
	size_t i = tp_hash_key(h) & (m->cap - 1);
	while (m->v[i].used)
		i = (i + 1) & (m->cap - 1);
	m->v[i] = (struct block_entry){ .h = *h, .used = true };
	m->n++;
	*ret = &m->v[i];
	return NULL;
}

/* Remove @e, shifting back the entries of its probe run (no tombstones). */
static void map_remove(struct block_map *m, struct block_entry *e)
{
	size_t mask = m->cap - 1, i = (size_t)(e - m->v), j = i;
	m->v[i].used = false;
	m->n--;
	for (;;) {
		j = (j + 1) & mask;
		if (!m->v[j].used)
			return;
		size_t home = tp_hash_key(&m->v[j].h) & mask;
		/* Move j to the hole at i unless its home lies in (i, j]. */
		bool stays = i <= j ? (home > i && home <= j)
				    : (home > i || home <= j);
		if (stays)
			continue;
		m->v[i] = m->v[j];
		m->v[j].used = false;
		i = j;
	}
}

/* ---- the store ---------------------------------------------------------------- */

struct tp_store {
	char *dir;
	int dirfd;              /* DIR, locked */
	int blocksfd;           /* DIR/blocks, or -1 until it exists */
	struct block_map map;
	uint64_t block_bytes;   /* sum of the sizes of the block files */
	uint8_t prefix_made[32];   /* bitmap: blocks/XX exists */
	ZSTD_CCtx *cctx;
};

static bool is_hex2(const char *s)
{
	return strlen(s) == 2 && strspn(s, "0123456789abcdef") == 2;
}

static bool is_temp(const char *name)
{
	return name[0] == '.' && (strncmp(name, ".tmp-", 5) == 0 ||
				  strncmp(name, ".snapshot-", 10) == 0);
}

/* Read DIR/blocks into the table (refs 0). */
static struct tp_error *scan_blocks(struct tp_store *st)
{
	st->blocksfd = openat(st->dirfd, TP_STORE_BLOCKS_DIR,
			      O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->blocksfd < 0) {
		if (errno == ENOENT)
			return NULL;
		return tp_error_os(errno, st->dir, "cannot open the block store in");
	}
	int dfd = dup(st->blocksfd);
	DIR *top = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!top) {
		if (dfd >= 0)
			close(dfd);
		return tp_error_os(errno, st->dir, "cannot read the block store in");
	}
	rewinddir(top);
	struct tp_error *err = NULL;
	struct dirent *de;
	while (!err && (de = readdir(top))) {
		if (!is_hex2(de->d_name))
			continue;
		unsigned x = (unsigned)strtoul(de->d_name, NULL, 16);
		st->prefix_made[x / 8] |= (uint8_t)(1u << (x % 8));
		int sfd = openat(st->blocksfd, de->d_name,
				 O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		DIR *sub = sfd >= 0 ? fdopendir(sfd) : NULL;
		if (!sub) {
			if (sfd >= 0)
				close(sfd);
			err = tp_error_os(errno, de->d_name,
					  "cannot read the block store directory");
			break;
		}
		struct dirent *be;
		while (!err && (be = readdir(sub))) {
			struct tp_hash h;
			struct stat sb;
			if (is_temp(be->d_name)) {
				unlinkat(dirfd(sub), be->d_name, 0);
				continue;
			}
			if (!tp_hash_parse(be->d_name, &h) ||
			    fstatat(dirfd(sub), be->d_name, &sb,
				    AT_SYMLINK_NOFOLLOW) < 0 ||
			    !S_ISREG(sb.st_mode) || sb.st_size > UINT32_MAX)
				continue;
			struct block_entry *e;
			if ((err = map_add(&st->map, &h, &e)))
				break;
			e->size = (uint32_t)sb.st_size;
			st->block_bytes += e->size;
		}
		closedir(sub);
	}
	closedir(top);
	return err;
}

/* One snapshot file found by a directory scan. */
struct snapfile {
	char *path;
	size_t series;          /* which directory */
	unsigned long seq;
	bool index;             /* .tripod, else .core.gz */
	uint64_t size;
	struct timespec mtime;
	bool removed;
};

struct snaplist {
	struct snapfile *v;
	size_t n, cap;
	size_t nseries;
};

static void snaplist_free(struct snaplist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].path);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* "snapshot-NNNNNN.tripod" or ".core.gz": its number, else 0. */
static unsigned long snapshot_seq(const char *name, bool *index)
{
	unsigned long n;
	int end = 0;
	if (sscanf(name, TP_STORE_INDEX_PREFIX "%6lu%n", &n, &end) != 1 ||
	    end != (int)strlen(TP_STORE_INDEX_PREFIX) + 6)
		return 0;
	if (strcmp(name + end, TP_STORE_INDEX_SUFFIX) == 0)
		*index = true;
	else if (strcmp(name + end, TP_STORE_CORE_GZ_SUFFIX) == 0)
		*index = false;
	else
		return 0;
	return n;
}

/* Add the snapshots of directory @path (fd @fd) as series @series; remove
 * temporary files a crash left there. */
static struct tp_error *scan_series(struct snaplist *l, int fd,
				    const char *path, size_t series)
{
	int dfd = dup(fd);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return tp_error_os(errno, path, "cannot read directory");
	}
	/* a dup shares the offset of @fd, which an earlier scan moved */
	rewinddir(d);
	struct tp_error *err = NULL;
	struct dirent *de;
	while ((de = readdir(d))) {
		bool index;
		unsigned long seq = snapshot_seq(de->d_name, &index);
		struct stat sb;
		if (!seq || fstatat(fd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(sb.st_mode))
			continue;
		if (l->n == l->cap) {
			size_t cap = l->cap ? 2 * l->cap : 64;
			struct snapfile *v = realloc(l->v, cap * sizeof(*v));
			if (!v) {
				err = &tp_error_nomem;
				break;
			}
			l->v = v;
			l->cap = cap;
		}
		struct snapfile *f = &l->v[l->n];
		memset(f, 0, sizeof(*f));
		if (asprintf(&f->path, "%s/%s", path, de->d_name) < 0) {
			err = &tp_error_nomem;
			break;
		}
		f->series = series;
		f->seq = seq;
		f->index = index;
		f->size = (uint64_t)sb.st_size;
		f->mtime = sb.st_mtim;
		l->n++;
	}
	closedir(d);
	return err;
}

/* Every snapshot of DIR and of its subdirectories (but blocks/). */
static struct tp_error *scan_snapshots(struct tp_store *st, bool clean,
				       struct snaplist *l)
{
	memset(l, 0, sizeof(*l));
	struct tp_error *err = scan_series(l, st->dirfd, st->dir, l->nseries++);
	int dfd = err ? -1 : dup(st->dirfd);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!err && !d) {
		if (dfd >= 0)
			close(dfd);
		err = tp_error_os(errno, st->dir, "cannot read directory");
	}
	if (d)
		rewinddir(d);
	struct dirent *de;
	while (!err && (de = readdir(d))) {
		if (clean && is_temp(de->d_name)) {
			unlinkat(st->dirfd, de->d_name, 0);
			continue;
		}
		if (de->d_name[0] == '.' ||
		    strcmp(de->d_name, TP_STORE_BLOCKS_DIR) == 0 ||
		    (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
			continue;
		int sfd = openat(st->dirfd, de->d_name,
				 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sfd < 0)
			continue;
		char *sub;
		if (asprintf(&sub, "%s/%s", st->dir, de->d_name) < 0) {
			close(sfd);
			err = &tp_error_nomem;
			break;
		}
		if (clean) {
			int cfd = dup(sfd);
			DIR *c = cfd >= 0 ? fdopendir(cfd) : NULL;
			struct dirent *ce;
			while (c && (ce = readdir(c)))
				if (is_temp(ce->d_name))
					unlinkat(sfd, ce->d_name, 0);
			if (c)
				closedir(c);
			else if (cfd >= 0)
				close(cfd);
		}
		err = scan_series(l, sfd, sub, l->nseries++);
		free(sub);
		close(sfd);
	}
	if (d)
		closedir(d);
	if (err)
		snaplist_free(l);
	return err;
}

/* Count (@delta +1) or uncount (-1) the block references of index @path. */
static struct tp_error *count_refs(struct tp_store *st, const char *path,
				   int delta)
{
	struct tp_index *ix;
	struct tp_error *err = tp_index_load(path, &ix);
	if (err) {
		/* A damaged index names nothing we can trust: its blocks go
		 * unreferenced (and are removed) rather than stop the run. */
		if (err == &tp_error_nomem)
			return err;
		tp_error_destroy(err);
		return NULL;
	}
	for (uint64_t i = 0; i < ix->nrefs; i++) {
		struct tp_hash h;
		memcpy(&h, &ix->refs[i], sizeof(h));
		if (tp_hash_is_zero(&h))
			continue;
		struct block_entry *e = map_find(&st->map, &h);
		if (!e)
			continue;
		if (delta > 0)
			e->refs++;
		else if (e->refs)
			e->refs--;
	}
	tp_index_destroy(ix);
	return NULL;
}

struct tp_error *tp_store_open(const char *dir, struct tp_store **ret)
{
	struct tp_store *st = calloc(1, sizeof(*st));
	if (!st || !(st->dir = strdup(dir))) {
		free(st);
		return &tp_error_nomem;
	}
	st->blocksfd = -1;
	struct tp_error *err = NULL;
	struct snaplist l = { 0 };
	st->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->dirfd < 0) {
		err = tp_error_os(errno, dir, "cannot open snapshot directory");
		goto fail;
	}
	/* One writer per directory: two would remove each other's blocks. */
	if (flock(st->dirfd, LOCK_EX | LOCK_NB) < 0) {
		err = errno == EWOULDBLOCK
			? tp_error_create(TP_ERR_INVALID,
					  "%s is in use by another tripod-snap",
					  dir)
			: tp_error_os(errno, dir, "cannot lock snapshot directory");
		goto fail;
	}
	if ((err = scan_blocks(st)) || (err = scan_snapshots(st, true, &l)))
		goto fail;
	for (size_t i = 0; i < l.n && !err; i++)
		if (l.v[i].index)
			err = count_refs(st, l.v[i].path, +1);
	snaplist_free(&l);
	if (err)
		goto fail;
	*ret = st;
	return NULL;
fail:
	snaplist_free(&l);
	tp_store_close(st);
	return err;
}

void tp_store_close(struct tp_store *st)
{
	if (!st)
		return;
	if (st->blocksfd >= 0)
		close(st->blocksfd);
	if (st->dirfd >= 0)
		close(st->dirfd);   /* drops the lock */
	ZSTD_freeCCtx(st->cctx);
	free(st->map.v);
	free(st->dir);
	free(st);
}

/* Remove block @e (its file and its entry). */
static void drop_block(struct tp_store *st, struct block_entry *e)
{
	char name[36];
	block_name(&e->h, name);
	if (st->blocksfd >= 0)
		unlinkat(st->blocksfd, name, 0);
	st->block_bytes -= e->size;
	map_remove(&st->map, e);
}

/* Remove every block no index names. */
static void sweep_blocks(struct tp_store *st)
{
	/* map_remove() shifts entries back into the slot it frees: look at
	 * the same slot again after a removal. */
	for (size_t i = 0; i < st->map.cap;) {
		struct block_entry *e = &st->map.v[i];
		if (e->used && e->refs == 0)
			drop_block(st, e);
		else
			i++;
	}
}

struct tp_error *tp_store_size(struct tp_store *st, uint64_t *ret)
{
	struct snaplist l;
	struct tp_error *err = scan_snapshots(st, false, &l);
	if (err)
		return err;
	uint64_t n = st->block_bytes;
	for (size_t i = 0; i < l.n; i++)
		n += l.v[i].size;
	snaplist_free(&l);
	*ret = n;
	return NULL;
}

/* ---- retention ---------------------------------------------------------------- */

static int by_series_newest(const void *pa, const void *pb)
{
	const struct snapfile *a = pa, *b = pb;
	if (a->series != b->series)
		return a->series < b->series ? -1 : 1;
	return a->seq > b->seq ? -1 : a->seq < b->seq;
}

static int by_age(const void *pa, const void *pb)
{
	const struct snapfile *a = pa, *b = pb;
	if (a->mtime.tv_sec != b->mtime.tv_sec)
		return a->mtime.tv_sec < b->mtime.tv_sec ? -1 : 1;
	if (a->mtime.tv_nsec != b->mtime.tv_nsec)
		return a->mtime.tv_nsec < b->mtime.tv_nsec ? -1 : 1;
	return strcmp(a->path, b->path);
}

/* Remove snapshot @f: first the file, then what only it used. */
static struct tp_error *remove_snapshot(struct tp_store *st,
					struct snapfile *f)
{
	struct tp_index *ix = NULL;
	if (f->index) {
		struct tp_error *err = tp_index_load(f->path, &ix);
		if (err == &tp_error_nomem)
			return err;
		tp_error_destroy(err);
	}
	if (unlink(f->path) < 0 && errno != ENOENT) {
		tp_index_destroy(ix);
		return tp_error_os(errno, f->path, "cannot remove snapshot");
	}
	f->removed = true;
	for (uint64_t i = 0; ix && i < ix->nrefs; i++) {
		struct tp_hash h;
		memcpy(&h, &ix->refs[i], sizeof(h));
		struct block_entry *e = tp_hash_is_zero(&h) ? NULL
				       : map_find(&st->map, &h);
		if (e && e->refs && --e->refs == 0)
			drop_block(st, e);
	}
	tp_index_destroy(ix);
	/* DIR/PID left empty: remove it (fails harmlessly otherwise). */
	const char *slash = strrchr(f->path, '/');
	if (f->series && slash) {
		char *d = strndup(f->path, (size_t)(slash - f->path));
		if (d)
			rmdir(d);
		free(d);
	}
	return NULL;
}

struct tp_error *tp_store_retain(struct tp_store *st,
				 const struct tp_store_retain_opts *o,
				 struct tp_store_retain_result *ret)
{
	memset(ret, 0, sizeof(*ret));
	struct snaplist l;
	struct tp_error *err = scan_snapshots(st, false, &l);
	if (err)
		return err;
	if (o->keep != TP_STORE_KEEP_ALL) {
		qsort(l.v, l.n, sizeof(*l.v), by_series_newest);
		unsigned long rank = 0;
		for (size_t i = 0; i < l.n && !err; i++) {
			rank = i && l.v[i].series == l.v[i - 1].series ? rank + 1
								       : 0;
			if (rank >= o->keep) {
				err = remove_snapshot(st, &l.v[i]);
				ret->removed += !err;
			}
		}
	}
	/* Blocks no index names (this pass, or a crash before). */
	if (!err)
		sweep_blocks(st);
	uint64_t total = st->block_bytes;
	for (size_t i = 0; i < l.n; i++)
		if (!l.v[i].removed)
			total += l.v[i].size;
	if (!err && o->max_size) {
		qsort(l.v, l.n, sizeof(*l.v), by_age);
		for (size_t i = 0; i < l.n && total > o->max_size && !err; i++) {
			struct snapfile *f = &l.v[i];
			if (f->removed ||
			    (o->protect && strcmp(o->protect, f->path) == 0))
				continue;
			uint64_t before = st->block_bytes;
			err = remove_snapshot(st, f);
			if (!err) {
				total -= f->size + (before - st->block_bytes);
				ret->removed++;
			}
		}
		ret->over = total > o->max_size;
	}
	ret->size = total;
	snaplist_free(&l);
	return err;
}

/* ---- writing a snapshot ----------------------------------------------------- */

enum { W_OPEN, W_FINISHED, W_FAILED };

struct tp_snapwriter {
	struct tp_store *st;
	int state;
	int ixfd;                  /* the index's directory */
	char *subdir, *name, *tmpname;
	const char *store_rel;

	struct tp_index_segment *segs;
	size_t nsegs, segcap;
	struct tp_hash *refs;
	size_t nrefs, refcap;

	bool in_seg;               /* segs[nsegs - 1] takes data at pos */
	uint64_t seg_end;          /* end of the caller's segment */
	uint32_t pflags;
	uint64_t pos;              /* next address to be described */

	unsigned char *buf;        /* a block being put together */
	size_t buf_len;            /* its bytes so far, ending at pos */
	unsigned char *pbuf;       /* tp_snapwriter_pull()'s reads */
	unsigned char *out;        /* header + compressed block */
	size_t out_cap;

	struct tp_hash *created;   /* blocks this snapshot stored */
	size_t ncreated, createdcap;
	struct tp_snapwriter_stats stats;
};

static uint64_t page_size(void)
{
	long p = sysconf(_SC_PAGESIZE);
	return p > 0 ? (uint64_t)p : 4096;
}

struct tp_error *tp_snapwriter_create(struct tp_store *st, const char *subdir,
				      const char *name,
				      struct tp_snapwriter **ret)
{
	size_t nlen = strlen(name), slen = strlen(TP_STORE_INDEX_SUFFIX);
	if (strchr(name, '/') || name[0] == '.' || nlen <= slen ||
	    strcmp(name + nlen - slen, TP_STORE_INDEX_SUFFIX) != 0 ||
	    (subdir && (!subdir[0] || strchr(subdir, '/') || subdir[0] == '.' ||
			strcmp(subdir, TP_STORE_BLOCKS_DIR) == 0)))
		return tp_error_create(TP_ERR_INVALID,
				       "bad snapshot name %s%s%s", subdir ? subdir : "",
				       subdir ? "/" : "", name);
	struct tp_snapwriter *w = calloc(1, sizeof(*w));
	if (!w)
		return &tp_error_nomem;
	w->st = st;
	w->ixfd = -1;
	w->store_rel = subdir ? "../" TP_STORE_BLOCKS_DIR : TP_STORE_BLOCKS_DIR;
	w->out_cap = BLOCK_HEADER_SIZE + ZSTD_COMPRESSBOUND(TP_STORE_BLOCK_SIZE);
	w->name = strdup(name);
	w->subdir = subdir ? strdup(subdir) : NULL;
	w->buf = malloc(TP_STORE_BLOCK_SIZE);
	w->pbuf = malloc(TP_STORE_BLOCK_SIZE);
	w->out = malloc(w->out_cap);
	struct tp_error *err = NULL;
	if (!w->name || (subdir && !w->subdir) || !w->buf || !w->pbuf ||
	    !w->out) {
		err = &tp_error_nomem;
		goto fail;
	}
	if (!st->cctx && !(st->cctx = ZSTD_createCCtx())) {
		err = &tp_error_nomem;
		goto fail;
	}
	if (subdir) {
		if (mkdirat(st->dirfd, subdir, 0700) < 0 && errno != EEXIST) {
			err = tp_error_os(errno, subdir,
					  "cannot create snapshot directory %s/",
					  st->dir);
			goto fail;
		}
		w->ixfd = openat(st->dirfd, subdir,
				 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	} else {
		w->ixfd = dup(st->dirfd);
	}
	if (w->ixfd < 0) {
		err = tp_error_os(errno, subdir ? subdir : st->dir,
				  "cannot open snapshot directory");
		goto fail;
	}
	*ret = w;
	return NULL;
fail:
	w->state = W_FINISHED;   /* nothing to undo */
	tp_snapwriter_destroy(w);
	return err;
}

static struct tp_error *dead(const struct tp_snapwriter *w)
{
	return tp_error_create(TP_ERR_INVALID,
			       w->state == W_FINISHED
			       ? "snapshot writer already finished"
			       : "snapshot writer unusable after an earlier error");
}

/* Make sure DIR/blocks/XX exists for block @h. */
static struct tp_error *block_dir(struct tp_store *st, const struct tp_hash *h)
{
	if (st->blocksfd < 0) {
		if (mkdirat(st->dirfd, TP_STORE_BLOCKS_DIR, 0700) < 0 &&
		    errno != EEXIST)
			return tp_error_os(errno, NULL,
					   "cannot create %s/" TP_STORE_BLOCKS_DIR,
					   st->dir);
		st->blocksfd = openat(st->dirfd, TP_STORE_BLOCKS_DIR,
				      O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (st->blocksfd < 0)
			return tp_error_os(errno, NULL,
					   "cannot open %s/" TP_STORE_BLOCKS_DIR,
					   st->dir);
	}
	unsigned x = h->b[0];
	if (st->prefix_made[x / 8] & (1u << (x % 8)))
		return NULL;
	char sub[3];
	snprintf(sub, sizeof(sub), "%02x", x);
	if (mkdirat(st->blocksfd, sub, 0700) < 0 && errno != EEXIST)
		return tp_error_os(errno, NULL,
				   "cannot create %s/" TP_STORE_BLOCKS_DIR "/%s",
				   st->dir, sub);
	st->prefix_made[x / 8] |= (uint8_t)(1u << (x % 8));
	return NULL;
}

/* Compress and write new block @h (@len bytes at @data). */
static struct tp_error *store_block(struct tp_snapwriter *w,
				    const struct tp_hash *h,
				    const unsigned char *data, size_t len)
{
	struct tp_store *st = w->st;
	struct tp_error *err = block_dir(st, h);
	if (err)
		return err;
	if (w->ncreated == w->createdcap) {
		size_t cap = w->createdcap ? 2 * w->createdcap : 256;
		struct tp_hash *v = realloc(w->created, cap * sizeof(*v));
		if (!v)
			return &tp_error_nomem;
		w->created = v;
		w->createdcap = cap;
	}
	unsigned char *o = w->out;
	size_t clen = ZSTD_compressCCtx(st->cctx, o + BLOCK_HEADER_SIZE,
					w->out_cap - BLOCK_HEADER_SIZE, data,
					len, ZSTD_LEVEL);
	unsigned method = METHOD_ZSTD;
	if (ZSTD_isError(clen) || clen >= len) {
		/* Random bytes: store them as they are. */
		memcpy(o + BLOCK_HEADER_SIZE, data, len);
		clen = len;
		method = METHOD_STORED;
	}
	memcpy(o, BLOCK_MAGIC, 8);
	o[8] = BLOCK_VERSION;
	o[9] = (unsigned char)method;
	o[10] = o[11] = 0;
	put32(o + 12, (uint32_t)len);
	size_t total = BLOCK_HEADER_SIZE + clen;

	char name[36], tmp[48];
	block_name(h, name);
	snprintf(tmp, sizeof(tmp), "%.2s/.tmp-%s", name, name + 3);
	int fd = openat(st->blocksfd, tmp,
			O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST) {
		unlinkat(st->blocksfd, tmp, 0);
		fd = openat(st->blocksfd, tmp,
			    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	}
	if (fd < 0)
		return tp_error_os(errno, NULL, "cannot create block %s", name);
	int e = tp_fd_write_all(fd, o, total);
	if (close(fd) < 0 && !e)
		e = errno;
	if (!e && renameat(st->blocksfd, tmp, st->blocksfd, name) < 0)
		e = errno;
	if (e) {
		unlinkat(st->blocksfd, tmp, 0);
		return tp_error_os(e, NULL, "cannot write block %s", name);
	}
	struct block_entry *ent;
	if ((err = map_add(&st->map, h, &ent))) {
		unlinkat(st->blocksfd, name, 0);
		return err;
	}
	ent->size = (uint32_t)total;
	st->block_bytes += total;
	w->created[w->ncreated++] = *h;
	w->stats.new_blocks++;
	w->stats.new_bytes += total;
	return NULL;
}

static bool all_zero(const unsigned char *p, size_t len)
{
	/* Most blocks that are not zero are not zero in their first bytes:
	 * this costs a pass only over blocks that are (mostly) zeros. */
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t v;
		memcpy(&v, p + i, 8);
		if (v)
			return false;
	}
	for (; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* One block of the current segment: name it, store it if new. */
static struct tp_error *put_block(struct tp_snapwriter *w,
				  const unsigned char *data, size_t len)
{
	struct tp_hash h;
	memset(&h, 0, sizeof(h));
	if (all_zero(data, len)) {
		w->stats.zero_blocks++;
	} else {
		h = tp_hash128(data, len);
		if (tp_hash_is_zero(&h))
			return tp_error_create(TP_ERR_OTHER,
					       "a block hashes to the reserved zero name");
		if (!map_find(&w->st->map, &h)) {
			struct tp_error *err = store_block(w, &h, data, len);
			if (err)
				return err;
		}
	}
	if (w->nrefs == w->refcap) {
		size_t cap = w->refcap ? 2 * w->refcap : 1024;
		struct tp_hash *v = realloc(w->refs, cap * sizeof(*v));
		if (!v)
			return &tp_error_nomem;
		w->refs = v;
		w->refcap = cap;
	}
	w->refs[w->nrefs++] = h;
	w->stats.blocks++;
	return NULL;
}

static struct tp_error *flush_block(struct tp_snapwriter *w)
{
	if (!w->buf_len)
		return NULL;
	struct tp_error *err = put_block(w, w->buf, w->buf_len);
	w->buf_len = 0;
	return err;
}

static struct tp_error *add_seg(struct tp_snapwriter *w, uint64_t vaddr,
				uint64_t memsz, uint32_t flags)
{
	if (w->nsegs == w->segcap) {
		size_t cap = w->segcap ? 2 * w->segcap : 64;
		struct tp_index_segment *v = realloc(w->segs, cap * sizeof(*v));
		if (!v)
			return &tp_error_nomem;
		w->segs = v;
		w->segcap = cap;
	}
	if (w->nsegs >= TP_STORE_MAX_SEGMENTS)
		return tp_error_create(TP_ERR_LIMIT,
				       "more than %u segments in one snapshot",
				       TP_STORE_MAX_SEGMENTS);
	w->segs[w->nsegs++] = (struct tp_index_segment){
		.vaddr = vaddr, .memsz = memsz, .flags = flags,
		.first_ref = w->nrefs,
	};
	return NULL;
}

static struct tp_error *fail(struct tp_snapwriter *w, struct tp_error *err)
{
	if (err)
		w->state = W_FAILED;
	return err;
}

/* End the current segment's data (the rest of it was not copied). */
static struct tp_error *close_data(struct tp_snapwriter *w)
{
	struct tp_error *err = flush_block(w);
	w->in_seg = false;
	return err;
}

struct tp_error *tp_snapwriter_segment(struct tp_snapwriter *w, uint64_t vaddr,
				       uint64_t memsz, uint32_t pflags)
{
	if (w->state != W_OPEN)
		return dead(w);
	struct tp_error *err = close_data(w);
	if (err)
		return fail(w, err);
	uint64_t prev = w->nsegs ? w->segs[w->nsegs - 1].vaddr +
					   w->segs[w->nsegs - 1].memsz
				 : 0;
	if (!memsz || vaddr + memsz < vaddr || vaddr < prev ||
	    (w->seg_end && vaddr < w->seg_end) ||
	    (pflags & ~(uint32_t)(PF_R | PF_W | PF_X)))
		return tp_error_create(TP_ERR_INVALID,
				       "bad segment [0x%" PRIx64 ", +0x%" PRIx64 ")",
				       vaddr, memsz);
	if ((err = add_seg(w, vaddr, memsz, pflags)))
		return fail(w, err);
	w->in_seg = true;
	w->pos = vaddr;
	w->seg_end = vaddr + memsz;
	w->pflags = pflags;
	return NULL;
}

static struct tp_error *check_room(struct tp_snapwriter *w, uint64_t len)
{
	if (w->state != W_OPEN)
		return dead(w);
	if (!w->seg_end || len > w->seg_end - w->pos)
		return tp_error_create(TP_ERR_INVALID,
				       "%" PRIu64 " bytes past the end of the segment",
				       len);
	return NULL;
}

struct tp_error *tp_snapwriter_data(struct tp_snapwriter *w, const void *data,
				    size_t len)
{
	struct tp_error *err = check_room(w, len);
	if (err)
		return err;
	const unsigned char *p = data;
	const uint64_t bs = TP_STORE_BLOCK_SIZE;
	while (len) {
		if (!w->in_seg) {
			/* after a hole: a new PT_LOAD for the rest */
			if ((err = add_seg(w, w->pos, w->seg_end - w->pos,
					   w->pflags)))
				return fail(w, err);
			w->in_seg = true;
		}
		struct tp_index_segment *s = &w->segs[w->nsegs - 1];
		uint64_t bend = (w->pos / bs + 1) * bs;
		size_t piece = bend - w->pos < len ? (size_t)(bend - w->pos)
						   : len;
		if (w->buf_len == 0 && w->pos + piece == bend) {
			/* a whole block piece in the caller's memory */
			err = put_block(w, p, piece);
		} else {
			memcpy(w->buf + w->buf_len, p, piece);
			w->buf_len += piece;
			if (w->pos + piece == bend)
				err = flush_block(w);
		}
		if (err)
			return fail(w, err);
		w->pos += piece;
		s->filesz += piece;
		p += piece;
		len -= piece;
		w->stats.bytes += piece;
	}
	return NULL;
}

struct tp_error *tp_snapwriter_hole(struct tp_snapwriter *w, uint64_t len)
{
	struct tp_error *err = check_room(w, len);
	if (err || !len)
		return err;
	if ((err = flush_block(w)))
		return fail(w, err);
	if (w->in_seg) {
		/* The data part ends here: so does this PT_LOAD, or it goes
		 * altogether if it had no data yet. */
		struct tp_index_segment *s = &w->segs[w->nsegs - 1];
		if (s->filesz)
			s->memsz = s->filesz;
		else
			w->nsegs--;
		w->in_seg = false;
	}
	struct tp_index_segment *last = w->nsegs ? &w->segs[w->nsegs - 1] : NULL;
	if (last && (last->flags & TP_STORE_SEG_UNREADABLE) &&
	    last->vaddr + last->memsz == w->pos)
		last->memsz += len;
	else if ((err = add_seg(w, w->pos, len,
				w->pflags | TP_STORE_SEG_UNREADABLE)))
		return fail(w, err);
	w->pos += len;
	w->stats.holes += len;
	return NULL;
}

struct tp_error *tp_snapwriter_pull(struct tp_snapwriter *w, uint64_t len,
				    tp_snapwriter_read_fn *fn, void *arg)
{
	struct tp_error *err = check_room(w, len);
	if (err)
		return err;
	const uint64_t bs = TP_STORE_BLOCK_SIZE, page = page_size();
	while (len) {
		uint64_t bend = (w->pos / bs + 1) * bs;
		size_t want = bend - w->pos < len ? (size_t)(bend - w->pos)
						  : (size_t)len;
		size_t got = 0;
		if ((err = fn(arg, w->pos, w->pbuf, want, &got)))
			return fail(w, err);
		if (got > want)
			got = want;
		if (got < want)   /* keep whole pages only */
			got = (size_t)((w->pos + got) / page * page - w->pos);
		if (got && (err = tp_snapwriter_data(w, w->pbuf, got)))
			return err;
		len -= got;
		if (got == want)
			continue;
		/* the page at pos could not be read */
		uint64_t h = page - w->pos % page;
		if (h > len)
			h = len;
		if ((err = tp_snapwriter_hole(w, h)))
			return err;
		len -= h;
	}
	return NULL;
}

/* The index's bytes, doc/snapshot-format.md "The index". */
static struct tp_error *encode_index(struct tp_snapwriter *w,
				     const struct tp_strbuf *notes,
				     struct tp_strbuf *out)
{
	unsigned char h[INDEX_HEADER_SIZE];
	static const unsigned char zeros[8];
	memset(h, 0, sizeof(h));
	memcpy(h, INDEX_MAGIC, 8);
	put32(h + 8, INDEX_VERSION);
	put32(h + 12, INDEX_HEADER_SIZE);
	put32(h + 16, TP_STORE_BLOCK_SIZE);
	put32(h + 20, (uint32_t)page_size());
	put32(h + 24, (uint32_t)w->nsegs);
	size_t plen = strlen(w->store_rel);
	put32(h + 28, (uint32_t)plen);
	put64(h + 32, notes->len);
	put64(h + 40, w->nrefs);
	tp_strbuf_append(out, h, sizeof(h));
	tp_strbuf_append(out, w->store_rel, plen);
	tp_strbuf_append(out, zeros, align8(out->len) - out->len);
	tp_strbuf_append(out, notes->str, notes->len);
	tp_strbuf_append(out, zeros, align8(out->len) - out->len);
	for (size_t i = 0; i < w->nsegs; i++) {
		const struct tp_index_segment *s = &w->segs[i];
		unsigned char e[INDEX_SEGMENT_SIZE];
		memset(e, 0, sizeof(e));
		put64(e, s->vaddr);
		put64(e + 8, s->memsz);
		put64(e + 16, s->filesz);
		put32(e + 24, s->flags);
		tp_strbuf_append(out, e, sizeof(e));
	}
	tp_strbuf_append(out, w->refs, w->nrefs * sizeof(*w->refs));
	struct tp_error *err = tp_strbuf_error(out);
	if (err)
		return err;
	struct tp_hash sum = tp_hash128(out->str, out->len);
	tp_strbuf_append(out, sum.b, sizeof(sum.b));
	return tp_strbuf_error(out);
}

struct tp_error *tp_snapwriter_finish(struct tp_snapwriter *w,
				      const struct tp_core_desc *desc)
{
	if (w->state != W_OPEN)
		return dead(w);
	if (desc->nsegments)
		return tp_error_create(TP_ERR_INVALID,
				       "the segments of a stored snapshot come from the writer");
	struct tp_error *err = close_data(w);
	struct tp_strbuf notes = TP_STRBUF_INIT, ix = TP_STRBUF_INIT;
	if (!err)
		err = tp_core_build_notes(desc, page_size(), &notes);
	if (!err)
		err = encode_index(w, &notes, &ix);
	tp_strbuf_deinit(&notes);
	if (err)
		goto out;
	/* Under a temporary name first: an index that exists is whole. */
	if (asprintf(&w->tmpname, ".%s.XXXXXX", w->name) < 0) {
		w->tmpname = NULL;
		err = &tp_error_nomem;
		goto out;
	}
	char *full;
	if (asprintf(&full, "%s%s%s/%s", w->st->dir, w->subdir ? "/" : "",
		     w->subdir ? w->subdir : "", w->tmpname) < 0) {
		err = &tp_error_nomem;
		goto out;
	}
	int fd = mkostemp(full, O_CLOEXEC);    /* mode 0600 */
	if (fd < 0) {
		err = tp_error_os(errno, NULL, "cannot create a file in %s",
				  w->st->dir);
		free(full);
		goto out;
	}
	/* keep only the name the template became */
	strcpy(w->tmpname, strrchr(full, '/') + 1);
	free(full);
	int e = tp_fd_write_all(fd, ix.str, ix.len);
	if (close(fd) < 0 && !e)
		e = errno;
	if (!e && renameat(w->ixfd, w->tmpname, w->ixfd, w->name) < 0)
		e = errno;
	if (e) {
		err = tp_error_os(e, NULL, "cannot write index %s", w->name);
		goto out;
	}
	free(w->tmpname);
	w->tmpname = NULL;
	/* The index is on disk: its blocks are referenced. */
	for (size_t i = 0; i < w->nrefs; i++) {
		struct block_entry *ent = tp_hash_is_zero(&w->refs[i])
			? NULL : map_find(&w->st->map, &w->refs[i]);
		if (ent)
			ent->refs++;
	}
	w->ncreated = 0;
	w->stats.index_bytes = ix.len;
	w->state = W_FINISHED;
out:
	tp_strbuf_deinit(&ix);
	return fail(w, err);
}

const struct tp_snapwriter_stats *
tp_snapwriter_stats(const struct tp_snapwriter *w)
{
	return &w->stats;
}

void tp_snapwriter_destroy(struct tp_snapwriter *w)
{
	if (!w)
		return;
	if (w->state != W_FINISHED) {
		if (w->tmpname && w->ixfd >= 0)
			unlinkat(w->ixfd, w->tmpname, 0);
		/* blocks only this snapshot stored: no index names them */
		for (size_t i = 0; i < w->ncreated; i++) {
			struct block_entry *e = map_find(&w->st->map,
							 &w->created[i]);
			if (e && e->refs == 0)
				drop_block(w->st, e);
		}
	}
	if (w->ixfd >= 0)
		close(w->ixfd);
	free(w->tmpname);
	free(w->name);
	free(w->subdir);
	free(w->segs);
	free(w->refs);
	free(w->buf);
	free(w->pbuf);
	free(w->out);
	free(w->created);
	free(w);
}
