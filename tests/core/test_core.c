/* SPDX-License-Identifier: MIT */
/*
 * Core round trip: the test process writes a core of itself (gzip'd and
 * plain), reads it back and checks every field and the memory rules, then
 * shows the core to real tools (eu-readelf, libdwfl, gunzip).
 */
#include "config.h"

#include <criterion/criterion.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <elfutils/libdwfl.h>
#include <gnu/libc-version.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/coreread.h"
#include "core/corewrite.h"
#include "core/fdio.h"
#include "core/gz.h"
#include "selfcore.h"

__attribute__((noinline)) int test_core_marker(int x);
__attribute__((noinline)) int test_core_marker(int x)
{
	return x * 5 + 2;
}

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

TestSuite(core, .init = setup, .fini = teardown, .timeout = 120);

static struct tp_core *open_ok(const char *path)
{
	struct tp_core *core;
	struct tp_error *err = tp_core_open(path, &core);
	cr_assert_null(err, "%s", tp_error_message(err));
	return core;
}

static void read_ok(struct tp_core *core, uint64_t addr, void *buf,
		    size_t len)
{
	struct tp_error *err = tp_memsrc_read(tp_core_memsrc(core), addr, buf,
					      len);
	cr_assert_null(err, "read 0x%llx+%zu: %s", (unsigned long long)addr,
		       len, tp_error_message(err));
}

/* A read that must fault, with the read's address and @what in the text. */
static void read_fault(struct tp_core *core, uint64_t addr, size_t len,
		       const char *what)
{
	unsigned char buf[64];
	cr_assert_leq(len, sizeof(buf));
	struct tp_error *err = tp_memsrc_read(tp_core_memsrc(core), addr, buf,
					      len);
	cr_assert_not_null(err, "read 0x%llx+%zu succeeded",
			   (unsigned long long)addr, len);
	cr_assert_eq(err->code, TP_ERR_FAULT, "%s", tp_error_message(err));
	cr_assert_eq(err->address, addr);
	cr_assert_not_null(strstr(tp_error_message(err), what),
			   "\"%s\" does not say \"%s\"", tp_error_message(err),
			   what);
	tp_error_destroy(err);
}

static const struct tp_mapping *first_mapping_of(const char *path)
{
	for (size_t i = 0; i < sc.maps.n; i++)
		if (sc.maps.v[i].path && strcmp(sc.maps.v[i].path, path) == 0)
			return &sc.maps.v[i];
	return NULL;
}

static const char *libc_path(void)
{
	const struct tp_mapping *m = tp_maps_find(
		&sc.maps, (uint64_t)(uintptr_t)&gnu_get_libc_version);
	cr_assert_not_null(m);
	cr_assert(tp_mapping_is_file(m));
	return m->path;
}

