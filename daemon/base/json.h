/* SPDX-License-Identifier: ISC */
/* fxd — a small JSON writer into a caller's buffer: strings escaped,
 * numbers as the shortest decimal that reads back exactly
 * (fx_format_number), objects and arrays with their commas placed for the
 * caller. Nothing is allocated; text that does not fit is reported, never
 * cut silently. Used wherever fxd builds JSON (the OSC namespace's
 * /fxd/json, the benchmarks' result files). */
#ifndef FX_JSON_H
#define FX_JSON_H

#include <stddef.h>

#include "dsp/status.h"

enum {
	FX_JSON_MAX_DEPTH = 32, ///< objects and arrays nested at most this deep
};

/** A writer over one buffer. A value type: declare it, fx_json_init it,
 *  write, then fx_json_finish. The fields are private. */
typedef struct {
	char *buf;
	size_t size, len; ///< len counts what would have been written
	int depth;
	int bad; ///< nesting misused (close without open, ...)
	unsigned char count[FX_JSON_MAX_DEPTH]; ///< 0: no value yet at depth
	int after_key; ///< a key was written: its value comes next
} FxJson;

/** Starts writing into @p buf of @p size bytes (NUL-terminated while
 *  it fits; @p buf may be NULL with @p size 0 to measure). */
void fx_json_init(FxJson *j, char *buf, size_t size);

/** '{' and '}'; '[' and ']'. */
void fx_json_object(FxJson *j);
void fx_json_object_end(FxJson *j);
void fx_json_array(FxJson *j);
void fx_json_array_end(FxJson *j);

/** The key of the next member of the current object. */
void fx_json_key(FxJson *j, const char *key);

/** A string, with '"', '\\' and control characters escaped; NULL is
 *  written as null. */
void fx_json_string(FxJson *j, const char *s);

/** The shortest decimal that reads back as exactly @p v; null when it is
 *  not finite (JSON has no NaN or infinity). */
void fx_json_number(FxJson *j, double v);

/** A whole number. */
void fx_json_int(FxJson *j, long long v);

/** true or false. */
void fx_json_bool(FxJson *j, int v);

/** null. */
void fx_json_null(FxJson *j);

/** Ends the text: FX_OK with its length (without the NUL) in *@p len,
 *  FX_ERR_FULL when it did not fit (*@p len is then the size it needs,
 *  less one), or FX_ERR_INVALID when objects and arrays were not closed
 *  in order; a one-line reason in @p err. @p len and @p err may be NULL. */
FxStatus fx_json_finish(const FxJson *j, size_t *len, char *err, size_t err_size);

/** Writes a text through @p write twice, to measure it and then into a
 *  buffer of its own: returns that NUL-terminated text (the caller frees
 *  it) with its length in *@p len, or NULL when out of memory or when
 *  @p write closed objects and arrays out of order. @p write must write
 *  the same text both times (a snapshot, not live values). */
char *fx_json_new(void (*write)(FxJson *j, const void *arg), const void *arg,
                  size_t *len);

#endif
