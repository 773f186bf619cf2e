/* SPDX-License-Identifier: ISC */
/* Files written whole and text files read with care (safefile.h). Never
 * realtime. */
#define _GNU_SOURCE /* renameat2, RENAME_NOREPLACE */
#include "daemon/base/safefile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/base/fail.h"

struct FxSafeFileImpl {
	int dir; ///< the target's directory: every step is relative to it
	int fd;  ///< the temporary file; -1 once closed
	unsigned flags;
	mode_t mode; ///< what the file gets at the commit
	char *what;  ///< "state file", for messages
	char *path;  ///< the target as given, for messages
	char *dir_name;
	char *base;             ///< the target's name in dir
	char tmp[NAME_MAX + 1]; ///< the temporary file's name in dir; "" if none
};

static const struct {
	mode_t type;
	const char *name;
} kinds[] = {
	{S_IFREG, "a regular file"},
	{S_IFDIR, "a directory"},
	{S_IFCHR, "a character device"},
	{S_IFBLK, "a block device"},
	{S_IFIFO, "a FIFO"},
	{S_IFSOCK, "a socket"},
	{S_IFLNK, "a symbolic link"},
};

const char *fx_file_kind(mode_t mode)
{
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if ((mode & S_IFMT) == kinds[i].type)
			return kinds[i].name;
	return "not a file";
}

/* ---- writing ---------------------------------------------------------- */

/* The umask, read without setting it: umask(2) would change it for every
 * thread for a moment. */
static mode_t process_umask(void)
{
	unsigned mask = 022;
	char line[128];
	FILE *f = fopen("/proc/self/status", "re");
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "Umask: %o", &mask) == 1)
			break;
	if (f)
		fclose(f);
	return (mode_t)(mask & 0777);
}

/* @p n letters and digits, unpredictable (mkostemp has no form relative
 * to a directory descriptor). */
static void random_letters(char *out, size_t n)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char r[16];
	n = n < sizeof r ? n : sizeof r;
	if (getrandom(r, n, GRND_NONBLOCK) != (ssize_t)n) {
		/* No entropy yet (early boot): unique is enough, and O_EXCL
		 * keeps it safe. */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		uint64_t x = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 30 ^
		             (uint64_t)getpid() << 40;
		for (size_t i = 0; i < n; i++) {
			x = x * 6364136223846793005u + 1442695040888963407u;
			r[i] = (unsigned char)(x >> 56);
		}
	}
	for (size_t i = 0; i < n; i++)
		out[i] = abc[r[i] % (sizeof abc - 1)];
	out[n] = '\0';
}

/* Whether the entry at the target is absent or a regular file; else a
 * message. */
static FxStatus check_target(FxSafeFile *f, struct stat *sb, int *exists,
                             char *err, size_t size)
{
	*exists = fstatat(f->dir, f->base, sb, AT_SYMLINK_NOFOLLOW) == 0;
	if (!*exists && errno != ENOENT)
		return fx_fail(FX_ERR_IO, err, size, "cannot write %s '%s': %s",
		               f->what, f->path, strerror(errno));
	if (*exists && !S_ISREG(sb->st_mode)) {
		errno = EINVAL;
		return fx_fail(FX_ERR_INVALID, err, size,
		               "%s '%s' is %s, not a regular file", f->what,
		               f->path, fx_file_kind(sb->st_mode));
	}
	return FX_OK;
}

