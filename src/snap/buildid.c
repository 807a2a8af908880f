/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <elf.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "snap/buildid.h"

/* Longer notes are not build-ids anyone makes (GNU ld: 20 bytes at most 64). */
#define MAX_BUILDID 256

struct tp_buildid_entry {
	unsigned dev_major, dev_minor;
	uint64_t inode;
	char *hex;
};

static char *to_hex(const unsigned char *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char *s = malloc(2 * n + 1);
	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		s[2 * i] = digits[p[i] >> 4];
		s[2 * i + 1] = digits[p[i] & 15];
	}
	s[2 * n] = '\0';
	return s;
}

struct tp_error *tp_buildid_read_fd(int fd, char **ret)
{
	const unsigned char *id = NULL;
	size_t idlen = 0;
	elf_version(EV_CURRENT);
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	size_t nphdr;
	if (elf && elf_kind(elf) == ELF_K_ELF &&
	    elf_getphdrnum(elf, &nphdr) == 0) {
		/* Program headers, not sections: stripped files keep them. */
		for (size_t i = 0; i < nphdr && !id; i++) {
			GElf_Phdr ph;
			if (!gelf_getphdr(elf, (int)i, &ph) ||
			    ph.p_type != PT_NOTE)
				continue;
			Elf_Data *d = elf_getdata_rawchunk(elf,
							   (int64_t)ph.p_offset,
							   ph.p_filesz,
							   ELF_T_NHDR);
			if (!d)
				continue;
			GElf_Nhdr nh;
			size_t off = 0, name_off, desc_off, next;
			while (off < d->d_size &&
			       (next = gelf_getnote(d, off, &nh, &name_off,
						    &desc_off)) > 0) {
				if (nh.n_type == NT_GNU_BUILD_ID &&
				    nh.n_namesz == 4 &&
				    memcmp((char *)d->d_buf + name_off, "GNU",
					   4) == 0 &&
				    nh.n_descsz > 0 &&
				    nh.n_descsz <= MAX_BUILDID) {
					id = (unsigned char *)d->d_buf +
					     desc_off;
					idlen = nh.n_descsz;
					break;
				}
				off = next;
			}
		}
	}
	char *hex = id ? to_hex(id, idlen) : strdup("");
	elf_end(elf);
	if (!hex)
		return &tp_error_nomem;
	*ret = hex;
	return NULL;
}

/* Open the file behind @m as process @pid sees it; -1 if we cannot. */
static int open_mapped(pid_t pid, const struct tp_mapping *m)
{
	char path[4096];
	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", (int)pid,
		 (unsigned long long)m->start, (unsigned long long)m->end);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 || m->deleted)
		return fd;
	if (snprintf(path, sizeof(path), "/proc/%d/root%s", (int)pid,
		     m->path) >= (int)sizeof(path))
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	/* Only the same inode: a file replaced on disk has another build-id. */
	if (fd >= 0 && (fstat(fd, &st) < 0 || (uint64_t)st.st_ino != m->inode ||
			major(st.st_dev) != m->dev_major ||
			minor(st.st_dev) != m->dev_minor)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

struct tp_error *tp_buildid_get(struct tp_buildid_cache *c, pid_t pid,
				const struct tp_mapping *m, const char **ret)
{
	for (size_t i = 0; i < c->n; i++) {
		struct tp_buildid_entry *e = &c->v[i];
		if (e->inode == m->inode && e->dev_major == m->dev_major &&
		    e->dev_minor == m->dev_minor) {
			*ret = e->hex;
			return NULL;
		}
	}
	if (c->n == c->cap) {
		size_t ncap = c->cap ? 2 * c->cap : 8;
		struct tp_buildid_entry *nv = realloc(c->v, ncap * sizeof(*nv));
		if (!nv)
			return &tp_error_nomem;
		c->v = nv;
		c->cap = ncap;
	}
	char *hex;
	int fd = open_mapped(pid, m);
	struct tp_error *err;
	if (fd >= 0) {
		err = tp_buildid_read_fd(fd, &hex);
		close(fd);
		if (err)
			return err;
	} else if (!(hex = strdup(""))) {
		return &tp_error_nomem;
	}
	c->v[c->n++] = (struct tp_buildid_entry){
		.dev_major = m->dev_major,
		.dev_minor = m->dev_minor,
		.inode = m->inode,
		.hex = hex,
	};
	*ret = hex;
	return NULL;
}

void tp_buildid_cache_deinit(struct tp_buildid_cache *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].hex);
	free(c->v);
	*c = (struct tp_buildid_cache)TP_BUILDID_CACHE_INIT;
}
