/* SPDX-License-Identifier: ISC */
/* Black-box: fxd's MIDI over real JACK.
 *
 * A MIDI client of the harness writes events into fxd:midi_in at chosen
 * frames of chosen periods, a player feeds fxd a signal whose every sample
 * is non-zero, and a recorder records fxd's output. A mapped CC must start
 * changing the output exactly fxd's reported latency after the event's
 * frame, to the frame; bad MIDI must leave fxd running and the audio bit
 * for bit the input. All audio is judged while JACK freewheels
 * (jack_harness.h): each cycle runs the MIDI client and the player, then
 * fxd, then the recorder, and frame times step by exactly one period, so
 * the machine's load cannot change the answer.
 */
#include <check.h>
#include <jack/metadata.h>
#include <jack/midiport.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dsp/effect.h"
#include "tests/integration/jack_harness.h"

enum {
	RATE = 48000,
	LOOP = 4096,        ///< the signal's length: a multiple of every period
	CAPACITY = 1 << 22, ///< recorded frames (1 channel)
	PACE = 10,          ///< freewheel at most 10x realtime
	FLOOD = 10000,      ///< events written in one period
	SYSEX_LONG = 10000, ///< bytes of the longest SysEx
};

/* Every sample non-zero (0.25..0.75): a gain change shows at once. */
static float *offset_sine(void)
{
	float *x = malloc(LOOP * sizeof *x);
	ck_assert_ptr_nonnull(x);
	for (int i = 0; i < LOOP; i++)
		x[i] = (float)(0.5 + 0.25 * sin(2 * M_PI * i / LOOP));
	return x;
}

/* fxd on `vol:gain db=0` (no safety stage) with the [midi] lines of
 * @p midi (jack_harness.h: FxTestMidiRig), the player looping a signal
 * whose every sample is non-zero. */
static FxTestMidiRig *rig_up(int period, const char *midi)
{
	FxTestMidiRig *r = fx_test_midi_rig_up(period, "vol:gain db=0", midi,
	                                       CAPACITY);
	float *sig = offset_sine();
	ck_assert_int_eq(fx_test_player_play_now(
				 r->pl, (const float *const *)&sig, LOOP, 1),
	                 0);
	free(sig);
	return r;
}

/* Freewheeling (paced), sends @p ev and records from before its first
 * period until the recording is past frame time @p last_at(sent) + the
 * latency + a period, where sent is the frame time of the schedule's
 * period @p last_period. Returns the frame time of the schedule's period
 * @p mark_period via *@p mark. */
static void freewheel_send(FxTestMidiRig *r, const FxTestMidiEvent *ev, int n,
                           long mark_period, jack_nframes_t *mark)
{
	fx_test_recorder_pace(r->rc, PACE);
	ck_assert_int_eq(fx_test_freewheel(r->ctl, 1), 0);
	/* fxd's output is the player's by then (more than its latency). */
	fx_test_wait_freewheeled(r->pl, 4 + (long)r->latency / r->period);
	fx_test_recorder_start(r->rc);
	fx_test_midi_listen(r->lis);
	ck_assert_int_eq(fx_test_midi_send(r->snd, ev, n), 0);
	ck_assert_msg(fx_test_midi_wait_sent(r->snd, 30),
	              "the MIDI client sent nothing");
	jack_nframes_t last;
	int fw;
	ck_assert(fx_test_midi_period(r->snd, ev[n - 1].period, &last, &fw, NULL));
	ck_assert_msg(fw, "the MIDI client's last period did not freewheel");
	ck_assert(fx_test_midi_period(r->snd, mark_period, mark, &fw, NULL));
	ck_assert_msg(fw, "the MIDI client's period %ld did not freewheel",
	              mark_period);
	/* Recorded past what the last period's events can reach. */
	jack_nframes_t until = last + r->latency + 2 * (unsigned)r->period;
	double end = fx_test_now() + 30;
	for (;;) {
		long k = fx_test_recorder_periods(r->rc);
		if (k > 0 && (int32_t)(fx_test_recorder_period_time(r->rc, k - 1) -
		                       until) >= 0)
			break;
		ck_assert_msg(fx_test_now() < end && k < CAPACITY / r->period,
		              "recorded %ld periods, not up to frame %u", k,
		              until);
		fx_test_nap(0.002);
	}
	fx_test_recorder_stop(r->rc);
	ck_assert(fx_test_recorder_wait_done(r->rc, 10));
	ck_assert_int_eq(fx_test_freewheel(r->ctl, 0), 0);
	fx_test_recorder_pace(r->rc, 0);
}

