/* The control surface: engine calls, change tracking for feedback,
 * presets and the state file. Never realtime. */
#include "daemon/engine/control.h"

#include <dirent.h>
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
static const char PRESET_EXT[] = ".fxchain";
static const char STATE_MAGIC[] = "fxd-state 1";

struct FxControlImpl {
	FxControlConfig cfg;
	/* Guards everything below, `engine` included (fx_control_set_engine
	 * frees nothing, but its caller frees the old engine). Taken before
	 * the engine's own lock, never after it. */
	pthread_mutex_t lock;
	FxEngine *engine;
	FxChanges changes;        ///< since the last take
	uint32_t generation;      ///< bumped by every swap: slots may move
	int muted;
	double bpm;
	char *preset_dir, *state_file;
	int unsaved;              ///< changes not in the state file yet
	uint64_t config_hash;     ///< of the configured chain, for the state file
	double first_unsaved, last_change;
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
static uint64_t chain_hash(const FxChainSpec *spec);

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
	c->config_hash = chain_hash(&spec);
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
	unlock(c);
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
	if (!*stale && st == FX_OK && ch.changed)
		changed(c, fx_param_index(r));
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
	return change(c, ANY_GEN, param_ref(slot, param), value, applied,
	              rx_ns, &stale);
}

FxStatus fx_control_set_bypass(FxControl *c, int slot, int on, uint64_t rx_ns)
{
	int stale;
	return change(c, ANY_GEN, (FxParamRef){slot, FX_PARAM_BYPASS}, on,
	              NULL, rx_ns, &stale);
}

FxStatus fx_control_set_param_at(FxControl *c, uint32_t gen, int slot,
                                 int param, double value, uint64_t rx_ns,
                                 int *stale)
{
	return change(c, gen, param_ref(slot, param), value, NULL, rx_ns,
	              stale);
}

FxStatus fx_control_set_bypass_at(FxControl *c, uint32_t gen, int slot,
                                  int on, uint64_t rx_ns, int *stale)
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
		if (x->cls != y->cls || strcmp(x->label, y->label))
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

int fx_control_meters(FxControl *c, float *peak, float *rms, int max)
{
	lock(c);
	int n = fx_engine_meters(c->engine, peak, rms, max);
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

void fx_control_poll(FxControl *c)
{
	lock(c);
	fx_engine_poll(c->engine);
	unlock(c);
}

void fx_control_take_changes(FxControl *c, FxChanges *out)
{
	lock(c);
	*out = c->changes;
	memset(&c->changes, 0, sizeof c->changes);
	unlock(c);
}

/* ---- files ---------------------------------------------------------------- */

/* Presets and the state file are a chain spec or two: anything larger is
 * not one of them. */
static const size_t TEXT_MAX = 1u << 20;

int fx_preset_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n < 1 || n > FX_PRESET_NAME_MAX || name[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' ||
		      ch == '.'))
			return 0;
	}
	return 1;
}

/* mkdir -p */
static int make_dirs(const char *path)
{
	char buf[4096];
	if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
		return -1;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* FNV-1a, 64 bits: a check against damage, not against someone who may
 * write the file anyway. */
static uint64_t fnv1a(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325u;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3u;
	}
	return h;
}

/* The hash of a chain's canonical text; 0 when out of memory. */
static uint64_t chain_hash(const FxChainSpec *spec)
{
	char *text = fx_spec_format_new(spec);
	uint64_t h = text ? fnv1a(text, strlen(text)) : 0;
	free(text);
	return h;
}

static char *preset_path(FxControl *c, const char *name)
{
	size_t n = strlen(c->preset_dir) + strlen(name) + sizeof PRESET_EXT + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s%s", c->preset_dir, name, PRESET_EXT);
	return p;
}

FxStatus fx_control_preset_save(FxControl *c, const char *name, char *err,
                                size_t err_size)
{
	if (!fx_preset_name_ok(name)) {
		say(err, err_size, "bad preset name '%.80s' (1-64 of A-Z a-z "
		                   "0-9 _ - ., not starting with '.')", name);
		return FX_ERR_RANGE;
	}
	FxChainSpec spec;
	fx_control_get_spec(c, &spec);
	if (make_dirs(c->preset_dir) != 0) {
		say(err, err_size, "cannot create %s: %s", c->preset_dir,
		    strerror(errno));
		return FX_ERR_IO;
	}
	char *chain = fx_spec_format_new(&spec), *path = preset_path(c, name);
	char *text = chain ? malloc(strlen(chain) + 2) : NULL;
	FxStatus st = FX_ERR_NOMEM;
	if (text && path) {
		strcat(strcpy(text, chain), "\n");
		st = fx_safe_file_save(path, "preset", text, strlen(text), 0666,
		                       err, err_size);
	} else {
		say(err, err_size, "out of memory");
	}
	free(text);
	free(chain);
	free(path);
	return st;
}

