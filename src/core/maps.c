/* SPDX-License-Identifier: MIT */
/*
 * /proc/PID/maps, one mapping per line:
 *
 *   55d0c0a00000-55d0c0a21000 rw-p 00001000 fe:00 247134     /usr/bin/x y
 *
 * The path is everything after the inode and the padding that follows it,
 * to the end of the line, so a path may contain spaces.  (The kernel escapes
 * only '\n' in paths, as "\012"; we keep the escaped form.)  An anonymous
 * mapping has nothing after the inode but, on some kernels, trailing
 * spaces.  The kernel appends " (deleted)" to the path of an unlinked file.
 *
 * The parser is strict about the fixed fields: tripod-snap decides what to
 * copy from them, and a line it misread would silently lose memory.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fdio.h"
#include "core/maps.h"

/* /proc/PID/maps of a process with vm.max_map_count (65530) mappings and
 * long paths stays far below this. */
#define MAPS_MAX_SIZE (256u << 20)

struct cursor {
	const char *p, *end;
};

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool parse_hex(struct cursor *c, uint64_t *ret)
{
	uint64_t v = 0;
	const char *start = c->p;
	int d;
	while (c->p < c->end && (d = hexval(*c->p)) >= 0) {
		if (v >> 60)
			return false;   /* more than 64 bits */
		v = (v << 4) | (uint64_t)d;
		c->p++;
	}
	*ret = v;
	return c->p > start;
}

static bool parse_dec(struct cursor *c, uint64_t *ret)
{
	uint64_t v = 0;
	const char *start = c->p;
	while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
		unsigned d = (unsigned)(*c->p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
		c->p++;
	}
	*ret = v;
	return c->p > start;
}

static bool expect(struct cursor *c, char ch)
{
	if (c->p < c->end && *c->p == ch) {
		c->p++;
		return true;
	}
	return false;
}

/* One or more spaces (the kernel pads with spaces; accept tabs too). */
static bool skip_blanks(struct cursor *c)
{
	const char *start = c->p;
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
		c->p++;
	return c->p > start;
}

static bool perm(struct cursor *c, char yes, bool *ret)
{
	if (c->p >= c->end)
		return false;
	if (*c->p == yes)
		*ret = true;
	else if (*c->p == '-')
		*ret = false;
	else
		return false;
	c->p++;
	return true;
}

static const char deleted_suffix[] = " (deleted)";

enum { LINE_OK, LINE_BAD, LINE_NOMEM };

/* Parse one line (without its '\n'). */
static int parse_line(const char *line, const char *end, struct tp_mapping *m)
{
	struct cursor c = { line, end };
	uint64_t major, minor;

	memset(m, 0, sizeof(*m));
	if (!parse_hex(&c, &m->start) || !expect(&c, '-') ||
	    !parse_hex(&c, &m->end) || !skip_blanks(&c))
		return LINE_BAD;
	if (m->end < m->start)
		return LINE_BAD;
	if (!perm(&c, 'r', &m->read) || !perm(&c, 'w', &m->write) ||
	    !perm(&c, 'x', &m->exec))
		return LINE_BAD;
	if (c.p < c.end && (*c.p == 's' || *c.p == 'p'))
		m->shared = *c.p++ == 's';
	else
		return LINE_BAD;
	if (!skip_blanks(&c) || !parse_hex(&c, &m->offset) ||
	    !skip_blanks(&c) || !parse_hex(&c, &major) || !expect(&c, ':') ||
	    !parse_hex(&c, &minor) || major > UINT32_MAX ||
	    minor > UINT32_MAX || !skip_blanks(&c) ||
	    !parse_dec(&c, &m->inode))
		return LINE_BAD;
	m->dev_major = (unsigned)major;
	m->dev_minor = (unsigned)minor;
	if (c.p == c.end)
		return LINE_OK;            /* anonymous, no padding */
	if (!skip_blanks(&c))
		return LINE_BAD;           /* junk glued to the inode */

	/* Trailing blanks are padding, never part of a path we can use. */
	const char *pend = c.end;
	while (pend > c.p && (pend[-1] == ' ' || pend[-1] == '\t' ||
			      pend[-1] == '\r'))
		pend--;
	if (pend == c.p)
		return LINE_OK;            /* anonymous with padding */
	size_t len = (size_t)(pend - c.p);
	m->path = strndup(c.p, len);
	if (!m->path)
		return LINE_NOMEM;
	size_t slen = sizeof(deleted_suffix) - 1;
	m->deleted = len > slen &&
		     memcmp(m->path + len - slen, deleted_suffix, slen) == 0;
	return LINE_OK;
}

struct tp_error *tp_maps_parse(const char *text, size_t len,
			       struct tp_maps *ret)
{
	struct tp_maps maps = { NULL, 0 };
	size_t cap = 0, lineno = 0;
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *lend = nl ? nl : end;
		lineno++;
		if (lend == p) {        /* tolerate an empty line */
			p = nl ? nl + 1 : end;
			continue;
		}
		if (maps.n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct tp_mapping *v = realloc(maps.v,
						       ncap * sizeof(*v));
			if (!v) {
				tp_maps_deinit(&maps);
				return &tp_error_nomem;
			}
			maps.v = v;
			cap = ncap;
		}
		struct tp_mapping *m = &maps.v[maps.n];
		int r = parse_line(p, lend, m);
		if (r != LINE_OK) {
			free(m->path);
			tp_maps_deinit(&maps);
			if (r == LINE_NOMEM)
				return &tp_error_nomem;
			int shown = (int)((lend - p) > 200 ? 200 : (lend - p));
			return tp_error_create(TP_ERR_FORMAT,
					       "maps line %zu does not parse: \"%.*s\"",
					       lineno, shown, p);
		}
		maps.n++;
		p = nl ? nl + 1 : end;
	}
	*ret = maps;
	return NULL;
}

/* ENOENT on open and ESRCH on read mean the process is gone. */
static struct tp_error *maps_os_error(int e, const char *path,
				      const char *what)
{
	struct tp_error *err = tp_error_os(e, path, "%s", what);
	if ((e == ENOENT || e == ESRCH) && err != &tp_error_nomem)
		err->code = TP_ERR_EXITED;
	return err;
}

struct tp_error *tp_maps_read(pid_t pid, struct tp_maps *ret)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return maps_os_error(errno, path, "cannot open");
	char *text;
	size_t len;
	int e = tp_fd_read_all(fd, MAPS_MAX_SIZE, &text, &len);
	close(fd);
	if (e == ENOMEM)
		return &tp_error_nomem;
	if (e)
		return maps_os_error(e, path, "cannot read");
	struct tp_error *err = tp_maps_parse(text, len, ret);
	free(text);
	if (err)
		return tp_error_wrap(err, "%s", path);
	return NULL;
}

bool tp_mapping_is_file(const struct tp_mapping *m)
{
	return m->path && m->path[0] != '[';
}

const struct tp_mapping *tp_maps_find(const struct tp_maps *maps,
				      uint64_t addr)
{
	size_t lo = 0, hi = maps->n;
	/* Mappings are in address order as the kernel prints them. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct tp_mapping *m = &maps->v[mid];
		if (addr < m->start)
			hi = mid;
		else if (addr >= m->end)
			lo = mid + 1;
		else
			return m;
	}
	return NULL;
}

void tp_maps_deinit(struct tp_maps *maps)
{
	for (size_t i = 0; i < maps->n; i++)
		free(maps->v[i].path);
	free(maps->v);
	maps->v = NULL;
	maps->n = 0;
}