/* The frame time of the first recorded sample that is not the input
 * `latency` frames earlier (every recorded period must pair with the
 * player's, freewheeled); *@p got and *@p want are the two samples. 0 if
 * every sample is the input. */
static jack_nframes_t first_change(const FxTestMidiRig *r, float *got,
                                   float *want, int *found)
{
	int cycles = (int)(r->latency / (unsigned)r->period);
	long n = fx_test_recorder_periods(r->rc);
	const float *y = fx_test_recorder_data(r->rc, 0);
	*found = 0;
	for (long k = 0; k < n; k++) {
		long src = fx_test_player_period_of(r->rc, r->pl, k, cycles);
		ck_assert_msg(src != FX_TEST_NO_PERIOD,
		              "recorded period %ld of %ld is not paired with a "
		              "freewheeled input",
		              k, n);
		long off = fx_test_recorder_period_offset(r->rc, k);
		for (int i = 0; i < fx_test_recorder_period_frames(r->rc, k);
		     i++) {
			float x;
			ck_assert(fx_test_player_sample(r->pl, src, 0, i, &x));
			ck_assert_msg(isfinite(y[off + i]),
			              "non-finite output in period %ld", k);
			if (y[off + i] != x) {
				*got = y[off + i];
				*want = x;
				*found = 1;
				return fx_test_recorder_period_time(r->rc, k) +
				       (jack_nframes_t)i;
			}
		}
	}
	return 0;
}

static const int periods[] = {64, 256, 1024};

/* A CC (value 0: -60 dB) at frame f of the sender's period 3 reaches the
 * output exactly the latency later: the first recorded sample that is not
 * the input delayed by the latency is at the event's frame time plus the
 * latency fxd's ports report. At -p 64, 256 and 1024, f = 0, 1, p - 1. */
START_TEST(a_cc_changes_the_output_exactly_the_latency_later)
{
	double t0 = fx_test_now();
	const int p = periods[_i / 3];
	const int offsets[3] = {0, 1, p - 1};
	const int f = offsets[_i % 3];
	enum { K = 3 };
	FxTestMidiRig *r = rig_up(p, "cc 1 7 = /fx/vol/db -60 0");
	static const uint8_t cc[3] = {0xB0, 7, 0};
	const FxTestMidiEvent ev = {K, f, 3, cc};
	jack_nframes_t t_k;
	freewheel_send(r, &ev, 1, K, &t_k);

	jack_nframes_t event = t_k + (jack_nframes_t)f;
	ck_assert_msg((int32_t)(fx_test_recorder_period_time(r->rc, 0) -
	                        (event + r->latency)) < 0,
	              "the recording began after the change was due");
	float got, want;
	int found;
	jack_nframes_t at = first_change(r, &got, &want, &found);
	ck_assert_msg(found, "-p %d f %d: the output never changed", p, f);
	int32_t measured = (int32_t)(at - event);
	fprintf(stderr,
	        "# -p %d, CC at frame %d of a period: output changed %d "
	        "frames later (%.6f for %.6f); fxd reports %u\n",
	        p, f, (int)measured, (double)got, (double)want, r->latency);
	ck_assert_msg(measured == (int32_t)r->latency,
	              "-p %d f %d: changed %d frames after the CC, fxd "
	              "reports %u",
	              p, f, (int)measured, r->latency);
	/* Down towards -60 dB, never up. */
	ck_assert(got < want && got > 0);
	/* The latency on the audio ports is one period here (no safety
	 * stage, no effect latency). */
	ck_assert_uint_eq(r->latency, (unsigned)p);
	/* fxd measured the same: its MIDI-to-ear figure at exit. */
	char *log = fx_test_midi_rig_stop(r);
	ck_assert_int_eq(fx_test_stats_value(log, "midi event"), 1);
	ck_assert_int_eq(fx_test_stats_value(log, "midi-to-ear max"), r->latency);
	free(log);
	fx_test_midi_rig_free(r);
	fprintf(stderr, "# -p %d f %d took %.1f s\n", p, f, fx_test_now() - t0);
}
END_TEST

/* The pretty name of @p port: 1 if it is @p want, 0 if it is missing or
 * another's. JACK keeps one metadata store per user for every server,
 * and port ids restart per server (shared/ENV-NOTES.md): a test server
 * beside ours can overwrite or remove the entry of the same id. Only an
 * entry of our client's (named after it) that is wrong fails the test. */
