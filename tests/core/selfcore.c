/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fdio.h"
#include "core/gz.h"
#include "selfcore.h"

unsigned char selfcore_data[3 * 4096 + 123] = { 1 };

void self_mem_read(uint64_t addr, void *buf, size_t len)
{
	int fd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	size_t got;
	cr_assert_eq(tp_fd_pread_full(fd, buf, len, addr, &got), 0,
		     "read own memory at 0x%llx", (unsigned long long)addr);
	cr_assert_eq(got, len);
	close(fd);
}

static void *copy_mem(uint64_t addr, size_t len)
{
	void *p = malloc(len);
	cr_assert_not_null(p);
	self_mem_read(addr, p, len);
	return p;
}

static struct tp_core_segment segment_of(const struct tp_mapping *m,
					 uint64_t start, uint64_t end)
{
	return (struct tp_core_segment){
		.vaddr = start,
		.memsz = end - start,
		.read = m->read,
		.write = m->write,
		.exec = m->exec,
	};
}

void selfcore_init(struct selfcore *sc)
{
	memset(sc, 0, sizeof(*sc));
	sc->page = (uint64_t)sysconf(_SC_PAGESIZE);
	for (size_t i = 0; i < sizeof(selfcore_data); i++)
		selfcore_data[i] = (unsigned char)(i * 7 + 1);

	/* Guards keep the kernel from merging our pages with a neighbour. */
	unsigned char *p = mmap(NULL, 6 * sc->page, PROT_NONE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(p, MAP_FAILED);
	sc->anon = p + sc->page;
	cr_assert_eq(mprotect(sc->anon, 4 * sc->page, PROT_READ | PROT_WRITE),
		     0);
	for (size_t i = 0; i < 4 * sc->page; i++)
		sc->anon[i] = (unsigned char)(0x80 | (i % 127));

	ssize_t n = readlink("/proc/self/exe", sc->exe, sizeof(sc->exe) - 1);
	cr_assert_gt(n, 0);
	sc->exe[n] = '\0';

	struct tp_error *err = tp_maps_read(getpid(), &sc->maps);
	cr_assert_null(err, "%s", tp_error_message(err));

	sc->segs = calloc(sc->maps.n + 1, sizeof(*sc->segs));
	sc->files = calloc(sc->maps.n, sizeof(*sc->files));
	cr_assert(sc->segs && sc->files);
	uint64_t data = (uint64_t)(uintptr_t)selfcore_data;
	uint64_t anon = (uint64_t)(uintptr_t)sc->anon;
	for (size_t i = 0; i < sc->maps.n; i++) {
		const struct tp_mapping *m = &sc->maps.v[i];
		struct tp_core_segment *s = &sc->segs[sc->nsegs++];
		*s = segment_of(m, m->start, m->end);
		if (m->start == anon) {
			cr_assert_eq(m->end, anon + 4 * sc->page);
			s->memsz = 2 * sc->page;
			s->filesz = 2 * sc->page;
			s->data = copy_mem(anon, 2 * sc->page);
			s = &sc->segs[sc->nsegs++];
			*s = segment_of(m, anon + 2 * sc->page, m->end);
			s->filesz = sc->page;
			s->data = copy_mem(s->vaddr, sc->page);
		} else if (m->start <= data && data < m->end) {
			s->filesz = s->memsz;
			s->data = copy_mem(m->start, s->memsz);
		} else if (tp_mapping_is_file(m) && m->offset == 0 &&
			   m->read) {
			/* The ELF header page, as tripod-snap saves it. */
			s->filesz = sc->page < s->memsz ? sc->page : s->memsz;
			s->data = copy_mem(m->start, s->filesz);
		}
		if (tp_mapping_is_file(m))
			sc->files[sc->nfiles++] = (struct tp_core_file){
				.start = m->start,
				.end = m->end,
				.offset = m->offset,
				.path = m->path,
			};
	}

	for (size_t t = 0; t < SELFCORE_NTHREADS; t++) {
		struct tp_core_thread *th = &sc->threads[t];
		th->tid = getpid() + (pid_t)t;
		for (size_t r = 0; r < sizeof(th->regs) / sizeof(th->regs[0]);
		     r++)
			th->regs[r] = (t + 1) * 0x1000000ull + r;
		th->have_fpregs = t != 1;
		memset(&th->fpregs, (int)(0x40 + t), sizeof(th->fpregs));
		th->signo = t == 1 ? 11 : 0;
	}

	int fd = open("/proc/self/auxv", O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(tp_fd_read_all(fd, 1u << 20, &sc->auxv, &sc->auxv_len),
		     0);
	close(fd);
	cr_assert_gt(sc->auxv_len, 0);

	static const struct tp_core_kv kv[] = {
		{ "time", "1700000000.250" },
		{ "interval", "5" },
		{ "argv", "python3" },
		{ "argv", "-c" },
		{ "argv", "print('a b')" },
		{ "expr", "a=b=c" },
		{ "empty", "" },
		{ "interpreter", "/usr/bin/python3.11" },
	};
	memcpy(sc->kv, kv, sizeof(kv));

	sc->desc = (struct tp_core_desc){
		.pid = getpid(),
		.ppid = getppid(),
		.pgrp = getpgrp(),
		.sid = getsid(0),
		.uid = getuid(),
		.gid = getgid(),
		.state = 'S',
		.fname = "a-process-name-longer-than-15",
		.psargs = "python3 -c print('a b') and a command line that is "
			  "longer than the seventy-nine bytes NT_PRPSINFO holds",
		.threads = sc->threads,
		.nthreads = SELFCORE_NTHREADS,
		.segments = sc->segs,
		.nsegments = sc->nsegs,
		.files = sc->files,
		.nfiles = sc->nfiles,
		.auxv = sc->auxv,
		.auxv_len = sc->auxv_len,
		.kv = sc->kv,
		.nkv = sizeof(kv) / sizeof(kv[0]),
	};
}

void selfcore_deinit(struct selfcore *sc)
{
	for (size_t i = 0; i < sc->nsegs; i++)
		free((void *)sc->segs[i].data);
	free(sc->segs);
	free(sc->files);
	free(sc->auxv);
	munmap(sc->anon - sc->page, 6 * sc->page);
	tp_maps_deinit(&sc->maps);
}

uint64_t selfcore_write_plain(const struct tp_core_desc *d, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	struct tp_sink_fd sink;
	tp_sink_fd_init(&sink, fd);
	struct tp_error *err = tp_core_write(d, &sink.sink);
	cr_assert_null(err, "%s", tp_error_message(err));
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq(sink.written, (uint64_t)st.st_size);
	close(fd);
	return sink.written;
}

void selfcore_write_gz(const struct tp_core_desc *d, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	struct tp_gzwriter *w;
	cr_assert_null(tp_gzwriter_create(fd, 6, &w));
	struct tp_sink_gz sink;
	tp_sink_gz_init(&sink, w);
	struct tp_error *err = tp_core_write(d, &sink.sink);
	cr_assert_null(err, "%s", tp_error_message(err));
	err = tp_gzwriter_finish(w);
	cr_assert_null(err, "%s", tp_error_message(err));
	tp_gzwriter_destroy(w);
	close(fd);
}

const struct tp_core_segment *selfcore_segment(const struct selfcore *sc,
					       uint64_t addr)
{
	for (size_t i = 0; i < sc->nsegs; i++)
		if (addr - sc->segs[i].vaddr < sc->segs[i].memsz)
			return &sc->segs[i];
	cr_assert_fail("no segment holds 0x%llx", (unsigned long long)addr);
	return NULL;
}

char *selfcore_tmpdir(void)
{
	char *dir = strdup("/tmp/tp-core-XXXXXX");
	cr_assert_not_null(dir);
	cr_assert_not_null(mkdtemp(dir));
	return dir;
}

void selfcore_rmdir(char *dir)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
	free(dir);
}

char *selfcore_path(const char *dir, const char *name)
{
	char *p;
	cr_assert_geq(asprintf(&p, "%s/%s", dir, name), 0);
	return p;
}