/* Every field the writer was given comes back. */
static void check_fields(struct tp_core *core, bool snapshot)
{
	cr_assert_eq(tp_core_is_snapshot(core), snapshot);
	cr_assert(!tp_core_is_truncated(core));
	cr_assert_null(tp_core_warning(core));

	cr_assert_eq(tp_core_nthreads(core), SELFCORE_NTHREADS);
	for (size_t t = 0; t < SELFCORE_NTHREADS; t++) {
		const struct tp_core_thread_info *ti = tp_core_thread(core, t);
		cr_assert_eq(ti->tid, sc.threads[t].tid);
		cr_assert_eq(memcmp(ti->regs, sc.threads[t].regs,
				    sizeof(ti->regs)), 0);
		cr_assert_eq(ti->signo, sc.threads[t].signo);
	}
	cr_assert_null(tp_core_thread(core, SELFCORE_NTHREADS));

	cr_assert_eq(tp_core_pid(core), getpid());
	cr_assert_str_eq(tp_core_fname(core), "a-process-name-");
	cr_assert_eq(strlen(tp_core_psargs(core)), 79);
	cr_assert_eq(strncmp(tp_core_psargs(core), sc.desc.psargs, 79), 0);

	cr_assert_eq(tp_core_nfiles(core), sc.nfiles);
	for (size_t i = 0; i < sc.nfiles; i++) {
		const struct tp_core_file_info *f = tp_core_file(core, i);
		cr_assert_eq(f->start, sc.files[i].start);
		cr_assert_eq(f->end, sc.files[i].end);
		cr_assert_eq(f->offset, sc.files[i].offset);
		cr_assert_str_eq(f->path, sc.files[i].path);
	}
	cr_assert_null(tp_core_file(core, sc.nfiles));

	size_t auxv_len;
	const void *auxv = tp_core_auxv(core, &auxv_len);
	cr_assert_eq(auxv_len, sc.auxv_len);
	cr_assert_eq(memcmp(auxv, sc.auxv, auxv_len), 0);

	cr_assert_eq(tp_core_nsegments(core), sc.nsegs);
	for (size_t i = 0; i < sc.nsegs; i++) {
		const struct tp_core_segment_info *s = tp_core_segment(core, i);
		cr_assert_eq(s->vaddr, sc.segs[i].vaddr);
		cr_assert_eq(s->memsz, sc.segs[i].memsz);
		cr_assert_eq(s->filesz, sc.segs[i].filesz);
		cr_assert_eq(s->avail, s->filesz);
		cr_assert_eq(s->offset % sc.page, 0, "page-aligned data");
		cr_assert_eq(s->flags, (sc.segs[i].read ? PF_R : 0u) |
					       (sc.segs[i].write ? PF_W : 0u) |
					       (sc.segs[i].exec ? PF_X : 0u));
	}

	if (!snapshot) {
		cr_assert_null(tp_core_note_get(core, "time"));
		return;
	}
	cr_assert_str_eq(tp_core_note_get(core, "time"), "1700000000.250");
	cr_assert_str_eq(tp_core_note_get(core, "interval"), "5");
	cr_assert_str_eq(tp_core_note_get(core, "argv"), "python3");
	cr_assert_str_eq(tp_core_note_get(core, "expr"), "a=b=c");
	cr_assert_str_eq(tp_core_note_get(core, "empty"), "");
	cr_assert_str_eq(tp_core_note_get(core, "interpreter"),
			 "/usr/bin/python3.11");
	cr_assert_null(tp_core_note_get(core, "missing"));
	const char **argv;
	size_t argc;
	cr_assert_null(tp_core_note_all(core, "argv", &argv, &argc));
	cr_assert_eq(argc, 3);
	cr_assert_str_eq(argv[0], "python3");
	cr_assert_str_eq(argv[1], "-c");
	cr_assert_str_eq(argv[2], "print('a b')");
	free(argv);
	cr_assert_null(tp_core_note_all(core, "nope", &argv, &argc));
	cr_assert_eq(argc, 0);
	cr_assert_null(argv);
}

