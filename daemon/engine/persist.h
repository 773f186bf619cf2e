/* SPDX-License-Identifier: ISC */
/* fxd — persistence: presets and the state file, on the control surface.
 *
 * Both are chain specs in text files, written whole (daemon/base/safefile.h:
 * a temporary file, synced, renamed over the target, the directory synced)
 * and read with care (a FIFO or a device is refused without blocking, a
 * NUL byte at FILE:LINE:COL, more than 1 MiB refused). A preset is loaded
 * through fx_control_apply, so the running chain glides to it when only
 * values differ. The state file records what fx_control_take_unsaved hands
 * over; fxd restores it at start only under the configured chain it was
 * saved under. Never realtime; no lock is held during file I/O.
 */
#ifndef FX_PERSIST_H
#define FX_PERSIST_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/engine/control.h"

enum {
	FX_PRESET_NAME_MAX = 64,
};

/** 1 if @p name is a valid preset name: 1..64 of [A-Za-z0-9_.-], not
 *  starting with '.'. */
int fx_preset_name_ok(const char *name);

/** Saves the running chain as preset @p name (NAME.fxchain in the preset
 *  directory, created as with mkdir -p). FX_OK; FX_ERR_RANGE for a bad
 *  name; or the write's status; @p err gets one line. */
FxStatus fx_control_preset_save(FxControl *c, const char *name, char *err,
                                size_t err_size);

/** Reads preset @p name into @p spec without applying it (a morph end).
 *  The statuses of fx_control_preset_load, short of the apply's. */
FxStatus fx_control_preset_read(FxControl *c, const char *name,
                                FxChainSpec *spec, char *err, size_t err_size);

/** Applies preset @p name (fx_control_apply). FX_OK; FX_ERR_RANGE for a
 *  bad name; FX_ERR_IO when there is none ("no preset 'NAME'"); a reading
 *  status (FX_ERR_INVALID not a regular file, FX_ERR_RANGE too large,
 *  FX_ERR_SYNTAX a NUL byte); the spec's or the apply's status. */
FxStatus fx_control_preset_load(FxControl *c, const char *name, char *err,
                                size_t err_size);

/** The presets' names, sorted (a malloc'd array of malloc'd strings; free
 *  with fx_control_free_list); none when the directory does not exist.
 *  Returns the count, or -1 with @p err (a count or a failure, as
 *  readdir's callers expect). */
int fx_control_preset_list(FxControl *c, char ***names, char *err,
                           size_t err_size);
void fx_control_free_list(char **names, int n);

/** What a state file holds. */
typedef struct {
	FxChainSpec spec;
	double bpm;     ///< 120 when the file gives none
	int has_config; ///< 0: written by an fxd before the config and end
			///< lines (no checksum either)
	uint64_t config_hash; ///< of the configured chain it was saved under
} FxState;

/** Reads the state file @p path: an "end" line whose checksum matches is
 *  required once there is a "config" line. Three kinds of failure, told
 *  apart by the status, each with one line in @p err:
 *  - FX_ERR_IO: there is no file at @p path (nothing saved yet);
 *  - FX_ERR_INVALID, FX_ERR_RANGE or FX_ERR_NOMEM: there is one, but it
 *    cannot be read (not a regular file, no permission, a read error,
 *    larger than 1 MiB);
 *  - FX_ERR_SYNTAX (or a chain spec's status): it was read, but is not a
 *    whole state file (a NUL byte, not an fxd state file, a bad line, cut
 *    short, a checksum that does not match, a bad chain). */
FxStatus fx_state_load(const char *path, FxState *state, char *err,
                       size_t err_size);

/** The lines of the state file at @p path that begin with @p key and a
 *  space (e.g. "midi": the MIDI mappings), without that word, in file
 *  order: a malloc'd array in *@p lines (free with fx_control_free_list)
 *  of *@p n strings. Fails as fx_state_load does, with nothing in
 *  *@p lines; a file without such lines (an older fxd's) gives none. */
FxStatus fx_state_lines(const char *path, const char *key, char ***lines,
                        int *n, char *err, size_t err_size);

/** fx_state_load for the chain and the tempo only. */
FxStatus fx_state_read(const char *path, FxChainSpec *spec, double *bpm,
                       char *err, size_t err_size);

/** Whether fxd starts from a state file or from its configured chain. */
typedef enum {
	FX_STATE_RESTORE,        ///< saved under this configured chain: use it
	FX_STATE_MISSING,        ///< no state file yet
	FX_STATE_DAMAGED,        ///< unreadable, cut short or damaged
	FX_STATE_UNVERIFIED,     ///< from an older fxd: no checksum, no config
	FX_STATE_CONFIG_CHANGED, ///< saved under another configured chain
} FxStateVerdict;

/** Reads @p path into @p state and judges it against @p configured, the
 *  chain the options give. Anything but FX_STATE_RESTORE comes with the
 *  one line to log in @p why. */
FxStateVerdict fx_state_restore_check(const char *path,
                                      const FxChainSpec *configured,
                                      FxState *state, char *why, size_t why_size);

/** Writes the state file when a change is due for saving
 *  (fx_control_take_unsaved), or now with @p force; a failed write leaves
 *  the changes due. Returns 0, or -1 with @p err set when writing failed
 *  (fxd logs the first failure of a run and the recovery). */
int fx_control_save_state(FxControl *c, int force, char *err, size_t err_size);

#endif
