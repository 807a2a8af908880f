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
	bool python;
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

/*
 * Does @elf's dynamic symbol table define Py_InitializeEx?  Every CPython
 * interpreter exports it (extension modules and embedders link against the
 * C API), whether libpython is a shared library or linked into the
 * executable; no other program defines it.
 */
static bool defines_python_api(Elf *elf)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM ||
		    !sh.sh_entsize)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		if (!d)
			continue;
		size_t n = sh.sh_size / sh.sh_entsize;
		for (size_t i = 0; i < n; i++) {
			GElf_Sym sym;
			if (!gelf_getsym(d, (int)i, &sym) ||
			    sym.st_shndx == SHN_UNDEF)
				continue;
			const char *name = elf_strptr(elf, sh.sh_link,
						      sym.st_name);
			if (name && strcmp(name, "Py_InitializeEx") == 0)
				return true;
		}
	}
	return false;
}

/* The build-id of @elf in a new string, "" when it has none. */
static char *read_buildid(Elf *elf)
{
	const unsigned char *id = NULL;
	size_t idlen = 0;
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
	return id ? to_hex(id, idlen) : strdup("");
}

struct tp_error *tp_buildid_read_fd(int fd, char **ret)
{
	elf_version(EV_CURRENT);
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	char *hex = read_buildid(elf);
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

/* The cache entry of the file behind @m, read on first use. */
static struct tp_error *lookup(struct tp_buildid_cache *c, pid_t pid,
			       const struct tp_mapping *m,
			       const struct tp_buildid_entry **ret)
{
	for (size_t i = 0; i < c->n; i++) {
		struct tp_buildid_entry *e = &c->v[i];
		if (e->inode == m->inode && e->dev_major == m->dev_major &&
		    e->dev_minor == m->dev_minor) {
			*ret = e;
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
	bool python = false;
	int fd = open_mapped(pid, m);
	if (fd >= 0) {
		elf_version(EV_CURRENT);
		Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
		hex = read_buildid(elf);
		python = elf && elf_kind(elf) == ELF_K_ELF &&
			 defines_python_api(elf);
		elf_end(elf);
		close(fd);
	} else {
		hex = strdup("");
	}
	if (!hex)
		return &tp_error_nomem;
	c->v[c->n] = (struct tp_buildid_entry){
		.dev_major = m->dev_major,
		.dev_minor = m->dev_minor,
		.inode = m->inode,
		.hex = hex,
		.python = python,
	};
	*ret = &c->v[c->n++];
	return NULL;
}

struct tp_error *tp_buildid_get(struct tp_buildid_cache *c, pid_t pid,
				const struct tp_mapping *m, const char **ret)
{
	const struct tp_buildid_entry *e;
	struct tp_error *err = lookup(c, pid, m, &e);
	if (!err)
		*ret = e->hex;
	return err;
}

struct tp_error *tp_buildid_is_python(struct tp_buildid_cache *c, pid_t pid,
				      const struct tp_mapping *m, bool *ret)
{
	const struct tp_buildid_entry *e;
	struct tp_error *err = lookup(c, pid, m, &e);
	if (!err)
		*ret = e->python;
	return err;
}

void tp_buildid_cache_deinit(struct tp_buildid_cache *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].hex);
	free(c->v);
	*c = (struct tp_buildid_cache)TP_BUILDID_CACHE_INIT;
}
