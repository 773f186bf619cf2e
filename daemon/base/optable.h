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

typedef enum {
	FX_OPT_FLAG,   ///< no value on the command line; yes/no in a file
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
 *  or written into @p buf). */
typedef const char *(*FxOptCheck)(const char *value, char *buf, size_t size);

typedef struct {
	const char *name;  ///< long option and config key
	char short_name;   ///< 0 if none
	FxOptType type;
	size_t offset;     ///< field in the options struct
	double min, max;   ///< FX_OPT_INT and FX_OPT_DOUBLE
	unsigned flags;    ///< FX_OPT_*
	FxOptCheck check;
	const char *arg;   ///< value name in --help
	const char *help;
	const char *group; ///< starts a --help heading
} FxOptInfo;

/** A list of strings given by a repeatable option. */
typedef struct {
	char **items;
	int n;
} FxStrList;

/** Adds a copy of @p s. Returns 0, or -1 when out of memory. */
int fx_str_list_add(FxStrList *l, const char *s);
void fx_str_list_clear(FxStrList *l);

/** yes/no, true/false, on/off, 1/0 (any case). Returns 1 if @p v is one. */
int fx_opt_parse_bool(const char *v, int *out);

/** Sets the field @p info names in @p opts from @p value (NULL: a flag on
 *  the command line). @p shown is the option's name in messages ("--x" or
 *  "x"). Returns 0, or -1 with "SHOWN: reason" in @p why. */
int fx_opt_apply(void *opts, const FxOptInfo *info, const char *value,
                 const char *shown, char *why, size_t size);

const FxOptInfo *fx_opt_find_long(const FxOptInfo *table, int n,
                                  const char *name, size_t len);
const FxOptInfo *fx_opt_find_short(const FxOptInfo *table, int n, char c);

/** The closest option name to @p word, or NULL; with @p file_keys only
 *  config-file keys. */
const char *fx_opt_suggest(const FxOptInfo *table, int n, const char *word,
                           int file_keys);

/** What fx_opt_parse_argv hands on: an option with its value (NULL for a
 *  flag), or a word that is not an option (every word after "--"). A
 *  non-zero return stops the walk and is returned. */
typedef int (*FxOptOnOption)(void *ctx, const FxOptInfo *info,
                             const char *value);
typedef int (*FxOptOnWord)(void *ctx, const char *word);

/** Walks argv[1..]: --long, --long=value, --long value, clusters of short
 *  options (-qv, -c SPEC, -cSPEC) and plain words. Returns 0; or the
 *  callbacks' non-zero; or -1 with a one-line reason in @p why (an unknown
 *  option, with a suggestion when one is close, else @p hint appended; a
 *  missing or unexpected value). */
int fx_opt_parse_argv(const FxOptInfo *table, int n, int argc,
                      char *const argv[], FxOptOnOption on_option,
                      FxOptOnWord on_word, void *ctx, const char *hint,
                      char *why, size_t size);

/** The options' part of --help, headings and wrapped help included. */
void fx_opt_usage(FILE *out, const FxOptInfo *table, int n);

/** Prints @p text word-wrapped before column 80, continuing lines at
 *  column @p col, and a newline. */
void fx_opt_print_wrapped(FILE *out, const char *text, int col);

/* ---- config-file text ------------------------------------------------- */

/** Strips blanks (and a CR) at both ends, in place. */
char *fx_opt_trim(char *s);

/** Cuts a comment: a '#' or ';' after a blank. */
void fx_opt_strip_comment(char *s);

/** Text whose line @p line, column @p col holds @p value, so a parser's
 *  positions match the file's. Malloc'd; NULL when out of memory. */
char *fx_opt_padded(int line, int col, const char *value);

/** A whole config file (at most 1 MiB), malloc'd; NULL with a one-line
 *  reason in @p why. Read with fx_safe_read_text: a FIFO or a device is
 *  refused without blocking, a NUL byte at FILE:LINE:COL; so is a file
 *  that is empty or holds only blanks. */
char *fx_opt_read_file(const char *path, char *why, size_t size);

#endif
