/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <fcntl.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/corewrite.h"
#include "fuzz_common.h"

static char scratch[64];

static void remove_scratch(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", scratch);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", scratch);
}

const char *fuzz_scratch(void)
{
	if (!scratch[0]) {
		snprintf(scratch, sizeof(scratch), "/tmp/tripod-fuzz-XXXXXX");
		if (!mkdtemp(scratch))
			abort();
		atexit(remove_scratch);
	}
	return scratch;
}

void fuzz_write_file(const char *path, const uint8_t *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	size_t off = 0;
	while (off < size) {
		ssize_t w = write(fd, data + off, size - off);
		if (w <= 0)
			abort();
		off += (size_t)w;
	}
	close(fd);
}

static struct tp_error *discard(struct tp_sink *sink, const void *data,
				size_t len)
{
	(void)sink;
	/* touch every byte: the sanitizers see a read of what was handed */
	volatile uint8_t x = 0;
	for (size_t i = 0; i < len; i += 512)
		x ^= ((const uint8_t *)data)[i];
	(void)x;
	return NULL;
}

void fuzz_exercise_core(struct tp_core *core)
{
	(void)tp_core_is_snapshot(core);
	(void)tp_core_warning(core);
	(void)tp_core_pid(core);
	(void)tp_core_psargs(core);
	(void)tp_core_note_get(core, "python");
	const char **all = NULL;
	size_t n = 0;
	struct tp_error *err = tp_core_note_all(core, "argv", &all, &n);
	tp_error_destroy(err);
	free(all);
	for (size_t i = 0; i < tp_core_nthreads(core); i++)
		(void)tp_core_thread(core, i)->tid;
	for (size_t i = 0; i < tp_core_nfiles(core); i++)
		(void)strlen(tp_core_file(core, i)->path);
	size_t auxlen;
	(void)tp_core_auxv(core, &auxlen);
	Elf *elf = tp_core_elf(core);
	size_t phnum;
	if (elf)
		(void)elf_getphdrnum(elf, &phnum);
	struct tp_memsrc *mem = tp_core_memsrc(core);
	uint8_t buf[4096];
	for (size_t i = 0; i < tp_core_nsegments(core) && i < 64; i++) {
		const struct tp_core_segment_info *s = tp_core_segment(core, i);
		uint64_t at[] = { s->vaddr, s->vaddr + s->memsz / 2,
				  s->vaddr + s->memsz - (s->memsz < 64 ? s->memsz : 64) };
		for (size_t k = 0; k < 3; k++) {
			size_t len = s->memsz < sizeof(buf) ? (size_t)s->memsz
							     : sizeof(buf);
			if (at[k] + len < at[k])
				continue;
			err = tp_memsrc_read(mem, at[k], buf, len);
			tp_error_destroy(err);
		}
	}
	struct tp_sink sink = { .write = discard };
	uint64_t unread;
	err = tp_core_export(core, &sink, &unread);
	tp_error_destroy(err);
}
