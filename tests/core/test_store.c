/* SPDX-License-Identifier: MIT */
/*
 * The block store: the test process writes snapshots of itself (selfcore)
 * into a store, reads them back, and checks them against the core that
 * tp_core_write() makes of the same description, byte for byte; then
 * dedup, holes, the pull interface, damage of every kind, abandoned
 * snapshots, and retention.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "core/blockcache.h"
#include "core/coreread.h"
#include "core/corewrite.h"
#include "core/fdio.h"
#include "core/gz.h"
#include "core/hash.h"
#include "core/store.h"
#include "selfcore.h"

static struct selfcore sc;
static char *dir;

static void setup(void)
{
	selfcore_init(&sc);
	dir = selfcore_tmpdir();
}

static void teardown(void)
{
	selfcore_rmdir(dir);
	selfcore_deinit(&sc);
}

TestSuite(store, .init = setup, .fini = teardown, .timeout = 120);

#define OK(expr)                                                           \
	do {                                                               \
		struct tp_error *err_ = (expr);                            \
		cr_assert_null(err_, "%s: %s", #expr,                      \
			       tp_error_message(err_));                    \
	} while (0)

static uint32_t pflags(const struct tp_core_segment *s)
{
	return (s->read ? PF_R : 0u) | (s->write ? PF_W : 0u) |
	       (s->exec ? PF_X : 0u);
}

/* Write the segments of @d (with data as given) as snapshot @name. */
static void write_desc(struct tp_store *st, const char *sub, const char *name,
		       const struct tp_core_desc *d,
		       struct tp_snapwriter_stats *stats)
{
	struct tp_snapwriter *w;
	OK(tp_snapwriter_create(st, sub, name, &w));
	for (size_t i = 0; i < d->nsegments; i++) {
		const struct tp_core_segment *s = &d->segments[i];
		OK(tp_snapwriter_segment(w, s->vaddr, s->memsz, pflags(s)));
		if (s->filesz)
			OK(tp_snapwriter_data(w, s->data, s->filesz));
	}
	struct tp_core_desc rest = *d;
	rest.segments = NULL;
	rest.nsegments = 0;
	OK(tp_snapwriter_finish(w, &rest));
	if (stats)
		*stats = *tp_snapwriter_stats(w);
	tp_snapwriter_destroy(w);
}

static struct tp_store *store_open(void)
{
	struct tp_store *st;
	OK(tp_store_open(dir, &st));
	return st;
}

/* The bytes of the core tp_core_write() makes of @d. */
static void plain_core(const struct tp_core_desc *d, struct tp_strbuf *out)
{
	char *path = selfcore_path(dir, "plain.core");
	uint64_t n = selfcore_write_plain(d, path);
	char *buf = NULL;
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(tp_fd_read_all(fd, 1ULL << 32, &buf, &len), 0);
	close(fd);
	cr_assert_eq(len, n);
	tp_strbuf_append(out, buf, len);
	free(buf);
	unlink(path);
	free(path);
}

struct sink_buf {
	struct tp_sink sink;
	struct tp_strbuf sb;
};

static struct tp_error *sink_buf_write(struct tp_sink *sink, const void *data,
				       size_t len)
{
	struct sink_buf *s = (struct sink_buf *)sink;
	tp_strbuf_append(&s->sb, data, len);
	return tp_strbuf_error(&s->sb);
}

static void export_core(struct tp_core *core, struct tp_strbuf *out,
			uint64_t *unread)
{
	struct sink_buf s = { .sink = { sink_buf_write }, .sb = TP_STRBUF_INIT };
	OK(tp_core_export(core, &s.sink, unread));
	*out = s.sb;
}

static struct tp_core *open_core(const char *name)
{
	char *path = selfcore_path(dir, name);
	struct tp_core *core;
	struct tp_error *err = tp_core_open(path, &core);
	cr_assert_null(err, "%s: %s", path, tp_error_message(err));
	free(path);
	return core;
}

static void read_ok(struct tp_core *core, uint64_t addr, void *buf, size_t len)
{
	struct tp_error *err = tp_memsrc_read(tp_core_memsrc(core), addr, buf,
					      len);
	cr_assert_null(err, "read 0x%llx+%zu: %s", (unsigned long long)addr,
		       len, tp_error_message(err));
}

static void read_fails(struct tp_core *core, uint64_t addr, size_t len,
		       const char *what)
{
	unsigned char buf[256];
	cr_assert_leq(len, sizeof(buf));
	struct tp_error *err = tp_memsrc_read(tp_core_memsrc(core), addr, buf,
					      len);
	cr_assert_not_null(err, "read 0x%llx succeeded",
			   (unsigned long long)addr);
	cr_assert_eq(err->code, TP_ERR_FAULT, "%s", tp_error_message(err));
	cr_assert_eq(err->address, addr);
	cr_assert_not_null(strstr(tp_error_message(err), what),
			   "\"%s\" does not say \"%s\"", tp_error_message(err),
			   what);
	tp_error_destroy(err);
}

