/* SPDX-License-Identifier: ISC */
/* Black-box: controlling fxd with MIDI over real JACK.
 *
 * The harness's MIDI client writes events into fxd:midi_in; fxctl (OSC)
 * arms learn, edits the mapping table, saves presets, picks the morph's
 * ends and reads values back. Values are awaited with deadlines, never
 * timed. What depends on frames (MIDI clock, taps, a delay's echo) is
 * sent and recorded while JACK freewheels (jack_harness.h), so that the
 * machine's load cannot move a frame.
 */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/effect.h"
#include "tests/integration/jack_harness.h"

enum {
	RATE = 48000,
	PERIOD = 256,
	CAPACITY = 1 << 18, ///< recorded frames (1 channel)
	PACE = 10,          ///< freewheel at most 10x realtime
	WAIT = 10,          ///< seconds any awaited value may take
};

/* The value of @p param of @p effect at @p norm (0..1) along MIN..MAX
 * (NAN: the table's own), through the parameter's scale: what a control
 * at that position gives. */
static double param_at(const char *effect, const char *param, double min,
                       double max, double norm)
{
	const FxEffectClass *cls = fx_effect_find(effect);
	ck_assert_ptr_nonnull(cls);
	for (int i = 0; i < cls->n_params; i++) {
		if (strcmp(cls->params[i].name, param))
			continue;
		FxParamInfo q = cls->params[i];
		if (!isnan(min)) {
			q.min = min;
			q.max = max;
		}
		return fx_param_from_norm(&q, norm);
	}
	ck_abort_msg("no parameter %s of %s", param, effect);
	return NAN;
}

/* Runs fxctl with @p args; it must succeed. Returns its output
 * (malloc'd). */
static char *ctl(const FxTestMidiRig *r, const char *args)
{
	char *out = NULL;
	int rc = fx_test_fxctl(r->osc_port, &out, args);
	ck_assert_msg(rc == 0, "fxctl %s: exit %d: %s", args, rc, out ? out : "");
	return out;
}

static void ctl_ok(const FxTestMidiRig *r, const char *args)
{
	free(ctl(r, args));
}

/* The value `fxctl get PATH` (or `fxctl bpm` when @p path is NULL)
 * prints: "PATH VALUE", a switch as on/off. NAN if it failed. */
static double value_of(const FxTestMidiRig *r, const char *path)
{
	char *out = NULL, args[256];
	double v = NAN;
	snprintf(args, sizeof args, path ? "get %s" : "bpm", path);
	int rc = fx_test_fxctl(r->osc_port, &out, args);
	const char *word = out ? strrchr(out, ' ') : NULL;
	word = word ? word + 1 : out;
	if (rc == 0 && word) {
		char *end;
		v = strtod(word, &end);
		if (end == word)
			v = !strncmp(word, "on", 2)    ? 1
			    : !strncmp(word, "off", 3) ? 0
			                               : NAN;
	}
	free(out);
	return v;
}

/* Waits until @p path (NULL: the tempo) is within @p tol of @p want, both
 * taken as the float OSC carries (@p tol 0: exactly). Fails the test
 * after WAIT s, naming the last value. */
static double await_value(const FxTestMidiRig *r, const char *path, double want,
                          double tol)
{
	double got = NAN, end = fx_test_now() + WAIT;
	for (;;) {
		got = value_of(r, path);
		if (fabs((double)(float)got - (double)(float)want) <= tol)
			return got;
		if (fx_test_now() > end)
			break;
		fx_test_nap(0.02);
	}
	ck_abort_msg("%s is %.9g, want %.9g (within %g)", path ? path : "bpm",
	             got, want, tol);
	return got;
}

/* Relative tolerance for a value fxd computes in double and sends as a
 * float: a few float steps. */
static double near(double want)
{
	return 4 * FLT_EPSILON * fabs(want);
}

/* Freewheeling (paced), sends @p ev; every period of the schedule must
 * have freewheeled, one period after the other. */
static void freewheel_send(const FxTestMidiRig *r, const FxTestMidiEvent *ev,
                           int n)
{
	fx_test_recorder_pace(r->rc, PACE);
	ck_assert_int_eq(fx_test_freewheel(r->ctl, 1), 0);
	ck_assert_int_eq(fx_test_midi_send(r->snd, ev, n), 0);
	ck_assert_msg(fx_test_midi_wait_sent(r->snd, 60),
	              "the MIDI client sent nothing");
	jack_nframes_t t0 = 0;
	for (long k = 0; k <= ev[n - 1].period; k++) {
		jack_nframes_t t;
		int fw;
		ck_assert(fx_test_midi_period(r->snd, k, &t, &fw, NULL));
		if (!k)
			t0 = t;
		ck_assert_msg(fw && t - t0 == (jack_nframes_t)(k * r->period),
		              "schedule period %ld at frame %u (first %u), "
		              "freewheeling %d",
		              k, t, t0, fw);
	}
	ck_assert_int_eq(fx_test_freewheel(r->ctl, 0), 0);
	fx_test_recorder_pace(r->rc, 0);
}

