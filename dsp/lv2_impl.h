/* SPDX-License-Identifier: ISC */
/* fxd — the LV2 host's private layout, shared by its setup files
 * (lv2_host.c, lv2_effect.c) and its realtime file (lv2_process.c). */
#ifndef FX_LV2_IMPL_H
#define FX_LV2_IMPL_H

#include <lilv/lilv.h>
#include <stdatomic.h>
#include <stdint.h>

#include "dsp/lv2.h"
#include <lv2/atom/atom.h>
#include <lv2/log/log.h>
#include <lv2/options/options.h>
#include <lv2/urid/urid.h>
#include <lv2/worker/worker.h>

#include "dsp/msgring.h"

enum {
	LV2_ATOM_CAPACITY = 8192, ///< bytes of each atom port's buffer
	LV2_MAX_PORTS = 256,      ///< ports a hosted plugin may have
	LV2_MAX_CHANNELS = 64,    ///< as the chain's; also the most instances
	/** Frames one run call takes at most: longer blocks (fxfile's) are
	 *  run in parts, since plugins such as x42's meters crash on runs
	 *  beyond 8192 frames whatever maxBlockLength says. */
	LV2_MAX_RUN = 4096,
	LV2_WORK_MAX = 4096,       ///< bytes of one work request or response
	LV2_WORK_RING = 64 * 1024, ///< bytes of requests, or of responses, queued
};

/** What fxd connects a port to. */
typedef enum {
	LV2_PORT_CONTROL_IN,
	LV2_PORT_CONTROL_OUT,
	LV2_PORT_AUDIO_IN,
	LV2_PORT_AUDIO_OUT,
	LV2_PORT_ATOM_IN,
	LV2_PORT_ATOM_OUT,
} Lv2PortKind;

/** A control input seen as an fxd parameter. */
typedef struct {
	uint32_t port;       ///< LV2 port index
	const float *points; ///< enum/toggle: port value per index; else NULL
	int sample_rate;     ///< bounds are multiples of the sample rate
	float lower, upper; ///< the plugin's own bounds (per Hz if sample_rate)
} Lv2Control;

/** One plugin, built once per URI and never changed afterwards. */
typedef struct Lv2Plugin {
	FxEffectClass cls; ///< first: a class pointer is a plugin pointer
	const LilvPlugin *plugin;
	char *uri, *name;
	FxParamInfo params[FX_MAX_PARAMS];
	Lv2Control controls[FX_MAX_PARAMS];
	FxParamInfo outputs[FX_MAX_OUTPUTS];
	uint32_t output_port[FX_MAX_OUTPUTS]; ///< LV2 port of each output
	uint32_t n_ports;
	uint8_t kind[LV2_MAX_PORTS]; ///< Lv2PortKind per port
	int param_of[LV2_MAX_PORTS]; ///< control input's parameter, or -1
	int n_audio_in, n_audio_out, n_atom;
	int latency_port; ///< control output reporting latency, or -1
	void *library;    ///< the plugin's binary, kept loaded (lv2_host.c)
	struct Lv2Plugin *next;
} Lv2Plugin;

/** One instance's side of the worker extension (dsp/lv2_worker.c). */
typedef struct Lv2Work {
	LilvInstance *inst;
	const LV2_Worker_Interface *iface; ///< NULL: the plugin has none
	FxMsgRing *requests;               ///< run -> the worker thread
	FxMsgRing *responses; ///< the worker thread -> before the next run
	LV2_Worker_Schedule schedule;
	LV2_Feature feature;  ///< work:schedule, handle = this
	struct Lv2Work *next; ///< in the worker thread's list
	int listed;
} Lv2Work;

/** The URIDs an instance needs at run time, mapped at setup. */
typedef struct {
	LV2_URID atom_sequence, atom_chunk, atom_int, atom_float;
	LV2_URID param_sample_rate, bufsz_min, bufsz_max, bufsz_nominal;
	LV2_URID log_error, log_warning, log_note, log_trace;
} Lv2Urids;

