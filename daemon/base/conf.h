/* SPDX-License-Identifier: ISC */
/* fxd — the config-file walker: fxd's INI format, read once for fxd and
 * fxfile, each of which keeps only its own option table and what its
 * sections mean.
 *
 * The format: "key = value" lines; "[section]" headers; blank lines and
 * lines starting with '#' or ';' are comments, and so is the rest of a
 * line from a '#' or ';' after a blank. One section (the chain) holds
 * text, not keys: its lines are kept verbatim at their own line numbers
 * ('#' is the text's own comment, a line starting with ';' is left out),
 * and a key of the same name gives the same text on one line. Errors are
 * one line, "FILE:LINE: reason".
 */
#ifndef FX_CONF_H
#define FX_CONF_H

#include <stddef.h>

#include "daemon/base/optable.h"
#include "dsp/status.h"

/** One "key = value" line. */
typedef struct {
	const char *section; ///< the section it stands in (before any header:
			     ///< the format's first one)
	const char *key;     ///< trimmed; may hold blanks ("alias FROM")
	const char *value;   ///< trimmed, comment cut; may be ""
	int line;            ///< 1-based
	int key_col, value_col; ///< 1-based columns of key and value
	int *col; ///< the callback may set the column of its error here
} FxConfEntry;

/** Takes one entry. FX_OK, or a status and the reason (without FILE:LINE)
 *  in @p err; the walk stops there. */
typedef FxStatus (*FxConfOnEntry)(void *ctx, const FxConfEntry *entry,
                                  char *err, size_t err_size);

/** What a program makes of the format. */
typedef struct {
	const char *const *sections; ///< known names, NULL-terminated
	const char *skip;       ///< NULL, or a section whose lines are passed
				///< over unread (it belongs to another program)
	const char *text_name;  ///< the text section's name and key ("chain")
	int any_case;           ///< section names match in any case
	FxConfOnEntry on_entry; ///< every other key of a section not skipped
	void *ctx;
} FxConfFormat;

/** The text a file gives (the chain). */
typedef struct {
	char *text; ///< malloc'd, at the file's lines and columns; NULL: none
	int line;   ///< where the file gave it; 0: nowhere
} FxConfText;

/** Reads the config file @p path (fx_conf_read) and walks it. On success
 *  @p text holds the text the file gives, if any (the caller frees it).
 *  Otherwise a status (FX_ERR_SYNTAX for a malformed line or an unknown
 *  section; the callback's status; a reading error) and one line in
 *  @p err, "PATH:LINE: reason" for a line ("PATH:LINE:COL: reason" when the
 *  callback named a column); @p text is left empty. */
FxStatus fx_conf_load(const char *path, const FxConfFormat *fmt,
                      FxConfText *text, char *err, size_t err_size);

/** Applies @p entry to @p opts through the option table: an unknown key
 *  (with the closest one as a suggestion), a command-line-only option and
 *  an empty value are refused, then the value is set (fx_opt_apply). */
FxStatus fx_conf_apply(void *opts, const FxOptInfo *table, int n,
                       const FxConfEntry *entry, char *err, size_t err_size);

/** A whole config file (at most 1 MiB), malloc'd into @p *text, read with
 *  fx_safe_read_text: a FIFO or a device is refused without blocking, a
 *  NUL byte at FILE:LINE:COL; so is a file that is empty or holds only
 *  blanks. */
FxStatus fx_conf_read(const char *path, char **text, char *err, size_t err_size);

/** Text whose line @p line, column @p col holds @p value, so a parser's
 *  positions match the file's. Malloc'd; NULL when out of memory. */
char *fx_conf_padded(int line, int col, const char *value);

#endif