/* Sends @p n events from the next cycle on and waits until they are out,
 * freewheeling: in real time on a loaded machine a late worker can lose a
 * period of MIDI to a full input ring (fxd counts it, midi.overflows), and
 * what these tests judge is what fxd does with the events, exactly. */
static void send(const FxTestMidiRig *r, const FxTestMidiEvent *ev, int n)
{
	freewheel_send(r, ev, n);
}

/* One 3-byte message (2 bytes when @p d2 < 0). */
static void send3(const FxTestMidiRig *r, int status, int d1, int d2)
{
	const uint8_t b[3] = {(uint8_t)status, (uint8_t)d1, (uint8_t)(d2 & 127)};
	const FxTestMidiEvent ev = {0, 0, d2 < 0 ? 2 : 3, b};
	send(r, &ev, 1);
}

/* A note on and its note off, one period apart. */
static void press(const FxTestMidiRig *r, int channel, int note)
{
	const uint8_t on[3] = {(uint8_t)(0x90 | (channel - 1)), (uint8_t)note,
	                       100},
		      off[3] = {(uint8_t)(0x80 | (channel - 1)), (uint8_t)note,
	                        0};
	const FxTestMidiEvent ev[2] = {{0, 0, 3, on}, {1, 0, 3, off}};
	send(r, ev, 2);
}

/* `fxctl midi list` prints exactly @p want. */
static void assert_list(const FxTestMidiRig *r, const char *want)
{
	char *out = ctl(r, "midi list");
	ck_assert_str_eq(out, want);
	free(out);
}

/* Stops fxd cleanly (it must still run) and frees the rig. */
static void rig_done(FxTestMidiRig *r)
{
	free(fx_test_midi_rig_stop(r));
	fx_test_midi_rig_free(r);
}

/* fxd on `vol:gain db=DB | lpf:lowpass cutoff=HZ` (@p scene[0], [1])
 * with the [midi] lines @p midi; saves the running values as preset
 * @p name, then sets @p then[0] dB and @p then[1] Hz over OSC. */
static FxTestMidiRig *scene_rig(const double scene[2], const char *midi,
                                const char *name, const double then[2])
{
	char chain[128], args[128];
	snprintf(chain, sizeof chain,
	         "vol:gain db=%.17g | lpf:lowpass cutoff=%.17g", scene[0],
	         scene[1]);
	FxTestMidiRig *r = fx_test_midi_rig_up(PERIOD, chain, midi, CAPACITY);
	snprintf(args, sizeof args, "preset save %s", name);
	ctl_ok(r, args);
	snprintf(args, sizeof args, "set /fx/vol/db %.17g", then[0]);
	ctl_ok(r, args);
	snprintf(args, sizeof args, "set /fx/lpf/cutoff %.17g", then[1]);
	ctl_ok(r, args);
	await_value(r, "/fx/vol/db", then[0], 0);
	await_value(r, "/fx/lpf/cutoff", then[1], 0);
	return r;
}

/* Learn over OSC: `fxctl midi learn /fx/vol/db` arms it (fxd's
 * /fxd/done), a CC 20 on channel 3 comes, fxctl reads /fxd/midi/learned
 * PATH 3 20 off its socket and prints it; from then on CC 20 on channel
 * 3 moves /fx/vol/db over its whole range, and the table lists it. */
START_TEST(learn_over_osc_maps_the_next_cc)
{
	FxTestMidiRig *r = fx_test_midi_rig_up(PERIOD, "vol:gain db=0", "",
	                                       CAPACITY);
	char port[16];
	snprintf(port, sizeof port, "%d", r->osc_port);
	const char *argv[] = {
		fx_test_fxctl_bin(), "--port", port, "midi", "learn",
		"/fx/vol/db",        NULL};
	FxTestDaemon *learn = fx_test_program_start(fx_test_server_name(r->srv),
	                                            r->dir, argv);
	ck_assert_ptr_nonnull(learn);
	ck_assert_msg(
		fx_test_daemon_wait_log(learn, 0, "move a MIDI control", WAIT),
		"fxctl midi learn was not armed; log %s",
		fx_test_daemon_log_path(learn));
	send3(r, 0xB2, 20, 100);
	ck_assert_int_eq(fx_test_daemon_wait_exit(learn, WAIT), 0);
	char *log = fx_test_daemon_log(learn);
	ck_assert_msg(strstr(log, "/fx/vol/db channel 3 number 20\n"),
	              "fxctl printed:\n%s", log);
	free(log);
	fx_test_daemon_free(learn);

	assert_list(r, "cc 3 20 = /fx/vol/db\n");
	send3(r, 0xB2, 20, 64);
	double want = param_at("gain", "db", NAN, NAN, 64 / 127.0);
	await_value(r, "/fx/vol/db", want, near(want));
	send3(r, 0xB2, 20, 0);
	await_value(r, "/fx/vol/db", -96, 0);
	rig_done(r);
}
END_TEST

