/* SPDX-License-Identifier: ISC */
/* A JSON writer into a caller's buffer (json.h). */
#include "daemon/base/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/effect.h"

void fx_json_init(FxJson *j, char *buf, size_t size)
{
	memset(j, 0, sizeof *j);
	j->buf = buf;
	j->size = buf ? size : 0;
	if (j->size)
		buf[0] = '\0';
}

/* Appends @p n bytes, keeping the buffer NUL-terminated while they fit;
 * past the end only the length grows, so finish can say what is needed. */
static void put(FxJson *j, const char *s, size_t n)
{
	if (j->len + n < j->size) {
		memcpy(j->buf + j->len, s, n);
		j->buf[j->len + n] = '\0';
	} else if (j->len < j->size) {
		j->buf[j->len] = '\0'; /* what fitted stays a string */
	}
	j->len += n;
}

static void put_str(FxJson *j, const char *s)
{
	put(j, s, strlen(s));
}

/* Before any value: the comma between siblings, none after a key. */
static void begin_value(FxJson *j)
{
	if (j->after_key) {
		j->after_key = 0;
		return;
	}
	if (j->depth > 0 && j->count[j->depth - 1]++)
		put(j, ",", 1);
}

static void open_nest(FxJson *j, char c)
{
	begin_value(j);
	put(j, &c, 1);
	if (j->depth == FX_JSON_MAX_DEPTH) {
		j->bad = 1;
		return;
	}
	j->count[j->depth++] = 0;
}

static void close_nest(FxJson *j, char c)
{
	if (j->depth == 0 || j->after_key)
		j->bad = 1;
	else
		j->depth--;
	put(j, &c, 1);
}

void fx_json_object(FxJson *j)
{
	open_nest(j, '{');
}

void fx_json_object_end(FxJson *j)
{
	close_nest(j, '}');
}

void fx_json_array(FxJson *j)
{
	open_nest(j, '[');
}

void fx_json_array_end(FxJson *j)
{
	close_nest(j, ']');
}

static void put_quoted(FxJson *j, const char *s)
{
	put(j, "\"", 1);
	for (const char *run = s;; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch && ch != '"' && ch != '\\' && ch >= 32)
			continue;
		put(j, run, (size_t)(s - run));
		if (!ch)
			break;
		char esc[8];
		if (ch == '"' || ch == '\\')
			snprintf(esc, sizeof esc, "\\%c", ch);
		else
			snprintf(esc, sizeof esc, "\\u%04x", ch);
		put_str(j, esc);
		run = s + 1;
	}
	put(j, "\"", 1);
}

void fx_json_key(FxJson *j, const char *key)
{
	begin_value(j);
	put_quoted(j, key);
	put(j, ":", 1);
	j->after_key = 1;
}

void fx_json_string(FxJson *j, const char *s)
{
	if (!s) {
		fx_json_null(j);
		return;
	}
	begin_value(j);
	put_quoted(j, s);
}

void fx_json_number(FxJson *j, double v)
{
	if (!isfinite(v)) {
		fx_json_null(j);
		return;
	}
	char text[32];
	begin_value(j);
	put_str(j, fx_format_number(v, text, sizeof text));
}

void fx_json_int(FxJson *j, long long v)
{
	char text[24];
	begin_value(j);
	snprintf(text, sizeof text, "%lld", v);
	put_str(j, text);
}

void fx_json_bool(FxJson *j, int v)
{
	begin_value(j);
	put_str(j, v ? "true" : "false");
}

void fx_json_null(FxJson *j)
{
	begin_value(j);
	put_str(j, "null");
}

FxStatus fx_json_finish(const FxJson *j, size_t *len, char *err, size_t err_size)
{
	if (len)
		*len = j->len;
	if (j->bad || j->depth || j->after_key) {
		if (err && err_size)
			snprintf(err, err_size,
			         "JSON objects and arrays not "
			         "closed in order");
		return FX_ERR_INVALID;
	}
	if (j->len >= j->size) {
		if (err && err_size)
			snprintf(err, err_size,
			         "JSON text of %zu bytes does "
			         "not fit %zu",
			         j->len + 1, j->size);
		return FX_ERR_FULL;
	}
	return FX_OK;
}

char *fx_json_new(void (*write)(FxJson *j, const void *arg), const void *arg,
                  size_t *len)
{
	FxJson j;
	fx_json_init(&j, NULL, 0);
	write(&j, arg);
	if (fx_json_finish(&j, len, NULL, 0) != FX_ERR_FULL)
		return NULL; /* misnested (an empty text is FULL too) */
	char *text = malloc(*len + 1);
	if (!text)
		return NULL;
	fx_json_init(&j, text, *len + 1);
	write(&j, arg);
	if (fx_json_finish(&j, len, NULL, 0) != FX_OK) {
		free(text);
		return NULL;
	}
	return text;
}
