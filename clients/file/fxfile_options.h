/* SPDX-License-Identifier: ISC */
/* fxfile — the command line and the config file, merged into one struct.
 *
 * As in fxd (daemon/options.c), one table drives both and --help: every
 * long option but a few is also a key of a config file's [fxfile]
 * section. A config file is fxd's own: fxfile takes its chain (a 'chain'
 * key or a [chain] section) and skips fxd's keys. Values are layered:
 * defaults, then the file (-f), then the command line.
 */
#ifndef FXFILE_OPTIONS_H
#define FXFILE_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

#include "dsp/status.h"

typedef enum {
	FXFILE_DEVICE_CPU,
	FXFILE_DEVICE_CUDA,
	FXFILE_DEVICE_AUTO,
} FxFileDevice;

/** Everything fxfile is told. */
typedef struct {
	char *chain;          ///< chain spec text, padded to the file's lines
	char *chain_source;   ///< "chain" or the config file, for spec errors
	const char *in, *out; ///< the arguments; "-" is stdin or stdout
	char *config;         ///< -f FILE, or NULL
	char *format;         ///< output format, NULL: from OUT's extension
	char *subtype;        ///< output subtype, NULL: the input's if it fits
	char *raw_input;      ///< "RATE:CHANNELS:SUBTYPE", or NULL
	char *device_name;    ///< cpu, cuda or auto
	int device_asked;     ///< --device (or device =) was given
	FxFileDevice device;  ///< the same
	double tail;          ///< seconds run past the input's end
	double normalize;     ///< target peak in dBFS; NAN: off
	double bpm;           ///< the rig's tempo; 0: the effects' default
	int chunk;            ///< frames per read
	int threads;          ///< 0: the number of cores
	/** GPU: frames from which the scan kernel runs; -1: the default per
	 *  sample type, 0: always. */
	int scan_threshold;
	int no_dither, force, quiet, verbose;
	int accept_truncated; ///< read an input shorter than its header says
	int help, version, list_effects; ///< print and exit
} FxFileOptions;

/** Parses @p argv (and the file it names) into @p o. FX_OK; FX_ERR_NOMEM;
 *  or another status for a mistake (fxfile exits with 2), with one line in
 *  @p err. When help, version or list_effects is set nothing else is
 *  read. Call fxfile_options_free either way. */
FxStatus fxfile_options_load(FxFileOptions *o, int argc, char *const argv[],
                             char *err, size_t err_size);

/** Frees what fxfile_options_load allocated. */
void fxfile_options_free(FxFileOptions *o);

/** Prints --help, generated from the option table. */
void fxfile_usage(FILE *out);

/** The libsndfile subtype named PCM_16, PCM_24, PCM_32, FLOAT or DOUBLE
 *  (any case), or 0. */
int fxfile_subtype_code(const char *name);

/** The name of one of those subtypes, or NULL. */
const char *fxfile_subtype_short_name(int subtype);

#endif