static int pretty_is(jack_port_t *port, const char *client, const char *want)
{
	char *value = NULL, *type = NULL;
	int got = jack_get_property(jack_port_uuid(port),
	                            JACK_METADATA_PRETTY_NAME, &value,
	                            &type) == 0;
	size_t len = strlen(client);
	int ours = got && !strncmp(value, client, len) && value[len] == ' ';
	if (ours)
		ck_assert_str_eq(value, want);
	if (!ours)
		fprintf(stderr,
		        "# pretty name of %s: %s (another server's entry for "
		        "the same port id)\n",
		        want, got ? value : "(none)");
	jack_free(value);
	jack_free(type);
	return ours;
}

/* One fxd on @p sn: its MIDI ports as they should be. Returns 1, or 0
 * when another server's metadata hid a pretty name (try again). */
static int ports_checked(const char *sn, const char *dir, int no_midi)
{
	char name[64], ctl_name[64];
	snprintf(name, sizeof name, "fxd-mp-%d", (int)getpid());
	snprintf(ctl_name, sizeof ctl_name, "fxdtest-ctl-%d", (int)getpid());
	const char *extra[] = {no_midi ? "--no-midi" : NULL, NULL};
	FxTestDaemon *fxd = fx_test_fxd_start(sn, dir, name, extra);
	jack_client_t *ctl = fx_test_client_open(sn, ctl_name);
	ck_assert_ptr_nonnull(ctl);

	static const struct {
		const char *port, *pretty;
		unsigned long flag;
	} want[] = {
		{"midi_in", "MIDI in", JackPortIsInput},
		{"midi_out", "MIDI out", JackPortIsOutput},
	};
	char full[128];
	snprintf(full, sizeof full, "%s:in_1", name);
	ck_assert(fx_test_wait_port(ctl, full, 5));
	snprintf(full, sizeof full, "%s:out_1", name);
	ck_assert(fx_test_wait_port(ctl, full, 5));
	int pretty_ok = 1;
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		snprintf(full, sizeof full, "%s:%s", name, want[i].port);
		jack_port_t *port = jack_port_by_name(ctl, full);
		if (no_midi) {
			ck_assert_msg(port == NULL, "%s exists with --no-midi",
			              full);
			continue;
		}
		ck_assert_msg(port != NULL, "no port %s", full);
		ck_assert_str_eq(jack_port_type(port), JACK_DEFAULT_MIDI_TYPE);
		ck_assert(jack_port_flags(port) & want[i].flag);
		char pretty[128];
		snprintf(pretty, sizeof pretty, "%s %s", name, want[i].pretty);
		pretty_ok &= pretty_is(port, name, pretty);
	}
	/* No MIDI port of fxd's at all with --no-midi. */
	char pattern[96];
	snprintf(pattern, sizeof pattern, "^%s:", name);
	const char **midi = jack_get_ports(ctl, pattern, JACK_DEFAULT_MIDI_TYPE,
	                                   0);
	int n = 0;
	while (midi && midi[n])
		n++;
	jack_free(midi);
	ck_assert_int_eq(n, no_midi ? 0 : 2);

	fx_test_client_close(ctl, 5);
	ck_assert_int_eq(fx_test_daemon_signal(fxd, SIGTERM), 0);
	ck_assert_int_eq(fx_test_daemon_wait_exit(fxd, 10), 0);
	fx_test_daemon_free(fxd);
	return pretty_ok;
}

/* fxd:midi_in and fxd:midi_out are JACK MIDI ports with pretty names
 * "NAME MIDI in" / "NAME MIDI out"; with --no-midi they are not there
 * (and the audio ports still are). */
START_TEST(midi_ports_exist_unless_no_midi)
{
	char *dir = fx_test_dir_new("midiports");
	FxTestServer *srv = fx_test_server_up(dir, 256);
	int tries = 0;
	while (!ports_checked(fx_test_server_name(srv), dir, _i))
		ck_assert_msg(++tries < 5, "other servers hid the pretty names "
		                           "5 times");
	fx_test_server_free(srv);
	fx_test_dir_remove(dir);
}
END_TEST

/* Appends one event to @p ev (the bytes must outlive the send). */
static int add(FxTestMidiEvent *ev, int n, long period, int frame, int size,
               const uint8_t *data)
{
	ev[n] = (FxTestMidiEvent){period, frame, size, data};
	return n + 1;
}

