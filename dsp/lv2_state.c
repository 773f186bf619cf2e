/* SPDX-License-Identifier: ISC */
/* An LV2 plugin's own state (the state extension): what a plugin keeps
 * beyond its control ports (a loaded file's path, a learned curve). lilv
 * saves it as Turtle; a chain spec carries it as one word, state=BASE64
 * (serd's xsd:base64Binary text), so presets and the state file stay
 * single text files written whole. Saved texts are interned for the life
 * of the process: a spec stays a plain value whose copies share one text,
 * and equal states are one pointer. Setup only, never on the realtime
 * path; everything here holds the world lock. */
#include <config.h>
#include "dsp/lv2_impl.h"

#include <stdlib.h>
#include <string.h>

#include <lv2/state/state.h>
#include <serd/serd.h>

/** The subject lilv names a saved state by; only fxd reads it back. */
#define STATE_URI "urn:fxd:lv2-state"

enum {
	LV2_STATE_MAX = 1 << 20, ///< bytes of one state's text, at most
	LV2_STATE_FLAGS = LV2_STATE_IS_POD | LV2_STATE_IS_PORTABLE,
};

typedef struct Saved {
	struct Saved *next;
	size_t len;
	char text[]; ///< the base64 word, NUL-terminated
} Saved;

static Saved *saved_texts; ///< every state text seen, under the world lock

static const char *intern_locked(const char *text, size_t len)
{
	for (Saved *s = saved_texts; s; s = s->next)
		if (s->len == len && !memcmp(s->text, text, len))
			return s->text;
	Saved *s = malloc(sizeof *s + len + 1);
	if (!s)
		return NULL;
	s->len = len;
	memcpy(s->text, text, len);
	s->text[len] = '\0';
	s->next = saved_texts;
	saved_texts = s;
	return s->text;
}

void fx_lv2_state_release_locked(void)
{
	while (saved_texts) {
		Saved *next = saved_texts->next;
		free(saved_texts);
		saved_texts = next;
	}
}

/* The state a base64 word holds, or NULL with @p why set. Locked. */
static LilvState *state_from_word(const Lv2Plugin *p, const char *word,
                                  size_t len, char *why, size_t why_size)
{
	size_t size = 0;
	void *ttl = len ? serd_base64_decode((const uint8_t *)word, len, &size)
	                : NULL;
	char *text = ttl ? malloc(size + 1) : NULL;
	LilvState *st = NULL;
	if (text) {
		memcpy(text, ttl, size);
		text[size] = '\0';
		st = lilv_state_new_from_string(fx_lv2_world_locked(),
		                                fx_lv2_urid_map(), text);
	}
	serd_free(ttl);
	free(text);
	if (!st) {
		snprintf(why, why_size,
		         "state= is not an LV2 state saved by fxd (base64 of "
		         "Turtle)");
		return NULL;
	}
	const LilvNode *of = lilv_state_get_plugin_uri(st);
	if (!of || strcmp(lilv_node_as_uri(of), p->uri)) {
		snprintf(why, why_size,
		         "state= was saved by %s, not by this plugin",
		         of ? lilv_node_as_uri(of) : "no plugin");
		lilv_state_free(st);
		return NULL;
	}
	return st;
}

const char *fx_lv2_state_intern(const FxEffectClass *cls, const char *word,
                                size_t len, char *why, size_t why_size)
{
	if (!fx_lv2_is_plugin(cls) || !cls->save) {
		snprintf(why, why_size,
		         "state= is only for LV2 plugins with the state extension");
		return NULL;
	}
	if (len > LV2_STATE_MAX) {
		snprintf(why, why_size, "state= is longer than %d bytes",
		         LV2_STATE_MAX);
		return NULL;
	}
	fx_lv2_lock();
	LilvState *st = state_from_word(cls->priv, word, len, why, why_size);
	const char *text = st ? intern_locked(word, len) : NULL;
	if (st && !text)
		snprintf(why, why_size, "out of memory");
	lilv_state_free(st);
	fx_lv2_unlock();
	return text;
}

FxStatus fx_lv2_restore_locked(Lv2State *s, const char *saved)
{
	char why[256];
	LilvState *st = state_from_word(s->p, saved, strlen(saved), why,
	                                sizeof why);
	if (!st)
		return FX_ERR_PLUGIN;
	/* Port values are the spec's, set by fxd: only the plugin's own
	 * properties are restored (no set_value callback). */
	for (int k = 0; k < s->n_inst; k++)
		lilv_state_restore(st, s->inst[k], NULL, NULL, LV2_STATE_FLAGS,
		                   s->features[k]);
	lilv_state_free(st);
	return FX_OK;
}

const char *fx_lv2_save(void *state)
{
	Lv2State *s = state;
	if (!s->n_inst || !s->inst[0])
		return NULL;
	const char *text = NULL;
	fx_lv2_lock();
	/* The state extension lets save run beside run; every instance of a
	 * mono plugin on more channels holds the same settings, so the
	 * first speaks for all. No directories: paths stay absolute. */
	LilvState *st = lilv_state_new_from_instance(
		s->p->plugin, s->inst[0], fx_lv2_urid_map(), NULL, NULL, NULL,
		NULL, NULL, NULL, LV2_STATE_FLAGS, s->features[0]);
	char *ttl = st && lilv_state_get_num_properties(st)
	                    ? lilv_state_to_string(
				      fx_lv2_world_locked(), fx_lv2_urid_map(),
				      fx_lv2_urid_unmap(), st, STATE_URI, NULL)
	                    : NULL;
	if (ttl) {
		SerdNode word = serd_node_new_blob(ttl, strlen(ttl), false);
		if (word.buf && word.n_bytes <= LV2_STATE_MAX)
			text = intern_locked((const char *)word.buf,
			                     word.n_bytes);
		serd_node_free(&word);
		lilv_free(ttl);
	}
	lilv_state_free(st);
	fx_lv2_unlock();
	return text;
}