static size_t count_files(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return 0;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' && (!de->d_name[1] ||
					     !strcmp(de->d_name, "..")))
			continue;
		char *p;
		cr_assert_gt(asprintf(&p, "%s/%s", path, de->d_name), 0);
		struct stat sb;
		cr_assert_eq(lstat(p, &sb), 0);
		n += S_ISDIR(sb.st_mode) ? count_files(p) : 1;
		free(p);
	}
	closedir(d);
	return n;
}

static size_t count_blocks(void)
{
	char *p = selfcore_path(dir, TP_STORE_BLOCKS_DIR);
	size_t n = count_files(p);
	free(p);
	return n;
}

/* A stored snapshot exports as the very core tp_core_write() makes. */
Test(store, round_trip_equals_plain_core)
{
	struct tp_store *st = store_open();
	struct tp_snapwriter_stats stats;
	write_desc(st, NULL, "snapshot-000001.tripod", &sc.desc, &stats);
	tp_store_close(st);
	cr_assert_gt(stats.new_blocks, 0);
	cr_assert_eq(stats.holes, 0);

	struct tp_core *core = open_core("snapshot-000001.tripod");
	cr_assert(tp_core_is_snapshot(core));
	cr_assert(!tp_core_is_truncated(core));
	cr_assert_str_eq(tp_core_note_get(core, "interpreter"),
			 "/usr/bin/python3.11");
	cr_assert_eq(tp_core_nthreads(core), SELFCORE_NTHREADS);
	cr_assert_eq(tp_core_nsegments(core), sc.nsegs);

	struct tp_strbuf want = TP_STRBUF_INIT, got;
	plain_core(&sc.desc, &want);
	uint64_t unread = 1;
	export_core(core, &got, &unread);
	cr_assert_eq(unread, 0);
	cr_assert_eq(got.len, want.len);
	cr_assert_eq(memcmp(got.str, want.str, want.len), 0,
		     "exported core differs from tp_core_write()'s");
	/* and the whole-image view is the same bytes */
	size_t len;
	const void *img = tp_core_image(core, &len);
	cr_assert_eq(len, want.len);
	cr_assert_eq(memcmp(img, want.str, len), 0);

	/* memory: every copied segment, read back whole and at odd places */
	for (size_t i = 0; i < sc.nsegs; i++) {
		const struct tp_core_segment *s = &sc.segs[i];
		if (!s->filesz)
			continue;
		unsigned char *buf = malloc(s->filesz);
		read_ok(core, s->vaddr, buf, s->filesz);
		cr_assert_eq(memcmp(buf, s->data, s->filesz), 0);
		free(buf);
	}
	uint64_t anon = (uint64_t)(uintptr_t)sc.anon;
	unsigned char b[200];
	read_ok(core, anon + 2 * sc.page - 100, b, 200);
	cr_assert_eq(memcmp(b, sc.anon + 2 * sc.page - 100, 200), 0);
	/* page 3 of anon was not copied: zeros, as in a .core.gz snapshot */
	read_ok(core, anon + 3 * sc.page, b, 16);
	for (int i = 0; i < 16; i++)
		cr_assert_eq(b[i], 0);
	cr_assert_not_null(tp_core_elf(core));
	tp_strbuf_deinit(&want);
	tp_strbuf_deinit(&got);
	tp_core_destroy(core);

	/* files 0600, directories 0700 */
	struct stat sb;
	char *p = selfcore_path(dir, "snapshot-000001.tripod");
	cr_assert_eq(stat(p, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0600);
	free(p);
	p = selfcore_path(dir, TP_STORE_BLOCKS_DIR);
	cr_assert_eq(stat(p, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0700);
	DIR *d = opendir(p);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *q;
		cr_assert_gt(asprintf(&q, "%s/%s", p, de->d_name), 0);
		cr_assert_eq(stat(q, &sb), 0);
		cr_assert_eq(sb.st_mode & 0777, 0700, "%s", q);
		DIR *d2 = opendir(q);
		struct dirent *be;
		while ((be = readdir(d2))) {
			if (be->d_name[0] == '.')
				continue;
			char *r;
			cr_assert_gt(asprintf(&r, "%s/%s", q, be->d_name), 0);
			cr_assert_eq(stat(r, &sb), 0);
			cr_assert_eq(sb.st_mode & 0777, 0600, "%s", r);
			free(r);
		}
		closedir(d2);
		free(q);
	}
	closedir(d);
	free(p);
}

/* The same memory twice costs no block; one changed byte costs one. */
Test(store, dedup)
{
	struct tp_store *st = store_open();
	struct tp_snapwriter_stats s1, s2, s3, s4;
	write_desc(st, NULL, "snapshot-000001.tripod", &sc.desc, &s1);
	size_t blocks = count_blocks();
	cr_assert_eq(blocks, s1.new_blocks);
	write_desc(st, NULL, "snapshot-000002.tripod", &sc.desc, &s2);
	cr_assert_eq(s2.new_blocks, 0);
	cr_assert_eq(s2.blocks, s1.blocks);
	cr_assert_eq(count_blocks(), blocks);

	/* change one byte of the copied .data global */
	uint64_t data = (uint64_t)(uintptr_t)selfcore_data;
	struct tp_core_segment *seg = (struct tp_core_segment *)
		selfcore_segment(&sc, data);
	unsigned char *copy = (unsigned char *)seg->data;
	copy[data - seg->vaddr + 100] ^= 0x5a;
	write_desc(st, NULL, "snapshot-000003.tripod", &sc.desc, &s3);
	cr_assert_eq(s3.new_blocks, 1);
	cr_assert_eq(count_blocks(), blocks + 1);
	tp_store_close(st);

	/* reopened: the store knows its blocks */
	st = store_open();
	write_desc(st, NULL, "snapshot-000004.tripod", &sc.desc, &s4);
	cr_assert_eq(s4.new_blocks, 0);
	tp_store_close(st);

	struct tp_core *c2 = open_core("snapshot-000002.tripod");
	struct tp_core *c3 = open_core("snapshot-000003.tripod");
	unsigned char x, y;
	read_ok(c2, data + 100, &x, 1);
	read_ok(c3, data + 100, &y, 1);
	cr_assert_eq((unsigned char)(x ^ 0x5a), y);
	cr_assert_eq(y, copy[data - seg->vaddr + 100]);
	tp_core_destroy(c2);
	tp_core_destroy(c3);
}

/* Blocks follow addresses: a segment that grows keeps its blocks. */
Test(store, grown_segment_keeps_blocks)
{
	const size_t bs = TP_STORE_BLOCK_SIZE, page = 4096;
	/* 5 blocks of distinct bytes, starting mid-block */
	uint64_t base = 0x7f0000000000ULL + 3 * page;
	size_t len = 4 * bs + 5 * page;
	unsigned char *mem = malloc(len + 2 * bs);
	for (size_t i = 0; i < len + 2 * bs; i++)
		mem[i] = (unsigned char)(i * 2654435761u >> 13);
	struct tp_core_segment seg = { .vaddr = base, .memsz = len,
				       .read = true, .write = true,
				       .data = mem, .filesz = len };
	struct tp_core_desc d = sc.desc;
	d.segments = &seg;
	d.nsegments = 1;
	struct tp_store *st = store_open();
	struct tp_snapwriter_stats s1, s2;
	write_desc(st, NULL, "snapshot-000001.tripod", &d, &s1);
	/* pages 3-15 of the first block, 3 blocks, 8 pages of a fifth */
	cr_assert_eq(s1.blocks, 5);
	cr_assert_eq(s1.new_blocks, 5);
	/* grows by a block and a half at its end */
	seg.memsz = seg.filesz = len + bs + bs / 2;
	write_desc(st, NULL, "snapshot-000002.tripod", &d, &s2);
	cr_assert_eq(s2.blocks, 6);
	/* the last block changed (it has more bytes), one is new: 2 */
	cr_assert_eq(s2.new_blocks, 2);
	tp_store_close(st);
	struct tp_core *core = open_core("snapshot-000002.tripod");
	unsigned char *back = malloc(seg.filesz);
	read_ok(core, base, back, seg.filesz);
	cr_assert_eq(memcmp(back, mem, seg.filesz), 0);
	free(back);
	tp_core_destroy(core);
	free(mem);
}

/* tp_snapwriter_pull(): pieces never cross a block, a failing page is a
 * hole that reads as a fault and splits the PT_LOAD. */
struct puller {
	const unsigned char *mem;
	uint64_t base, bad;        /* one unreadable page at base + bad */
	size_t calls;
	bool crossed;
};

static struct tp_error *pull_fn(void *arg, uint64_t addr, void *buf,
				size_t len, size_t *ret)
{
	struct puller *p = arg;
	p->calls++;
	if (addr / TP_STORE_BLOCK_SIZE !=
	    (addr + len - 1) / TP_STORE_BLOCK_SIZE || len > TP_STORE_BLOCK_SIZE)
		p->crossed = true;
	uint64_t bad = p->base + p->bad;
	size_t n = len;
	if (addr <= bad && bad < addr + len)
		n = bad - addr;
	memcpy(buf, p->mem + (addr - p->base), n);
	*ret = n;
	return NULL;
}

Test(store, pull_with_a_hole)
{
	const size_t bs = TP_STORE_BLOCK_SIZE, page = 4096;
	uint64_t base = 0x7f1000000000ULL;
	size_t len = 3 * bs;
	unsigned char *mem = malloc(len);
	for (size_t i = 0; i < len; i++)
		mem[i] = (unsigned char)(1 + i % 251);
	struct puller p = { mem, base, bs + 2 * page, 0, false };
	struct tp_store *st = store_open();
	struct tp_snapwriter *w;
	OK(tp_snapwriter_create(st, NULL, "snapshot-000001.tripod", &w));
	OK(tp_snapwriter_segment(w, base, len + bs, PF_R | PF_W));
	OK(tp_snapwriter_pull(w, len, pull_fn, &p));
	cr_assert(!p.crossed);
	const struct tp_snapwriter_stats *stats = tp_snapwriter_stats(w);
	cr_assert_eq(stats->holes, page);
	cr_assert_eq(stats->bytes, len - page);
	struct tp_core_desc d = sc.desc;
	d.segments = NULL;
	d.nsegments = 0;
	OK(tp_snapwriter_finish(w, &d));
	tp_snapwriter_destroy(w);
	tp_store_close(st);

	struct tp_core *core = open_core("snapshot-000001.tripod");
	unsigned char *back = malloc(len);
	/* before, the hole, after, and a read across its start */
	read_ok(core, base, back, bs + 2 * page);
	cr_assert_eq(memcmp(back, mem, bs + 2 * page), 0);
	read_fails(core, base + bs + 2 * page, 8, "could not be read");
	read_fails(core, base + bs + 2 * page - 8, 16, "could not be read");
	read_ok(core, base + bs + 3 * page, back, len - bs - 3 * page);
	cr_assert_eq(memcmp(back, mem + bs + 3 * page, len - bs - 3 * page), 0);
	/* the tail of the caller's segment was not copied: zeros */
	read_ok(core, base + len, back, 64);
	for (int i = 0; i < 64; i++)
		cr_assert_eq(back[i], 0);
	/* three PT_LOADs of the one segment: data, hole, data + tail */
	size_t n = 0;
	for (size_t i = 0; i < tp_core_nsegments(core); i++) {
		const struct tp_core_segment_info *s = tp_core_segment(core, i);
		if (s->vaddr < base || s->vaddr >= base + len + bs)
			continue;
		n++;
		if (s->vaddr == base + bs + 2 * page) {
			cr_assert(s->unreadable);
			cr_assert_eq(s->memsz, page);
			cr_assert_eq(s->filesz, 0);
		} else {
			cr_assert(!s->unreadable);
		}
	}
	cr_assert_eq(n, 3);
	/* exported: the hole has no data (zeros in gdb), the rest is there */
	struct tp_strbuf out;
	uint64_t unread;
	export_core(core, &out, &unread);
	cr_assert_eq(unread, 0);
	cr_assert_gt(out.len, len - page);
	tp_strbuf_deinit(&out);
	free(back);
	tp_core_destroy(core);
	free(mem);
}

/* A writer dropped before finish leaves nothing: no index, no block. */
Test(store, abandoned_snapshot_leaves_nothing)
{
	struct tp_store *st = store_open();
	write_desc(st, NULL, "snapshot-000001.tripod", &sc.desc, NULL);
	size_t files = count_files(dir);
	uint64_t data = (uint64_t)(uintptr_t)selfcore_data;
	struct tp_core_segment *seg = (struct tp_core_segment *)
		selfcore_segment(&sc, data);
	((unsigned char *)seg->data)[data - seg->vaddr] ^= 1;

	struct tp_snapwriter *w;
	OK(tp_snapwriter_create(st, NULL, "snapshot-000002.tripod", &w));
	for (size_t i = 0; i < sc.nsegs; i++) {
		const struct tp_core_segment *s = &sc.segs[i];
		OK(tp_snapwriter_segment(w, s->vaddr, s->memsz, pflags(s)));
		if (s->filesz)
			OK(tp_snapwriter_data(w, s->data, s->filesz));
	}
	cr_assert_eq(tp_snapwriter_stats(w)->new_blocks, 1);
	cr_assert_eq(count_files(dir), files + 1);
	tp_snapwriter_destroy(w);
	cr_assert_eq(count_files(dir), files);

	/* misuse is an error, not a crash */
	OK(tp_snapwriter_create(st, NULL, "snapshot-000002.tripod", &w));
	struct tp_error *err = tp_snapwriter_data(w, "x", 1);
	cr_assert_not_null(err);
	tp_error_destroy(err);
	OK(tp_snapwriter_segment(w, 0x10000, 0x1000, PF_R));
	err = tp_snapwriter_segment(w, 0x8000, 0x1000, PF_R);
	cr_assert_not_null(err);
	tp_error_destroy(err);
	err = tp_snapwriter_data(w, sc.anon, 0x2000);
	cr_assert_not_null(err, "more data than the segment holds");
	tp_error_destroy(err);
	tp_snapwriter_destroy(w);
	err = tp_snapwriter_create(st, "a/b", "snapshot-000002.tripod", &w);
	cr_assert_not_null(err);
	tp_error_destroy(err);
	err = tp_snapwriter_create(st, NULL, "snapshot-000002.core", &w);
	cr_assert_not_null(err);
	tp_error_destroy(err);

	/* a second writer is kept out */
	struct tp_store *st2;
	err = tp_store_open(dir, &st2);
	cr_assert_not_null(err);
	cr_assert(strstr(tp_error_message(err), "in use"), "%s",
		  tp_error_message(err));
	tp_error_destroy(err);
	tp_store_close(st);
	cr_assert_eq(count_files(dir), files);
}

/* Snapshots in DIR/PID share DIR's blocks. */
Test(store, subdirectory_shares_blocks)
{
	struct tp_store *st = store_open();
	struct tp_snapwriter_stats s1, s2;
	write_desc(st, NULL, "snapshot-000001.tripod", &sc.desc, &s1);
	write_desc(st, "4242", "snapshot-000001.tripod", &sc.desc, &s2);
	cr_assert_eq(s2.new_blocks, 0);
	tp_store_close(st);
	struct tp_core *core = open_core("4242/snapshot-000001.tripod");
	unsigned char b[64];
	read_ok(core, (uint64_t)(uintptr_t)selfcore_data, b, 64);
	cr_assert_eq(memcmp(b, selfcore_data, 64), 0);
	tp_core_destroy(core);
	struct stat sb;
	char *p = selfcore_path(dir, "4242");
	cr_assert_eq(stat(p, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0700);
	free(p);
}

static char *read_whole(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "%s", path);
	char *buf;
	cr_assert_eq(tp_fd_read_all(fd, 1u << 30, &buf, len), 0);
	close(fd);
	return buf;
}

static void write_whole(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(tp_fd_write_all(fd, data, len), 0);
	close(fd);
}

/* Every cut and many flips of an index: a clear error naming the file. */
Test(store, damaged_index)
{
	struct tp_store *st = store_open();
	write_desc(st, NULL, "snapshot-000001.tripod", &sc.desc, NULL);
	tp_store_close(st);
	char *good_path = selfcore_path(dir, "snapshot-000001.tripod");
	char *bad_path = selfcore_path(dir, "snapshot-000002.tripod");
	size_t len;
	char *good = read_whole(good_path, &len);
	char *img = malloc(len);
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (size_t cut = 0; cut < len; cut += 1 + cut / 4) {
		write_whole(bad_path, good, cut);
		struct tp_core *core;
		struct tp_error *err = tp_core_open(bad_path, &core);
		cr_assert_not_null(err, "cut at %zu opened", cut);
		cr_assert(err->code == TP_ERR_FORMAT, "%s", tp_error_message(err));
		cr_assert(strstr(tp_error_message(err), "snapshot-000002"),
			  "%s", tp_error_message(err));
		tp_error_destroy(err);
	}
	for (int iter = 0; iter < 300; iter++) {
		memcpy(img, good, len);
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		img[x % len] ^= (char)(1 + (x >> 40) % 255);
		write_whole(bad_path, img, len);
		struct tp_core *core;
		struct tp_error *err = tp_core_open(bad_path, &core);
		cr_assert_not_null(err, "flip at %llu opened",
				   (unsigned long long)(x % len));
		cr_assert(err->code == TP_ERR_FORMAT, "%s", tp_error_message(err));
		tp_error_destroy(err);
	}
	/* damage in the version field is damage, not a newer format */
	memcpy(img, good, len);
	img[9] ^= 0x40;
	write_whole(bad_path, img, len);
	{
		struct tp_core *core;
		struct tp_error *err = tp_core_open(bad_path, &core);
		cr_assert_not_null(err);
		cr_assert_eq(err->code, TP_ERR_FORMAT, "%s", tp_error_message(err));
		tp_error_destroy(err);
	}
	/* a newer version says so */
	memcpy(img, good, len);
	img[8] = 2;
	struct tp_hash h = tp_hash128(img, len - 16);
	memcpy(img + len - 16, h.b, 16);
	write_whole(bad_path, img, len);
	struct tp_core *core;
	struct tp_error *err = tp_core_open(bad_path, &core);
	cr_assert_not_null(err);
	cr_assert_eq(err->code, TP_ERR_UNSUPPORTED, "%s", tp_error_message(err));
	cr_assert(strstr(tp_error_message(err), "version 2"), "%s",
		  tp_error_message(err));
	tp_error_destroy(err);
	/* a store path that leaves the directory tree is refused */
	memcpy(img, good, len);
	cr_assert_eq(memcmp(img + 64, "blocks", 6), 0);
	memcpy(img + 64, "/tmp/x", 6);
	h = tp_hash128(img, len - 16);
	memcpy(img + len - 16, h.b, 16);
	write_whole(bad_path, img, len);
	err = tp_core_open(bad_path, &core);
	cr_assert_not_null(err);
	cr_assert(strstr(tp_error_message(err), "store path"), "%s",
		  tp_error_message(err));
	tp_error_destroy(err);
	/* the store moved away */
	char *blocks = selfcore_path(dir, TP_STORE_BLOCKS_DIR);
	char *moved = selfcore_path(dir, "moved");
	cr_assert_eq(rename(blocks, moved), 0);
	err = tp_core_open(good_path, &core);
	cr_assert_not_null(err);
	cr_assert(strstr(tp_error_message(err), "block store"), "%s",
		  tp_error_message(err));
	tp_error_destroy(err);
	cr_assert_eq(rename(moved, blocks), 0);
	free(blocks);
	free(moved);
	free(img);
	free(good);
	free(good_path);
	free(bad_path);
}

/* Name of a block file of the store holding the .data global's block. */
static char *data_block_path(void)
{
	struct tp_index *ix;
	char *p = selfcore_path(dir, "snapshot-000001.tripod");
	OK(tp_index_load(p, &ix));
	free(p);
	uint64_t data = (uint64_t)(uintptr_t)selfcore_data;
	char *path = NULL;
	for (size_t i = 0; i < ix->nsegs; i++) {
		const struct tp_index_segment *s = &ix->segs[i];
		if (data < s->vaddr || data >= s->vaddr + s->filesz)
			continue;
		uint64_t k = data / ix->block_size - s->vaddr / ix->block_size;
		struct tp_hash h;
		memcpy(&h, &ix->refs[s->first_ref + k], sizeof(h));
		char hex[TP_HASH_HEX_LEN + 1];
		tp_hash_hex(&h, hex);
		cr_assert_gt(asprintf(&path, "%s/%s/%.2s/%s", dir,
				      TP_STORE_BLOCKS_DIR, hex, hex), 0);
	}
	tp_index_destroy(ix);
	cr_assert_not_null(path);
	return path;
}

/* A damaged or missing block: the snapshot opens, reads of that block
 * fail with the reason, the others work; export writes zeros for it. */
Test(store, damaged_blocks)
{
	struct tp_store *st = store_open();
	write_desc(st, NULL, "snapshot-000001.tripod", &sc.desc, NULL);
	tp_store_close(st);
	uint64_t data = (uint64_t)(uintptr_t)selfcore_data;
	uint64_t anon = (uint64_t)(uintptr_t)sc.anon;
	char *bp = data_block_path();
	size_t len;
	char *good = read_whole(bp, &len);
	static const struct {
		size_t at;    /* flip a byte here, or cut the file here */
		bool cut;
		const char *why;
	} cases[] = {
		{ 0, false, "bad header" },
		{ 12, false, "index says" },
		{ 40, false, "damaged" },
		{ 20, true, "damaged" },
		{ 3, true, "bad header" },
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		char *img = malloc(len);
		memcpy(img, good, len);
		size_t n = len;
		if (cases[c].cut)
			n = cases[c].at;
		else
			img[cases[c].at] ^= 0x21;
		write_whole(bp, img, n);
		free(img);
		struct tp_core *core = open_core("snapshot-000001.tripod");
		read_fails(core, data, 8, cases[c].why);
		unsigned char b[16];
		read_ok(core, anon, b, 16);
		cr_assert_eq(memcmp(b, sc.anon, 16), 0);
		struct tp_strbuf out;
		uint64_t unread = 0;
		export_core(core, &out, &unread);
		cr_assert_gt(unread, 0);
		tp_strbuf_deinit(&out);
		tp_core_destroy(core);
	}
	cr_assert_eq(unlink(bp), 0);
	struct tp_core *core = open_core("snapshot-000001.tripod");
	read_fails(core, data, 8, "cannot open block");
	tp_core_destroy(core);
	write_whole(bp, good, len);
	core = open_core("snapshot-000001.tripod");
	unsigned char b[8];
	read_ok(core, data, b, 8);
	tp_core_destroy(core);
	free(good);
	free(bp);
}

/* A cache shared by two snapshots decompresses their common blocks once. */
Test(store, shared_cache)
{
	struct tp_store *st = store_open();
	write_desc(st, NULL, "snapshot-000001.tripod", &sc.desc, NULL);
	write_desc(st, NULL, "snapshot-000002.tripod", &sc.desc, NULL);
	tp_store_close(st);
	struct tp_blockcache *cache;
	OK(tp_blockcache_create(0, &cache));
	struct tp_core_open_opts o = { .cache = cache };
	uint64_t data = (uint64_t)(uintptr_t)selfcore_data;
	unsigned char b[64];
	uint64_t hits, misses, hits2, misses2;
	for (int i = 1; i <= 2; i++) {
		char name[64];
		snprintf(name, sizeof(name), "%s/snapshot-%06d.tripod", dir, i);
		struct tp_core *core;
		OK(tp_core_open_with(name, &o, &core));
		read_ok(core, data, b, sizeof(b));
		cr_assert_eq(memcmp(b, selfcore_data, sizeof(b)), 0);
		tp_core_destroy(core);
		if (i == 1)
			tp_blockcache_counts(cache, &hits, &misses);
	}
	tp_blockcache_counts(cache, &hits2, &misses2);
	cr_assert_gt(misses, 0);
	cr_assert_eq(misses2, misses, "the second snapshot missed the cache");
	tp_blockcache_destroy(cache);
}

static uint64_t dir_bytes(const char *path)
{
	DIR *d = opendir(path);
	uint64_t n = 0;
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *p;
		cr_assert_gt(asprintf(&p, "%s/%s", path, de->d_name), 0);
		struct stat sb;
		cr_assert_eq(lstat(p, &sb), 0);
		n += S_ISDIR(sb.st_mode) ? dir_bytes(p) : (uint64_t)sb.st_size;
		free(p);
	}
	if (d)
		closedir(d);
	return n;
}