/* /fxd/midi/map (both forms) and /fxd/midi/unmap over OSC, /fxd/midi/list
 * after each; real MIDI moves a mapped parameter, and after unmap no
 * longer does: a CC on a still mapped control sent after it shows that
 * fxd took it. */
START_TEST(map_unmap_and_list_over_osc)
{
	FxTestMidiRig *r = fx_test_midi_rig_up(
		PERIOD, "vol:gain db=0 | lpf:lowpass cutoff=1000", "", CAPACITY);
	assert_list(r, "");
	ctl_ok(r, "midi map /fx/vol/db 1 7 -60 0");
	ctl_ok(r, "midi map 'cc 2 9 = /fx/lpf/cutoff'");
	assert_list(r, "cc 1 7 = /fx/vol/db -60 0\ncc 2 9 = /fx/lpf/cutoff\n");
	send3(r, 0xB0, 7, 0);
	await_value(r, "/fx/vol/db", -60, 0);
	send3(r, 0xB0, 7, 127);
	await_value(r, "/fx/vol/db", 0, 0);
	send3(r, 0xB0, 7, 0);
	await_value(r, "/fx/vol/db", -60, 0);

	ctl_ok(r, "midi unmap /fx/vol/db");
	assert_list(r, "cc 2 9 = /fx/lpf/cutoff\n");
	static const uint8_t cc7[3] = {0xB0, 7, 127}, cc9[3] = {0xB1, 9, 0};
	const FxTestMidiEvent ev[2] = {{0, 0, 3, cc7}, {0, 1, 3, cc9}};
	send(r, ev, 2);
	await_value(r, "/fx/lpf/cutoff", 20, 0);
	ck_assert_double_eq(value_of(r, "/fx/vol/db"), -60);
	ctl_ok(r, "midi unmap /fx/lpf/cutoff");
	assert_list(r, "");
	rig_done(r);
}
END_TEST

/* From [midi] lines: a 14-bit CC (MSB CC 1, LSB CC 33) moves a cutoff to
 * its 14-bit position on the log scale; a note toggles a bypass at each
 * press; another holds a bypass while down; one CC drives three
 * parameters, each through its own range and scale. */
START_TEST(cc14_notes_and_one_cc_to_three)
{
	FxTestMidiRig *r = fx_test_midi_rig_up(
		PERIOD,
		"vol:gain db=0 | lpf:lowpass cutoff=1000 | hpf:highpass cutoff=80",
		"cc14 1 1 = /fx/lpf/cutoff\n"
		"note 1 60 = /fx/vol/bypass toggle\n"
		"note 1 62 = /fx/hpf/bypass momentary\n"
		"cc 1 20 = /fx/vol/db -40 0\n"
		"cc 1 20 = /fx/lpf/q\n"
		"cc 1 20 = /fx/hpf/cutoff 20 200",
		CAPACITY);
	static const uint8_t msb[3] = {0xB0, 1, 100}, lsb[3] = {0xB0, 33, 37};
	const FxTestMidiEvent fine[2] = {{0, 0, 3, msb}, {0, 1, 3, lsb}};
	send(r, fine, 2);
	double want = param_at("lowpass", "cutoff", NAN, NAN,
	                       (100 * 128 + 37) / 16383.0);
	await_value(r, "/fx/lpf/cutoff", want, near(want));
	fprintf(stderr, "# cc14 100/37: cutoff %.6g Hz\n", want);

	press(r, 1, 60);
	await_value(r, "/fx/vol/bypass", 1, 0);
	press(r, 1, 60);
	await_value(r, "/fx/vol/bypass", 0, 0);

	send3(r, 0x90, 62, 100);
	await_value(r, "/fx/hpf/bypass", 1, 0);
	send3(r, 0x80, 62, 0);
	await_value(r, "/fx/hpf/bypass", 0, 0);

	send3(r, 0xB0, 20, 64);
	static const struct {
		const char *path, *effect, *param;
		double min, max;
	} three[] = {
		{"/fx/vol/db", "gain", "db", -40, 0},
		{"/fx/lpf/q", "lowpass", "q", NAN, NAN},
		{"/fx/hpf/cutoff", "highpass", "cutoff", 20, 200},
	};
	for (size_t i = 0; i < sizeof three / sizeof three[0]; i++) {
		want = param_at(three[i].effect, three[i].param, three[i].min,
		                three[i].max, 64 / 127.0);
		await_value(r, three[i].path, want, near(want));
	}
	/* The 14-bit cutoff kept its value. */
	want = param_at("lowpass", "cutoff", NAN, NAN,
	                (100 * 128 + 37) / 16383.0);
	ck_assert_float_eq((float)value_of(r, "/fx/lpf/cutoff"), (float)want);
	rig_done(r);
}
END_TEST

