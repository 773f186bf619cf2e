/* SPDX-License-Identifier: ISC */
/* fxd — files written whole and text files read with care; one
 * implementation for fxd (presets, the state file, config files) and
 * fxfile (its output, config files), with mkdir -p and the checksum the
 * state file carries.
 *
 * Writing: the new content goes to a temporary file beside the target,
 * created under a unique name with O_CREAT|O_EXCL|O_NOFOLLOW and mode 0600,
 * then synced, given its mode, renamed over the target and the directory
 * synced; so after a crash the target is the old file or the new one, and
 * a link planted in the directory cannot send the write elsewhere. Every
 * step is relative to the directory, opened once. A target that exists and
 * is not a regular file (a device, a FIFO, a directory, a socket, a
 * symbolic link) is refused, so /dev/full is never replaced by a file.
 *
 * Reading: opened with O_NONBLOCK (a FIFO never blocks the caller), and
 * only a regular file of bounded size is read; a NUL byte, which C string
 * code would take for the end of the text, is refused with FILE:LINE:COL.
 */
#ifndef FX_SAFEFILE_H
#define FX_SAFEFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dsp/status.h"

typedef struct FxSafeFileImpl FxSafeFile;

enum {
	/** The commit fails (errno EEXIST) rather than replace a target
	 *  that appeared; fx_safe_file_new refuses one that exists. */
	FX_SAFE_NO_REPLACE = 1u << 0,
};

/** "a FIFO", "a character device", ... for the file type in @p mode;
 *  "a regular file" for one. */
const char *fx_file_kind(mode_t mode);

/** Starts writing @p path: checks that it is absent or a regular file and
 *  creates the temporary file beside it. The file gets @p mode less the
 *  umask; a file it replaces keeps its own mode. @p what names the file in
 *  messages ("state file"). NULL with @p st and a one-line reason in
 *  @p err; errno is EEXIST when FX_SAFE_NO_REPLACE found the target. */
FxSafeFile *fx_safe_file_new(const char *path, const char *what, mode_t mode,
                             unsigned flags, FxStatus *st, char *err,
                             size_t err_size);

/** The temporary file's descriptor, for writers that take one. */
int fx_safe_file_fd(const FxSafeFile *f);

/** Writes all of @p data at the temporary file's position. */
FxStatus fx_safe_file_write(FxSafeFile *f, const void *data, size_t size,
                            char *err, size_t err_size);

/** Syncs and closes the temporary file, gives it its mode, renames it over
 *  the target and syncs the directory. On failure the temporary file is
 *  removed and errno says why (EEXIST: FX_SAFE_NO_REPLACE met a target).
 *  Either way only fx_safe_file_free is left to call. */
FxStatus fx_safe_file_commit(FxSafeFile *f, char *err, size_t err_size);

/** Removes the temporary file if it is still there and frees @p f; NULL
 *  is a no-op. Call it to give up a write at any point. */
void fx_safe_file_free(FxSafeFile *f);

/** fx_safe_file_new, _write, _commit and _free for data in memory. */
FxStatus fx_safe_file_save(const char *path, const char *what, const void *data,
                           size_t size, mode_t mode, char *err, size_t err_size);

/** Reads the regular file @p path whole into @p *text (malloc'd, with a
 *  terminating NUL; @p len, if not NULL, gets its length). Refuses another
 *  kind of file, more than @p max bytes and a NUL byte, each with a
 *  one-line reason in @p err that names @p what ("config file"). On
 *  failure @p *text is NULL, and errno is ENOENT when there is no file. */
FxStatus fx_safe_read_text(const char *path, const char *what, size_t max,
                           char **text, size_t *len, char *err, size_t err_size);

/** mkdir -p: creates @p path and the directories above it (mode 0755
 *  less the umask) where missing. FX_OK, or FX_ERR_IO ("cannot create
 *  PATH: reason"). */
FxStatus fx_make_dirs(const char *path, char *err, size_t err_size);

/** FNV-1a, 64 bits, of @p n bytes: a check against damage (a file cut
 *  short, a byte changed), not against someone who may write the file
 *  anyway. */
uint64_t fx_text_hash(const void *data, size_t n);

#endif
