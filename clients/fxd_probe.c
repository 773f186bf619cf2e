/* fxd-probe: plays a test signal into an fxd instance and measures, on the
 * signal itself, the latency fxd adds.
 *
 * Two JACK clients in one process: a player feeding fxd's inputs and a
 * recorder on its outputs (one client doing both would see an extra period
 * through the feedback loop). The player sends bursts of noise after
 * silence; the recorder finds each burst's first non-silent sample. The
 * chain's first sample of a burst is never zero (every section has b0 != 0
 * and the safety is linear there), so onsets line up to the frame.
 *
 * Usage: fxd-probe [--target NAME] [--seconds N]; the server comes from
 * JACK_DEFAULT_SERVER. Prints one line a second. Exits 0 when every
 * measurement equals the latency fxd reports, 1 otherwise. */
#include <jack/jack.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { PORTS = 2 };

typedef struct {
	jack_client_t *client;
	jack_port_t *port[PORTS];
} Side;

static Side player, recorder;
static jack_nframes_t burst_every; ///< frames between onsets
static _Atomic int64_t sent_at = -1;   ///< frame time of the last onset sent
static _Atomic int64_t heard_at = -1;  ///< frame time of the last onset heard
static _Atomic uint32_t noise = 22222;
static int64_t heard_silence;          ///< recorder: silent frames in a row
static volatile sig_atomic_t stop;

static float next_noise(void)
{
	uint32_t x = atomic_load_explicit(&noise, memory_order_relaxed);
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	atomic_store_explicit(&noise, x, memory_order_relaxed);
	return (float)((int32_t)x / 2147483648.0 * 0.25);
}

/* A burst fills the second half of each interval; its first sample is
 * always a clear 0.3. */
static int play(jack_nframes_t nframes, void *arg)
{
	jack_nframes_t t0 = jack_last_frame_time(player.client);
	float *out[PORTS];
	for (int c = 0; c < PORTS; c++)
		out[c] = jack_port_get_buffer(player.port[c], nframes);
	for (jack_nframes_t i = 0; i < nframes; i++) {
		jack_nframes_t phase = (t0 + i) % burst_every;
		float v = 0.0f;
		if (phase == burst_every / 2) {
			v = 0.3f;
			atomic_store(&sent_at, (int64_t)(t0 + i));
		} else if (phase > burst_every / 2) {
			v = next_noise();
		}
		for (int c = 0; c < PORTS; c++)
			out[c][i] = v;
	}
	return 0;
}

static int record(jack_nframes_t nframes, void *arg)
{
	jack_nframes_t t0 = jack_last_frame_time(recorder.client);
	const float *in = jack_port_get_buffer(recorder.port[0], nframes);
	for (jack_nframes_t i = 0; i < nframes; i++) {
		if (fabsf(in[i]) < 1e-3f) {
			heard_silence++;
			continue;
		}
		/* An onset follows a long stretch of silence. */
		if (heard_silence > (int64_t)burst_every / 4)
			atomic_store(&heard_at, (int64_t)(t0 + i));
		heard_silence = 0;
	}
	return 0;
}

static void on_signal(int sig)
{
	stop = 1;
}

static int open_side(Side *s, const char *name, const char *dir,
                     unsigned long flags, JackProcessCallback cb)
{
	jack_status_t status;
	s->client = jack_client_open(name, JackNoStartServer, &status);
	if (!s->client) {
		fprintf(stderr, "fxd-probe: cannot connect to JACK (status 0x%x)\n",
		        status);
		return -1;
	}
	for (int c = 0; c < PORTS; c++) {
		char port[32];
		snprintf(port, sizeof port, "%s_%d", dir, c + 1);
		s->port[c] = jack_port_register(s->client, port,
		                                JACK_DEFAULT_AUDIO_TYPE, flags, 0);
		if (!s->port[c]) {
			fprintf(stderr, "fxd-probe: cannot register %s\n", port);
			return -1;
		}
	}
	return jack_set_process_callback(s->client, cb, NULL);
}

static int reported_latency(const char *target)
{
	char name[256];
	snprintf(name, sizeof name, "%s:out_1", target);
	jack_port_t *p = jack_port_by_name(recorder.client, name);
	char in_name[256];
	snprintf(in_name, sizeof in_name, "%s:in_1", target);
	jack_port_t *q = jack_port_by_name(recorder.client, in_name);
	if (!p || !q)
		return -1;
	/* What fxd adds: its output's capture latency minus its input's. */
	jack_latency_range_t out_r, in_r;
	jack_port_get_latency_range(p, JackCaptureLatency, &out_r);
	jack_port_get_latency_range(q, JackCaptureLatency, &in_r);
	return (int)out_r.max - (int)in_r.max;
}

int main(int argc, char **argv)
{
	const char *target = "fxd";
	long seconds = 10;
	for (int i = 1; i < argc; i++) {
		char *end = NULL;
		if (!strcmp(argv[i], "--target") && i + 1 < argc) {
			target = argv[++i];
		} else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
			seconds = strtol(argv[++i], &end, 10);
			if (*end || seconds < 1 || seconds > 86400) {
				fprintf(stderr, "fxd-probe: bad --seconds\n");
				return 2;
			}
		} else {
			fprintf(stderr, "usage: fxd-probe [--target NAME] "
			                "[--seconds N]\n");
			return 2;
		}
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (open_side(&player, "fxd-probe-play", "out", JackPortIsOutput, play) ||
	    open_side(&recorder, "fxd-probe-rec", "in", JackPortIsInput, record))
		return 1;
	burst_every = jack_get_sample_rate(player.client) / 2;
	if (jack_activate(player.client) || jack_activate(recorder.client)) {
		fprintf(stderr, "fxd-probe: cannot activate\n");
		return 1;
	}
	for (int c = 0; c < PORTS; c++) {
		char from[256], to[256];
		snprintf(to, sizeof to, "%s:in_%d", target, c + 1);
		if (jack_connect(player.client, jack_port_name(player.port[c]), to)) {
			fprintf(stderr, "fxd-probe: cannot connect to %s\n", to);
			return 1;
		}
		snprintf(from, sizeof from, "%s:out_%d", target, c + 1);
		if (jack_connect(recorder.client, from,
		                 jack_port_name(recorder.port[c]))) {
			fprintf(stderr, "fxd-probe: cannot connect from %s\n", from);
			return 1;
		}
	}
	int ok = 1, measured_any = 0;
	int64_t last_heard = -1;
	for (long s = 0; s < seconds && !stop; s++) {
		struct timespec ts = {1, 0};
		nanosleep(&ts, NULL);
		int64_t sent = atomic_load(&sent_at), heard = atomic_load(&heard_at);
		int reported = reported_latency(target);
		double sr = jack_get_sample_rate(player.client);
		if (heard < 0 || heard == last_heard || sent < 0) {
			printf("probe: no onset heard yet (fxd reports %d frames)\n",
			       reported);
			continue;
		}
		last_heard = heard;
		/* The onset heard belongs to the latest one sent before it. */
		int64_t lat = (heard - sent) % (int64_t)burst_every;
		if (lat < 0)
			lat += burst_every;
		measured_any = 1;
		ok &= lat == reported;
		printf("probe: added latency %lld frames (%.2f ms) measured on the "
		       "signal; fxd reports %d%s\n",
		       (long long)lat, 1e3 * lat / sr, reported,
		       lat == reported ? "" : "  MISMATCH");
		fflush(stdout);
	}
	jack_client_close(player.client);
	jack_client_close(recorder.client);
	return ok && measured_any ? 0 : 1;
}