/* The memory rules of coreread.h, against the copies and live memory. */
static void check_memory(struct tp_core *core, bool snapshot)
{
	uint64_t page = sc.page;
	unsigned char buf[3 * 4096 + 123], live[256];

	/* Copied .data: the global, as it was copied. */
	uint64_t data = (uint64_t)(uintptr_t)selfcore_data;
	const struct tp_core_segment *s = selfcore_segment(&sc, data);
	read_ok(core, data, buf, sizeof(selfcore_data));
	cr_assert_eq(memcmp(buf, (const char *)s->data + (data - s->vaddr),
			    sizeof(selfcore_data)), 0);
	cr_assert_eq(buf[5], 36);

	/* Across two adjacent segments, both from the core. */
	uint64_t anon = (uint64_t)(uintptr_t)sc.anon;
	read_ok(core, anon + 2 * page - 100, buf, 200);
	cr_assert_eq(memcmp(buf, sc.anon + 2 * page - 100, 200), 0);
	/* Page 3 was not saved: zeros in a snapshot (live memory is not
	 * zero), a fault in a foreign core. */
	if (snapshot) {
		read_ok(core, anon + 3 * page, buf, page);
		for (size_t i = 0; i < page; i++)
			cr_assert_eq(buf[i], 0);
		cr_assert_neq(sc.anon[3 * page], 0);
		/* Saved bytes then zeros, in one read. */
		read_ok(core, anon + 3 * page - 8, buf, 16);
		cr_assert_eq(memcmp(buf, sc.anon + 3 * page - 8, 8), 0);
		cr_assert_eq(buf[8] | buf[15], 0);
	} else {
		read_fault(core, anon + 3 * page, 8, "not saved");
		read_fault(core, anon + 3 * page - 8, 16, "not saved");
	}

	/* Our code was not copied: it comes from the executable on disk
	 * through NT_FILE and must equal the live bytes. */
	uint64_t code = (uint64_t)(uintptr_t)&test_core_marker;
	cr_assert_eq(selfcore_segment(&sc, code)->filesz, 0);
	read_ok(core, code, buf, 64);
	self_mem_read(code, live, 64);
	cr_assert_eq(memcmp(buf, live, 64), 0);
	/* libc's code too. */
	code = (uint64_t)(uintptr_t)&gnu_get_libc_version;
	read_ok(core, code, buf, 200);
	self_mem_read(code, live, 200);
	cr_assert_eq(memcmp(buf, live, 200), 0);

	/* The executable's first mapping: header page from the core, the
	 * rest from the file, in one read across the boundary. */
	const struct tp_mapping *m = first_mapping_of(sc.exe);
	cr_assert_not_null(m);
	cr_assert_eq(m->offset, 0);
	if (m->end - m->start > page) {
		read_ok(core, m->start + page - 32, buf, 64);
		self_mem_read(m->start + page - 32, live, 64);
		cr_assert_eq(memcmp(buf, live, 64), 0);
	}
	read_ok(core, m->start, buf, 4);
	cr_assert_eq(memcmp(buf, ELFMAG, 4), 0);

	/* Outside every segment, wrapping, and partly outside. */
	read_fault(core, 0x1000, 8, "not in the core");
	read_fault(core, UINT64_MAX - 3, 8, "wraps");
	/* A gap between two mappings, and a read that runs into it (its
	 * first bytes may or may not be readable: the fault is still for
	 * the whole read, at its start). */
	for (size_t i = 0; i + 1 < sc.maps.n; i++) {
		uint64_t gap = sc.maps.v[i].end;
		if (sc.maps.v[i + 1].start == gap)
			continue;
		read_fault(core, gap, 8, "not in the core");
		if (sc.maps.v[i + 1].start - gap > 4 * 4096)
			read_fault(core, gap + 4096 * 3, 8, "not in the core");
		read_fault(core, gap - 4, 8, "cannot read 8 bytes");
		break;
	}
	/* A zero-length read anywhere succeeds. */
	read_ok(core, 0x1000, buf, 0);
}

static void round_trip(bool gz, bool snapshot)
{
	struct tp_core_desc d = sc.desc;
	if (!snapshot) {
		d.kv = NULL;
		d.nkv = 0;
	}
	char *path = selfcore_path(dir, gz ? "self.core.gz" : "self.core");
	if (gz)
		selfcore_write_gz(&d, path);
	else
		selfcore_write_plain(&d, path);
	struct tp_core *core = open_ok(path);
	check_fields(core, snapshot);
	check_memory(core, snapshot);
	cr_assert_not_null(tp_core_elf(core));
	cr_assert_not_null(tp_core_elf(core));   /* the same handle */
	tp_core_destroy(core);
	free(path);
}

Test(core, round_trip_snapshot_gz)
{
	round_trip(true, true);
}

Test(core, round_trip_snapshot_plain)
{
	round_trip(false, true);
}

Test(core, round_trip_foreign_plain)
{
	round_trip(false, false);
}

Test(core, round_trip_foreign_gz)
{
	round_trip(true, false);
}