/* Over real JACK: SysEx of 1, 3, 100 and 10,000 bytes, running status,
 * truncated messages, events on unmapped channels and numbers, and a
 * period of 10,000 events (JACK's MIDI buffer takes what fits, the rest
 * the sender counts as refused), all on -p 256: fxd keeps running, the
 * audio stays the input bit for bit, nothing comes out of fxd:midi_out,
 * and a good CC afterwards still lands exactly the latency after its
 * frame. */
START_TEST(bad_midi_leaves_the_audio_exact)
{
	double t0 = fx_test_now();
	const int p = 256;
	FxTestMidiRig *r = rig_up(p, "cc 1 7 = /fx/vol/db -60 0");

	static uint8_t sysex100[100], sysex_long[SYSEX_LONG];
	sysex100[0] = sysex_long[0] = 0xF0;
	for (int i = 1; i < SYSEX_LONG - 1; i++)
		sysex_long[i] = (uint8_t)(i & 0x7F);
	for (int i = 1; i < 99; i++)
		sysex100[i] = (uint8_t)(i & 0x7F);
	sysex100[99] = sysex_long[SYSEX_LONG - 1] = 0xF7;
	static const uint8_t cc_short[] = {0xB0, 7}, pc_short[] = {0xC0},
			     bend_short[] = {0xE0, 0}, ch2[] = {0xB1, 7, 0},
			     running[] = {7, 0}, cc8[] = {0xB0, 8, 0},
			     note_on[] = {0x90, 60, 127},
			     note_off[] = {0x80, 60, 0}, sx1[] = {0xF0},
			     sx3[] = {0xF0, 0x7E, 0xF7}, stray_end[] = {0xF7},
			     lone_data[] = {0x55}, good[] = {0xB0, 7, 0};
	static uint8_t unmapped[15][3], flood[FLOOD][3];
	enum { GOOD_PERIOD = 9, GOOD_FRAME = 77 };
	FxTestMidiEvent *ev = calloc(FLOOD + 64, sizeof *ev);
	ck_assert_ptr_nonnull(ev);
	int n = 0;
	/* Period 2: truncated messages, then channel 2 and its running
	 * status (so no data byte can complete a channel-1 message). */
	n = add(ev, n, 2, 0, 2, cc_short);
	n = add(ev, n, 2, 1, 1, pc_short);
	n = add(ev, n, 2, 2, 2, bend_short);
	n = add(ev, n, 2, 3, 3, ch2);
	n = add(ev, n, 2, 4, 2, running);
	n = add(ev, n, 2, 5, 2, running);
	n = add(ev, n, 2, 6, 3, cc8);
	n = add(ev, n, 2, 7, 3, note_on);
	n = add(ev, n, 2, 8, 3, note_off);
	for (int c = 0; c < 15; c++) {
		unmapped[c][0] = (uint8_t)(0xB1 + c);
		unmapped[c][1] = 7;
		unmapped[c][2] = (uint8_t)(c * 8);
		n = add(ev, n, 2, 10 + c, 3, unmapped[c]);
	}
	/* Period 3: SysEx of every size, stray bytes around them. */
	n = add(ev, n, 3, 0, 1, sx1);
	n = add(ev, n, 3, 1, 3, sx3);
	n = add(ev, n, 3, 2, 1, stray_end);
	n = add(ev, n, 3, 3, 100, sysex100);
	n = add(ev, n, 3, 4, 1, lone_data);
	n = add(ev, n, 3, 5, SYSEX_LONG, sysex_long);
	n = add(ev, n, 3, 6, 3, ch2);
	n = add(ev, n, 3, 7, 2, running);
	/* Period 5: a flood on channel 2. */
	for (int i = 0; i < FLOOD; i++) {
		flood[i][0] = 0xB1;
		flood[i][1] = 7;
		flood[i][2] = (uint8_t)(i % 128);
		n = add(ev, n, 5, i * p / FLOOD, 3, flood[i]);
	}
	/* Period 9: a good CC, with its status byte. */
	n = add(ev, n, GOOD_PERIOD, GOOD_FRAME, 3, good);
	jack_nframes_t t_good;
	freewheel_send(r, ev, n, GOOD_PERIOD, &t_good);
	free(ev);

	long written = fx_test_midi_written(r->snd);
	long refused = fx_test_midi_refused(r->snd);
	fprintf(stderr,
	        "# %d events scheduled: JACK took %ld, refused %ld (its MIDI "
	        "port buffer is full)\n",
	        n, written, refused);
	ck_assert_int_eq(written + refused, n);
	/* All but the flood went through; the flood filled the buffer. */
	static const struct {
		long period;
		int min, max;
	} took[] = {{2, 24, 24}, {3, 8, 8}, {5, 2000, FLOOD - 1}, {9, 1, 1}};
	for (size_t i = 0; i < sizeof took / sizeof took[0]; i++) {
		jack_nframes_t t;
		int fw, k;
		ck_assert(fx_test_midi_period(r->snd, took[i].period, &t, &fw,
		                              &k));
		ck_assert_msg(k >= took[i].min && k <= took[i].max,
		              "JACK took %d events of period %ld", k,
		              took[i].period);
	}

	jack_nframes_t event = t_good + GOOD_FRAME;
	float got, want;
	int found;
	jack_nframes_t at = first_change(r, &got, &want, &found);
	ck_assert_msg(found, "the good CC changed nothing");
	ck_assert_msg((int32_t)(at - event) == (int32_t)r->latency,
	              "the audio changed %d frames after the good CC (latency "
	              "%u): bad input reached it",
	              (int)(int32_t)(at - event), r->latency);
	ck_assert(fx_test_recorder_finite(r->rc));
	/* Nothing mapped changed from any other source: no feedback. */
	ck_assert_int_eq(fx_test_midi_received(r->lis), 0);

	/* What fxd counted, from its summary at exit. */
	char *log = fx_test_midi_rig_stop(r);
	FxTestStats st;
	ck_assert_msg(fx_test_parse_stats(log, &st), "no stats in:\n%s", log);
	ck_assert_int_eq(st.nonfinite, 0);
	long long events = fx_test_stats_value(log, "midi event");
	long long overflows = fx_test_stats_value(log, "midi overflow");
	fprintf(stderr, "# fxd counted %lld MIDI events, %lld periods refused\n",
	        events, overflows);
	ck_assert_msg(events >= 0 && overflows >= 0,
	              "no MIDI counters in fxd's stats line:\n%s", log);
	/* Every event JACK carried was taken, or its period counted. */
	ck_assert(events == written || overflows > 0);
	ck_assert(events <= written);
	ck_assert_int_eq(fx_test_stats_value(log, "midi-to-ear max"), r->latency);
	free(log);
	fx_test_midi_rig_free(r);
	fprintf(stderr, "# bad MIDI took %.1f s\n", fx_test_now() - t0);
}
END_TEST