FxSafeFile *fx_safe_file_new(const char *path, const char *what, mode_t mode,
                             unsigned flags, FxStatus *st, char *err,
                             size_t err_size)
{
	FxSafeFile *f = calloc(1, sizeof *f);
	if (!f) {
		*st = fx_fail(FX_ERR_NOMEM, err, err_size, "out of memory");
		return NULL;
	}
	f->dir = f->fd = -1;
	f->flags = flags;
	const char *slash = strrchr(path, '/');
	f->path = strdup(path);
	f->what = strdup(what);
	f->base = strdup(slash ? slash + 1 : path);
	f->dir_name = slash ? strndup(path,
	                              slash == path ? 1 : (size_t)(slash - path))
	                    : strdup(".");
	if (!f->path || !f->what || !f->base || !f->dir_name) {
		*st = fx_fail(FX_ERR_NOMEM, err, err_size, "out of memory");
		goto fail;
	}
	if (!*f->base || !strcmp(f->base, ".") || !strcmp(f->base, "..")) {
		errno = EISDIR;
		*st = fx_fail(FX_ERR_INVALID, err, err_size,
		              "%s '%s' names a directory, not a file", what,
		              path);
		goto fail;
	}
	f->dir = open(f->dir_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f->dir < 0) {
		*st = fx_fail(FX_ERR_IO, err, err_size,
		              "cannot write %s '%s': %s", what, path,
		              strerror(errno));
		goto fail;
	}
	struct stat sb;
	int exists;
	if ((*st = check_target(f, &sb, &exists, err, err_size)) != FX_OK)
		goto fail;
	if (exists && (flags & FX_SAFE_NO_REPLACE)) {
		errno = EEXIST;
		*st = fx_fail(FX_ERR_IO, err, err_size, "%s '%s' exists", what,
		              path);
		goto fail;
	}
	f->mode = exists ? sb.st_mode & 07777 : mode & ~process_umask();
	/* A name no one can guess, and O_EXCL|O_NOFOLLOW: a link planted at
	 * it makes this fail rather than write through it. */
	for (int tries = 0; tries < 100 && f->fd < 0; tries++) {
		char letters[8];
		random_letters(letters, 6);
		snprintf(f->tmp, sizeof f->tmp, ".%.200s.tmp-%s", f->base,
		         letters);
		f->fd = openat(f->dir, f->tmp,
		               O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		                       O_CLOEXEC,
		               0600);
		if (f->fd < 0 && errno != EEXIST)
			break;
	}
	if (f->fd < 0) {
		f->tmp[0] = '\0';
		*st = fx_fail(FX_ERR_IO, err, err_size,
		              "cannot create a file in '%s': %s", f->dir_name,
		              strerror(errno));
		goto fail;
	}
	*st = FX_OK;
	return f;
fail:
	fx_safe_file_free(f);
	return NULL;
}

int fx_safe_file_fd(const FxSafeFile *f)
{
	return f->fd;
}

FxStatus fx_safe_file_write(FxSafeFile *f, const void *data, size_t size,
                            char *err, size_t err_size)
{
	const char *p = data;
	while (size) {
		ssize_t n = write(f->fd, p, size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return fx_fail(FX_ERR_IO, err, err_size,
			               "cannot write %s '%s': %s", f->what,
			               f->path, strerror(errno));
		}
		p += n;
		size -= (size_t)n;
	}
	return FX_OK;
}

/* Gives up the temporary file after a failed step; errno is kept. */
static FxStatus give_up(FxSafeFile *f, char *err, size_t size)
{
	int e = errno;
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	if (f->tmp[0])
		unlinkat(f->dir, f->tmp, 0);
	f->tmp[0] = '\0';
	errno = e;
	return fx_fail(FX_ERR_IO, err, size, "cannot write %s '%s': %s",
	               f->what, f->path, strerror(e));
}

/* Renames without replacing; link() does not replace either, on a
 * filesystem without RENAME_NOREPLACE. */
static int rename_no_replace(FxSafeFile *f)
{
	if (!renameat2(f->dir, f->tmp, f->dir, f->base, RENAME_NOREPLACE))
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (linkat(f->dir, f->tmp, f->dir, f->base, 0))
		return -1;
	unlinkat(f->dir, f->tmp, 0);
	return 0;
}

FxStatus fx_safe_file_commit(FxSafeFile *f, char *err, size_t err_size)
{
	if (f->fd < 0 || !f->tmp[0]) {
		errno = EBADF;
		return fx_fail(FX_ERR_INVALID, err, err_size,
		               "%s '%s': nothing to commit", f->what, f->path);
	}
	if (fchmod(f->fd, f->mode) || fsync(f->fd))
		return give_up(f, err, err_size);
	int closed = close(f->fd);
	f->fd = -1;
	if (closed)
		return give_up(f, err, err_size);
	/* Once more: what came to stand at the target meanwhile. */
	struct stat sb;
	int exists;
	FxStatus st = check_target(f, &sb, &exists, err, err_size);
	if (st != FX_OK) {
		int e = errno;
		unlinkat(f->dir, f->tmp, 0);
		f->tmp[0] = '\0';
		errno = e;
		return st;
	}
	if ((f->flags & FX_SAFE_NO_REPLACE)
	            ? rename_no_replace(f)
	            : renameat(f->dir, f->tmp, f->dir, f->base))
		return give_up(f, err, err_size);
	f->tmp[0] = '\0';
	/* The rename itself, on disk. Some filesystems cannot sync a
	 * directory; the file is in place either way. */
	fsync(f->dir);
	return FX_OK;
}

void fx_safe_file_free(FxSafeFile *f)
{
	if (!f)
		return;
	if (f->fd >= 0)
		close(f->fd);
	if (f->tmp[0] && f->dir >= 0)
		unlinkat(f->dir, f->tmp, 0);
	if (f->dir >= 0)
		close(f->dir);
	free(f->what);
	free(f->path);
	free(f->dir_name);
	free(f->base);
	free(f);
}