/* The gzip'd core is the plain core, byte for byte, for gunzip too. */
Test(core, gz_is_plain_core)
{
	char *plain = selfcore_path(dir, "c"), *gz = selfcore_path(dir, "c.gz");
	uint64_t size = selfcore_write_plain(&sc.desc, plain);
	selfcore_write_gz(&sc.desc, gz);
	struct tp_core *a = open_ok(plain), *b = open_ok(gz);
	size_t la, lb;
	const void *ia = tp_core_image(a, &la), *ib = tp_core_image(b, &lb);
	cr_assert_eq(la, size);
	cr_assert_eq(lb, size);
	cr_assert_eq(memcmp(ia, ib, la), 0);
	tp_core_destroy(a);
	tp_core_destroy(b);
	if (system("gzip --version >/dev/null 2>&1") != 0)
		cr_skip_test("gzip(1) not found: gunzip check not run");
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "gzip -dc '%s' | cmp -s - '%s'", gz, plain);
	cr_assert_eq(system(cmd), 0, "gunzip output differs from plain core");
	free(plain);
	free(gz);
}

struct counting {
	int calls;
	int fd_result;   /* -1: refuse; else open the path */
};

static int counting_resolver(void *arg, const char *path)
{
	struct counting *c = arg;
	c->calls++;
	if (c->fd_result < 0)
		return -1;
	return open(path, O_RDONLY | O_CLOEXEC);
}

Test(core, file_resolver)
{
	char *path = selfcore_path(dir, "r.core");
	selfcore_write_plain(&sc.desc, path);
	struct tp_core *core = open_ok(path);
	uint64_t code = (uint64_t)(uintptr_t)&test_core_marker;
	unsigned char buf[64], live[64];

	/* A resolver that refuses: code reads fault, naming the file. */
	struct counting c = { 0, -1 };
	tp_core_set_file_resolver(core, counting_resolver, &c);
	read_fault(core, code, 16, sc.exe);
	read_fault(core, code + 8, 16, "not available");
	cr_assert_eq(c.calls, 1, "one resolution per path");

	/* One that opens: reads work, still one call per path. */
	c = (struct counting){ 0, 0 };
	tp_core_set_file_resolver(core, counting_resolver, &c);
	read_ok(core, code, buf, 64);
	read_ok(core, code + 100, buf, 16);
	read_ok(core, (uint64_t)(uintptr_t)&gnu_get_libc_version, buf, 16);
	cr_assert_eq(c.calls, 2);

	/* Back to the default. */
	tp_core_set_file_resolver(core, NULL, NULL);
	read_ok(core, code, buf, 64);
	self_mem_read(code, live, 64);
	cr_assert_eq(memcmp(buf, live, 64), 0);
	tp_core_destroy(core);
	free(path);
}

/* The default resolver refuses a file whose first page is not the one the
 * core saved (a library upgraded since the snapshot). */
Test(core, default_resolver_checks_first_page)
{
	const struct tp_mapping *m = first_mapping_of(sc.exe);
	cr_assert_not_null(m);
	struct tp_core_segment *s = NULL;
	for (size_t i = 0; i < sc.nsegs; i++)
		if (sc.segs[i].vaddr == m->start)
			s = &sc.segs[i];
	cr_assert(s && s->filesz == sc.page);
	unsigned char *copy = (unsigned char *)s->data;
	copy[sc.page - 1] ^= 0xff;
	char *path = selfcore_path(dir, "m.core");
	selfcore_write_plain(&sc.desc, path);
	copy[sc.page - 1] ^= 0xff;

	struct tp_core *core = open_ok(path);
	uint64_t code = (uint64_t)(uintptr_t)&test_core_marker;
	read_fault(core, code, 16, "does not match");
	/* libc's first page is intact: libc is still used. */
	unsigned char buf[16];
	read_ok(core, (uint64_t)(uintptr_t)&gnu_get_libc_version, buf, 16);
	tp_core_destroy(core);
	free(path);
}

