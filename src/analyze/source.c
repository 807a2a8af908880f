/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analyze/source.h"

#define MAX_SOURCE_SIZE (64u << 20)
#define MAX_FILES 4096

struct source_file {
	char *key;        /* filename as recorded + NUL + cwd */
	size_t keylen;
	char *text;       /* NULL: could not be read */
	char **lines;     /* start of each line (NUL-terminated, stripped) */
	size_t nlines;
	char *real;       /* the file read, as realpath() gives it */
	/* the last permission check: for whom, and its answer */
	long long chk_uid, chk_gid;
	bool checked, readable;
};

struct tp_sources {
	struct source_file *files;
	size_t n, cap;
};

struct tp_sources *tp_sources_create(void)
{
	return calloc(1, sizeof(struct tp_sources));
}

void tp_sources_destroy(struct tp_sources *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->files[i].key);
		free(s->files[i].text);
		free(s->files[i].lines);
		free(s->files[i].real);
	}
	free(s->files);
	free(s);
}

static char *read_file(const char *path, size_t *len)
{
	/* O_NONBLOCK: a FIFO named as a source file must not hang us */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return NULL;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > MAX_SOURCE_SIZE) {
		close(fd);
		return NULL;
	}
	size_t cap = (size_t)st.st_size + 1, n = 0;
	char *buf = malloc(cap);
	if (!buf) {
		close(fd);
		return NULL;
	}
	for (;;) {
		if (n + 1 >= cap) {
			if (cap > MAX_SOURCE_SIZE)
				break;
			char *b = realloc(buf, cap * 2);
			if (!b)
				break;
			buf = b;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

/* Split on \n, \r\n and \r (universal newlines) and strip each line. */
static void split_lines(struct source_file *f, size_t len)
{
	size_t cap = 64;
	f->lines = malloc(cap * sizeof(*f->lines));
	if (!f->lines)
		return;
	char *p = f->text, *end = f->text + len;
	while (p < end) {
		char *start = p;
		while (p < end && *p != '\n' && *p != '\r')
			p++;
		char *eol = p;
		if (p < end) {
			if (*p == '\r' && p + 1 < end && p[1] == '\n')
				p++;
			p++;
		}
		*eol = '\0';
		while (*start && is_space(*start))
			start++;
		char *e = eol;
		while (e > start && is_space(e[-1]))
			*--e = '\0';
		if (f->nlines == cap) {
			char **l = realloc(f->lines, cap * 2 * sizeof(*l));
			if (!l)
				return;
			f->lines = l;
			cap *= 2;
		}
		f->lines[f->nlines++] = start;
	}
}

/* Whether @uid/@gid has @bit (4 read, 1 search) on what @sb describes. */
static bool may(const struct stat *sb, long long uid, long long gid,
		unsigned bit)
{
	if ((long long)sb->st_uid == uid)
		return sb->st_mode & (bit << 6);
	if ((long long)sb->st_gid == gid)
		return sb->st_mode & (bit << 3);
	return sb->st_mode & bit;
}

/* Could @uid/@gid read the file at @real (an absolute path, no symlinks)? */
static bool readable_by(const char *real, long long uid, long long gid)
{
	if (uid == 0)
		return true;
	if (real[0] != '/')
		return false;
	char *p = strdup(real);
	if (!p)
		return false;
	bool ok = true;
	struct stat sb;
	/* "/" and every directory below it on the way must be searchable */
	for (char *slash = p; ok && slash; slash = strchr(slash + 1, '/')) {
		char keep = slash[1];
		slash[1] = '\0';
		ok = stat(p, &sb) == 0 && may(&sb, uid, gid, 1);
		slash[1] = keep;
	}
	ok = ok && stat(p, &sb) == 0 && may(&sb, uid, gid, 4);
	free(p);
	return ok;
}

const char *tp_sources_line(struct tp_sources *s, const char *filename,
			    const char *cwd, int lineno)
{
	bool hidden;
	return tp_sources_line_as(s, filename, cwd, lineno, -1, -1, &hidden);
}

const char *tp_sources_line_as(struct tp_sources *s, const char *filename,
			       const char *cwd, int lineno, long long uid,
			       long long gid, bool *hidden)
{
	*hidden = false;
	if (!filename || lineno < 1 || filename[0] == '<')
		return NULL;
	size_t flen = strlen(filename);
	size_t clen = (filename[0] != '/' && cwd) ? strlen(cwd) : 0;
	size_t keylen = flen + 1 + clen;
	struct source_file *f = NULL;
	for (size_t i = 0; i < s->n; i++) {
		struct source_file *c = &s->files[i];
		if (c->keylen == keylen && !memcmp(c->key, filename, flen + 1) &&
		    (!clen || !memcmp(c->key + flen + 1, cwd, clen))) {
			f = c;
			break;
		}
	}
	if (!f) {
		if (s->n >= MAX_FILES)
			return NULL;
		if (s->n == s->cap) {
			size_t cap = s->cap ? s->cap * 2 : 16;
			struct source_file *v = realloc(s->files,
							cap * sizeof(*v));
			if (!v)
				return NULL;
			s->files = v;
			s->cap = cap;
		}
		f = &s->files[s->n];
		memset(f, 0, sizeof(*f));
		f->key = malloc(keylen + 1);
		if (!f->key)
			return NULL;
		memcpy(f->key, filename, flen + 1);
		if (clen)
			memcpy(f->key + flen + 1, cwd, clen);
		f->key[keylen] = '\0';
		f->keylen = keylen;
		s->n++;
		size_t len = 0;
		f->text = read_file(filename, &len);
		if (f->text)
			f->real = realpath(filename, NULL);
		if (!f->text && clen) {
			char *path = malloc(clen + flen + 2);
			if (path) {
				memcpy(path, cwd, clen);
				path[clen] = '/';
				memcpy(path + clen + 1, filename, flen + 1);
				f->text = read_file(path, &len);
				if (f->text)
					f->real = realpath(path, NULL);
				free(path);
			}
		}
		if (f->text)
			split_lines(f, len);
	}
	if (!f->text || !f->lines || (size_t)lineno > f->nlines)
		return NULL;
	if (uid >= 0) {
		if (!f->checked || f->chk_uid != uid || f->chk_gid != gid) {
			f->readable = f->real && readable_by(f->real, uid, gid);
			f->chk_uid = uid;
			f->chk_gid = gid;
			f->checked = true;
		}
		if (!f->readable) {
			*hidden = true;
			return NULL;
		}
	}
	const char *line = f->lines[lineno - 1];
	return *line ? line : NULL;
}