/* The snapshots of DIR whose index exists, as a bit set of numbers. */
static unsigned present(const char *sub)
{
	unsigned set = 0;
	for (int i = 1; i < 32; i++) {
		char *p;
		cr_assert_gt(asprintf(&p, "%s/%s%ssnapshot-%06d.tripod", dir,
				      sub ? sub : "", sub ? "/" : "", i), 0);
		if (access(p, F_OK) == 0)
			set |= 1u << i;
		free(p);
	}
	return set;
}

/* Every block an index names is on disk, and no other block is. */
static void check_store_consistent(void)
{
	char *blocks = selfcore_path(dir, TP_STORE_BLOCKS_DIR);
	size_t on_disk = count_files(blocks);
	free(blocks);
	/* distinct names over every index */
	struct tp_hash *seen = NULL;
	size_t nseen = 0;
	const char *subs[] = { NULL, "77" };
	for (size_t s = 0; s < 2; s++)
		for (int i = 1; i < 32; i++) {
			char *p;
			cr_assert_gt(asprintf(&p, "%s/%s%ssnapshot-%06d.tripod", dir,
					      subs[s] ? subs[s] : "",
					      subs[s] ? "/" : "", i), 0);
			struct tp_index *ix;
			if (access(p, F_OK) == 0) {
				OK(tp_index_load(p, &ix));
				for (uint64_t k = 0; k < ix->nrefs; k++) {
					struct tp_hash h;
					memcpy(&h, &ix->refs[k], sizeof(h));
					if (tp_hash_is_zero(&h))
						continue;
					bool dup = false;
					for (size_t j = 0; j < nseen && !dup; j++)
						dup = tp_hash_eq(&seen[j], &h);
					if (dup)
						continue;
					seen = realloc(seen, (nseen + 1) * sizeof(*seen));
					seen[nseen++] = h;
					char hex[TP_HASH_HEX_LEN + 1], *bp;
					tp_hash_hex(&h, hex);
					cr_assert_gt(asprintf(&bp, "%s/blocks/%.2s/%s",
							      dir, hex, hex), 0);
					cr_assert_eq(access(bp, F_OK), 0,
						     "%s names missing %s", p, bp);
					free(bp);
				}
				tp_index_destroy(ix);
			}
			free(p);
		}
	cr_assert_eq(on_disk, nseen, "%zu block files, %zu in use", on_disk,
		     nseen);
	free(seen);
}