/* A mapping longer than its file: zeros to the end of the file's last page,
 * then a fault, as the kernel maps it (zeros, then SIGBUS). */
Test(core, mapping_past_end_of_file)
{
	char *file = selfcore_path(dir, "short.bin");
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(tp_fd_write_all(fd, "0123456789", 10), 0);
	close(fd);

	uint64_t base = 0x100000000ull, page = sc.page;
	struct tp_core_segment seg = { .vaddr = base, .memsz = 3 * page,
				       .read = true };
	struct tp_core_file nt = { base, base + 3 * page, 0, file };
	struct tp_core_kv kv = { "k", "v" };
	struct tp_core_desc d = { .pid = 1, .segments = &seg, .nsegments = 1,
				  .files = &nt, .nfiles = 1, .kv = &kv,
				  .nkv = 1 };
	char *path = selfcore_path(dir, "short.core");
	selfcore_write_plain(&d, path);
	struct tp_core *core = open_ok(path);
	cr_assert_eq(tp_core_nthreads(core), 0);
	unsigned char buf[64];
	read_ok(core, base + 2, buf, 20);
	cr_assert_eq(memcmp(buf, "23456789", 8), 0);
	for (size_t i = 8; i < 20; i++)
		cr_assert_eq(buf[i], 0);
	read_ok(core, base + page - 8, buf, 8);
	read_fault(core, base + page - 8, 16, "past the end of");
	read_fault(core, base + page, 8, "past the end of");
	tp_core_destroy(core);
	free(path);
	free(file);
}

/* ---- real tools ---------------------------------------------------------- */

static char *run_capture(const char *cmd, int *status)
{
	FILE *f = popen(cmd, "r");
	cr_assert_not_null(f);
	char *out = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&out, &len);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, mem);
	fclose(mem);
	*status = pclose(f);
	return out;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

Test(core, eu_readelf_lists_notes)
{
	if (system("eu-readelf --version >/dev/null 2>&1") != 0)
		cr_skip_test("eu-readelf not found (install elfutils)");
	char *path = selfcore_path(dir, "e.core");
	selfcore_write_plain(&sc.desc, path);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "eu-readelf -n '%s' 2>&1", path);
	int st;
	char *out = run_capture(cmd, &st);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", out);
	cr_assert_eq(count(out, "PRSTATUS"), SELFCORE_NTHREADS, "%s", out);
	cr_assert_eq(count(out, "FPREGSET"), 2, "%s", out);
	cr_assert_eq(count(out, "PRPSINFO"), 1, "%s", out);
	cr_assert_eq(count(out, "AUXV"), 1, "%s", out);
	cr_assert_eq(count(out, "FILE"), 1, "%s", out);
	cr_assert_eq(count(out, "TRIPOD"), 1, "%s", out);
	/* eu-readelf decodes the contents, not just the headers. */
	char want[64];
	snprintf(want, sizeof(want), "pid: %d", getpid());
	cr_assert_not_null(strstr(out, want), "%s", out);
	snprintf(want, sizeof(want), "%d files:", (int)sc.nfiles);
	cr_assert_not_null(strstr(out, want), "%s", out);
	cr_assert_not_null(strstr(out, sc.exe), "%s", out);
	cr_assert_not_null(strstr(out, "fname: a-process-name-"), "%s", out);
	cr_assert_not_null(strstr(out, "PHDR"), "auxv decoded: %s", out);
	free(out);

	snprintf(cmd, sizeof(cmd), "eu-readelf -l '%s' 2>&1", path);
	out = run_capture(cmd, &st);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", out);
	cr_assert_eq(count(out, "  LOAD "), sc.nsegs, "%s", out);
	cr_assert_eq(count(out, "  NOTE "), 1, "%s", out);
	free(out);
	free(path);
}

struct found {
	const char *path;
	Dwarf_Addr low;
	bool seen;
};