/* A program change loads its preset: saved over OSC into the test's
 * preset directory, values changed, then program 5 brings them back. */
START_TEST(program_change_loads_the_preset)
{
	static const double verse[2] = {-6, 500}, other[2] = {-20, 3000};
	FxTestMidiRig *r = scene_rig(verse, "program 1 5 = preset verse",
	                             "verse", other);
	send3(r, 0xC0, 5, -1);
	await_value(r, "/fx/vol/db", -6, 0);
	await_value(r, "/fx/lpf/cutoff", 500, 0);
	rig_done(r);
}
END_TEST

/* Events at frames @p at[0..n) of the schedule (1 byte each of @p b, or
 * the 3 of a note on and its off 100 frames later when @p note). */
static FxTestMidiEvent *schedule(const long *at, int n, int period,
                                 const uint8_t *b, const uint8_t *off)
{
	FxTestMidiEvent *ev = calloc((size_t)n * 2, sizeof *ev);
	ck_assert_ptr_nonnull(ev);
	int k = 0;
	for (int i = 0; i < n; i++) {
		ev[k++] = (FxTestMidiEvent){
			at[i] / period, (int)(at[i] % period), off ? 3 : 1, b};
		if (off) {
			long t = at[i] + 100;
			ev[k++] = (FxTestMidiEvent){t / period,
			                            (int)(t % period), 3, off};
		}
	}
	return ev;
}

static const double tempos[] = {90, 120, 174};

/* MIDI clock at 90, 120 and 174 BPM reaches a synced delay's time: 8
 * beats of ticks, each at its exact frame (freewheeling), set /fxd/bpm
 * (from 100) to the tempo within 0.01 BPM; then a click played through
 * `delay division=1/4 feedback=0 mix=1` comes out once, 60/BPM * rate
 * frames (a quarter note) after it plus fxd's latency, to within a frame:
 * judged by the echo's centre (its first moment: the delay's 4-point
 * interpolation keeps it at the fractional delay), freewheeling. */
START_TEST(midi_clock_sets_a_synced_delay)
{
	const double bpm = tempos[_i];
	FxTestMidiRig *r = fx_test_midi_rig_up(
		PERIOD, "dly:delay division=1/4 feedback=0 mix=1", "", CAPACITY);
	ctl_ok(r, "bpm 100");
	await_value(r, NULL, 100, 0);

	enum { TICKS = 24 * 8 };
	static const uint8_t tick[1] = {0xF8};
	long at[TICKS];
	for (int i = 0; i < TICKS; i++)
		at[i] = lround(i * 60.0 * RATE / (bpm * 24));
	FxTestMidiEvent *ev = schedule(at, TICKS, r->period, tick, NULL);
	freewheel_send(r, ev, TICKS);
	free(ev);
	double got = await_value(r, NULL, bpm, 0.01);

	/* The click after a second of silence (the delay glides to its new
	 * time while it plays). */
	enum { LEAD = RATE };
	static float click[LEAD + 1];
	click[LEAD] = 1;
	const float *bufs[1] = {click};
	double quarter = 60.0 * RATE / bpm;
	long periods = (LEAD + (long)r->latency + (long)quarter + 4 * r->period) /
	               r->period;
	fx_test_recorder_pace(r->rc, PACE);
	fx_test_freewheel_play(r->pl, r->rc, bufs, LEAD + 1, periods);
	fx_test_recorder_pace(r->rc, 0);
	const float *y = fx_test_recorder_data(r->rc, 0);
	long n = fx_test_recorder_frames(r->rc);
	double sum = 0, moment = 0;
	long first = -1, last = -1;
	for (long j = 0; j < n; j++) {
		if (y[j] == 0)
			continue;
		if (first < 0)
			first = j;
		last = j;
		sum += y[j];
		moment += (double)j * y[j];
	}
	ck_assert_msg(first >= 0, "%g BPM: no echo in %ld frames", bpm, n);
	double delay = moment / sum - LEAD - r->latency;
	fprintf(stderr,
	        "# clock at %g BPM: /fxd/bpm %.4f, echo %.3f frames after the "
	        "click (a quarter is %.3f), frames %ld..%ld, gain %.6f\n",
	        bpm, got, delay, quarter, first, last, sum);
	ck_assert_msg(last - first < 4, "%g BPM: echo spread over %ld..%ld",
	              bpm, first, last);
	ck_assert_msg(fabs(sum - 1) < 1e-3, "%g BPM: echo gain %g", bpm, sum);
	ck_assert_msg(fabs(delay - quarter) <= 1,
	              "%g BPM: echo %.3f frames after the click, want %.3f",
	              bpm, delay, quarter);
	rig_done(r);
}
END_TEST