FxStatus fx_control_preset_load(FxControl *c, const char *name, char *err,
                                size_t err_size)
{
	if (!fx_preset_name_ok(name)) {
		say(err, err_size, "bad preset name '%.80s'", name);
		return FX_ERR_RANGE;
	}
	char *path = preset_path(c, name), *text = NULL;
	if (!path)
		return FX_ERR_NOMEM;
	FxStatus st = fx_safe_read_text(path, "preset", TEXT_MAX, &text, NULL,
	                                err, err_size);
	if (st != FX_OK && errno == ENOENT)
		say(err, err_size, "no preset '%s'", name);
	free(path);
	if (st != FX_OK)
		return st;
	FxChainSpec spec;
	FxSpecError e;
	st = fx_spec_parse(text, name, &spec, &e);
	free(text);
	if (st != FX_OK) {
		say(err, err_size, "%s", e.message);
		return st;
	}
	return fx_control_apply(c, &spec, err, err_size);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void fx_control_free_list(char **names, int n)
{
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int fx_control_preset_list(FxControl *c, char ***names, char *err,
                           size_t err_size)
{
	*names = NULL;
	DIR *d = opendir(c->preset_dir);
	if (!d)
		return errno == ENOENT ? 0
		                       : say(err, err_size, "%s: %s",
		                             c->preset_dir, strerror(errno));
	int n = 0, cap = 0;
	char **list = NULL;
	for (struct dirent *de; (de = readdir(d));) {
		size_t len = strlen(de->d_name), ext = sizeof PRESET_EXT - 1;
		if (len <= ext || strcmp(de->d_name + len - ext, PRESET_EXT))
			continue;
		char *name = strndup(de->d_name, len - ext);
		if (name && !fx_preset_name_ok(name)) {
			free(name);
			continue;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			char **more = name ? realloc(list, cap * sizeof *list)
			                   : NULL;
			if (!more) {
				free(name);
				closedir(d);
				fx_control_free_list(list, n);
				return say(err, err_size, "out of memory");
			}
			list = more;
		}
		list[n++] = name;
	}
	closedir(d);
	if (n)
		qsort(list, (size_t)n, sizeof *list, cmp_str);
	*names = list;
	return n;
}

/* The state file, written whole (safefile.h):
 *   fxd-state 1
 *   bpm 120
 *   config 5d1f0b0c8e7a2b11
 *   chain hpf:highpass cutoff=80 ... | vol:gain db=0
 *   end 0f3a5c7e9b1d2f40
 * "config" is the hash of the configured chain it was saved under, and
 * "end" the FNV-1a hash of every byte before that line: a file cut short
 * or damaged is told from a whole one. fxd before these two lines wrote
 * neither (and ignores them): such a file is read, but not restored. The
 * config line comes before the chain, so a file cut anywhere in the chain
 * still has it and is seen to lack its end. */

void fx_control_set_config_chain(FxControl *c, const FxChainSpec *configured)
{
	uint64_t h = chain_hash(configured);
	lock(c);
	c->config_hash = h;
	changed(c, -1);
	unlock(c);
}

/* Parses the chain on line @p no of @p path at its line and column, so that
 * errors point into the file. */
static FxStatus parse_chain_line(const char *chain, int no, int col,
                                 const char *path, FxChainSpec *spec,
                                 char *err, size_t err_size)
{
	size_t n = (size_t)(no - 1) + (size_t)(col - 1) + strlen(chain) + 1;
	char *padded = malloc(n);
	if (!padded) {
		say(err, err_size, "out of memory");
		return FX_ERR_NOMEM;
	}
	memset(padded, '\n', (size_t)(no - 1));
	memset(padded + no - 1, ' ', (size_t)(col - 1));
	strcpy(padded + no - 1 + col - 1, chain);
	FxSpecError e;
	FxStatus st = fx_spec_parse(padded, path, spec, &e);
	free(padded);
	if (st != FX_OK)
		say(err, err_size, "%s", e.message);
	return st;
}

/* Cuts the end line off @p text when there is one, after checking it.
 * Returns 1 if there was a good one, 0 if none, -1 on a bad one. */
static int take_end_line(char *text, size_t len)
{
	if (!len || text[len - 1] != '\n')
		return 0;
	char *start = text + len - 1;
	while (start > text && start[-1] != '\n')
		start--;
	if (strncmp(start, "end ", 4))
		return 0;
	char *e;
	errno = 0;
	unsigned long long sum = strtoull(start + 4, &e, 16);
	if (e != start + 4 + 16 || *e != '\n' || errno)
		return -1;
	if ((uint64_t)sum != fnv1a(text, (size_t)(start - text)))
		return -1;
	*start = '\0';
	return 1;
}

FxStatus fx_state_load(const char *path, FxState *state, char *err,
                       size_t err_size)
{
	memset(state, 0, sizeof *state);
	state->bpm = 120;
	char *text;
	size_t len;
	FxStatus st = fx_safe_read_text(path, "state file", TEXT_MAX, &text,
	                                &len, err, err_size);
	if (st != FX_OK) {
		if (errno == ENOENT && err && err_size)
			err[0] = '\0'; /* none: not an error */
		return st;
	}
	st = FX_ERR_SYNTAX;
	int ended = take_end_line(text, len), have_chain = 0;
	if (ended < 0) {
		say(err, err_size, "%s: damaged (its end line does not match "
		                   "what comes before)", path);
		goto out;
	}
	char *line = text, *next;
	for (int no = 1; line; line = next, no++) {
		if ((next = strchr(line, '\n')))
			*next++ = '\0';
		char *end;
		if (no == 1) {
			if (strcmp(line, STATE_MAGIC)) {
				say(err, err_size, "%s: not an fxd state file",
				    path);
				goto out;
			}
		} else if (!strncmp(line, "bpm ", 4)) {
			double v = strtod(line + 4, &end);
			if (end == line + 4 || *end || !isfinite(v)) {
				say(err, err_size, "%s:%d: bad bpm line", path, no);
				goto out;
			}
			state->bpm = v;
		} else if (!strncmp(line, "config ", 7)) {
			errno = 0;
			state->config_hash = strtoull(line + 7, &end, 16);
			if (end != line + 7 + 16 || *end || errno) {
				say(err, err_size, "%s:%d: bad config line", path,
				    no);
				goto out;
			}
			state->has_config = 1;
		} else if (!strncmp(line, "chain ", 6)) {
			if (parse_chain_line(line + 6, no, 7, path, &state->spec,
			                     err, err_size) != FX_OK)
				goto out;
			have_chain = 1;
		}
	}
	if (state->has_config && !ended)
		say(err, err_size, "%s: cut short (no end line)", path);
	else if (ended && !state->has_config)
		say(err, err_size, "%s: no config line", path);
	else if (!have_chain)
		say(err, err_size, "%s: no chain line", path);
	else
		st = FX_OK;
out:
	free(text);
	return st;
}

FxStatus fx_state_read(const char *path, FxChainSpec *spec, double *bpm,
                       char *err, size_t err_size)
{
	FxState *state = malloc(sizeof *state);
	if (!state) {
		say(err, err_size, "out of memory");
		return FX_ERR_NOMEM;
	}
	FxStatus st = fx_state_load(path, state, err, err_size);
	if (st == FX_OK) {
		*spec = state->spec;
		*bpm = state->bpm;
	}
	free(state);
	return st;
}

FxStateVerdict fx_state_restore_check(const char *path,
                                      const FxChainSpec *configured,
                                      FxState *state, char *why,
                                      size_t why_size)
{
	char err[512] = "";
	FxStatus st = fx_state_load(path, state, err, sizeof err);
	if (st == FX_ERR_IO && !*err) {
		say(why, why_size, "no state in %s yet: starting from the "
		                   "configured chain", path);
		return FX_STATE_MISSING;
	}
	if (st != FX_OK) {
		say(why, why_size, "cannot restore the state: %s; starting from "
		                   "the configured chain", err);
		return FX_STATE_DAMAGED;
	}
	if (!state->has_config) {
		say(why, why_size, "%s was written by an older fxd (no checksum, "
		                   "no config hash): starting from the "
		                   "configured chain", path);
		return FX_STATE_UNVERIFIED;
	}
	if (state->config_hash != chain_hash(configured)) {
		say(why, why_size, "the configured chain changed since %s was "
		                   "saved: starting from the configured chain",
		    path);
		return FX_STATE_CONFIG_CHANGED;
	}
	return FX_STATE_RESTORE;
}

/* The state file's text, malloc'd. */
static char *state_text(const FxChainSpec *spec, double bpm,
                        uint64_t config_hash)
{
	char *chain = fx_spec_format_new(spec);
	size_t cap = chain ? strlen(chain) + 128 : 0;
	char *text = chain ? malloc(cap) : NULL;
	if (text) {
		char tempo[32];
		int n = snprintf(text, cap, "%s\nbpm %s\nconfig %016" PRIx64
		                 "\nchain %s\n", STATE_MAGIC,
		                 fx_format_number(bpm, tempo, sizeof tempo),
		                 config_hash, chain);
		snprintf(text + n, cap - (size_t)n, "end %016" PRIx64 "\n",
		         fnv1a(text, (size_t)n));
	}
	free(chain);
	return text;
}

int fx_control_save_state(FxControl *c, int force, char *err,
                          size_t err_size)
{
	if (!c->state_file)
		return 0;
	lock(c);
	double now = now_s();
	int due = c->unsaved &&
	          (force || now - c->last_change >= SAVE_QUIET_S ||
	           now - c->first_unsaved >= SAVE_MAX_S);
	FxChainSpec spec;
	double bpm = c->bpm;
	uint64_t config_hash = c->config_hash;
	if (due) {
		fx_engine_get_spec(c->engine, &spec);
		c->unsaved = 0;
	}
	unlock(c);
	if (!due)
		return 0;
	char *text = state_text(&spec, bpm, config_hash);
	FxStatus st = text ? fx_safe_file_save(c->state_file, "state file",
	                                       text, strlen(text), 0666, err,
	                                       err_size)
	                   : FX_ERR_NOMEM;
	if (!text)
		say(err, err_size, "out of memory");
	free(text);
	if (st != FX_OK) {
		lock(c);
		if (!c->unsaved)
			c->first_unsaved = now;
		c->unsaved = 1; /* try again at the next tick */
		unlock(c);
		return -1;
	}
	return 0;
}