/* The CC value feedback sends for @p db on `cc 1 7 = /fx/vol/db -60 0`:
 * the mapping's inverse, through the parameter's own scale. */
static int cc_for_db(double db)
{
	const FxEffectClass *gain = fx_effect_find("gain");
	ck_assert_ptr_nonnull(gain);
	FxParamInfo q = gain->params[0];
	q.min = -60;
	q.max = 0;
	return (int)lround(127 * fx_param_to_norm(&q, db));
}

/* Received event @p i is the CC 7 on channel 1 with @p value. */
static void assert_cc(const FxTestMidiRig *r, long i, int value)
{
	jack_nframes_t t;
	int size;
	uint8_t b[3];
	ck_assert_int_eq(fx_test_midi_event(r->lis, i, &t, &size, b, 3), 3);
	ck_assert_msg(size == 3 && b[0] == 0xB0 && b[1] == 7 && b[2] == value,
	              "event %ld: %d bytes %02x %02x %02x, want b0 07 %02x", i,
	              size, b[0], b[1], b[2], value);
}

/* Feedback: an OSC set of a mapped parameter comes out of fxd:midi_out
 * as the mapped CC with the value the mapping's inverse gives; a value
 * that came in over MIDI is not echoed to its control. In realtime: only
 * what fxd sends is judged, never when. */