static int module_cb(Dwfl_Module *mod, void **userdata, const char *name,
		     Dwarf_Addr start, void *arg)
{
	struct found *want = arg;
	const char *mainfile = NULL;
	Dwarf_Addr low;
	dwfl_module_info(mod, NULL, &low, NULL, NULL, NULL, &mainfile, NULL);
	for (; want->path; want++) {
		if ((name && strcmp(name, want->path) == 0) ||
		    (mainfile && strcmp(mainfile, want->path) == 0)) {
			cr_assert_eq(low, want->low,
				     "%s: libdwfl base 0x%llx, maps 0x%llx",
				     want->path, (unsigned long long)low,
				     (unsigned long long)want->low);
			want->seen = true;
		}
	}
	return DWARF_CB_OK;
}

struct tids {
	pid_t *v;
	size_t *n;
};

static int thread_cb(Dwfl_Thread *thread, void *arg)
{
	struct tids *t = arg;
	if (*t->n < SELFCORE_NTHREADS + 1)
		t->v[(*t->n)++] = dwfl_thread_tid(thread);
	return DWARF_CB_OK;
}

static void dwfl_check(struct tp_core *core)
{
	static const Dwfl_Callbacks cb = {
		.find_elf = dwfl_build_id_find_elf,
		.find_debuginfo = dwfl_standard_find_debuginfo,
	};
	Dwfl *dwfl = dwfl_begin(&cb);
	cr_assert_not_null(dwfl);
	Elf *elf = tp_core_elf(core);
	cr_assert_not_null(elf, "%s", elf_errmsg(-1));
	dwfl_report_begin(dwfl);
	int n = dwfl_core_file_report(dwfl, elf, NULL);
	cr_assert_gt(n, 0, "dwfl_core_file_report: %s", dwfl_errmsg(-1));
	cr_assert_eq(dwfl_report_end(dwfl, NULL, NULL), 0);

	const struct tp_mapping *exe = first_mapping_of(sc.exe);
	const struct tp_mapping *libc = first_mapping_of(libc_path());
	cr_assert(exe && libc);
	struct found want[] = {
		{ sc.exe, exe->start, false },
		{ libc->path, libc->start, false },
		{ NULL, 0, false },
	};
	cr_assert_eq(dwfl_getmodules(dwfl, module_cb, want, 0), 0);
	cr_assert(want[0].seen, "no module for %s", sc.exe);
	cr_assert(want[1].seen, "no module for %s", libc->path);

	/* The threads, as libdwfl's unwinder will see them. */
	int r = dwfl_core_file_attach(dwfl, elf);
	cr_assert_gt(r, 0, "dwfl_core_file_attach: %s", dwfl_errmsg(-1));
	cr_assert_eq(dwfl_pid(dwfl), getpid());
	pid_t tids[SELFCORE_NTHREADS + 1];
	size_t ntids = 0;
	cr_assert_eq(dwfl_getthreads(dwfl, thread_cb,
				     &(struct tids){ tids, &ntids }), 0);
	cr_assert_eq(ntids, SELFCORE_NTHREADS);
	for (size_t t = 0; t < SELFCORE_NTHREADS; t++)
		cr_assert_eq(tids[t], sc.threads[t].tid);
	dwfl_end(dwfl);
}

Test(core, libdwfl_reports_modules)
{
	char *plain = selfcore_path(dir, "d.core"), *gz = selfcore_path(dir, "d.core.gz");
	selfcore_write_plain(&sc.desc, plain);
	selfcore_write_gz(&sc.desc, gz);
	struct tp_core *core = open_ok(plain);
	dwfl_check(core);
	tp_core_destroy(core);
	core = open_ok(gz);
	dwfl_check(core);
	tp_core_destroy(core);
	free(plain);
	free(gz);
}