/* Tap tempo: a note mapped to /fxd/tap pressed 5 times, 0.6 s (28,800
 * frames, 100 BPM) apart to the frame (freewheeling), sets /fxd/bpm to
 * 100 within 0.01 BPM. */
START_TEST(tapped_notes_set_the_tempo)
{
	FxTestMidiRig *r = fx_test_midi_rig_up(PERIOD, "vol:gain db=0",
	                                       "note 1 40 = /fxd/tap", CAPACITY);
	await_value(r, NULL, 120, 0);
	enum { TAPS = 5 };
	static const uint8_t on[3] = {0x90, 40, 100}, off[3] = {0x80, 40, 0};
	long at[TAPS];
	for (int i = 0; i < TAPS; i++)
		at[i] = (long)i * 60 * RATE / 100;
	FxTestMidiEvent *ev = schedule(at, TAPS, r->period, on, off);
	freewheel_send(r, ev, 2 * TAPS);
	free(ev);
	double got = await_value(r, NULL, 100, 0.01);
	fprintf(stderr, "# 5 taps at 100 BPM: /fxd/bpm %.4f\n", got);
	rig_done(r);
}
END_TEST

/* Morph: presets A (-20 dB, 500 Hz) and B (-2 dB, 8000 Hz) saved over
 * OSC and made the morph's ends; a CC mapped to /fxd/morph gives A's
 * values exactly at 0, B's at 127, and at 64 the position 64/127 on each
 * parameter's scale: linear in dB, log in Hz. */
START_TEST(morph_cc_reaches_both_presets_and_the_midpoint)
{
	static const double a[2] = {-20, 500}, b[2] = {-2, 8000};
	FxTestMidiRig *r = scene_rig(a, "cc 1 11 = /fxd/morph", "scene_a", b);
	ctl_ok(r, "preset save scene_b");
	ctl_ok(r, "morph a scene_a");
	ctl_ok(r, "morph b scene_b");

	send3(r, 0xB0, 11, 0);
	await_value(r, "/fx/vol/db", -20, 0);
	await_value(r, "/fx/lpf/cutoff", 500, 0);
	send3(r, 0xB0, 11, 127);
	await_value(r, "/fx/vol/db", -2, 0);
	await_value(r, "/fx/lpf/cutoff", 8000, 0);
	send3(r, 0xB0, 11, 64);
	const double x = 64 / 127.0;
	double db = -20 + 18 * x, hz = 500 * pow(8000 / 500.0, x);
	await_value(r, "/fx/vol/db", db, near(db));
	await_value(r, "/fx/lpf/cutoff", hz, near(hz));
	fprintf(stderr, "# morph at 64/127: %.6g dB, %.6g Hz\n", db, hz);
	rig_done(r);
}
END_TEST

int main(void)
{
	/* One line per case and per test. */
	/* clang-format off */
	const FxTestCase cases[] = {
		{"learn and map", 120, .tests = {
			{learn_over_osc_maps_the_next_cc, 0},
			{map_unmap_and_list_over_osc, 0},
			{cc14_notes_and_one_cc_to_three, 0},
		}},
		{"presets and morph", 120, .tests = {
			{program_change_loads_the_preset, 0},
			{morph_cc_reaches_both_presets_and_the_midpoint, 0},
		}},
		{"tempo", 120, .tests = {
			{midi_clock_sets_a_synced_delay,
			 sizeof tempos / sizeof tempos[0]},
			{tapped_notes_set_the_tempo, 0},
		}},
		{.name = NULL},
	};
	/* clang-format on */
	return fx_test_jack_main(fx_test_suite("jack midi control", cases));
}