START_TEST(osc_sets_are_fed_back_and_midi_is_not_echoed)
{
	FxTestMidiRig *r = rig_up(256, "cc 1 7 = /fx/vol/db -60 0");
	fx_test_midi_listen(r->lis);
	char *out = NULL;
	ck_assert_int_eq(fx_test_fxctl(r->osc_port, &out, "set /fx/vol/db -30"),
	                 0);
	free(out);
	ck_assert_msg(fx_test_midi_wait_received(r->lis, 1, 10),
	              "no feedback after an OSC set");
	assert_cc(r, 0, cc_for_db(-30));

	/* CC 100 over MIDI: wait until fxd shows its value, then an OSC
	 * set; only that set comes back. */
	static const uint8_t cc100[3] = {0xB0, 7, 100};
	const FxTestMidiEvent ev = {0, 0, 3, cc100};
	ck_assert_int_eq(fx_test_midi_send(r->snd, &ev, 1), 0);
	ck_assert(fx_test_midi_wait_sent(r->snd, 10));
	double want = -60 + 60 * 100 / 127.0, got = NAN;
	double end = fx_test_now() + 10;
	while (fx_test_now() < end) {
		out = NULL;
		/* It prints "PATH VALUE". */
		if (fx_test_fxctl(r->osc_port, &out, "get /fx/vol/db") == 0 &&
		    out && strchr(out, ' '))
			got = strtod(strchr(out, ' ') + 1, NULL);
		free(out);
		if (fabs(got - want) < 0.05)
			break;
		fx_test_nap(0.02);
	}
	ck_assert_msg(fabs(got - want) < 0.05, "CC 100 made %g dB, want %g",
	              got, want);
	ck_assert_int_eq(fx_test_fxctl(r->osc_port, &out, "set /fx/vol/db -20"),
	                 0);
	free(out);
	ck_assert_msg(fx_test_midi_wait_received(r->lis, 2, 10),
	              "no feedback after an OSC set");
	assert_cc(r, 1, cc_for_db(-20));
	ck_assert_int_eq(fx_test_midi_received(r->lis), 2);
	fprintf(stderr,
	        "# feedback: -30 dB as CC %d, -20 dB as CC %d, CC 100 "
	        "not echoed\n",
	        cc_for_db(-30), cc_for_db(-20));
	free(fx_test_midi_rig_stop(r));
	fx_test_midi_rig_free(r);
}
END_TEST

/* MIDI clock at 120 BPM (a tick every 1000 frames at 48 kHz) reaches
 * /fxd/bpm (settled within 0.1 BPM in 2 beats, doc/midi.md). */
START_TEST(midi_clock_sets_the_tempo)
{
	FxTestMidiRig *r = rig_up(256, "cc 1 7 = /fx/vol/db -60 0");
	enum { TICKS = 24 * 8, STEP = 1000 };
	static const uint8_t tick[1] = {0xF8};
	FxTestMidiEvent *ev = calloc(TICKS, sizeof *ev);
	ck_assert_ptr_nonnull(ev);
	for (int i = 0; i < TICKS; i++)
		ev[i] = (FxTestMidiEvent){(long)i * STEP / r->period,
		                          (int)((long)i * STEP % r->period), 1,
		                          tick};
	/* Freewheeling: under real time a late cycle moves a tick's frame
	 * time, and the tempo is judged from frame times. */
	jack_nframes_t first;
	freewheel_send(r, ev, TICKS, 0, &first);
	free(ev);
	char *out = NULL;
	double bpm = NAN, end = fx_test_now() + 10;
	while (fx_test_now() < end) {
		out = NULL;
		if (fx_test_fxctl(r->osc_port, &out, "bpm") == 0 && out)
			bpm = strtod(out, NULL);
		free(out);
		if (fabs(bpm - 120) < 0.1)
			break;
		fx_test_nap(0.02);
	}
	fprintf(stderr, "# MIDI clock at 120 BPM: /fxd/bpm %.3f\n", bpm);
	ck_assert_msg(fabs(bpm - 120) < 0.1, "bpm %g after 8 beats of clock",
	              bpm);
	free(fx_test_midi_rig_stop(r));
	fx_test_midi_rig_free(r);
}
END_TEST

int main(void)
{
	/* One line per case and per test. */
	/* clang-format off */
	const FxTestCase cases[] = {
		{"sample accuracy", 120, .tests = {
			{a_cc_changes_the_output_exactly_the_latency_later,
			 3 * sizeof periods / sizeof periods[0]},
		}},
		{"ports", 60, .tests = {
			{midi_ports_exist_unless_no_midi, 2},
		}},
		{"bad input", 120, .tests = {
			{bad_midi_leaves_the_audio_exact, 0},
		}},
		{"feedback and clock", 60, .tests = {
			{osc_sets_are_fed_back_and_midi_is_not_echoed, 0},
			{midi_clock_sets_the_tempo, 0},
		}},
		{.name = NULL},
	};
	/* clang-format on */
	return fx_test_jack_main(fx_test_suite("jack midi", cases));
}
