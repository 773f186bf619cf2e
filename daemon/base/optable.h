/* SPDX-License-Identifier: ISC */
/* fxd — option tables: one table of long options drives a program's
 * command line, its config-file keys and its --help. fxd (daemon/options.c)
 * and fxfile (clients/file/fxfile_options.c) each keep their own table and
 * layering; the value parsing, lookups, config-file text helpers and the
 * --help layout are here, once.
 */
#ifndef FX_OPTABLE_H
#define FX_OPTABLE_H

#include <stddef.h>
#include <stdio.h>

#include "dsp/status.h"

typedef enum {
	FX_OPT_FLAG, ///< no value on the command line; yes/no in a file
	FX_OPT_INT,
	FX_OPT_DOUBLE,
	FX_OPT_STRING,
	FX_OPT_LIST,   ///< repeatable: an FxStrList
	FX_OPT_ACTION, ///< --help and friends: a flag that stops early
} FxOptType;

enum {
	FX_OPT_CLI_ONLY = 1u << 0, ///< not a config-file key
};

/** A check beyond the type: NULL, or why @p value is refused (static text
 *  or written into @p buf). A predicate with its reason, not a status:
 *  fx_opt_apply turns a refusal into FX_ERR_INVALID and one line. */
typedef const char *(*FxOptCheck)(const char *value, char *buf, size_t size);

typedef struct {
	const char *name; ///< long option and config key
	char short_name;  ///< 0 if none
	FxOptType type;
	size_t offset;   ///< field in the options struct
	double min, max; ///< FX_OPT_INT and FX_OPT_DOUBLE
	unsigned flags;  ///< FX_OPT_*
	FxOptCheck check;
	const char *arg; ///< value name in --help
	const char *help;
	const char *group; ///< starts a --help heading
} FxOptInfo;

/** A list of strings given by a repeatable option. */
typedef struct {
	char **items;
	int n;
} FxStrList;

/** Adds a copy of @p s. FX_OK, or FX_ERR_NOMEM. */
FxStatus fx_str_list_add(FxStrList *l, const char *s);
void fx_str_list_clear(FxStrList *l);

/** yes/no, true/false, on/off, 1/0 (any case). Returns 1 if @p v is one. */
int fx_opt_parse_bool(const char *v, int *out);

/** Sets the field @p info names in @p opts from @p value (NULL: a flag on
 *  the command line). @p shown is the option's name in messages ("--x" or
 *  "x"). FX_OK; or FX_ERR_SYNTAX (not a number, not yes or no),
 *  FX_ERR_RANGE, FX_ERR_INVALID (empty, refused by the check) or
 *  FX_ERR_NOMEM, with "SHOWN: reason" in @p err. */
FxStatus fx_opt_apply(void *opts, const FxOptInfo *info, const char *value,
                      const char *shown, char *err, size_t err_size);

/** The options given on the command line, in order, kept to be applied
 *  after the config file (the command line wins). */
typedef struct {
	struct FxOptGiven {
		const FxOptInfo *info;
		const char *value; ///< points into argv; NULL for a flag
	} * values;
	int n;
} FxOptGiven;

/** Appends @p info = @p value to @p given. FX_OK, or FX_ERR_NOMEM with a
 *  line in @p err. */
FxStatus fx_opt_given_add(FxOptGiven *given, const FxOptInfo *info,
                          const char *value, char *err, size_t err_size);

/** Frees what fx_opt_given_add took; @p given is empty again. */
void fx_opt_given_free(FxOptGiven *given);

const FxOptInfo *fx_opt_find_long(const FxOptInfo *table, int n,
                                  const char *name, size_t len);
const FxOptInfo *fx_opt_find_short(const FxOptInfo *table, int n, char c);

/** The closest option name to @p word, or NULL; with @p file_keys only
 *  config-file keys. */
const char *fx_opt_suggest(const FxOptInfo *table, int n, const char *word,
                           int file_keys);

/** What fx_opt_parse_argv hands on: an option with its value (NULL for a
 *  flag), or a word that is not an option (every word after "--"). A
 *  status other than FX_OK, with its line in @p err, stops the walk and
 *  is returned. */
typedef FxStatus (*FxOptOnOption)(void *ctx, const FxOptInfo *info,
                                  const char *value, char *err, size_t err_size);
typedef FxStatus (*FxOptOnWord)(void *ctx, const char *word, char *err,
                                size_t err_size);

/** Walks argv[1..]: --long, --long=value, --long value, clusters of short
 *  options (-qv, -c SPEC, -cSPEC) and plain words. FX_OK; or the
 *  callbacks' status; or FX_ERR_INVALID with a one-line reason in @p err
 *  (an unknown option, with a suggestion when one is close, else @p hint
 *  appended; a missing or unexpected value). */
FxStatus fx_opt_parse_argv(const FxOptInfo *table, int n, int argc,
                           char *const argv[], FxOptOnOption on_option,
                           FxOptOnWord on_word, void *ctx, const char *hint,
                           char *err, size_t err_size);

/** The options' part of --help, headings and wrapped help included. */
void fx_opt_usage(FILE *out, const FxOptInfo *table, int n);

/** Prints @p text word-wrapped before column 80, continuing lines at
 *  column @p col, and a newline. */
void fx_opt_print_wrapped(FILE *out, const char *text, int col);

#endif
