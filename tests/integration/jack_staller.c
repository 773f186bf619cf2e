/* SPDX-License-Identifier: ISC */
/* jack_staller: a JACK client that stalls its own process callback, for
 * the tests that fxd counts the cycles a stall upstream of it costs
 * (issue 17, defect 6: PipeWire never reports xruns to clients).
 *
 * Usage: jack_staller NAME PORT STALLS MS
 *   Opens client NAME, links its out_1 to PORT, then stalls STALLS process
 *   callbacks for MS ms each, 50 ms apart, and prints
 *   `staller: stalled N, xruns M` (M: the xruns the server reported to
 *   this client). Exit 0 when it stalled them all, 1 otherwise.
 */
#include <jack/jack.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static atomic_int stalls_left, stalled, xruns;
static long stall_ns;

static void nap(long ns)
{
	struct timespec ts = {ns / 1000000000L, ns % 1000000000L};
	nanosleep(&ts, NULL);
}

static int on_process(jack_nframes_t n, void *arg)
{
	(void)n;
	(void)arg;
	if (atomic_load(&stalls_left) > 0) {
		nap(stall_ns); /* the stall: this client is late, on purpose */
		atomic_fetch_sub(&stalls_left, 1);
		atomic_fetch_add(&stalled, 1);
	}
	return 0;
}

static int on_xrun(void *arg)
{
	(void)arg;
	atomic_fetch_add(&xruns, 1);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: jack_staller NAME PORT STALLS MS\n");
		return 2;
	}
	int stalls = atoi(argv[3]);
	stall_ns = atol(argv[4]) * 1000000L;
	jack_status_t st;
	jack_client_t *c = jack_client_open(argv[1], JackNoStartServer, &st);
	if (!c) {
		fprintf(stderr, "jack_staller: no JACK server (0x%x)\n",
		        (unsigned)st);
		return 1;
	}
	jack_port_t *out = jack_port_register(
		c, "out_1", JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, 0);
	if (!out || jack_set_process_callback(c, on_process, NULL) ||
	    jack_set_xrun_callback(c, on_xrun, NULL) || jack_activate(c) ||
	    jack_connect(c, jack_port_name(out), argv[2])) {
		fprintf(stderr, "jack_staller: cannot run or link to %s\n",
		        argv[2]);
		jack_client_close(c);
		return 1;
	}
	/* Each stall awaited (at most 10 s), then 50 ms of normal cycles. */
	for (int i = 0; i < stalls; i++) {
		atomic_store(&stalls_left, 1);
		for (int t = 0; t < 1000 && atomic_load(&stalls_left) > 0; t++)
			nap(10000000L);
		nap(50000000L);
	}
	printf("staller: stalled %d, xruns %d\n", atomic_load(&stalled),
	       atomic_load(&xruns));
	fflush(stdout);
	jack_deactivate(c);
	jack_client_close(c);
	return atomic_load(&stalled) == stalls ? 0 : 1;
}