FxStatus fx_safe_file_save(const char *path, const char *what, const void *data,
                           size_t size, mode_t mode, char *err, size_t err_size)
{
	FxStatus st;
	FxSafeFile *f = fx_safe_file_new(path, what, mode, 0, &st, err, err_size);
	if (!f)
		return st;
	st = fx_safe_file_write(f, data, size, err, err_size);
	if (st == FX_OK)
		st = fx_safe_file_commit(f, err, err_size);
	int e = errno;
	fx_safe_file_free(f);
	errno = e;
	return st;
}

FxStatus fx_make_dirs(const char *path, char *err, size_t err_size)
{
	char buf[4096];
	if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
		errno = ENAMETOOLONG;
		return fx_fail(FX_ERR_IO, err, err_size, "cannot create %s: %s",
		               path, strerror(errno));
	}
	for (char *p = buf + 1;; p++) {
		if (*p && *p != '/')
			continue;
		char end = *p;
		*p = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return fx_fail(FX_ERR_IO, err, err_size,
			               "cannot create %s: %s", path,
			               strerror(errno));
		if (!end)
			return FX_OK;
		*p = '/';
	}
}

uint64_t fx_text_hash(const void *data, size_t n)
{
	const unsigned char *s = data;
	uint64_t h = 0xcbf29ce484222325u;
	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3u;
	}
	return h;
}

/* ---- reading ---------------------------------------------------------- */

static const char *size_text(size_t n, char *buf, size_t size)
{
	if (n >= (1u << 20) && n % (1u << 20) == 0)
		snprintf(buf, size, "%zu MiB", n >> 20);
	else if (n >= 1024 && n % 1024 == 0)
		snprintf(buf, size, "%zu KiB", n >> 10);
	else
		snprintf(buf, size, "%zu bytes", n);
	return buf;
}

/* Reads all of @p fd, at most @p max + 1 bytes; -1 with errno. */
static ssize_t read_all(int fd, size_t hint, size_t max, char **out)
{
	size_t cap = hint < max ? hint + 1 : max + 1, n = 0;
	char *buf = malloc(cap + 1);
	if (!buf)
		return -1;
	for (;;) {
		if (n == cap) {
			if (cap > max)
				break;
			size_t more = cap * 2 < max + 1 ? cap * 2 : max + 1;
			char *b = realloc(buf, more + 1);
			if (!b) {
				free(buf);
				return -1;
			}
			buf = b;
			cap = more;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(buf);
			errno = e;
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*out = buf;
	return (ssize_t)n;
}

FxStatus fx_safe_read_text(const char *path, const char *what, size_t max,
                           char **text, size_t *len, char *err, size_t err_size)
{
	*text = NULL;
	/* O_NONBLOCK: opening a FIFO without a writer would block; fstat
	 * then refuses it without reading. */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return fx_fail(FX_ERR_IO, err, err_size,
		               "cannot read %s '%s': %s", what, path,
		               strerror(errno));
	struct stat sb;
	if (fstat(fd, &sb)) {
		int e = errno;
		close(fd);
		errno = e;
		return fx_fail(FX_ERR_IO, err, err_size,
		               "cannot read %s '%s': %s", what, path,
		               strerror(e));
	}
	if (!S_ISREG(sb.st_mode)) {
		close(fd);
		errno = EINVAL;
		return fx_fail(FX_ERR_INVALID, err, err_size,
		               "%s '%s' is %s, not a regular file", what, path,
		               fx_file_kind(sb.st_mode));
	}
	char *buf = NULL;
	ssize_t n = read_all(fd, (size_t)sb.st_size, max, &buf);
	int e = errno;
	close(fd);
	errno = e;
	if (n < 0)
		return e == ENOMEM ? fx_fail(FX_ERR_NOMEM, err, err_size,
		                             "out of memory")
		                   : fx_fail(FX_ERR_IO, err, err_size,
		                             "cannot read %s '%s': %s", what,
		                             path, strerror(e));
	if ((size_t)n > max) {
		char sz[32];
		free(buf);
		errno = EFBIG;
		return fx_fail(FX_ERR_RANGE, err, err_size,
		               "%s '%s' is larger than %s", what, path,
		               size_text(max, sz, sizeof sz));
	}
	const char *nul = memchr(buf, '\0', (size_t)n);
	if (nul) {
		int line = 1;
		const char *start = buf;
		for (const char *p = buf; p < nul; p++)
			if (*p == '\n') {
				line++;
				start = p + 1;
			}
		int col = (int)(nul - start) + 1;
		free(buf);
		errno = EINVAL;
		return fx_fail(FX_ERR_SYNTAX, err, err_size,
		               "%s:%d:%d: a NUL byte; a %s must be text", path,
		               line, col, what);
	}
	*text = buf;
	if (len)
		*len = (size_t)n;
	return FX_OK;
}