/** An effect instance: one plugin instance, or one per channel. */
typedef struct {
	const Lv2Plugin *p;
	LilvInstance *inst[LV2_MAX_CHANNELS];
	int n_inst;    ///< instances
	int width;     ///< channels each instance takes
	int max_block; ///< frames per run call: the chain's, at most LV2_MAX_RUN
	double rate;
	int latency; ///< frames, read at init
	int active;  ///< instances activated, deactivate is due
	float *mem;  ///< every buffer below, one allocation
	float *in[LV2_MAX_CHANNELS], *out[LV2_MAX_CHANNELS]; ///< per channel
	float *ctl_out;           ///< n_inst * n_ports control outputs
	LV2_Atom_Sequence *atoms; ///< n_inst * n_atom buffers of the capacity
	float ctl_in[FX_MAX_PARAMS]; ///< what every instance reads
	/** The values update wrote, copied into ctl_in before each run: a
	 *  muted plugin's ports are left to its restart. */
	float ctl_next[FX_MAX_PARAMS];
	/* Features, kept alive as long as the instances. */
	Lv2Urids urid;
	float opt_rate;
	int32_t opt_min, opt_max;
	LV2_Options_Option options[5];
	LV2_Log_Log log;
	LV2_Feature f_map, f_unmap, f_options, f_bounded, f_log;
	/* Per instance: the shared features, then its work:schedule. */
	const LV2_Feature *features[LV2_MAX_CHANNELS][7];
	Lv2Work work[LV2_MAX_CHANNELS];
	uint8_t response[LV2_WORK_MAX]; ///< one response, handed to the plugin
	volatile int running; ///< set while run is on the stack: log drops
	unsigned long log_dropped;
	/* A plugin whose output was not finite is not run again: LV2 has no
	 * realtime reset, so the slot stays silent until a control thread
	 * restarts it (fx_lv2_restart_muted). Only the audio side sets it
	 * (release) and then touches no instance; only a restart clears it
	 * (release), once done with them. */
	_Atomic int muted;
	_Atomic uint64_t faults; ///< chunks muted so; any thread may read
} Lv2State;

/** The realtime half of the class (lv2_process.c). */
void fx_lv2_update(void *state, const double *values);
void fx_lv2_process(void *state, float *const *buf, int frames);
void fx_lv2_reset(void *state);
int fx_lv2_latency(const void *state);
uint64_t fx_lv2_faults(const void *state);
void fx_lv2_read_outputs(const void *state, float *values);
/** Deactivates and activates every instance: LV2's only reset (setup). */
void fx_lv2_restart(Lv2State *s);
/** The class's restart hook: restarts a muted plugin while the audio
 *  thread runs the chain around it. */
int fx_lv2_restart_muted(void *state);
/** Runs every instance over @p frames of silence (setup). */
void fx_lv2_run_silence(Lv2State *s, int frames);
/** Connects every port of every instance to its buffer (setup). */
void fx_lv2_connect(Lv2State *s);

/** The setup half of the class (lv2_effect.c). */
FxStatus fx_lv2_init(void *state, const FxEffectSetup *setup);
FxStatus fx_lv2_plan(const FxEffectSetup *setup, FxEffectPlan *plan);
void fx_lv2_cleanup(void *state);

/** The worker extension (lv2_worker.c). fx_lv2_work_attach finds the
 *  instance's worker interface and, when it has one, makes its rings and
 *  lists it for the worker thread (started on first use); detach unlists
 *  it and frees the rings (it returns once no work() of it runs). Setup
 *  only. */
FxStatus fx_lv2_work_attach(Lv2Work *w, LilvInstance *inst);
void fx_lv2_work_detach(Lv2Work *w);
/** The schedule feature for @p w (valid before attach). */
const LV2_Feature *fx_lv2_work_feature(Lv2Work *w);
/** Realtime (the plugin's run): queues a request for work(). */
LV2_Worker_Status fx_lv2_schedule_work(LV2_Worker_Schedule_Handle h,
                                       uint32_t size, const void *data);
/** Realtime: wakes the worker thread. */
void fx_lv2_work_wake(void);
/** Realtime: hands the plugin the responses that came back. */
void fx_lv2_work_deliver(Lv2Work *w, uint8_t *buf, size_t size);
/** Realtime: end_run, after every run. */
void fx_lv2_work_end_run(Lv2Work *w);
/** Stops the worker thread (fx_lv2_release). */
void fx_lv2_work_stop(void);

/** The state extension (lv2_state.c). The class's save hook; restoring
 *  @p saved (a state= word) into every instance, with the world locked,
 *  before they are activated; and freeing the interned texts (release). */
const char *fx_lv2_save(void *state);
FxStatus fx_lv2_restore_locked(Lv2State *s, const char *saved);
void fx_lv2_state_release_locked(void);

/** The host's shared URID map and world lock (lv2_host.c), and the world,
 *  loaded on first use, for callers holding the lock. */
LilvWorld *fx_lv2_world_locked(void);
LV2_URID_Map *fx_lv2_urid_map(void);
LV2_URID_Unmap *fx_lv2_urid_unmap(void);
void fx_lv2_lock(void);
void fx_lv2_unlock(void);
/** Keeps @p p's binary loaded until fx_lv2_release, once an instance has
 *  loaded it. Locked. */
void fx_lv2_pin_library(const Lv2Plugin *p);

#endif
