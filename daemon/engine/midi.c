/* SPDX-License-Identifier: ISC */
/* MIDI control, the control side (midi.h): the mapping list, learn, the
 * worker's reports, feedback out, tempo and morphing. Never realtime; it
 * reaches the engine only through the control surface. */
#include "daemon/engine/midi.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/base/fail.h"
#include "daemon/engine/morph.h"
#include "daemon/engine/persist.h"
#include "daemon/engine/tempo.h"

enum {
	REPORTS_PER_TAKE = 64,
	NOTICES_MAX = 32, ///< notices kept for the next polls
	END_NAME_MAX = 64,
	NO_MAPPING = -1,
};

static const char MORPH_TARGET[] = "/fxd/morph";

/* What feedback knows of one mapping. */
typedef struct {
	double seen; ///< its target's value at the last poll (NAN: none)
	int sent;    ///< the last value sent to its control, -1: none
} Feedback;

struct FxMidiImpl {
	/* Guards everything below; taken before the surface's lock. */
	pthread_mutex_t lock;
	FxControl *control;
	FxTempo *tempo; ///< shared by MIDI clock, MIDI taps and fx_midi_tap
	int n;          ///< mappings, in the order added
	FxMidiMapping maps[FX_MIDI_MAX_MAPPINGS];
	Feedback fed[FX_MIDI_MAX_MAPPINGS];
	int n_table;  ///< mappings the worker's table was built from
	uint32_t gen; ///< the surface's generation the table was built for
	int stale;    ///< the table must be built again (failed, or edits)
	char learning[FX_MIDI_TARGET_MAX]; ///< learn's target, "" none
	FxChainSpec *ends[2];              ///< morph A and B, or NULL
	char end_names[2][END_NAME_MAX];
	FxMorph *morph;   ///< A to B once both are set
	double position;  ///< morph position, NAN until set
	int side;         ///< side of 0.5 applied whole (1: B), -1 none
	int position_by;  ///< the mapping that moved it last, or NO_MAPPING
	int transport;    ///< JACK transport rolls with BBT
	double clock_bpm; ///< the last tempo the clock measured, 0 none
	/* Input frames as CLOCK_MONOTONIC seconds (fx_midi_tap's clock):
	 * frame / rate + frame_offset, anchored at the first report. */
	int anchored;
	double frame_offset;
	uint64_t last_frame;
	/* Per parameter (fx_param_index), within one poll: the mapping whose
	 * control set it, so feedback does not echo to that control. */
	int origin[FX_PARAM_ENTRIES];
	FxChainSpec spec; ///< the running chain, while reports are taken
	FxMidiNotice notices[NOTICES_MAX];
	int n_notices;
};

/* fx_midi_state_text as the surface's state hook. */
static char *state_hook(void *midi)
{
	return fx_midi_state_text(midi);
}

FxMidi *fx_midi_new(FxControl *control)
{
	FxMidi *m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	if (!(m->tempo = fx_tempo_new())) {
		free(m);
		return NULL;
	}
	pthread_mutex_init(&m->lock, NULL);
	m->control = control;
	m->position = NAN;
	m->side = -1;
	m->position_by = NO_MAPPING;
	m->stale = 1; /* the first poll hands the engine its table */
	for (int i = 0; i < FX_PARAM_ENTRIES; i++)
		m->origin[i] = NO_MAPPING;
	fx_control_set_state_hook(control, state_hook, m);
	return m;
}

