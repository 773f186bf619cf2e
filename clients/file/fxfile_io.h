/* SPDX-License-Identifier: ISC */
/* fxfile — sound files in and out, through libsndfile.
 *
 * Input: any file libsndfile reads, stdin included. libsndfile reads only
 * some formats correctly from a pipe (WAV, AIFF, AU, W64, Ogg; not FLAC,
 * CAF or RF64), so stdin in any other format is first copied to an
 * unlinked temporary file. An input whose header gives more frames than
 * it holds is refused (or, with --accept-truncated, read with a note).
 * Output: written to a temporary file beside OUT and renamed into place by
 * fxfile_output_finish, through daemon/base/safefile.h; PCM is quantised here
 * (TPDF dither at 16 bits and below) so that PCM in, PCM out is exact.
 * Every call that can fail returns an FxStatus and fills the caller's
 * `err` with one line (fxfile_report.h says which statuses fxfile's main
 * exits with which code); FXFILE_ERR_INTERRUPTED: a signal asked fxfile
 * to stop.
 */
#ifndef FXFILE_IO_H
#define FXFILE_IO_H

#include <limits.h>
#include <sndfile.h>
#include <stdint.h>
#include <sys/stat.h>

#include "clients/file/fxfile_options.h"
#include "daemon/base/safefile.h"
#include "dsp/status.h"

/** The file read. */
typedef struct {
	SNDFILE *sf;
	SF_INFO info;
	char label[PATH_MAX + 2]; ///< "'NAME'" or "stdin", for messages
	struct stat st;       ///< of what was opened, for the same-file check
	int spool_fd;         ///< pass 1 copies a pipe's frames here, or -1
	int replay;           ///< reads come from spool_fd
	sf_count_t claimed;   ///< frames the header gives; 0: it gives none
	sf_count_t got;       ///< frames read in this pass
	int accept_truncated; ///< read fewer than claimed, with a note
	int said_truncated;
} FxFileInput;

/** The file written. */
typedef struct {
	SNDFILE *sf;
	SF_INFO info;
	char label[PATH_MAX + 2]; ///< "'NAME'" or "stdout"
	char path[PATH_MAX];      ///< where it ends up (a symlink's target)
	FxSafeFile *file; ///< the temporary file until renamed; NULL if none
	int fd;
	int direct;   ///< stdout, a FIFO or a device: no rename
	int replace;  ///< path exists and --force replaces it
	int bits;     ///< 8, 16, 24 or 32 for PCM; 0: written as float
	int dither;   ///< TPDF dither when quantising
	uint64_t rng; ///< the dither's state: one step per sample
	void *buf;    ///< one block, interleaved and converted
	int via_sink; ///< FLAC to a pipe goes through the sink
	struct {
		int64_t pos, end; ///< where libsndfile is, how far it wrote
		int err;          ///< errno of a failed write
	} sink;
} FxFileOutput;

/** Opens IN ("-": stdin), headerless with --raw-input. A pipe or FIFO is
 *  waited for until it has data; SIGINT ends the wait. */
FxStatus fxfile_input_open(FxFileInput *in, const FxFileOptions *o, char *err,
                           size_t err_size);

/** Reads up to @p frames interleaved frames, their count in *@p got;
 *  fewer only at the end. An end before the frames the header gives is an
 *  error, unless --accept-truncated. */
FxStatus fxfile_input_read(FxFileInput *in, float *buf, long frames, long *got,
                           char *err, size_t err_size);

/** From now on, reads are also copied to an unlinked temporary file, so
 *  that an input that cannot seek can be read again. */
FxStatus fxfile_input_keep(FxFileInput *in, char *err, size_t err_size);

/** Back to the first frame. */
FxStatus fxfile_input_rewind(FxFileInput *in, char *err, size_t err_size);

/** Closes IN and its spool; safe twice. */
void fxfile_input_close(FxFileInput *in);

/** Decides OUT's format and where and how it is written, and refuses what
 *  would lose data (OUT is IN, exists without --force, ...). Opens
 *  nothing. */
FxStatus fxfile_output_plan(FxFileOutput *out, const FxFileOptions *o,
                            const FxFileInput *in, char *err, size_t err_size);

/** Creates the temporary file (or opens the direct target). */
FxStatus fxfile_output_open(FxFileOutput *out, char *err, size_t err_size);

/** Writes @p frames planar frames from offset @p off of @p blk, times
 *  @p gain. */
FxStatus fxfile_output_write(FxFileOutput *out, float *const *blk, long off,
                             long frames, double gain, char *err,
                             size_t err_size);

/** Closes, syncs and renames the temporary file into place. */
FxStatus fxfile_output_finish(FxFileOutput *out, char *err, size_t err_size);

/** Removes the temporary file, if any. Safe at any point. */
void fxfile_output_discard(FxFileOutput *out);

/** libsndfile's name of a major format, e.g. "WAV (Microsoft)". */
const char *fxfile_format_name(int format);

/** PCM_16 ... for fxfile's subtypes, libsndfile's name for others. */
const char *fxfile_subtype_name(int format, char *buf, size_t size);

#endif