Test(core, gdb_lists_threads)
{
	if (system("gdb --version >/dev/null 2>&1") != 0)
		cr_skip_test("gdb not found");
	char *path = selfcore_path(dir, "g.core");
	selfcore_write_plain(&sc.desc, path);
	char *cmd;
	cr_assert_geq(asprintf(&cmd,
			       "gdb -nx -batch -ex 'info threads' "
			       "-ex 'info proc mappings' '%s' '%s' 2>&1",
			       sc.exe, path), 0);
	int st;
	char *out = run_capture(cmd, &st);
	free(cmd);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", out);
	for (size_t t = 0; t < SELFCORE_NTHREADS; t++) {
		char want[64];
		snprintf(want, sizeof(want), "LWP %d", (int)sc.threads[t].tid);
		cr_assert_not_null(strstr(out, want), "%s", out);
	}
	/* NT_FILE as gdb reads it. */
	const struct tp_mapping *m = first_mapping_of(sc.exe);
	char want[64];
	snprintf(want, sizeof(want), "0x%llx", (unsigned long long)m->start);
	cr_assert_not_null(strstr(out, want), "%s", out);
	cr_assert_not_null(strstr(out, "Core was generated by `python3 -c"),
			   "%s", out);
	free(out);
	free(path);
}

/* ---- writer contract ----------------------------------------------------- */

static void expect_invalid(const struct tp_core_desc *d, enum tp_error_code code)
{
	char *path = selfcore_path(dir, "x.core");
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	struct tp_sink_fd sink;
	tp_sink_fd_init(&sink, fd);
	struct tp_error *err = tp_core_write(d, &sink.sink);
	cr_assert_not_null(err);
	cr_assert_eq(err->code, code, "%s", tp_error_message(err));
	cr_assert_eq(sink.written, 0, "nothing written for a bad description");
	tp_error_destroy(err);
	close(fd);
	free(path);
}

Test(core, writer_rejects_bad_descriptions)
{
	struct tp_core_segment segs[2] = {
		{ .vaddr = 0x2000, .memsz = 0x1000 },
		{ .vaddr = 0x1000, .memsz = 0x1000 },
	};
	struct tp_core_desc d = { .segments = segs, .nsegments = 2 };
	expect_invalid(&d, TP_ERR_INVALID);          /* unsorted */
	segs[1].vaddr = 0x2800;
	expect_invalid(&d, TP_ERR_INVALID);          /* overlapping */
	segs[1].vaddr = 0x3000;
	segs[1].filesz = 0x2000;
	expect_invalid(&d, TP_ERR_INVALID);          /* filesz > memsz */
	segs[1].filesz = 0x10;
	expect_invalid(&d, TP_ERR_INVALID);          /* no data */
	segs[1].filesz = 0;

	struct tp_core_file f = { 0x1000, 0x2000, 0x123, "/x" };
	d.files = &f;
	d.nfiles = 1;
	expect_invalid(&d, TP_ERR_INVALID);          /* unaligned offset */
	f.offset = 0;

	struct tp_core_kv kv = { "a=b", "c" };
	d.kv = &kv;
	d.nkv = 1;
	expect_invalid(&d, TP_ERR_INVALID);          /* '=' in key */
	kv.key = "";
	expect_invalid(&d, TP_ERR_INVALID);          /* empty key */
}

/* A write error (a full disk) comes back through the sink. */
Test(core, write_error_comes_back)
{
	int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		cr_skip_test("/dev/full not available");
	struct tp_sink_fd sink;
	tp_sink_fd_init(&sink, fd);
	struct tp_error *err = tp_core_write(&sc.desc, &sink.sink);
	cr_assert_not_null(err);
	cr_assert_eq(err->code, TP_ERR_OS);
	cr_assert_eq(err->errnum, ENOSPC);
	tp_error_destroy(err);

	struct tp_gzwriter *w;
	cr_assert_null(tp_gzwriter_create(fd, 1, &w));
	struct tp_sink_gz gsink;
	tp_sink_gz_init(&gsink, w);
	err = tp_core_write(&sc.desc, &gsink.sink);
	if (!err)
		err = tp_gzwriter_finish(w);
	cr_assert_not_null(err);
	cr_assert_eq(err->errnum, ENOSPC);
	tp_error_destroy(err);
	tp_gzwriter_destroy(w);
	close(fd);
}