void fx_midi_free(FxMidi *m)
{
	if (!m)
		return;
	fx_control_set_state_hook(m->control, NULL, NULL);
	fx_tempo_free(m->tempo);
	fx_morph_free(m->morph);
	free(m->ends[0]);
	free(m->ends[1]);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* ---- targets ------------------------------------------------------------------- */

/* The current value of @p mp's target in @p spec (a parameter's target,
 * a bypass, or the morph position), NAN when there is none to feed back;
 * *@p x gets its place on the control, 0..1: the inverse of what the
 * worker does with the control's value. */
static double target_value(const FxMidi *m, const FxMidiMapping *mp,
                           const FxChainSpec *spec, double *x)
{
	double v = NAN;
	int slot, param;
	if (!strcmp(mp->target, MORPH_TARGET))
		v = m->position;
	else if (fx_midi_mapping_param(mp, spec, &slot, &param))
		v = param == FX_MAX_PARAMS ? spec->slots[slot].bypass
		                           : spec->slots[slot].values[param];
	*x = fx_midi_mapping_position(mp, spec, v);
	return isnan(*x) ? NAN : v;
}

/* The table index of @p mp's target parameter in @p spec, or -1. */
static int target_entry(const FxMidiMapping *mp, const FxChainSpec *spec)
{
	int slot, param;
	if (!fx_midi_mapping_param(mp, spec, &slot, &param))
		return -1;
	return fx_param_index((FxParamRef){
		slot, param == FX_MAX_PARAMS ? FX_PARAM_BYPASS : param});
}

/* ---- the worker's table -------------------------------------------------------- */

/* Builds the table of every mapping for the running chain (it leaves out
 * those the chain lacks) and hands it to the engine. On failure the old
 * one stays and the next poll tries again. Each edit of the list builds
 * it at once, so the worker's mapping indices are the list's. */
static void rebuild(FxMidi *m)
{
	FxChainSpec spec;
	uint32_t gen = fx_control_get_spec_gen(m->control, &spec);
	FxMidiTable *table = NULL;
	if (m->n) {
		FxStatus st;
		char why[256];
		/* The table's own morph: it frees it. */
		FxMorph *morph = m->ends[0] && m->ends[1]
		                         ? fx_morph_new(m->ends[0], m->ends[1],
		                                        &st, why, sizeof why)
		                         : NULL;
		table = fx_midi_table_new(m->maps, m->n, &spec, morph, &st);
		if (!table) {
			m->stale = 1;
			return;
		}
	}
	fx_control_midi_table(m->control, table);
	m->n_table = m->n;
	m->gen = gen;
	m->stale = 0;
}

/* The mapping a report names, or NO_MAPPING. */
static int mapping_of(const FxMidi *m, int i)
{
	return i >= 0 && i < m->n_table && i < m->n ? i : NO_MAPPING;
}

/* ---- the mapping list ------------------------------------------------------------ */

/* Adds or replaces @p map, checked against @p spec. */
static FxStatus map_locked(FxMidi *m, const FxMidiMapping *map,
                           const FxChainSpec *spec, char *err, size_t err_size)
{
	if (map->source != FX_MIDI_SRC_PROGRAM) {
		FxStatus st = fx_midi_mapping_check(map, spec, err, err_size);
		if (st != FX_OK)
			return st;
	}
	int i = 0;
	while (i < m->n && !(fx_midi_mapping_same_source(&m->maps[i], map) &&
	                     !strcmp(m->maps[i].target, map->target)))
		i++;
	if (i == FX_MIDI_MAX_MAPPINGS)
		return fx_fail(FX_ERR_FULL, err, err_size,
		               "%d MIDI mappings already: unmap one first",
		               FX_MIDI_MAX_MAPPINGS);
	if (i == m->n)
		m->n++;
	m->maps[i] = *map;
	double x;
	/* Feedback starts from the value now: the control is where it is. */
	m->fed[i] = (Feedback){target_value(m, map, spec, &x), -1};
	m->stale = 1;
	fx_control_mark_unsaved(m->control);
	return FX_OK;
}

FxStatus fx_midi_map(FxMidi *m, const FxMidiMapping *map, char *err,
                     size_t err_size)
{
	FxChainSpec spec;
	pthread_mutex_lock(&m->lock);
	fx_control_get_spec(m->control, &spec);
	FxStatus st = map_locked(m, map, &spec, err, err_size);
	if (st == FX_OK)
		rebuild(m);
	pthread_mutex_unlock(&m->lock);
	return st;
}

/* Removes the mappings @p match takes. Returns how many. */
static int remove_where(FxMidi *m,
                        int (*match)(const FxMidiMapping *, const void *),
                        const void *arg)
{
	pthread_mutex_lock(&m->lock);
	int kept = 0, removed;
	for (int i = 0; i < m->n; i++) {
		if (match(&m->maps[i], arg))
			continue;
		m->maps[kept] = m->maps[i];
		m->fed[kept++] = m->fed[i];
	}
	removed = m->n - kept;
	m->n = kept;
	if (removed) {
		rebuild(m);
		fx_control_mark_unsaved(m->control);
	}
	pthread_mutex_unlock(&m->lock);
	return removed;
}

static int drives(const FxMidiMapping *map, const void *target)
{
	return !strcmp(map->target, target);
}

static int is_mapping(const FxMidiMapping *map, const void *other)
{
	return fx_midi_mapping_same_source(map, other) &&
	       drives(map, ((const FxMidiMapping *)other)->target);
}

int fx_midi_unmap(FxMidi *m, const char *target)
{
	return remove_where(m, drives, target);
}

int fx_midi_unmap_mapping(FxMidi *m, const FxMidiMapping *map)
{
	return remove_where(m, is_mapping, map);
}

int fx_midi_list(FxMidi *m, FxMidiMapping *out, int max)
{
	pthread_mutex_lock(&m->lock);
	int n = m->n;
	for (int i = 0; i < n && i < max; i++)
		out[i] = m->maps[i];
	pthread_mutex_unlock(&m->lock);
	return n;
}

FxStatus fx_midi_learn(FxMidi *m, const char *target, char *err, size_t err_size)
{
	FxMidiMapping probe = {.source = FX_MIDI_SRC_CC, .min = NAN, .max = NAN};
	if (strlen(target) >= sizeof probe.target)
		return fx_fail(FX_ERR_RANGE, err, err_size, "target too long");
	strcpy(probe.target, target);
	FxChainSpec spec;
	pthread_mutex_lock(&m->lock);
	fx_control_get_spec(m->control, &spec);
	FxStatus st = fx_midi_mapping_check(&probe, &spec, err, err_size);
	if (st == FX_OK) {
		strcpy(m->learning, target);
		fx_control_midi_learn(m->control, 1);
	}
	pthread_mutex_unlock(&m->lock);
	return st;
}

/* ---- the worker's reports ---------------------------------------------------------- */

static void notice(FxMidi *m, FxMidiNoticeKind kind, const FxMidiMapping *map)
{
	if (m->n_notices < NOTICES_MAX)
		m->notices[m->n_notices++] = (FxMidiNotice){kind, *map};
}

/* The rig's tempo from clock or taps, unless transport sets it. */
static void tempo_heard(FxMidi *m, double bpm)
{
	if (bpm > 0 && !m->transport)
		fx_control_set_bpm(m->control, bpm);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* An input frame as CLOCK_MONOTONIC seconds, so that taps over MIDI and
 * over OSC (fx_midi_tap) share one FxTempo. Frames count from the
 * engine's start: they are anchored to the clock at the first report,
 * and again when they start over (a rebuilt engine). A report is a few
 * periods old when taken, so the anchor is off by that much, the same
 * for every frame: intervals between frames stay exact. */
static double frame_seconds(FxMidi *m, uint64_t frame)
{
	double t = (double)frame /
	           fx_control_engine_config(m->control).sample_rate;
	if (!m->anchored || frame < m->last_frame) {
		m->frame_offset = now_s() - t;
		m->anchored = 1;
	}
	m->last_frame = frame;
	return t + m->frame_offset;
}

static void on_param(FxMidi *m, const FxMidiReport *rep)
{
	if (rep->param < 0 || rep->param >= FX_PARAM_ENTRIES)
		return;
	int i = mapping_of(m, rep->mapping);
	/* A report from a table before the last edit may name another
	 * mapping: only one with this target counts as its origin. */
	if (fx_control_note_param(m->control, fx_param_at(rep->param),
	                          rep->value, rep->applied) &&
	    i != NO_MAPPING && target_entry(&m->maps[i], &m->spec) == rep->param)
		m->origin[rep->param] = i;
}

/* 1 when moving the morph to @p x needs the whole morphed spec applied:
 * a structural parameter differs between A and B, which only a swap can
 * change, and @p x is on the other side of 0.5 than the last time it was
 * applied whole (or that never happened with these ends, or failed). */
static int morph_swaps(const FxMidi *m, double x)
{
	return fx_morph_structural(m->morph) && m->side != (x >= 0.5);
}

/* The morph at @p x, applied whole: what can glide glides, and the
 * structural values come with a crossfaded swap. */
static FxStatus morph_apply(FxMidi *m, double x, char *err, size_t err_size)
{
	FxChainSpec spec;
	fx_morph_spec(m->morph, x, &spec);
	FxStatus st = fx_control_apply(m->control, &spec, err, err_size);
	m->side = st == FX_OK ? x >= 0.5 : -1;
	return st;
}

static void on_morph(FxMidi *m, const FxMidiReport *rep)
{
	double x = rep->value < 0 ? 0 : rep->value > 1 ? 1 : rep->value;
	/* The worker glided what it could; the values become the targets
	 * first, so that a swap starts from them. */
	for (int i = 0, n = m->morph ? fx_morph_count(m->morph) : 0; i < n; i++) {
		FxParamRef r;
		double v;
		fx_morph_value(m->morph, i, x, &r.slot, &r.param, &v);
		fx_control_note_param(m->control, r, v, rep->applied);
	}
	if (morph_swaps(m, x))
		morph_apply(m, x, NULL, 0);
	m->position = x;
	m->position_by = mapping_of(m, rep->mapping);
}

static void on_clock(FxMidi *m, const FxMidiReport *rep)
{
	double bpm = fx_tempo_clock(m->tempo, frame_seconds(m, rep->frame));
	/* Set once a poll (a steady clock stops changing it): to the
	 * hundredth, so the state file is not rewritten for noise. */
	if (bpm > 0)
		m->clock_bpm = round(bpm * 100) / 100;
}

static void on_restart(FxMidi *m, const FxMidiReport *rep)
{
	(void)rep;
	fx_tempo_clock_restart(m->tempo);
}

static void on_tap(FxMidi *m, const FxMidiReport *rep)
{
	tempo_heard(m, fx_tempo_tap(m->tempo, frame_seconds(m, rep->frame)));
}

static void on_program(FxMidi *m, const FxMidiReport *rep)
{
	int i = mapping_of(m, rep->mapping);
	if (i != NO_MAPPING)
		notice(m, FX_MIDI_NOTICE_PRESET, &m->maps[i]);
}

static void on_panic(FxMidi *m, const FxMidiReport *rep)
{
	(void)rep;
	fx_control_panic(m->control);
}

static void on_mute(FxMidi *m, const FxMidiReport *rep)
{
	fx_control_mute(m->control, rep->value != 0);
}

static void on_learn(FxMidi *m, const FxMidiReport *rep)
{
	if (!m->learning[0])
		return;
	FxMidiMapping map = {
		.source = rep->source == FX_MIDI_SRC_NOTE ? FX_MIDI_SRC_NOTE
	                                                  : FX_MIDI_SRC_CC,
		.channel = rep->channel,
		.number = rep->number,
		.min = NAN,
		.max = NAN,
		.mode = rep->source == FX_MIDI_SRC_NOTE ? FX_MIDI_MODE_TOGGLE
	                                                : FX_MIDI_MODE_RANGE,
	};
	strcpy(map.target, m->learning);
	m->learning[0] = '\0';
	FxChainSpec spec;
	fx_control_get_spec(m->control, &spec);
	char why[256];
	if (map_locked(m, &map, &spec, why, sizeof why) == FX_OK) {
		rebuild(m);
		notice(m, FX_MIDI_NOTICE_LEARNED, &map);
	}
}

/* What each report means, by kind. */
static void (*const ON_REPORT[])(FxMidi *, const FxMidiReport *) = {
	[FX_MIDI_REPORT_PARAM] = on_param,
	[FX_MIDI_REPORT_MORPH] = on_morph,
	[FX_MIDI_REPORT_CLOCK] = on_clock,
	[FX_MIDI_REPORT_START] = on_restart,
	[FX_MIDI_REPORT_STOP] = on_restart,
	[FX_MIDI_REPORT_TAP] = on_tap,
	[FX_MIDI_REPORT_PROGRAM] = on_program,
	[FX_MIDI_REPORT_PANIC] = on_panic,
	[FX_MIDI_REPORT_MUTE] = on_mute,
	[FX_MIDI_REPORT_LEARN] = on_learn,
};

static void take_reports(FxMidi *m)
{
	FxMidiReport reps[REPORTS_PER_TAKE];
	int n;
	m->clock_bpm = 0;
	fx_control_get_spec(m->control, &m->spec);
	do {
		n = fx_control_midi_reports(m->control, reps, REPORTS_PER_TAKE);
		for (int i = 0; i < n; i++)
			if ((unsigned)reps[i].kind <
			    sizeof ON_REPORT / sizeof ON_REPORT[0])
				ON_REPORT[reps[i].kind](m, &reps[i]);
	} while (n == REPORTS_PER_TAKE);
	tempo_heard(m, m->clock_bpm);
}

/* ---- feedback out ------------------------------------------------------------------- */

/* A control's value in @p x (0..1) as the messages that set it: fills
 * @p msg (3 bytes each), returns how many and the value in *@p code. */
typedef int (*Encoder)(const FxMidiMapping *mp, double x, uint8_t msg[2][3],
                       int *code);

/* One message: @p status on the mapping's channel (`*`: channel 1). */
static void put(uint8_t msg[3], const FxMidiMapping *mp, int status, int d1,
                int d2)
{
	msg[0] = (uint8_t)(status | (mp->channel < 0 ? 0 : mp->channel));
	msg[1] = (uint8_t)(d1 & 127);
	msg[2] = (uint8_t)(d2 & 127);
}

static int encode_cc(const FxMidiMapping *mp, double x, uint8_t msg[2][3],
                     int *code)
{
	*code = (int)lround(x * 127);
	put(msg[0], mp, 0xB0, mp->number, *code);
	return 1;
}

static int encode_cc14(const FxMidiMapping *mp, double x, uint8_t msg[2][3],
                       int *code)
{
	*code = (int)lround(x * 16383);
	put(msg[0], mp, 0xB0, mp->number, *code >> 7);
	put(msg[1], mp, 0xB0, mp->number + 32, *code);
	return 2;
}

static int encode_note(const FxMidiMapping *mp, double x, uint8_t msg[2][3],
                       int *code)
{
	/* A note on at 127 lights a button's LED, at 0 (a note off) darkens
	 * it. */
	*code = x >= 0.5 ? 127 : 0;
	put(msg[0], mp, 0x90, mp->number, *code);
	return 1;
}

static int encode_bend(const FxMidiMapping *mp, double x, uint8_t msg[2][3],
                       int *code)
{
	*code = (int)lround(x * 16383);
	put(msg[0], mp, 0xE0, *code, *code >> 7);
	return 1;
}

static int encode_none(const FxMidiMapping *mp, double x, uint8_t msg[2][3],
                       int *code)
{
	(void)mp, (void)x, (void)msg;
	*code = -1;
	return 0;
}

static const Encoder ENCODE[FX_MIDI_SRC_COUNT] = {
	[FX_MIDI_SRC_CC] = encode_cc,        [FX_MIDI_SRC_CC14] = encode_cc14,
	[FX_MIDI_SRC_NOTE] = encode_note,    [FX_MIDI_SRC_BEND] = encode_bend,
	[FX_MIDI_SRC_PROGRAM] = encode_none,
};

/* 1 when @p a and @p b are the same value (NAN the same as NAN). */
static int same_value(double a, double b)
{
	return a == b || (isnan(a) && isnan(b));
}

/* Each mapping whose target moved since the last poll, other than by its
 * own control, gets its value sent when that differs from the last sent. */
static void feed_back(FxMidi *m, const FxChainSpec *spec)
{
	for (int i = 0; i < m->n; i++) {
		const FxMidiMapping *mp = &m->maps[i];
		Feedback *f = &m->fed[i];
		double x, v = target_value(m, mp, spec, &x);
		if (same_value(v, f->seen))
			continue;
		f->seen = v;
		if (isnan(v))
			continue;
		uint8_t msg[2][3];
		int code, k = ENCODE[mp->source](mp, x, msg, &code);
		int entry = target_entry(mp, spec);
		int own = entry >= 0 ? m->origin[entry] == i
		                     : !strcmp(mp->target, MORPH_TARGET) &&
		                               m->position_by == i;
		if (own || code == f->sent) {
			f->sent = code; /* the control shows it already */
			continue;
		}
		int sent = 1;
		for (int j = 0; j < k; j++)
			sent &= fx_control_midi_send(m->control, msg[j], 3);
		if (sent)
			f->sent = code;
		else
			f->seen = NAN; /* the queue was full: again next poll */
	}
	for (int i = 0; i < FX_PARAM_ENTRIES; i++)
		m->origin[i] = NO_MAPPING;
	m->position_by = NO_MAPPING;
}

int fx_midi_poll(FxMidi *m, FxMidiNotice *out, int max)
{
	FxChainSpec spec;
	pthread_mutex_lock(&m->lock);
	take_reports(m);
	uint32_t gen = fx_control_get_spec_gen(m->control, &spec);
	if (gen != m->gen || m->stale)
		rebuild(m);
	feed_back(m, &spec);
	int n = m->n_notices < max ? m->n_notices : max;
	memcpy(out, m->notices, (size_t)n * sizeof *out);
	memmove(m->notices, m->notices + n,
	        (size_t)(m->n_notices - n) * sizeof *m->notices);
	m->n_notices -= n;
	pthread_mutex_unlock(&m->lock);
	return n;
}

void fx_midi_set_transport(FxMidi *m, int rolling)
{
	pthread_mutex_lock(&m->lock);
	m->transport = rolling != 0;
	pthread_mutex_unlock(&m->lock);
}

void fx_midi_tap(FxMidi *m, double seconds)
{
	pthread_mutex_lock(&m->lock);
	tempo_heard(m, fx_tempo_tap(m->tempo, seconds));
	pthread_mutex_unlock(&m->lock);
}

/* ---- morphing ------------------------------------------------------------------------- */

static const char *const END_NAME[2] = {"A", "B"};

FxStatus fx_midi_morph_end(FxMidi *m, int end, const char *name,
                           const FxChainSpec *spec, char *err, size_t err_size)
{
	if (end != 0 && end != 1)
		return fx_fail(FX_ERR_RANGE, err, err_size,
		               "morph end %d: 0 (A) or 1 (B)", end);
	FxChainSpec running;
	FxStatus st;
	char why[256];
	fx_control_get_spec(m->control, &running);
	FxMorph *check = fx_morph_new(spec, &running, &st, why, sizeof why);
	if (!check)
		return fx_fail(st, err, err_size,
		               "'%s' does not fit the running chain: %s", name,
		               why);
	fx_morph_free(check);
	FxChainSpec *copy = malloc(sizeof *copy);
	if (!copy)
		return fx_fail(FX_ERR_NOMEM, err, err_size, "out of memory");
	*copy = *spec;
	pthread_mutex_lock(&m->lock);
	const FxChainSpec *other = m->ends[!end];
	FxMorph *morph = NULL;
	if (other) {
		morph = end ? fx_morph_new(other, copy, &st, why, sizeof why)
		            : fx_morph_new(copy, other, &st, why, sizeof why);
		if (!morph) {
			pthread_mutex_unlock(&m->lock);
			free(copy);
			return fx_fail(st, err, err_size,
			               "'%s' (%s) does not fit '%s' (%s): %s",
			               name, END_NAME[end], m->end_names[!end],
			               END_NAME[!end], why);
		}
	}
	free(m->ends[end]);
	m->ends[end] = copy;
	snprintf(m->end_names[end], sizeof m->end_names[end], "%s", name);
	fx_morph_free(m->morph);
	m->morph = morph;
	m->side = -1; /* the running chain may have either end's structure */
	rebuild(m);
	pthread_mutex_unlock(&m->lock);
	return FX_OK;
}

/* Each entry of the morph at @p x set on its own, as a knob would be. */
static FxStatus morph_set(FxMidi *m, double x, char *err, size_t err_size)
{
	FxStatus st = FX_OK;
	for (int i = 0, n = fx_morph_count(m->morph); i < n && st == FX_OK; i++) {
		FxParamRef r;
		double v;
		fx_morph_value(m->morph, i, x, &r.slot, &r.param, &v);
		st = r.param == FX_PARAM_BYPASS
		             ? fx_control_set_bypass(m->control, r.slot, v != 0, 0)
		             : fx_control_set_param(m->control, r.slot, r.param,
		                                    v, NULL, 0);
		if (st != FX_OK)
			fx_fail(st, err, err_size,
			        "morph: slot %d, parameter %d: %s", r.slot,
			        r.param, fx_strerror(st));
	}
	return st;
}

FxStatus fx_midi_morph(FxMidi *m, double x, char *err, size_t err_size)
{
	if (!isfinite(x))
		return fx_fail(FX_ERR_NONFINITE, err, err_size,
		               "morph position is not a number");
	x = x < 0 ? 0 : x > 1 ? 1 : x;
	pthread_mutex_lock(&m->lock);
	FxStatus st;
	if (!m->morph)
		st = fx_fail(FX_ERR_INVALID, err, err_size,
		             "morph needs both ends: /fxd/morph/%s is not set",
		             m->ends[0] ? "b" : "a");
	else if (morph_swaps(m, x))
		st = morph_apply(m, x, err, err_size);
	else
		st = morph_set(m, x, err, err_size);
	if (st == FX_OK) {
		m->position = x;
		m->position_by = NO_MAPPING;
	}
	pthread_mutex_unlock(&m->lock);
	return st;
}

double fx_midi_morph_position(FxMidi *m, char *a, char *b, size_t size)
{
	pthread_mutex_lock(&m->lock);
	double x = m->position;
	if (a && size)
		snprintf(a, size, "%s", m->end_names[0]);
	if (b && size)
		snprintf(b, size, "%s", m->end_names[1]);
	pthread_mutex_unlock(&m->lock);
	return x;
}

/* ---- the state file ---------------------------------------------------------------------- */

char *fx_midi_state_text(FxMidi *m)
{
	/* A line: "midi ", the mapping (its target and at most ~100 bytes
	 * of words and numbers) and a newline. */
	enum { LINE_MAX_BYTES = FX_MIDI_TARGET_MAX + 160 };
	pthread_mutex_lock(&m->lock);
	size_t cap = (size_t)m->n * LINE_MAX_BYTES + 1, len = 0;
	char *text = malloc(cap);
	if (text) {
		text[0] = '\0';
		for (int i = 0; i < m->n; i++) {
			char line[LINE_MAX_BYTES];
			fx_midi_mapping_format(&m->maps[i], line, sizeof line);
			len += (size_t)snprintf(text + len, cap - len,
			                        "midi %s\n", line);
		}
	}
	pthread_mutex_unlock(&m->lock);
	return text;
}

FxStatus fx_midi_restore(FxMidi *m, const char *path, int *refused, char *err,
                         size_t err_size)
{
	char **lines;
	int n, bad = 0;
	FxStatus st = fx_state_lines(path, "midi", &lines, &n, err, err_size);
	if (refused)
		*refused = 0;
	if (st == FX_ERR_IO)
		return FX_OK; /* nothing saved yet */
	if (st != FX_OK)
		return st;
	for (int i = 0; i < n; i++) {
		FxMidiMapping map;
		char why[256];
		int col;
		FxStatus lst = fx_midi_mapping_parse(lines[i], &map, &col, why,
		                                     sizeof why);
		if (lst == FX_OK)
			lst = fx_midi_map(m, &map, why, sizeof why);
		if (lst != FX_OK && !bad++)
			fx_fail(lst, err, err_size, "%s: midi %s: %s", path,
			        lines[i], why);
	}
	fx_control_free_list(lines, n);
	if (refused)
		*refused = bad;
	return FX_OK;
}