/* Snapshots whose .data global differs in one byte each: every snapshot
 * has one block of its own, the rest is shared. */
static void write_series(struct tp_store *st, const char *sub, int from,
			 int to)
{
	uint64_t data = (uint64_t)(uintptr_t)selfcore_data;
	struct tp_core_segment *seg = (struct tp_core_segment *)
		selfcore_segment(&sc, data);
	for (int i = from; i <= to; i++) {
		((unsigned char *)seg->data)[data - seg->vaddr] = (unsigned char)i;
		char name[64];
		snprintf(name, sizeof(name), "snapshot-%06d.tripod", i);
		write_desc(st, sub, name, &sc.desc, NULL);
		/* distinct modification times */
		usleep(2000);
	}
}

Test(store, keep)
{
	struct tp_store *st = store_open();
	write_series(st, NULL, 1, 6);
	write_series(st, "77", 1, 3);
	struct tp_store_retain_opts o = { .keep = 4 };
	struct tp_store_retain_result r;
	OK(tp_store_retain(st, &o, &r));
	cr_assert_eq(r.removed, 2, "removed %zu, left 0x%x 0x%x", r.removed,
		     present(NULL), present("77"));
	cr_assert_eq(present(NULL), 0x78u);   /* 3, 4, 5, 6 */
	cr_assert_eq(present("77"), 0xeu);    /* 1, 2, 3: fewer than 4 */
	check_store_consistent();
	uint64_t size;
	OK(tp_store_size(st, &size));
	cr_assert_eq(size, r.size);
	cr_assert_eq(size, dir_bytes(dir));
	o.keep = 1;
	OK(tp_store_retain(st, &o, &r));
	cr_assert_eq(r.removed, 5);
	cr_assert_eq(present(NULL), 0x40u);
	cr_assert_eq(present("77"), 0x8u);
	check_store_consistent();
	cr_assert_eq(r.size, dir_bytes(dir));
	/* keep 0: nothing left, not even blocks; the empty DIR/77 goes */
	o.keep = 0;
	OK(tp_store_retain(st, &o, &r));
	cr_assert_eq(present(NULL) | present("77"), 0);
	cr_assert_eq(count_blocks(), 0);
	char *p = selfcore_path(dir, "77");
	cr_assert_neq(access(p, F_OK), 0);
	free(p);
	tp_store_close(st);
}

