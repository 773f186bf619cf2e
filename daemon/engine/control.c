/* SPDX-License-Identifier: ISC */
/* The control surface: engine calls (the engine takes its own lock),
 * change tracking for feedback and for the state file (written by
 * persist.c). Never realtime. */
#include "daemon/engine/control.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "daemon/base/safefile.h"

/* A save follows the last change by this much, so a knob being turned is
 * written once it rests... */
static const double SAVE_QUIET_S = 0.25;
/* ...but never later than this after the first unsaved change. */
static const double SAVE_MAX_S = 0.5;

struct FxControlImpl {
	FxControlConfig cfg;
	/* Guards everything below, `engine` included (fx_control_set_engine
	 * frees nothing, but its caller frees the old engine). Taken before
	 * the engine's own lock, never after it. */
	pthread_mutex_t lock;
	FxEngine *engine;
	FxChanges changes;   ///< since the last take
	uint32_t generation; ///< bumped by every swap: slots may move
	int muted;
	double bpm;
	char *preset_dir, *state_file;
	int unsaved;          ///< changes not in the state file yet
	uint64_t config_hash; ///< of the configured chain, for the state file
	double first_unsaved, last_change;
	/* The engine's staged count (fx_engine_staged_seq) just after each
	 * parameter was last staged, and after the last swap: a value the
	 * worker applied from MIDI under an older count is stale. */
	uint32_t staged_at[FX_PARAM_ENTRIES];
	uint32_t swapped_at;
	char *(*state_hook)(void *user); ///< extra state-file lines, or NULL
	void *state_user;
	uint64_t nonfinite_seen; ///< the engine's count at the last poll
	double restarted;        ///< when plugins were last restarted
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void lock(FxControl *c)
{
	if (c->cfg.on_lock)
		c->cfg.on_lock(c->cfg.user);
	pthread_mutex_lock(&c->lock);
}

static void unlock(FxControl *c)
{
	pthread_mutex_unlock(&c->lock);
}

static int say(char *err, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int say(char *err, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (err && size)
		vsnprintf(err, size, fmt, ap);
	va_end(ap);
	return -1;
}

static char *default_preset_dir(void)
{
	const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
	char buf[4096];
	if (xdg && *xdg == '/')
		snprintf(buf, sizeof buf, "%s/fxd/presets", xdg);
	else
		snprintf(buf, sizeof buf, "%s/.local/share/fxd/presets",
		         home && *home ? home : ".");
	return strdup(buf);
}

FxControl *fx_control_new(FxEngine *engine, const FxControlConfig *cfg)
{
	FxControl *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	pthread_mutex_init(&c->lock, NULL);
	if (cfg)
		c->cfg = *cfg;
	c->engine = engine;
	c->bpm = 120;
	c->preset_dir = cfg && cfg->preset_dir ? strdup(cfg->preset_dir)
	                                       : default_preset_dir();
	c->state_file = cfg && cfg->state_file ? strdup(cfg->state_file) : NULL;
	/* Until told otherwise, the chain it starts with is the configured
	 * one. */
	FxChainSpec spec;
	fx_engine_get_spec(engine, &spec);
	c->config_hash = fx_chain_hash(&spec);
	if (!c->preset_dir || (cfg && cfg->state_file && !c->state_file)) {
		fx_control_free(c);
		return NULL;
	}
	return c;
}

void fx_control_free(FxControl *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c->preset_dir);
	free(c->state_file);
	free(c);
}

void fx_control_set_engine(FxControl *c, FxEngine *engine)
{
	lock(c);
	c->engine = engine;
	fx_engine_set_tempo(engine, c->bpm);
	c->changes.chain = 1;
	c->generation++;
	/* The new engine counts from 0: its reports compare with nothing
	 * of the old one's. */
	memset(c->staged_at, 0, sizeof c->staged_at);
	c->swapped_at = 0;
	unlock(c);
}

/* Under the lock: the staged count that includes the change of table
 * index @p entry just staged. */
static void note_staged(FxControl *c, int entry)
{
	c->staged_at[entry] = fx_engine_staged_seq(c->engine);
}

/* Under the lock: remember a change for feedback and the state file. */
static void changed(FxControl *c, int entry)
{
	if (entry >= 0)
		c->changes.entries[entry / 64] |= 1ull << (entry % 64);
	double now = now_s();
	if (!c->unsaved)
		c->first_unsaved = now;
	c->unsaved = 1;
	c->last_change = now;
}

void fx_control_get_spec(FxControl *c, FxChainSpec *spec)
{
	lock(c);
	fx_engine_get_spec(c->engine, spec);
	unlock(c);
}

void fx_control_save_spec(FxControl *c, FxChainSpec *spec)
{
	lock(c);
	fx_engine_save_spec(c->engine, spec);
	unlock(c);
}

uint32_t fx_control_get_spec_gen(FxControl *c, FxChainSpec *spec)
{
	lock(c);
	fx_engine_get_spec(c->engine, spec);
	uint32_t gen = c->generation;
	unlock(c);
	return gen;
}

static void swapped(FxControl *c);

/* Any generation: the caller did not look a slot up. */
static const int64_t ANY_GEN = -1;

/* One change of @p r, if @p gen (or ANY_GEN) is still the generation
 * (*@p stale says when not): staged, timed from @p rx_ns, remembered for
 * feedback and the state file. The driver is told about a latency moved
 * by a structural change once the lock is released. */
static FxStatus change(FxControl *c, int64_t gen, FxParamRef r, double value,
                       double *applied, uint64_t rx_ns, int *stale)
{
	FxParamChange ch = {.applied = NAN};
	FxStatus st = FX_OK;
	lock(c);
	*stale = gen != ANY_GEN && (uint32_t)gen != c->generation;
	if (!*stale)
		st = fx_engine_set_param(c->engine, r, value, rx_ns, &ch);
	if (!*stale && st == FX_OK && ch.changed) {
		note_staged(c, fx_param_index(r));
		changed(c, fx_param_index(r));
	}
	unlock(c);
	if (applied && !isnan(ch.applied))
		*applied = ch.applied;
	if (ch.latency_moved)
		swapped(c);
	return st;
}

/* The bypass index is not a parameter for those who name one. */
static FxParamRef param_ref(int slot, int param)
{
	return (FxParamRef){slot, param == FX_PARAM_BYPASS ? -1 : param};
}

FxStatus fx_control_set_param(FxControl *c, int slot, int param, double value,
                              double *applied, uint64_t rx_ns)
{
	int stale;
	return change(c, ANY_GEN, param_ref(slot, param), value, applied, rx_ns,
	              &stale);
}

FxStatus fx_control_set_bypass(FxControl *c, int slot, int on, uint64_t rx_ns)
{
	int stale;
	return change(c, ANY_GEN, (FxParamRef){slot, FX_PARAM_BYPASS}, on, NULL,
	              rx_ns, &stale);
}

FxStatus fx_control_set_param_at(FxControl *c, uint32_t gen, int slot, int param,
                                 double value, uint64_t rx_ns, int *stale)
{
	return change(c, gen, param_ref(slot, param), value, NULL, rx_ns, stale);
}

FxStatus fx_control_set_bypass_at(FxControl *c, uint32_t gen, int slot, int on,
                                  uint64_t rx_ns, int *stale)
{
	return change(c, gen, (FxParamRef){slot, FX_PARAM_BYPASS}, on, NULL,
	              rx_ns, stale);
}

/* A slot's value of @p param, FX_PARAM_BYPASS included. */
static double slot_value(const FxSlotSpec *s, int param)
{
	return param == FX_PARAM_BYPASS ? s->bypass : s->values[param];
}

static FxStatus swap_locked(FxControl *c, const FxChainSpec *spec, char *err,
                            size_t err_size)
{
	FxStatus st = fx_engine_swap(c->engine, spec);
	if (st == FX_OK) {
		c->generation++;
		c->swapped_at = fx_engine_staged_seq(c->engine);
		c->changes.chain = 1;
		changed(c, -1);
	} else if (err && err_size) {
		FxEngineConfig cfg = fx_engine_config(c->engine);
		fx_engine_explain(&cfg, spec, st, err, err_size);
	}
	return st;
}

/* After a swap, outside the lock: the driver takes it to re-read the
 * latency. */
static void swapped(FxControl *c)
{
	if (c->cfg.latency_changed)
		c->cfg.latency_changed(c->cfg.user);
}

FxStatus fx_control_swap(FxControl *c, const FxChainSpec *spec, char *err,
                         size_t err_size)
{
	lock(c);
	FxStatus st = swap_locked(c, spec, err, err_size);
	unlock(c);
	if (st == FX_OK)
		swapped(c);
	return st;
}

/* Same effects, labels and structure: values can glide there. */
static int same_shape(const FxChainSpec *a, const FxChainSpec *b)
{
	if (a->n_slots != b->n_slots)
		return 0;
	for (int s = 0; s < a->n_slots; s++) {
		const FxSlotSpec *x = &a->slots[s], *y = &b->slots[s];
		/* A slot without state= keeps the running plugin's. */
		if (x->cls != y->cls || strcmp(x->label, y->label) ||
		    (y->saved && x->saved != y->saved))
			return 0;
		for (int p = 0; p < x->cls->n_params; p++)
			if ((x->cls->params[p].flags & FX_PARAM_STRUCTURAL) &&
			    x->values[p] != y->values[p])
				return 0;
	}
	return 1;
}

FxStatus fx_control_apply(FxControl *c, const FxChainSpec *spec, char *err,
                          size_t err_size)
{
	lock(c);
	FxChainSpec now;
	fx_engine_get_spec(c->engine, &now);
	FxStatus st = FX_OK;
	if (!same_shape(&now, spec)) {
		st = swap_locked(c, spec, err, err_size);
		unlock(c);
		if (st == FX_OK)
			swapped(c);
		return st;
	}
	/* Every parameter, then the bypass, of each slot that differs. */
	for (int s = 0; s < spec->n_slots && st == FX_OK; s++) {
		const FxSlotSpec *want = &spec->slots[s];
		int n = want->cls->n_params;
		for (int p = 0; p <= n && st == FX_OK; p++) {
			FxParamRef r = {s, p < n ? p : FX_PARAM_BYPASS};
			double v = slot_value(want, r.param);
			if (v == slot_value(&now.slots[s], r.param))
				continue;
			st = fx_engine_set_param(c->engine, r, v, 0, NULL);
			note_staged(c, fx_param_index(r));
			changed(c, fx_param_index(r));
		}
	}
	unlock(c);
	if (st != FX_OK)
		say(err, err_size, "%s", fx_strerror(st));
	return st;
}

void fx_control_mute(FxControl *c, int on)
{
	lock(c);
	if (c->muted != (on != 0)) {
		c->muted = on != 0;
		fx_engine_fade(c->engine, c->muted);
		c->changes.mute = 1;
	}
	unlock(c);
}

int fx_control_muted(FxControl *c)
{
	lock(c);
	int m = c->muted;
	unlock(c);
	return m;
}

void fx_control_panic(FxControl *c)
{
	lock(c);
	fx_engine_panic(c->engine);
	unlock(c);
}

void fx_control_reset_state(FxControl *c)
{
	lock(c);
	fx_engine_reset_state(c->engine);
	unlock(c);
}

void fx_control_reset_metrics(FxControl *c)
{
	lock(c);
	fx_engine_reset_metrics(c->engine);
	unlock(c);
}

void fx_control_metrics(FxControl *c, FxEngineMetrics *m)
{
	lock(c);
	fx_engine_metrics(c->engine, m);
	unlock(c);
}

int fx_control_slot_stats(FxControl *c, FxChainSpec *spec,
                          FxEngineSlotStats *out, int max)
{
	lock(c);
	fx_engine_get_spec(c->engine, spec);
	int n = fx_engine_slot_stats(c->engine, out, max);
	unlock(c);
	return n < spec->n_slots ? n : spec->n_slots;
}

void fx_control_counters(FxControl *c, FxEngineMetrics *m)
{
	lock(c);
	fx_engine_counters(c->engine, m);
	unlock(c);
}

FxEngineConfig fx_control_engine_config(FxControl *c)
{
	lock(c);
	FxEngineConfig cfg = fx_engine_config(c->engine);
	unlock(c);
	return cfg;
}

int fx_control_latency(FxControl *c)
{
	lock(c);
	int l = fx_engine_latency(c->engine);
	unlock(c);
	return l;
}

FxStatus fx_control_set_bpm(FxControl *c, double bpm)
{
	if (!isfinite(bpm))
		return FX_ERR_NONFINITE;
	bpm = bpm < 20 ? 20 : bpm > 999 ? 999 : bpm;
	lock(c);
	if (c->bpm != bpm) {
		c->bpm = bpm;
		fx_engine_set_tempo(c->engine, bpm);
		c->changes.bpm = 1;
		changed(c, -1);
	}
	unlock(c);
	return FX_OK;
}

double fx_control_bpm(FxControl *c)
{
	lock(c);
	double b = c->bpm;
	unlock(c);
	return b;
}

int fx_control_meters(FxControl *c, float *peak, float *rms, int max, int *outputs)
{
	lock(c);
	int n = fx_engine_meters(c->engine, peak, rms, max, outputs);
	unlock(c);
	return n;
}

uint32_t fx_control_sync_point(FxControl *c)
{
	lock(c);
	uint32_t s = fx_engine_staged_seq(c->engine);
	unlock(c);
	return s;
}

int fx_control_synced(FxControl *c, uint32_t point)
{
	lock(c);
	int done = fx_engine_applied(c->engine, point);
	unlock(c);
	return done;
}

/* Once a second at most, however often a plugin fails again. */
static const double RESTART_EVERY_S = 1.0;

/* LV2 has no realtime reset: a plugin whose output was not finite mutes
 * its slot (dsp/lv2_process.c) and is restarted here, off the audio path,
 * in its slot, while the rest of the chain plays on. Should that fail,
 * the chain is rebuilt with fresh instances (the swap crossfades). A
 * chain without such effects reset itself already. Locked; 1 when it
 * swapped. */
static int restart_muted_effects(FxControl *c)
{
	uint64_t n = fx_engine_nonfinite(c->engine);
	double now = now_s();
	if (n == c->nonfinite_seen || now - c->restarted < RESTART_EVERY_S)
		return 0;
	c->nonfinite_seen = n;
	int restarted = fx_engine_restart_muted(c->engine);
	if (restarted == 0)
		return 0;
	c->restarted = now;
	if (restarted > 0)
		return 0;
	FxChainSpec spec;
	fx_engine_get_spec(c->engine, &spec);
	return swap_locked(c, &spec, NULL, 0) == FX_OK;
}

void fx_control_poll(FxControl *c)
{
	lock(c);
	fx_engine_poll(c->engine);
	int restarted = restart_muted_effects(c);
	unlock(c);
	if (restarted)
		swapped(c);
}

void fx_control_take_changes(FxControl *c, FxChanges *out)
{
	lock(c);
	*out = c->changes;
	memset(&c->changes, 0, sizeof c->changes);
	unlock(c);
}

/* ---- what the state file needs (persist.h writes it) ---------------------- */

uint64_t fx_chain_hash(const FxChainSpec *spec)
{
	char *text = fx_spec_format_new(spec);
	uint64_t h = text ? fx_text_hash(text, strlen(text)) : 0;
	free(text);
	return h;
}

const char *fx_control_preset_dir(const FxControl *c)
{
	return c->preset_dir;
}

const char *fx_control_state_file(const FxControl *c)
{
	return c->state_file;
}

void fx_control_set_config_chain(FxControl *c, const FxChainSpec *configured)
{
	uint64_t h = fx_chain_hash(configured);
	lock(c);
	c->config_hash = h;
	changed(c, -1);
	unlock(c);
}

int fx_control_take_unsaved(FxControl *c, int force, FxControlSnapshot *snap)
{
	lock(c);
	double now = now_s();
	int due = c->unsaved && (force || now - c->last_change >= SAVE_QUIET_S ||
	                         now - c->first_unsaved >= SAVE_MAX_S);
	if (!due && force) {
		/* A plugin's own state changes unannounced: the last save of a
		 * run (at stop) writes it whenever the chain has one. */
		fx_engine_get_spec(c->engine, &snap->spec);
		for (int s = 0; s < snap->spec.n_slots; s++)
			due |= snap->spec.slots[s].cls->save != NULL;
	}
	if (due) {
		/* Plugins are asked for their state only by the last save of
		 * a run (forced) and by presets: a state moving on its own
		 * would otherwise be serialised and kept twice a second. */
		if (force)
			fx_engine_save_spec(c->engine, &snap->spec);
		else
			fx_engine_get_spec(c->engine, &snap->spec);
		snap->bpm = c->bpm;
		snap->config_hash = c->config_hash;
		snap->taken = now;
		c->unsaved = 0;
	}
	unlock(c);
	return due;
}

void fx_control_keep_unsaved(FxControl *c, const FxControlSnapshot *snap)
{
	lock(c);
	if (!c->unsaved)
		c->first_unsaved = snap->taken;
	c->unsaved = 1; /* try again at the next tick */
	unlock(c);
}

/* ---- MIDI control ------------------------------------------------------------ */

FxStatus fx_control_midi_table(FxControl *c, FxMidiTable *table)
{
	lock(c);
	FxStatus st = fx_engine_set_midi_table(c->engine, table);
	unlock(c);
	return st;
}

void fx_control_midi_learn(FxControl *c, int armed)
{
	lock(c);
	fx_engine_midi_learn(c->engine, armed);
	unlock(c);
}

int fx_control_midi_send(FxControl *c, const uint8_t *bytes, int size)
{
	lock(c);
	int sent = fx_engine_midi_send(c->engine, bytes, size);
	unlock(c);
	return sent;
}

int fx_control_midi_reports(FxControl *c, FxMidiReport *out, int max)
{
	lock(c);
	int n = fx_engine_midi_reports(c->engine, out, max);
	unlock(c);
	return n;
}

/* 1 when count @p a came after count @p b (the counts wrap). */
static int later(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

int fx_control_note_param(FxControl *c, FxParamRef r, double value,
                          uint32_t applied)
{
	if (r.slot < 0 || r.slot >= FX_MAX_SLOTS || r.param < 0 ||
	    r.param > FX_PARAM_BYPASS)
		return 0;
	int entry = fx_param_index(r), taken = 0;
	lock(c);
	if (!later(c->staged_at[entry], applied) &&
	    !later(c->swapped_at, applied)) {
		FxParamChange ch;
		taken = fx_engine_note_param(c->engine, r, value, &ch) == FX_OK;
		if (taken && ch.changed)
			changed(c, entry);
	}
	unlock(c);
	return taken;
}

void fx_control_mark_unsaved(FxControl *c)
{
	lock(c);
	changed(c, -1);
	unlock(c);
}

void fx_control_set_state_hook(FxControl *c, char *(*text)(void *user), void *user)
{
	lock(c);
	c->state_hook = text;
	c->state_user = user;
	unlock(c);
}

FxStatus fx_control_state_extra(FxControl *c, char **out)
{
	lock(c);
	char *(*hook)(void *) = c->state_hook;
	void *user = c->state_user;
	unlock(c);
	*out = hook ? hook(user) : NULL;
	return hook && !*out ? FX_ERR_NOMEM : FX_OK;
}