/* What snapshots @set (bit i: snapshot-00000i) need on disk: their
 * indexes and the union of their blocks, from the files themselves. */
struct snapinfo {
	uint64_t index_size;
	struct tp_hash *refs;
	uint64_t *sizes;           /* of each ref's block file, 0: zeros */
	size_t nrefs;
};

static uint64_t need(const struct snapinfo *info, unsigned set)
{
	struct tp_hash *seen = NULL;
	size_t nseen = 0;
	uint64_t total = 0;
	for (int i = 1; i < 32; i++) {
		if (!(set & (1u << i)))
			continue;
		total += info[i].index_size;
		for (size_t k = 0; k < info[i].nrefs; k++) {
			const struct tp_hash *h = &info[i].refs[k];
			bool dup = tp_hash_is_zero(h);
			for (size_t j = 0; j < nseen && !dup; j++)
				dup = tp_hash_eq(&seen[j], h);
			if (dup)
				continue;
			seen = realloc(seen, (nseen + 1) * sizeof(*seen));
			seen[nseen++] = *h;
			total += info[i].sizes[k];
		}
	}
	free(seen);
	return total;
}

Test(store, max_size)
{
	struct tp_store *st = store_open();
	write_series(st, NULL, 1, 8);
	uint64_t all = dir_bytes(dir);
	struct snapinfo info[32];
	memset(info, 0, sizeof(info));
	for (int i = 1; i <= 8; i++) {
		char *p;
		cr_assert_gt(asprintf(&p, "%s/snapshot-%06d.tripod", dir, i), 0);
		struct tp_index *ix;
		OK(tp_index_load(p, &ix));
		info[i].index_size = ix->size;
		info[i].nrefs = ix->nrefs;
		info[i].refs = malloc(ix->nrefs * sizeof(struct tp_hash));
		info[i].sizes = calloc(ix->nrefs, sizeof(uint64_t));
		memcpy(info[i].refs, ix->refs, ix->nrefs * sizeof(struct tp_hash));
		for (size_t k = 0; k < ix->nrefs; k++) {
			const struct tp_hash *h = &info[i].refs[k];
			if (tp_hash_is_zero(h))
				continue;
			char hex[TP_HASH_HEX_LEN + 1], *bp;
			tp_hash_hex(h, hex);
			cr_assert_gt(asprintf(&bp, "%s/blocks/%.2s/%s", dir, hex,
					      hex), 0);
			struct stat sb;
			cr_assert_eq(stat(bp, &sb), 0, "%s", bp);
			info[i].sizes[k] = (uint64_t)sb.st_size;
			free(bp);
		}
		tp_index_destroy(ix);
		free(p);
	}
	cr_assert_eq(need(info, 0x1feu), all);

	struct tp_store_retain_opts o = { .keep = TP_STORE_KEEP_ALL };
	struct tp_store_retain_result r;
	OK(tp_store_retain(st, &o, &r));
	cr_assert_eq(r.removed, 0);
	cr_assert_eq(r.size, all, "%llu %llu", (unsigned long long)r.size,
		     (unsigned long long)all);

	/* Room for about two thirds: the oldest go, as many as needed. */
	uint64_t limit = all * 2 / 3;
	o.max_size = limit;
	char *newest = selfcore_path(dir, "snapshot-000008.tripod");
	o.protect = newest;
	OK(tp_store_retain(st, &o, &r));
	uint64_t now = dir_bytes(dir);
	cr_assert_eq(r.size, now);
	cr_assert_leq(now, limit);
	cr_assert(!r.over);
	unsigned left = present(NULL);
	cr_assert_gt(r.removed, 0);
	/* the survivors are the newest ones, without gaps */
	int oldest = __builtin_ctz(left);
	cr_assert_eq(left, (0x1ffu >> oldest) << oldest, "left 0x%x", left);
	cr_assert_eq(need(info, left), now);
	/* exact: keeping one more would not have fitted */
	cr_assert_gt(need(info, left | 1u << (oldest - 1)), limit);
	check_store_consistent();

	/* a limit below the newest alone: it stays, and says so */
	o.max_size = 1;
	OK(tp_store_retain(st, &o, &r));
	cr_assert(r.over);
	cr_assert_eq(present(NULL), 1u << 8);
	check_store_consistent();
	cr_assert_eq(r.size, dir_bytes(dir));
	cr_assert_eq(need(info, 1u << 8), r.size);
	for (int i = 1; i <= 8; i++) {
		free(info[i].refs);
		free(info[i].sizes);
	}
	free(newest);
	tp_store_close(st);
}

/* tp_hash128 is the function doc/snapshot-format.md describes, as a
 * separate implementation of that text computes it. */
Test(store, hash_matches_the_documented_algorithm)
{
	unsigned char buf[300];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 37 + 11);
	char *cmd;
	cr_assert_gt(asprintf(&cmd, "/usr/bin/python3 %s/tests/core/hash_ref.py",
			      TOP_SRCDIR), 0);
	FILE *f = popen(cmd, "r");
	cr_assert_not_null(f);
	size_t lens[] = { 0, 1, 3, 4, 7, 8, 15, 31, 32, 33, 63, 64, 100, 300 };
	char line[128];
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		cr_assert_not_null(fgets(line, sizeof(line), f));
		struct tp_hash h = tp_hash128(buf, lens[i]);
		char hex[TP_HASH_HEX_LEN + 1];
		tp_hash_hex(&h, hex);
		char want[64];
		snprintf(want, sizeof(want), "%zu %s\n", lens[i], hex);
		cr_assert_str_eq(line, want);
	}
	cr_assert_eq(pclose(f), 0);
	free(cmd);
}
