/* SPDX-License-Identifier: ISC */
/* fxd — knob-to-ear benchmark: how long after an OSC parameter change the
 * change is heard, measured from outside the daemon.
 *
 * Usage: bench_knob [--quick] [--json FILE|-] [--periods LIST]
 *                   [--steps N] [--glide-ms MS] [--fxd PATH]
 *                   [--server NAME] [--rerender on|off|both]
 *                   [--midi [--realtime]]
 *   The table goes to stdout. --json FILE also writes a JSON document to
 *   FILE; with --json - the JSON goes to stdout and the table to stderr.
 *   --periods 64,256,1024 (the default) runs once per period and mode,
 *   each on a fresh
 *   `jackd -d dummy -r 48000 -p PERIOD --no-realtime` of its own. The
 *   modes (--rerender, default both): fxd re-rendering the chunk not yet
 *   played when a change arrives (issue 18), then fxd --no-rerender. With
 *   --server NAME it runs once on that server instead, at its period.
 *   --steps N parameter steps per period (default 400, --quick 60);
 *   --glide-ms MS is handed to fxd (default 20); --fxd PATH is the daemon
 *   (default ./daemon/fxd). Exit 0 when it ran, whether or not it met the
 *   target; 1, with one line saying why, when it could not run.
 *
 * Set-up: fxd runs as `fxd -n bknob --osc-port 0 --no-mlock --glide-ms G
 * vol:gain db=0`; its ready line names the OSC port (`osc udp
 * 127.0.0.1:PORT`). This program opens two JACK clients: bknob-tone plays
 * a steady sine (one cycle per round(rate / 1000) samples: 1 kHz at
 * 48 kHz; peak -12 dBFS) into fxd's in_1 and in_2, and bknob-rec records
 * fxd's out_1. Two clients, not
 * one: a client that both feeds fxd and records it closes a loop, and JACK
 * then delays one side by a period (ENV-NOTES).
 *
 * A step: the main thread arms the recorder with the old and new levels,
 * reads CLOCK_MONOTONIC (t_send) and sends `/fx/vol/db ,f -20` (or 0, the
 * two alternate) from its own UDP socket. In the recorder's process
 * callback every sample's amplitude is estimated with the Teager-Kaiser
 * operator, A^2 = (x[n]^2 - x[n-1] x[n+1]) / sin^2(w), exact for a steady
 * sine and one sample late; a condition holds once it has held for 8
 * samples in a row. The callback stamps two events per step:
 *   onset     the first period in which the level differs from the old
 *             steady level by more than 1 dB: the best proxy for when the
 *             change is first heard;
 *   midpoint  the first period in which the level crosses the midpoint
 *             (in dB) between the old and the new level.
 * An event's time is the start of the JACK cycle of that period: the
 * callback's CLOCK_MONOTONIC reading less jack_frames_since_cycle_start,
 * so the actual start, not JACK's smoothed (DLL) estimate of it, which
 * JSON reports as "onset_dll". Latency = event time - t_send; in periods,
 * that divided by the period's duration. JSON also has "in_period": the
 * latency to the very sample inside that period.
 * Clocks: Debian's jack2 1.9.21 reads CLOCK_MONOTONIC_RAW (clock id 4 in
 * libjack's GetMicroSeconds), not CLOCK_MONOTONIC; the two differ by the
 * NTP corrections since boot (244 ms on the machine this was written
 * on). So JACK's absolute times (jack_get_time, jack_get_cycle_times) are
 * converted: each callback pairs a jack_get_time() with a CLOCK_MONOTONIC
 * reading. The clock JACK uses is identified at run time ("jack_clock" in
 * JSON). fxd's own knob.* figures use CLOCK_MONOTONIC on both ends.
 *
 * fxd glides every parameter over --glide-ms, linearly in dB, from the
 * start of the chunk in which it applies the change. So the onset comes
 * about 1/20 of a glide (1 dB of 20) after the change starts, up to a
 * period later where the period is shorter than that, and the midpoint
 * about half a glide after it. A step is a miss when the midpoint is not
 * crossed within 1 s; a missed step counts as infinitely late in the
 * quantiles. Samples far outside both levels (an fxd underflow or a JACK
 * xrun giving silence or an old buffer) are not taken as a crossing; they
 * are counted as glitched samples.
 *
 * Target: onset p99 <= 2 periods + glide (PASS, else MISS): fxd's one
 * period of latency plus up to one period until its worker applies the
 * change, and the glide as the longest a change may take to be heard.
 * With re-rendering the chunk that plays next carries the change: the
 * target is then 1 period + the glide up to the onset's 1 dB (1/20 of
 * it) + fxd's worker p99 (one chunk's render).
 *
 * Steps start at most CHANGES_PER_S (30) a second. fxd's CPU time (every
 * thread's, from /proc/PID/task/TID/schedstat) over the kept steps, per
 * second, is reported per run; "+cpu @30/s" is the run with
 * re-rendering less the run without at the same period, per change,
 * times 30: the extra CPU re-rendering costs at 30 knob changes a second.
 *
 * Before the steps the steady levels at 0 and -20 dB are measured (and
 * checked: about -12 dBFS, and 20 dB apart). Between steps: the rest of
 * the glide, 2 periods and 5 ms, until the level is steady at the new
 * value, then a random 0..1 period (so sends fall at every phase of the
 * cycle). 4 warm-up steps are not kept; after them /fxd/reset_metrics
 * clears fxd's own statistics, and at the end /fxd/stats gives fxd's own
 * knob-to-ear figures (knob.median, knob.p99, knob.count: from a message's
 * arrival to the period in which the changed audio leaves fxd), printed
 * beside the external ones, with fxd's underflows and xruns.
 *
 * Columns: steps, misses; onset p50, p99 and max in ms; onset p50 and p99
 * in periods; midpoint p50 and p99 in ms; the target in ms and PASS/MISS.
 * A second table: fxd's knob.median, knob.p99 and knob.count beside the
 * external onset p50 and p99; JACK xruns as seen here and by fxd; fxd's
 * underflows; steps with glitched samples; steps after which the level
 * did not settle within 1 s.
 *
 * --midi: MIDI-to-ear instead, in frames, at --periods 64,256,1024 by
 * default (--steps as above: 400, --quick 60). fxd runs `--no-safety -f
 * CONF` with CONF, in the run's temporary directory, holding the chain
 * `vol:gain db=0` and the [midi] line MIDI_MAP (CC 7 on channel 1 over
 * -20..0 dB). No safety stage: its DC blocker would change a constant.
 * bknob-src feeds fxd's in_1 and in_2 a constant 0.5 and, from its MIDI
 * port into fxd:midi_in, CC 7 with values 0 and 127 in turn (-20 and 0
 * dB), each at a random frame of its period; bknob-rec records fxd's
 * out_1 with each period's frame time. The CCs are `gap` periods apart,
 * so that from `settle` frames (glide + fxd's port latency + 2 periods)
 * before each CC the output holds the old level. A CC's figure is the
 * frame time of the first recorded sample after that point that differs
 * from it, less the CC's own frame time (its period's frame time plus
 * its offset). That first sample must lie on the way to the new level,
 * else the step is glitched. Reported per period: p50, p99, max and min
 * of the figures, fxd's port latency (the figure it guarantees), how
 * many steps equal it, and fxd's own MIDI-to-ear figures from /fxd/stats
 * (midi_frames.median, .p99, .max, .count, reset before the first CC),
 * with midi.events, midi.overflows, its underflows and JACK's xruns.
 * PASS when every step equals the latency.
 *
 * The CCs are sent and the output recorded while JACK freewheels
 * (jack_set_freewheel, from 16 freewheeled cycles before the first CC to
 * past the last one's window): every cycle runs bknob-src, then fxd,
 * whose callback then waits for its worker's chunk, then bknob-rec, and
 * frame times step by exactly one period. No deadline exists, so the
 * machine's load cannot change the figure: it is exact. --realtime does
 * the same without freewheel, at the server's pace, where a JACK xrun
 * (frequent on the dummy backend) leaves a hole in the recording: the
 * steps whose window has one are counted as unrecorded and left out.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jack/jack.h>
#include <jack/midiport.h>
#include <lo/lo.h>
#include <math.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum {
	MAX_PERIODS = 16, ///< entries in --periods
	HOLD = 8,         ///< samples a condition must hold in a row
	WARMUP_STEPS = 4, ///< steps before fxd's metrics are reset
};

#define TONE_DBFS (-12.0)
#define LOW_DB (-20.0)
#define ONSET_DB 1.0
#define MISS_S 1.0
#define CHANGES_PER_S 30.0 ///< the most steps a second
#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

extern char **environ;

static FILE *tab; ///< where the table goes
static volatile sig_atomic_t interrupted;

__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(tab, fmt, ap);
	va_end(ap);
	fflush(tab);
}

static double mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void nap(double seconds)
{
	struct timespec ts = {(time_t)seconds,
	                      (long)((seconds - (double)(time_t)seconds) * 1e9)};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !interrupted)
		;
}

static uint64_t rng_state;

static double uniform(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (double)(rng_state >> 11) / 9007199254740992.0;
}

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* Copies @p src into @p dst, cut to fit. */
static void copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static int jack_quiet;

static void jack_message(const char *msg)
{
	if (!jack_quiet)
		fprintf(stderr, "jack: %s\n", msg);
}

/* ---- child processes ----------------------------------------------------- */

typedef struct {
	pid_t pid; ///< 0 when not running
	int status;
	char log[512];
} Child;

/* Finds @p prog on PATH (or checks a path); 1 with @p out filled. */
static int which(const char *prog, char *out, size_t size)
{
	if (strchr(prog, '/')) {
		snprintf(out, size, "%s", prog);
		return access(prog, X_OK) == 0;
	}
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/bin:/bin";
	while (*path) {
		size_t len = strcspn(path, ":");
		snprintf(out, size, "%.*s/%s", (int)len, path, prog);
		if (len && access(out, X_OK) == 0)
			return 1;
		path += len + (path[len] == ':');
	}
	return 0;
}

/* Starts argv[0] (a path) with JACK_NO_START_SERVER=1, JACK_DEFAULT_SERVER
 * = @p server when not NULL, stdin from /dev/null and stdout and stderr
 * into c->log. The environment is built before fork: only async-signal-
 * safe calls may follow fork in a process that runs JACK threads. */
static int spawn(Child *c, char *const *argv, const char *server)
{
	size_t n = 0;
	while (environ[n])
		n++;
	char **env = calloc(n + 3, sizeof *env);
	char server_var[300];
	if (!env)
		return -1;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "JACK_DEFAULT_SERVER=", 20) &&
		    strncmp(environ[i], "JACK_NO_START_SERVER=", 21))
			env[k++] = environ[i];
	env[k++] = "JACK_NO_START_SERVER=1";
	if (server) {
		snprintf(server_var, sizeof server_var,
		         "JACK_DEFAULT_SERVER=%s", server);
		env[k++] = server_var;
	}
	int out = open(c->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	pid_t parent = getpid();
	pid_t pid = out >= 0 && in >= 0 ? fork() : -1;
	if (pid == 0) {
		/* jackd calls setsid, so a kill of our process group misses it:
		 * have the kernel send SIGTERM when we die. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(127);
		setpgid(0, 0); /* its own group, so a stop reaches its children */
		dup2(in, 0);
		dup2(out, 1);
		dup2(out, 2);
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
		execve(argv[0], argv, env);
		static const char msg[] = "bench_knob: exec failed\n";
		ssize_t ignored = write(2, msg, sizeof msg - 1);
		(void)ignored;
		_exit(127);
	}
	if (out >= 0)
		close(out);
	if (in >= 0)
		close(in);
	free(env);
	c->pid = pid > 0 ? pid : 0;
	return pid > 0 ? 0 : -1;
}

/* 1 while the child runs; records its status when it has exited. */
static int child_running(Child *c)
{
	if (c->pid <= 0)
		return 0;
	pid_t r = waitpid(c->pid, &c->status, WNOHANG);
	if (r == c->pid || (r < 0 && errno == ECHILD)) {
		c->pid = 0;
		return 0;
	}
	return 1;
}

static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

/* SIGTERM, up to @p timeout seconds, then SIGKILL. Returns 1 if it
 * stopped on SIGTERM. */
static int child_stop(Child *c, double timeout)
{
	if (c->pid <= 0)
		return 1;
	pid_t pid = c->pid;
	kill(-pid, SIGTERM); /* the group spawn made; jackd's own session */
	kill(pid, SIGTERM);
	double end = mono_ns() + timeout * 1e9;
	while (child_running(c))
		if (mono_ns() > end) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(c->pid, &c->status, 0);
			c->pid = 0;
			return 0;
		} else {
			struct timespec ts = {0, 5000000};
			nanosleep(&ts, NULL);
		}
	return 1;
}

/* The last non-empty line of a log (for one-line error messages). */
static void last_line(const char *path, char *out, size_t size)
{
	out[0] = '\0';
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	char line[1024];
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0])
			copy_str(out, size, line);
	}
	fclose(f);
}

/* ---- JACK clients (the callbacks are realtime: no allocation, locks,
 * system calls other than clock reads, or output) -------------------------- */

typedef struct {
	double t_ns;   ///< start of the JACK cycle, CLOCK_MONOTONIC
	double dll_ns; ///< JACK's smoothed estimate of it (jack_get_cycle_times)
	int offset;    ///< sample in the period where the condition began
	int frames;    ///< the period's length
} Stamp;

/* One step. Fields above `state` are written by the main thread before the
 * release store that arms the step; the stamps by the JACK thread before
 * the release store of `state`. */
typedef struct {
	int dir;             ///< -1 down, +1 up
	double onset2;       ///< A^2 beyond which the onset has come
	double mid2;         ///< A^2 beyond which the midpoint is crossed
	double lo2, hi2;     ///< A^2 outside [lo2, hi2] is a glitch
	Stamp onset, mid;    ///< JACK thread
	atomic_int glitches; ///< JACK thread: out-of-band samples
	atomic_int state;    ///< JACK thread: 0, 1 onset seen, 2 midpoint seen
} Step;

typedef struct {
	jack_client_t *client;
	jack_port_t *port;
	const float *table; ///< one cycle of the tone
	int len, pos;       ///< JACK thread
} Tone;

typedef struct {
	jack_client_t *client;
	jack_port_t *port;
	double ns_per_frame;
	double inv_sin2;          ///< 1 / sin^2(w)
	jack_nframes_t max_since; ///< a sane jack_frames_since_cycle_start
	Step *steps;              ///< capacity nsteps
	int nsteps;
	atomic_int armed; ///< main: step index + 1, 0 for none
	/* JACK thread only. */
	int cur;             ///< the armed value the detector works on
	int phase;           ///< 0 waiting for onset, 1 for midpoint, 2 done
	int run_on, run_mid; ///< lengths of the current runs
	Stamp cand_on, cand_mid;
	float z1, z2;              ///< the period's last two samples
	jack_nframes_t next_frame; ///< frame time a contiguous period starts at
	int have_prev;
	Stamp prev; ///< the previous period (offset unused)
	/* Published by the JACK thread. */
	_Atomic double level2; ///< mean A^2 of the last period
	atomic_long periods;   ///< periods seen, release after level2
	atomic_long clock_bad; ///< periods with an implausible cycle start
	atomic_long xruns;     ///< JACK xrun callbacks
} Rec;

static int tone_process(jack_nframes_t n, void *arg)
{
	Tone *t = arg;
	float *out = jack_port_get_buffer(t->port, n);
	for (jack_nframes_t i = 0; i < n; i++) {
		out[i] = t->table[t->pos];
		if (++t->pos == t->len)
			t->pos = 0;
	}
	return 0;
}

static Stamp at_sample(const Stamp *here, const Stamp *prev, int p)
{
	Stamp s = p >= 0 ? *here : *prev;
	s.offset = p >= 0 ? p : prev->frames - 1;
	return s;
}

static int rec_process(jack_nframes_t n, void *arg)
{
	Rec *r = arg;
	const float *x = jack_port_get_buffer(r->port, n);
	double now = mono_ns();
	double jack_now = (double)jack_get_time() * 1e3;
	jack_nframes_t since = jack_frames_since_cycle_start(r->client);
	jack_nframes_t frame;
	jack_time_t cur_us, next_us;
	float period_us;
	Stamp here = {now, now, 0, (int)n};
	if (since <= r->max_since) {
		here.t_ns = now - (double)since * r->ns_per_frame;
	} else {
		atomic_fetch_add_explicit(&r->clock_bad, 1, memory_order_relaxed);
	}
	if (jack_get_cycle_times(r->client, &frame, &cur_us, &next_us,
	                         &period_us) == 0) {
		/* JACK's clock to ours. */
		here.dll_ns = (double)cur_us * 1e3 - (jack_now - now);
	} else {
		frame = jack_last_frame_time(r->client);
	}
	/* A period that does not follow the last one (an xrun skipped a
	 * cycle) has no usable neighbours for its first sample. */
	int contiguous = r->have_prev && frame == r->next_frame;

	int armed = atomic_load_explicit(&r->armed, memory_order_acquire);
	if (armed != r->cur) {
		r->cur = armed;
		r->phase = 0;
		r->run_on = r->run_mid = 0;
	}
	Step *s = armed > 0 && armed <= r->nsteps ? &r->steps[armed - 1] : NULL;
	double sum = 0;
	int count = 0, glitches = 0;
	for (jack_nframes_t i = contiguous ? 0 : 2; i < n; i++) {
		float a = i >= 2 ? x[i - 2] : i == 1 ? r->z1 : r->z2;
		float b = i >= 1 ? x[i - 1] : r->z1;
		double e = ((double)b * b - (double)a * x[i]) * r->inv_sin2;
		int p = (int)i - 1; /* the sample e belongs to; -1: last period */
		sum += e;
		count++;
		if (!s || r->phase == 2)
			continue;
		if (e < s->lo2 || e > s->hi2) {
			glitches++;
			r->run_on = r->run_mid = 0;
			continue;
		}
		int on = s->dir < 0 ? e < s->onset2 : e > s->onset2;
		int mid = s->dir < 0 ? e < s->mid2 : e > s->mid2;
		if (!on) {
			r->run_on = 0;
		} else if (r->phase == 0) {
			if (r->run_on++ == 0)
				r->cand_on = at_sample(&here, &r->prev, p);
			if (r->run_on >= HOLD) {
				s->onset = r->cand_on;
				r->phase = 1;
				atomic_store_explicit(&s->state, 1,
				                      memory_order_release);
			}
		}
		if (!mid) {
			r->run_mid = 0;
		} else {
			if (r->run_mid++ == 0)
				r->cand_mid = at_sample(&here, &r->prev, p);
			/* The midpoint lies beyond the onset threshold, so the
			 * onset run is at least as long: phase 1 by now. */
			if (r->run_mid >= HOLD && r->phase == 1) {
				s->mid = r->cand_mid;
				r->phase = 2;
				atomic_store_explicit(&s->state, 2,
				                      memory_order_release);
			}
		}
	}
	if (s && glitches)
		atomic_fetch_add_explicit(&s->glitches, glitches,
		                          memory_order_relaxed);
	if (n >= 2) {
		r->z2 = x[n - 2];
		r->z1 = x[n - 1];
	} else if (n == 1) {
		r->z2 = r->z1;
		r->z1 = x[0];
	}
	r->next_frame = frame + n;
	r->have_prev = 1;
	r->prev = here;
	if (count) {
		atomic_store_explicit(&r->level2, sum / count,
		                      memory_order_relaxed);
		atomic_fetch_add_explicit(&r->periods, 1, memory_order_release);
	}
	return 0;
}

static int on_xrun(void *arg)
{
	Rec *r = arg;
	atomic_fetch_add_explicit(&r->xruns, 1, memory_order_relaxed);
	return 0;
}

/* ---- the MIDI mode's clients ---------------------------------------------
 * bknob-src feeds fxd a constant level on its audio inputs and the CCs of
 * a schedule on fxd:midi_in; bknob-rec records fxd's out_1 with the frame
 * time of each period. Realtime callbacks as above. */

/* One CC of the schedule. The main thread writes period, frame and value
 * before the release store that arms the schedule; the JACK thread the
 * rest before the release store of Src.done. */
typedef struct {
	long period;            ///< schedule period, counted from the arming
	int frame;              ///< offset inside it
	uint8_t value;          ///< CC value: 0 is -20 dB, 127 is 0 dB
	jack_nframes_t t_event; ///< JACK thread: the event's frame time
	char written;           ///< JACK thread: in JACK's MIDI buffer
	char fw;                ///< JACK thread: JACK freewheeled then
} Cc;

typedef struct {
	jack_client_t *client;
	jack_port_t *audio, *midi;
	float level;             ///< the constant input
	Cc *cc;                  ///< main, before arming
	int ncc;                 ///< main, before arming
	atomic_int armed;        ///< main: 1 runs the schedule
	long k;                  ///< JACK thread: schedule period now
	int next;                ///< JACK thread: the next CC
	atomic_int done;         ///< JACK thread: schedule sent (release)
	atomic_int freewheeling; ///< notification thread
	atomic_long fw_run;      ///< JACK thread: cycles in a row freewheeled
} Src;

typedef struct {
	jack_client_t *client;
	jack_port_t *port;
	float *data;                 ///< capacity cap frames
	long cap;                    ///< frames
	jack_nframes_t *ptime;       ///< per period: frame time
	long *poff;                  ///< per period: first frame in data
	int *plen;                   ///< per period: frames
	long pcap;                   ///< periods
	atomic_int on;               ///< main: 1 records, 0 stops
	atomic_long frames, periods; ///< JACK thread, release after the data
	atomic_long xruns;           ///< JACK xrun callbacks
} Tape;

static void note_freewheel(int starting, void *arg)
{
	atomic_store_explicit((atomic_int *)arg, starting, memory_order_relaxed);
}

static int src_process(jack_nframes_t n, void *arg)
{
	Src *s = arg;
	float *out = jack_port_get_buffer(s->audio, n);
	for (jack_nframes_t i = 0; i < n; i++)
		out[i] = s->level;
	void *buf = jack_port_get_buffer(s->midi, n);
	jack_midi_clear_buffer(buf);
	int fw = atomic_load_explicit(&s->freewheeling, memory_order_relaxed);
	long run = atomic_load_explicit(&s->fw_run, memory_order_relaxed);
	atomic_store_explicit(&s->fw_run, fw ? run + 1 : 0, memory_order_relaxed);
	if (!atomic_load_explicit(&s->armed, memory_order_acquire) ||
	    atomic_load_explicit(&s->done, memory_order_relaxed))
		return 0;
	jack_nframes_t t = jack_last_frame_time(s->client);
	while (s->next < s->ncc && s->cc[s->next].period == s->k) {
		Cc *c = &s->cc[s->next++];
		uint8_t msg[3] = {0xB0, 7, c->value};
		c->t_event = t + (jack_nframes_t)c->frame;
		c->fw = (char)fw;
		c->written = (jack_nframes_t)c->frame < n &&
		             jack_midi_event_write(buf, (jack_nframes_t)c->frame,
		                                   msg, 3) == 0;
	}
	s->k++;
	if (s->next == s->ncc)
		atomic_store_explicit(&s->done, 1, memory_order_release);
	return 0;
}

static int tape_process(jack_nframes_t n, void *arg)
{
	Tape *t = arg;
	if (!atomic_load_explicit(&t->on, memory_order_acquire))
		return 0;
	long f = atomic_load_explicit(&t->frames, memory_order_relaxed);
	long k = atomic_load_explicit(&t->periods, memory_order_relaxed);
	if (f + (long)n > t->cap || k >= t->pcap)
		return 0;
	memcpy(t->data + f, jack_port_get_buffer(t->port, n),
	       (size_t)n * sizeof(float));
	t->ptime[k] = jack_last_frame_time(t->client);
	t->poff[k] = f;
	t->plen[k] = (int)n;
	atomic_store_explicit(&t->frames, f + (long)n, memory_order_release);
	atomic_store_explicit(&t->periods, k + 1, memory_order_release);
	return 0;
}

static int tape_xrun(void *arg)
{
	Tape *t = arg;
	atomic_fetch_add_explicit(&t->xruns, 1, memory_order_relaxed);
	return 0;
}

/* Opens a client on @p server, never starting one; JACK's own error
 * output is muted while it tries when @p quiet. */
static jack_client_t *client_open(const char *server, const char *name, int quiet)
{
	jack_status_t status;
	jack_quiet = quiet;
	jack_client_t *c = jack_client_open(
		name, JackNoStartServer | JackServerName | JackUseExactName,
		&status, server);
	jack_quiet = 0;
	return c;
}

static void *close_thread(void *arg)
{
	jack_client_close(arg);
	return NULL;
}

/* jack_client_close given up after @p timeout s (jack2 issue #395: it can
 * hang). Returns 0 if it closed. */
static int client_close(jack_client_t *c, double timeout)
{
	if (!c)
		return 0;
	pthread_t th;
	if (pthread_create(&th, NULL, close_thread, c) != 0) {
		jack_client_close(c);
		return 0;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)timeout;
	if (pthread_timedjoin_np(th, NULL, &ts) != 0) {
		pthread_detach(th);
		return -1;
	}
	return 0;
}

/* ---- OSC ------------------------------------------------------------------ */

typedef struct {
	int fd;
	struct sockaddr_in to;
} Osc;

/* A serialised message with one float argument, or none with @p nargs 0. */
static void *osc_build(const char *path, int nargs, float v, size_t *len)
{
	lo_message m = lo_message_new();
	if (!m)
		return NULL;
	if (nargs)
		lo_message_add_float(m, v);
	void *data = lo_message_serialise(m, path, NULL, len);
	lo_message_free(m);
	return data;
}

static int osc_send_raw(Osc *o, const void *data, size_t len)
{
	return sendto(o->fd, data, len, 0, (const struct sockaddr *)&o->to,
	              sizeof o->to) == (ssize_t)len
	               ? 0
	               : -1;
}

static int osc_send(Osc *o, const char *path)
{
	size_t len;
	void *data = osc_build(path, 0, 0, &len);
	int rc = data ? osc_send_raw(o, data, len) : -1;
	free(data);
	return rc;
}

/* Receives one message within @p timeout s. Returns it (lo_message_free
 * it) with its path copied into @p path, or NULL. */
static lo_message osc_recv(Osc *o, double timeout, char *path, size_t size)
{
	static char buf[65536];
	double end = mono_ns() + timeout * 1e9;
	for (;;) {
		if (interrupted)
			return NULL;
		double left = (end - mono_ns()) / 1e6;
		struct pollfd pfd = {o->fd, POLLIN, 0};
		int rc = poll(&pfd, 1, left > 0 ? (int)ceil(left) : 0);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			return NULL;
		ssize_t n = recv(o->fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n <= 0 || buf[0] != '/')
			continue;
		int result = 0;
		lo_message m = lo_message_deserialise(buf, (size_t)n, &result);
		if (!m)
			continue;
		copy_str(path, size, buf); /* the path comes first */
		return m;
	}
}

typedef struct {
	long fails; ///< /fxd/fail replies
	char fail_reason[256];
} OscTally;

/* Reads what is waiting without blocking; notes /fxd/fail replies. */
static void osc_drain(Osc *o, OscTally *t)
{
	char path[256];
	lo_message m;
	while ((m = osc_recv(o, 0, path, sizeof path))) {
		if (!strcmp(path, "/fxd/fail")) {
			t->fails++;
			const char *types = lo_message_get_types(m);
			lo_arg **argv = lo_message_get_argv(m);
			if (types && !strncmp(types, "ss", 2))
				snprintf(t->fail_reason, sizeof t->fail_reason,
				         "%s: %s", (const char *)argv[0],
				         (const char *)argv[1]);
		}
		lo_message_free(m);
	}
}

/* Sends @p path and waits up to @p timeout s for a reply on @p reply.
 * Returns the reply or NULL. */
static lo_message osc_query(Osc *o, OscTally *t, const char *path,
                            const char *reply, double timeout)
{
	osc_drain(o, t);
	if (osc_send(o, path))
		return NULL;
	double end = mono_ns() + timeout * 1e9;
	char got[256];
	while (mono_ns() < end && !interrupted) {
		lo_message m = osc_recv(o, (end - mono_ns()) / 1e9, got,
		                        sizeof got);
		if (!m)
			break;
		if (!strcmp(got, reply))
			return m;
		if (!strcmp(got, "/fxd/fail"))
			t->fails++;
		lo_message_free(m);
	}
	return NULL;
}

/* liblo's arguments are only 4-byte aligned: read them by copying. */
static double arg_number(char type, const lo_arg *a)
{
	union {
		double d;
		float f;
		int32_t i;
		int64_t h;
	} v;
	switch (type) {
	case 'd':
		memcpy(&v.d, a, sizeof v.d);
		return v.d;
	case 'f':
		memcpy(&v.f, a, sizeof v.f);
		return v.f;
	case 'i':
		memcpy(&v.i, a, sizeof v.i);
		return v.i;
	case 'h':
		memcpy(&v.h, a, sizeof v.h);
		return (double)v.h;
	default:
		return NAN;
	}
}

/* ---- one run ------------------------------------------------------------- */

typedef struct {
	double p50, p99, max, mean;
	int n; ///< finite values
} Q;

typedef struct {
	int period, rate, steps, misses, onset_misses, unsettled;
	long glitched_samples, glitched_steps, xruns, clock_bad, fails;
	double period_ms, target_ms;
	double jack_minus_mono_ms; ///< jack_get_time() - CLOCK_MONOTONIC
	const char *jack_clock;    ///< which clock JACK reads
	double a0_dbfs, a20_dbfs;  ///< measured output peak levels
	Q onset, mid, onset_in, mid_in, onset_dll, onset_per, mid_per;
	int pass;
	int fxd_stats; ///< 1 if /fxd/stats answered
	double knob_median, knob_p99, knob_count, underflows, fxd_xruns, late;
	int metrics_reset;
	/* Issue 18: this run's fxd re-renders (1) or runs --no-rerender (0). */
	int rerender;
	double rr_done, rr_late, rr_skipped, rr_unable; ///< /fxd/stats
	double worker_p99_ms, worker_mean_ms;           ///< /fxd/stats
	double cpu_ms_per_s;  ///< fxd's CPU time over the kept steps, per s
	double changes_per_s; ///< kept steps per second
} Result;

typedef struct {
	char dir[256];
	char server[128];
	int own_server;
	Child jackd, fxd;
	int jackd_killed;
	Tone tone;
	Rec rec;
	Src src;          ///< --midi
	Tape tape;        ///< --midi
	int freewheeling; ///< --midi: we turned freewheel on
	char conf[300];   ///< --midi: fxd's config file, "" for none
	Osc osc;
} Run;

static Run *current; ///< what to clean up on error or signal

/* Removes what a SIGKILLed jackd named @p server leaves in /dev/shm. */
static void remove_shm(const char *server)
{
	char a[300], b[300];
	snprintf(a, sizeof a, "jack_%s_", server);
	snprintf(b, sizeof b, "jack_sem.%u_%s_", (unsigned)getuid(), server);
	DIR *d = opendir("/dev/shm");
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, a, strlen(a)) ||
		    !strncmp(de->d_name, b, strlen(b))) {
			char path[600];
			snprintf(path, sizeof path, "/dev/shm/%s", de->d_name);
			unlink(path);
		}
	closedir(d);
}

static void spawn_jackd(Run *run, int period);
static int wait_server(Run *run, double timeout);

static void run_cleanup(Run *run)
{
	if (!run)
		return;
	/* Our clients first: closing them while the server runs does not
	 * hang. Closing deactivates. */
	if (run->freewheeling && run->src.client)
		jack_set_freewheel(run->src.client, 0);
	run->freewheeling = 0;
	client_close(run->rec.client, 5);
	client_close(run->tone.client, 5);
	client_close(run->tape.client, 5);
	client_close(run->src.client, 5);
	run->rec.client = run->tone.client = NULL;
	run->tape.client = run->src.client = NULL;
	child_stop(&run->fxd, 5);
	if (run->own_server && run->jackd.pid) {
		if (!child_stop(&run->jackd, 5)) {
			/* Killed: its files in /dev/shm block the name, and its
			 * slot in JACK's server registry is given back only when
			 * a server of that name starts and stops cleanly. */
			remove_shm(run->server);
			spawn_jackd(run, 256);
			if (wait_server(run, 5))
				child_stop(&run->jackd, 5);
			else
				child_stop(&run->jackd, 0);
			remove_shm(run->server);
		}
	}
	if (run->osc.fd >= 0)
		close(run->osc.fd);
	run->osc.fd = -1;
	free(run->rec.steps);
	run->rec.steps = NULL;
	free(run->src.cc);
	free(run->tape.data);
	free(run->tape.ptime);
	free(run->tape.poff);
	free(run->tape.plen);
	run->src.cc = NULL;
	run->tape.data = NULL;
	run->tape.ptime = NULL;
	run->tape.poff = NULL;
	run->tape.plen = NULL;
	if (run->conf[0])
		unlink(run->conf);
	unlink(run->fxd.log);
	if (run->own_server)
		unlink(run->jackd.log);
	rmdir(run->dir);
}

__attribute__((format(printf, 1, 2), noreturn)) static void fail(const char *fmt,
                                                                 ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	Run *run = current;
	current = NULL;
	run_cleanup(run);
	fprintf(stderr, "bench_knob: %s\n", interrupted ? "interrupted" : msg);
	exit(interrupted ? 130 : 1);
}

static void check_interrupt(void)
{
	if (interrupted)
		fail("interrupted");
}

static char jackd_bin[512];

static void spawn_jackd(Run *run, int period)
{
	char p[16];
	snprintf(p, sizeof p, "%d", period);
	char *argv[] = {jackd_bin, "-n",    run->server, "--no-realtime",
	                "-d",      "dummy", "-r",        "48000",
	                "-p",      p,       NULL};
	if (spawn(&run->jackd, argv, NULL))
		fail("cannot start %s: %s", jackd_bin, strerror(errno));
}

/* Waits until a client can connect to run->server. */
static int wait_server(Run *run, double timeout)
{
	double end = mono_ns() + timeout * 1e9;
	char probe[64];
	snprintf(probe, sizeof probe, "bknob-probe-%d", (int)getpid());
	while (mono_ns() < end && !interrupted) {
		if (run->own_server && !child_running(&run->jackd))
			return 0;
		jack_client_t *c = client_open(run->server, probe, 1);
		if (c) {
			jack_client_close(c);
			return 1;
		}
		nap(0.02);
	}
	return 0;
}

/* Waits for fxd's ready line; fills the OSC port and the client name. */
static void wait_fxd(Run *run, int *port, char *name, size_t size)
{
	double end = mono_ns() + 15e9;
	for (;;) {
		check_interrupt();
		int running = child_running(&run->fxd);
		FILE *f = fopen(run->fxd.log, "r");
		char line[1024];
		while (f && fgets(line, sizeof line, f)) {
			const char *ready = strstr(line, "ready:");
			if (!ready)
				continue;
			fclose(f);
			const char *udp = strstr(ready, "osc udp ");
			const char *colon = udp ? strchr(udp + 8, ':') : NULL;
			char *stop;
			long v = colon ? strtol(colon + 1, &stop, 10) : 0;
			if (!colon || stop == colon + 1 || v < 1 || v > 65535) {
				line[strcspn(line, "\n")] = '\0';
				fail("fxd's ready line names no OSC UDP port (\"osc udp "
				     "ADDR:PORT\"): %s",
				     line);
			}
			*port = (int)v;
			const char *q = strstr(ready, "client '");
			snprintf(name, size, "%s", "bknob");
			if (q) {
				q += 8;
				size_t len = strcspn(q, "'");
				if (len && len < size)
					snprintf(name, size, "%.*s", (int)len, q);
			}
			return;
		}
		if (f)
			fclose(f);
		if (!running) {
			char last[512];
			last_line(run->fxd.log, last, sizeof last);
			fail("fxd exited (status %d) before its ready line%s%s",
			     exit_code(run->fxd.status), *last ? ": " : "", last);
		}
		if (mono_ns() > end) {
			char last[512];
			last_line(run->fxd.log, last, sizeof last);
			fail("fxd printed no ready line in 15 s%s%s",
			     *last ? "; last: " : "", last);
		}
		nap(0.01);
	}
}

static void connect_or_fail(jack_client_t *c, const char *a, const char *b)
{
	double end = mono_ns() + 5e9;
	int rc;
	while ((rc = jack_connect(c, a, b)) != 0 && rc != EEXIST) {
		check_interrupt();
		if (mono_ns() > end)
			fail("cannot connect %s to %s", a, b);
		nap(0.01);
	}
}

/* Mean A^2 over @p n periods from now (the median of their means). */
static double measure_level2(Rec *r, int n)
{
	double v[64];
	if (n > NELEM(v))
		n = NELEM(v);
	long seen = atomic_load_explicit(&r->periods, memory_order_acquire);
	double end = mono_ns() + 5e9;
	int k = 0;
	while (k < n) {
		check_interrupt();
		long now = atomic_load_explicit(&r->periods,
		                                memory_order_acquire);
		if (now != seen) {
			seen = now;
			v[k++] = atomic_load_explicit(&r->level2,
			                              memory_order_relaxed);
		} else if (mono_ns() > end) {
			fail("the recorder saw no JACK periods for 5 s");
		} else {
			nap(0.0005);
		}
	}
	for (int i = 1; i < k; i++)
		for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
			double t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return v[k / 2];
}

static double db2(double a2)
{
	return a2 > 0 ? 10 * log10(a2) : -INFINITY;
}

/* Waits until two periods in a row have a level within @p tol_db of
 * @p want2 (an A^2). Returns 1, or 0 after @p timeout s. */
static int wait_level(Rec *r, double want2, double tol_db, double timeout)
{
	long seen = atomic_load_explicit(&r->periods, memory_order_acquire);
	int ok = 0;
	double end = mono_ns() + timeout * 1e9;
	while (mono_ns() < end) {
		check_interrupt();
		long now = atomic_load_explicit(&r->periods,
		                                memory_order_acquire);
		if (now == seen) {
			nap(0.0005);
			continue;
		}
		seen = now;
		double l = atomic_load_explicit(&r->level2, memory_order_relaxed);
		ok = fabs(db2(l) - db2(want2)) <= tol_db ? ok + 1 : 0;
		if (ok >= 2)
			return 1;
	}
	return 0;
}

static void nap_until(double t_ns)
{
	for (;;) {
		check_interrupt();
		double left = t_ns - mono_ns();
		if (left <= 0)
			return;
		nap(left > 2e6 ? 1e-3 : left / 1e9);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Nearest-rank quantiles of v[0..n) (sorted here); INFINITY counts as a
 * value larger than any. */
static Q quantiles(double *v, int n)
{
	Q q = {NAN, NAN, NAN, NAN, 0};
	if (n < 1)
		return q;
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	double sum = 0;
	for (int i = 0; i < n; i++)
		if (isfinite(v[i])) {
			sum += v[i];
			q.n++;
		}
	int i50 = (int)ceil(0.5 * n), i99 = (int)ceil(0.99 * n);
	q.p50 = v[i50 ? i50 - 1 : 0];
	q.p99 = v[i99 ? i99 - 1 : 0];
	q.max = v[n - 1];
	q.mean = q.n ? sum / q.n : NAN;
	return q;
}

static void fetch_fxd_stats(Osc *o, OscTally *t, Result *res)
{
	res->knob_median = res->knob_p99 = res->knob_count = NAN;
	res->underflows = res->fxd_xruns = res->late = NAN;
	res->rr_done = res->rr_late = res->rr_skipped = res->rr_unable = NAN;
	res->worker_p99_ms = res->worker_mean_ms = NAN;
	lo_message m = osc_query(o, t, "/fxd/stats", "/fxd/stats", 2);
	if (!m)
		return;
	res->fxd_stats = 1;
	const char *types = lo_message_get_types(m);
	lo_arg **argv = lo_message_get_argv(m);
	int argc = lo_message_get_argc(m);
	for (int i = 0; i + 1 < argc; i += 2) {
		if (types[i] != 's')
			continue;
		const char *key = (const char *)argv[i];
		double v = arg_number(types[i + 1], argv[i + 1]);
		if (!strcmp(key, "knob.median"))
			res->knob_median = v;
		else if (!strcmp(key, "knob.p99"))
			res->knob_p99 = v;
		else if (!strcmp(key, "knob.count"))
			res->knob_count = v;
		else if (!strcmp(key, "underflows"))
			res->underflows = v;
		else if (!strcmp(key, "xruns"))
			res->fxd_xruns = v;
		else if (!strcmp(key, "late"))
			res->late = v;
		else if (!strcmp(key, "rerender.done"))
			res->rr_done = v;
		else if (!strcmp(key, "rerender.late"))
			res->rr_late = v;
		else if (!strcmp(key, "rerender.skipped"))
			res->rr_skipped = v;
		else if (!strcmp(key, "rerender.unable"))
			res->rr_unable = v;
		else if (!strcmp(key, "worker.p99"))
			res->worker_p99_ms = v;
		else if (!strcmp(key, "worker.mean"))
			res->worker_mean_ms = v;
	}
	lo_message_free(m);
}

/* Which clock jack_get_time() reads (call with a client open: libjack
 * sets its clock source when a client opens). */
static void identify_jack_clock(Result *res)
{
	struct timespec ts;
	double best = INFINITY, d_mono = 0, d_raw = 0;
	for (int i = 0; i < 5; i++) {
		double m0 = mono_ns();
		clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
		double j = (double)jack_get_time() * 1e3;
		double m1 = mono_ns();
		double raw = (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
		if (m1 - m0 < best) {
			best = m1 - m0;
			d_mono = j - (m0 + m1) / 2;
			d_raw = j - raw;
		}
	}
	res->jack_minus_mono_ms = d_mono / 1e6;
	res->jack_clock = fabs(d_mono) < 200e3  ? "CLOCK_MONOTONIC"
	                  : fabs(d_raw) < 200e3 ? "CLOCK_MONOTONIC_RAW"
	                                        : "unknown";
}

typedef struct {
	const char *fxd;
	const char *server; ///< NULL: start our own
	double glide_ms;
	int steps;
	int midi;     ///< --midi: CCs on fxd:midi_in instead of OSC
	int realtime; ///< --realtime: the MIDI mode without freewheel
} Config;

/* Makes run->dir, a new temporary directory, and @p run the one to clean
 * up. */
static void run_dir(Run *run)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(run->dir, sizeof run->dir, "%s/bknob-XXXXXX",
	         tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(run->dir))
		fail("cannot make a directory under %s: %s",
		     tmp && *tmp ? tmp : "/tmp", strerror(errno));
	current = run;
}

/* Starts what a run needs: a temporary directory (unless run->dir is
 * made), the server (our own
 * jackd at @p period, or cfg->server), fxd with its fixed options and
 * @p args (up to 8, NULL-terminated) and an OSC socket to it, which
 * answered /fxd/ping (run->osc.to). Fills @p fxd_name, fxd's JACK client. */
static void run_up(const Config *cfg, int period, Run *run, char *const *args,
                   char *fxd_name, size_t name_size)
{
	if (!run->dir[0])
		run_dir(run);
	snprintf(run->fxd.log, sizeof run->fxd.log, "%s/fxd.log", run->dir);
	snprintf(run->jackd.log, sizeof run->jackd.log, "%s/jackd.log", run->dir);

	/* The server. */
	if (cfg->server) {
		snprintf(run->server, sizeof run->server, "%s", cfg->server);
		if (!wait_server(run, 2))
			fail("cannot connect to JACK server '%s'", cfg->server);
	} else {
		run->own_server = 1;
		snprintf(run->server, sizeof run->server, "bknob-%d-%04x",
		         (int)getpid(), (unsigned)(uniform() * 65536) & 0xffff);
		spawn_jackd(run, period);
		if (!wait_server(run, 15)) {
			char last[512];
			last_line(run->jackd.log, last, sizeof last);
			fail("jackd -d dummy -p %d did not start%s%s", period,
			     *last ? ": " : "", last);
		}
	}

	/* fxd. */
	char glide[32];
	snprintf(glide, sizeof glide, "%g", cfg->glide_ms);
	char fxd_path[512];
	snprintf(fxd_path, sizeof fxd_path, "%s", cfg->fxd);
	char *argv[16] = {fxd_path, "-n",         "bknob",      "--osc-port",
	                  "0",      "--no-mlock", "--glide-ms", glide};
	int argc = 8;
	for (int i = 0; args[i] && argc < NELEM(argv) - 1; i++)
		argv[argc++] = args[i];
	argv[argc] = NULL;
	if (spawn(&run->fxd, argv, run->server))
		fail("cannot start %s: %s", cfg->fxd, strerror(errno));
	int port;
	wait_fxd(run, &port, fxd_name, name_size);

	/* OSC socket. */
	run->osc.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in me = {.sin_family = AF_INET,
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (run->osc.fd < 0 ||
	    bind(run->osc.fd, (struct sockaddr *)&me, sizeof me) != 0)
		fail("cannot open a UDP socket: %s", strerror(errno));
	run->osc.to = (struct sockaddr_in){
		.sin_family = AF_INET,
		.sin_port = htons((uint16_t)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	OscTally tally = {0, ""};
	lo_message pong = osc_query(&run->osc, &tally, "/fxd/ping", "/fxd/pong",
	                            2);
	if (!pong)
		fail("fxd does not answer /fxd/ping on 127.0.0.1:%d", port);
	lo_message_free(pong);
}

/* Opens our two JACK clients @p a and @p b on the run's server. */
static void open_two(const Run *run, const char *a, jack_client_t **ca,
                     const char *b, jack_client_t **cb)
{
	*ca = client_open(run->server, a, 0);
	*cb = client_open(run->server, b, 0);
	if (!*ca || !*cb)
		fail("cannot open JACK clients %s and %s on '%s' (names "
		     "taken?)",
		     a, b, run->server);
}

/* CPU time of every thread of @p pid so far, in ns (schedstat's first
 * field per task); NAN when it cannot be read. */
static double cpu_ns(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return NAN;
	double sum = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char file[320];
		snprintf(file, sizeof file, "/proc/%d/task/%s/schedstat",
		         (int)pid, de->d_name);
		FILE *f = fopen(file, "r");
		unsigned long long ns;
		if (f && fscanf(f, "%llu", &ns) == 1)
			sum += (double)ns;
		if (f)
			fclose(f);
	}
	closedir(d);
	return sum;
}

static void run_one(const Config *cfg, int period, int rerender, Result *res)
{
	static Run run;
	memset(&run, 0, sizeof run);
	run.osc.fd = -1;
	memset(res, 0, sizeof *res);
	res->rerender = rerender;
	char fxd_name[128];
	char *on[] = {"vol:gain db=0", NULL};
	char *off[] = {"--no-rerender", "vol:gain db=0", NULL};
	char **args = rerender ? on : off;
	run_up(cfg, period, &run, args, fxd_name, sizeof fxd_name);
	int port = ntohs(run.osc.to.sin_port);
	OscTally tally = {0, ""};

	/* Our clients. */
	Tone *tone = &run.tone;
	Rec *rec = &run.rec;
	open_two(&run, "bknob-tone", &tone->client, "bknob-rec", &rec->client);
	identify_jack_clock(res);
	say("  JACK's clock: %s (jack_get_time - CLOCK_MONOTONIC = %.3f ms; "
	    "converted)\n",
	    res->jack_clock, res->jack_minus_mono_ms);
	int rate = (int)jack_get_sample_rate(rec->client);
	int frames = (int)jack_get_buffer_size(rec->client);
	int w = (int)lrint(rate / 1000.0);
	if (w < 8)
		fail("sample rate %d is too low", rate);
	static float table[4096];
	if (w > NELEM(table))
		w = NELEM(table);
	double omega = 2 * M_PI / w;
	double amp = pow(10, TONE_DBFS / 20);
	for (int i = 0; i < w; i++)
		table[i] = (float)(amp * sin(omega * i));
	tone->table = table;
	tone->len = w;
	rec->ns_per_frame = 1e9 / rate;
	rec->inv_sin2 = 1 / (sin(omega) * sin(omega));
	rec->max_since = (jack_nframes_t)frames * 4;
	rec->nsteps = cfg->steps + WARMUP_STEPS;
	rec->steps = calloc((size_t)rec->nsteps, sizeof *rec->steps);
	if (!rec->steps)
		fail("out of memory");
	tone->port = jack_port_register(tone->client, "out",
	                                JACK_DEFAULT_AUDIO_TYPE,
	                                JackPortIsOutput, 0);
	rec->port = jack_port_register(
		rec->client, "in", JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
	if (!tone->port || !rec->port ||
	    jack_set_process_callback(tone->client, tone_process, tone) ||
	    jack_set_process_callback(rec->client, rec_process, rec) ||
	    jack_set_xrun_callback(rec->client, on_xrun, rec) ||
	    jack_activate(tone->client) || jack_activate(rec->client))
		fail("cannot set up the JACK clients");
	char a[300], b[300];
	for (int ch = 1; ch <= 2; ch++) {
		snprintf(b, sizeof b, "%s:in_%d", fxd_name, ch);
		connect_or_fail(tone->client, "bknob-tone:out", b);
	}
	snprintf(a, sizeof a, "%s:out_1", fxd_name);
	connect_or_fail(rec->client, a, "bknob-rec:in");

	res->period = frames;
	res->rate = rate;
	res->period_ms = 1e3 * frames / rate;
	res->target_ms = 2 * res->period_ms + cfg->glide_ms;
	if (cfg->server && period != frames)
		say("note: server '%s' runs at %d frames\n", run.server, frames);

	/* Calibrate: the steady levels at 0 and -20 dB. */
	nap(0.05 + 4 * res->period_ms / 1e3);
	double glide_s = cfg->glide_ms / 1e3;
	double l0 = measure_level2(rec, 16);
	res->a0_dbfs = db2(l0);
	if (fabs(res->a0_dbfs - TONE_DBFS) > 3)
		fail("fxd's out_1 peaks at %.1f dBFS with db=0; expected about "
		     "%.0f dBFS (the tone)",
		     res->a0_dbfs, TONE_DBFS);
	size_t len_lo, len_hi;
	void *msg_lo = osc_build("/fx/vol/db", 1, (float)LOW_DB, &len_lo);
	void *msg_hi = osc_build("/fx/vol/db", 1, 0.0f, &len_hi);
	if (!msg_lo || !msg_hi)
		fail("cannot build OSC messages");
	if (osc_send_raw(&run.osc, msg_lo, len_lo))
		fail("cannot send to 127.0.0.1:%d: %s", port, strerror(errno));
	nap(0.1 + glide_s + 4 * res->period_ms / 1e3);
	double l20 = measure_level2(rec, 16);
	res->a20_dbfs = db2(l20);
	osc_drain(&run.osc, &tally);
	if (fabs(res->a20_dbfs - res->a0_dbfs - LOW_DB) > 2)
		fail("/fx/vol/db %g changed fxd's level by %.1f dB, not %g%s%s",
		     LOW_DB, res->a20_dbfs - res->a0_dbfs, LOW_DB,
		     tally.fails ? "; fxd: " : "", tally.fail_reason);

	/* The steps; the first WARMUP_STEPS are not kept. */
	double lvl[2] = {l20, l0}; /* A^2 at the low and high level */
	int at = 0;                /* index into lvl of where we are */
	int total = rec->nsteps;
	double *onset = calloc((size_t)total, sizeof *onset);
	double *mid = calloc((size_t)total, sizeof *mid);
	double *onset_in = calloc((size_t)total, sizeof *onset_in);
	double *mid_in = calloc((size_t)total, sizeof *mid_in);
	double *onset_dll = calloc((size_t)total, sizeof *onset_dll);
	if (!onset || !mid || !onset_in || !mid_in || !onset_dll)
		fail("out of memory");
	int kept = 0;
	double frame_ns = 1e9 / rate, period_ns = res->period_ms * 1e6;
	double lo_band = fmin(l0, l20) * pow(10, -6.0 / 10);
	double hi_band = fmax(l0, l20) * pow(10, 3.5 / 10);
	double cpu0 = NAN, wall0 = 0;
	for (int k = 0; k < total; k++) {
		check_interrupt();
		if (k == WARMUP_STEPS) {
			cpu0 = cpu_ns(run.fxd.pid);
			wall0 = mono_ns();
			lo_message done = osc_query(&run.osc, &tally,
			                            "/fxd/reset_metrics",
			                            "/fxd/done", 2);
			res->metrics_reset = done != NULL;
			if (done)
				lo_message_free(done);
		}
		int to = 1 - at;
		Step *s = &rec->steps[k];
		s->dir = to ? 1 : -1;
		double from2 = lvl[at], to2 = lvl[to];
		s->onset2 = from2 * pow(10, s->dir * ONSET_DB / 10);
		s->mid2 = sqrt(from2 * to2);
		s->lo2 = lo_band;
		s->hi2 = hi_band;
		atomic_store_explicit(&s->state, 0, memory_order_relaxed);
		atomic_store_explicit(&rec->armed, k + 1, memory_order_release);
		double t_send = mono_ns();
		if (osc_send_raw(&run.osc, to ? msg_hi : msg_lo,
		                 to ? len_hi : len_lo))
			fail("cannot send to 127.0.0.1:%d: %s", port,
			     strerror(errno));
		int state;
		while ((state = atomic_load_explicit(
				&s->state, memory_order_acquire)) < 2 &&
		       mono_ns() - t_send < MISS_S * 1e9) {
			check_interrupt();
			nap(0.0005);
		}
		atomic_store_explicit(&rec->armed, 0, memory_order_release);
		double t_mid = mono_ns();
		if (k >= WARMUP_STEPS) {
			int glitched = atomic_load(&s->glitches);
			res->glitched_samples += glitched;
			res->glitched_steps += glitched > 0;
			res->steps++;
			if (state >= 1) {
				onset[kept] = (s->onset.t_ns - t_send) / 1e6;
				onset_in[kept] = onset[kept] +
				                 s->onset.offset * frame_ns / 1e6;
				onset_dll[kept] = (s->onset.dll_ns - t_send) /
				                  1e6;
			} else {
				onset[kept] = onset_in[kept] = onset_dll[kept] =
					INFINITY;
				res->onset_misses++;
			}
			if (state >= 2) {
				mid[kept] = (s->mid.t_ns - t_send) / 1e6;
				mid_in[kept] = mid[kept] +
				               s->mid.offset * frame_ns / 1e6;
				t_mid = s->mid.t_ns;
			} else {
				mid[kept] = mid_in[kept] = INFINITY;
				res->misses++;
			}
			kept++;
		}
		if (state >= 2) {
			at = to;
			nap_until(t_mid + glide_s * 1e9 + 2 * period_ns + 5e6);
			if (!wait_level(rec, lvl[at], 0.3, 1))
				res->unsettled++;
		} else {
			/* Lost, or far too late: see where the level is now. */
			nap(0.2);
			double l = measure_level2(rec, 4);
			at = fabs(db2(l) - db2(lvl[1])) <
			     fabs(db2(l) - db2(lvl[0]));
		}
		/* At most CHANGES_PER_S changes a second, the rate the
		 * re-render's CPU cost is reported at. */
		nap_until(t_send + 1e9 / CHANGES_PER_S);
		/* The waits above end just after a period: this spreads the
		 * next send over the whole cycle. */
		nap(uniform() * period_ns / 1e9);
		osc_drain(&run.osc, &tally);
	}
	double wall_s = (mono_ns() - wall0) / 1e9;
	res->cpu_ms_per_s = (cpu_ns(run.fxd.pid) - cpu0) / 1e6 / wall_s;
	res->changes_per_s = (total - WARMUP_STEPS) / wall_s;
	free(msg_lo);
	free(msg_hi);

	double *per = malloc((size_t)(kept ? kept : 1) * sizeof *per);
	if (!per)
		fail("out of memory");
	for (int i = 0; i < kept; i++)
		per[i] = onset[i] / res->period_ms;
	res->onset_per = quantiles(per, kept);
	for (int i = 0; i < kept; i++)
		per[i] = mid[i] / res->period_ms;
	res->mid_per = quantiles(per, kept);
	free(per);
	res->onset = quantiles(onset, kept);
	res->mid = quantiles(mid, kept);
	res->onset_in = quantiles(onset_in, kept);
	res->mid_in = quantiles(mid_in, kept);
	res->onset_dll = quantiles(onset_dll, kept);
	free(onset);
	free(mid);
	free(onset_in);
	free(mid_in);
	free(onset_dll);

	fetch_fxd_stats(&run.osc, &tally, res);
	/* Re-rendering: the chunk due next plays the change, so one period,
	 * the glide up to the onset's 1 dB and one chunk's render (fxd's
	 * worker p99). */
	if (rerender)
		res->target_ms =
			res->period_ms + cfg->glide_ms * ONSET_DB / fabs(LOW_DB) +
			(isfinite(res->worker_p99_ms) ? res->worker_p99_ms : 0);
	res->pass = kept > 0 && res->onset.p99 <= res->target_ms;
	res->fails = tally.fails;
	res->xruns = atomic_load(&rec->xruns);
	res->clock_bad = atomic_load(&rec->clock_bad);
	current = NULL;
	run_cleanup(&run);
}

/* ---- output -------------------------------------------------------------- */

/* @p v with @p decimals; "-" for none (NAN), "miss" for infinitely late. */
static void fmt_value(char *buf, size_t size, double v, int decimals)
{
	if (isnan(v))
		snprintf(buf, size, "-");
	else if (!isfinite(v))
		snprintf(buf, size, "miss");
	else
		snprintf(buf, size, "%.*f", decimals, v);
}

static void fmt_ms(char *buf, size_t size, double v)
{
	fmt_value(buf, size, v, 2);
}

static void print_table(const Result *r, int n, double glide_ms)
{
	say("\n%6s %3s %5s %4s %8s %8s %8s %7s %7s %8s %8s %8s  %s\n", "period",
	    "rr", "steps", "miss", "on p50", "on p99", "on max", "p50 per",
	    "p99 per", "mid p50", "mid p99", "target", "result");
	for (int i = 0; i < n; i++) {
		char c[8][32];
		fmt_ms(c[0], sizeof c[0], r[i].onset.p50);
		fmt_ms(c[1], sizeof c[1], r[i].onset.p99);
		fmt_ms(c[2], sizeof c[2], r[i].onset.max);
		fmt_ms(c[3], sizeof c[3], r[i].onset_per.p50);
		fmt_ms(c[4], sizeof c[4], r[i].onset_per.p99);
		fmt_ms(c[5], sizeof c[5], r[i].mid.p50);
		fmt_ms(c[6], sizeof c[6], r[i].mid.p99);
		fmt_ms(c[7], sizeof c[7], r[i].target_ms);
		say("%6d %3s %5d %4d %8s %8s %8s %7s %7s %8s %8s %8s  %s\n",
		    r[i].period, r[i].rerender ? "on" : "off", r[i].steps,
		    r[i].misses, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
		    r[i].pass ? "PASS" : "MISS");
	}
	say("(ms from sending /fx/vol/db to the start of the JACK cycle; 'on' = "
	    "onset, level off the old one by > %g dB; 'mid' = level past the "
	    "dB midpoint, about half the %g ms glide later; per = in periods; "
	    "rr = fxd re-renders the unplayed chunk (on) or runs "
	    "--no-rerender (off); target, for the onset p99: off, 2 periods + "
	    "glide; on, 1 period + the glide to the onset + fxd's worker "
	    "p99)\n",
	    ONSET_DB, glide_ms);
	say("\n%6s %3s %9s %9s %7s %9s %9s %6s %8s %8s %7s %7s\n", "period",
	    "rr", "fxd med", "fxd p99", "fxd n", "ext p50", "ext p99", "xruns",
	    "fxd xrun", "underfl", "glitchy", "unsettl");
	for (int i = 0; i < n; i++) {
		char c[4][32];
		fmt_ms(c[0], sizeof c[0], r[i].knob_median);
		fmt_ms(c[1], sizeof c[1], r[i].knob_p99);
		fmt_ms(c[2], sizeof c[2], r[i].onset.p50);
		fmt_ms(c[3], sizeof c[3], r[i].onset.p99);
		say("%6d %3s %9s %9s %7.0f %9s %9s %6ld %8.0f %8.0f %7ld %7d\n",
		    r[i].period, r[i].rerender ? "on" : "off", c[0], c[1],
		    r[i].knob_count, c[2], c[3], r[i].xruns, r[i].fxd_xruns,
		    r[i].underflows, r[i].glitched_steps, r[i].unsettled);
	}
	say("(fxd med/p99/n: fxd's own knob.median, knob.p99, knob.count from "
	    "/fxd/stats, message arrival to the period the change leaves fxd%s; "
	    "ext: the onset above; xruns: JACK's, seen by this program; "
	    "glitchy: steps with out-of-band samples; unsettl: steps after "
	    "which the level did not settle within 1 s)\n",
	    n && !r[0].metrics_reset ? "; /fxd/reset_metrics unanswered, so "
	                               "they include the warm-up"
	                             : "");
	say("\n%6s %3s %6s %6s %7s %9s %9s %9s %9s %10s\n", "period", "rr",
	    "rr n", "rr lt", "rr skip", "wrk mean", "wrk p99", "changes/s",
	    "cpu ms/s", "+cpu @30/s");
	for (int i = 0; i < n; i++) {
		/* The extra CPU a change costs, from the run with re-rendering
		 * off at the same period (if any), scaled to 30 a second. */
		double extra = NAN;
		for (int j = 0; r[i].rerender && j < n; j++)
			if (!r[j].rerender && r[j].period == r[i].period &&
			    r[i].changes_per_s > 0)
				extra = (r[i].cpu_ms_per_s - r[j].cpu_ms_per_s) /
				        r[i].changes_per_s * CHANGES_PER_S;
		char c[5][32];
		fmt_value(c[0], sizeof c[0], r[i].worker_mean_ms * 1e3, 1);
		fmt_value(c[1], sizeof c[1], r[i].worker_p99_ms * 1e3, 1);
		fmt_value(c[2], sizeof c[2], r[i].changes_per_s, 1);
		fmt_value(c[3], sizeof c[3], r[i].cpu_ms_per_s, 2);
		fmt_value(c[4], sizeof c[4], extra, 2);
		say("%6d %3s %6.0f %6.0f %7.0f %9s %9s %9s %9s %10s\n",
		    r[i].period, r[i].rerender ? "on" : "off", r[i].rr_done,
		    r[i].rr_late, r[i].rr_skipped, c[0], c[1], c[2], c[3], c[4]);
	}
	say("(rr n/lt/skip: fxd's rerender.done, .late, .skipped; wrk: fxd's "
	    "worker chunk time, us; cpu ms/s: fxd's CPU time, all threads, per "
	    "second of the kept steps; +cpu @30/s: on less off at the same "
	    "period, per change, times 30 changes a second: ms of CPU a "
	    "second)\n");
}

/* JSON numbers must be finite. */
static void jnum(FILE *f, const char *key, double v, const char *sep)
{
	if (isfinite(v))
		fprintf(f, "\"%s\": %.6g%s", key, v, sep);
	else
		fprintf(f, "\"%s\": null%s", key, sep);
}

static void jq(FILE *f, const char *key, const Q *q, const char *sep)
{
	fprintf(f, "\"%s\": {", key);
	jnum(f, "p50", q->p50, ", ");
	jnum(f, "p99", q->p99, ", ");
	jnum(f, "max", q->max, ", ");
	jnum(f, "mean_of_detected", q->mean, "");
	fprintf(f, "}%s", sep);
}

static void write_json(FILE *f, const char *mode, const Config *cfg,
                       const Result *r, int n)
{
	fprintf(f, "{\n  \"bench\": \"bench_knob\",\n  \"mode\": \"%s\",\n",
	        mode);
	fprintf(f, "  ");
	jnum(f, "glide_ms", cfg->glide_ms, ",\n");
	fprintf(f,
	        "  \"onset_db\": %g,\n  \"low_db\": %g,\n  \"tone_dbfs\": %g,\n",
	        ONSET_DB, LOW_DB, TONE_DBFS);
	fprintf(f, "  \"units\": \"latencies in ms from t_send (CLOCK_MONOTONIC "
	           "before sendto) to the start of the JACK cycle of the period; "
	           "*_periods in periods; in_period: to the sample in it; "
	           "onset_dll: to JACK's smoothed cycle start; misses count as "
	           "infinite (null where a quantile is one)\",\n");
	fprintf(f, "  \"results\": [\n");
	for (int i = 0; i < n; i++) {
		const Result *x = &r[i];
		fprintf(f,
		        "    {\"period\": %d, \"rerender\": %s, "
		        "\"sample_rate\": %d, \"steps\": %d, "
		        "\"misses\": %d, \"onset_misses\": %d, ",
		        x->period, x->rerender ? "true" : "false", x->rate,
		        x->steps, x->misses, x->onset_misses);
		jnum(f, "period_ms", x->period_ms, ", ");
		jnum(f, "target_ms", x->target_ms, ", ");
		fprintf(f, "\"pass\": %s,\n      ", x->pass ? "true" : "false");
		jq(f, "onset_ms", &x->onset, ", ");
		jq(f, "onset_periods", &x->onset_per, ",\n      ");
		jq(f, "midpoint_ms", &x->mid, ", ");
		jq(f, "midpoint_periods", &x->mid_per, ",\n      ");
		jq(f, "onset_in_period_ms", &x->onset_in, ", ");
		jq(f, "midpoint_in_period_ms", &x->mid_in, ",\n      ");
		jq(f, "onset_dll_ms", &x->onset_dll, ",\n      ");
		fprintf(f, "\"fxd\": {\"answered\": %s, ",
		        x->fxd_stats ? "true" : "false");
		fprintf(f, "\"metrics_reset\": %s, ",
		        x->metrics_reset ? "true" : "false");
		jnum(f, "knob_median_ms", x->knob_median, ", ");
		jnum(f, "knob_p99_ms", x->knob_p99, ", ");
		jnum(f, "knob_count", x->knob_count, ", ");
		jnum(f, "underflows", x->underflows, ", ");
		jnum(f, "late", x->late, ", ");
		jnum(f, "xruns", x->fxd_xruns, ", ");
		jnum(f, "rerender_done", x->rr_done, ", ");
		jnum(f, "rerender_late", x->rr_late, ", ");
		jnum(f, "rerender_skipped", x->rr_skipped, ", ");
		jnum(f, "rerender_unable", x->rr_unable, ", ");
		jnum(f, "worker_mean_ms", x->worker_mean_ms, ", ");
		jnum(f, "worker_p99_ms", x->worker_p99_ms, ", ");
		jnum(f, "cpu_ms_per_s", x->cpu_ms_per_s, ", ");
		jnum(f, "changes_per_s", x->changes_per_s, ", ");
		fprintf(f, "\"fail_replies\": %ld},\n      ", x->fails);
		fprintf(f,
		        "\"jack_xruns\": %ld, \"glitched_steps\": %ld, "
		        "\"glitched_samples\": %ld, \"unsettled\": %d, ",
		        x->xruns, x->glitched_steps, x->glitched_samples,
		        x->unsettled);
		jnum(f, "level_0db_dbfs", x->a0_dbfs, ", ");
		jnum(f, "level_low_dbfs", x->a20_dbfs, ", ");
		fprintf(f,
		        "\"clock\": {\"source\": \"CLOCK_MONOTONIC\", "
		        "\"implausible_cycle_starts\": %ld, ",
		        x->clock_bad);
		fprintf(f, "\"jack_clock\": \"%s\", ", x->jack_clock);
		jnum(f, "jack_minus_monotonic_ms", x->jack_minus_mono_ms, "");
		fprintf(f, "}}%s\n", i + 1 < n ? "," : "");
	}
	fprintf(f, "  ]\n}\n");
}

/* ---- the MIDI mode -------------------------------------------------------- */

#define MIDI_MAP "cc 1 7 = /fx/vol/db -20 0"
#define MIDI_LEVEL 0.5f ///< the constant input

typedef struct {
	int period, rate, steps;
	int freewheel;       ///< 1: judged while JACK freewheeled
	long latency;        ///< fxd:out_1's capture latency, frames
	int misses;          ///< no change found after the CC
	int early;           ///< a change before the CC's frame + 0
	int glitched;        ///< the first change not between the levels
	int gaps;            ///< the window not recorded whole (xruns)
	int not_written;     ///< CCs JACK's MIDI buffer refused
	int not_freewheeled; ///< CCs sent in a realtime cycle (freewheel)
	int exact;           ///< steps whose figure is the latency
	Q frames;            ///< CC to the first changed sample, frames
	double min_frames;   ///< the smallest figure
	int fxd_stats;       ///< /fxd/stats answered
	double fxd_count, fxd_median, fxd_p99, fxd_max, fxd_events,
		fxd_overflows, underflows, fxd_xruns;
	long xruns; ///< JACK xruns seen here
	int pass;   ///< every step measured, max == latency
} MidiResult;

/* The sample recorded at frame time @p t: 1 with *@p v, 0 if none.
 * @p k is a hint: the period index to start from (updated). */
static int tape_at(const Tape *t, long periods, jack_nframes_t at, long *k,
                   float *v)
{
	long i = *k < 0 ? 0 : *k;
	/* Frame times only grow: walk back or forward from the hint. */
	while (i > 0 && (int32_t)(t->ptime[i] - at) > 0)
		i--;
	while (i < periods &&
	       (int32_t)(at - (t->ptime[i] + (jack_nframes_t)t->plen[i])) >= 0)
		i++;
	*k = i;
	if (i >= periods || (int32_t)(at - t->ptime[i]) < 0)
		return 0;
	*v = t->data[t->poff[i] + (long)(at - t->ptime[i])];
	return 1;
}

/* Reads fxd's statistics named in @p keys into @p vals (NAN when absent).
 * Returns 1 if /fxd/stats answered. */
static int fetch_stats(Osc *o, OscTally *t, const char *const *keys,
                       double *vals, int n)
{
	for (int i = 0; i < n; i++)
		vals[i] = NAN;
	lo_message m = osc_query(o, t, "/fxd/stats", "/fxd/stats", 2);
	if (!m)
		return 0;
	const char *types = lo_message_get_types(m);
	lo_arg **argv = lo_message_get_argv(m);
	int argc = lo_message_get_argc(m);
	for (int i = 0; i + 1 < argc; i += 2)
		for (int j = 0; types[i] == 's' && j < n; j++)
			if (!strcmp((const char *)argv[i], keys[j]))
				vals[j] = arg_number(types[i + 1], argv[i + 1]);
	lo_message_free(m);
	return 1;
}

/* fxd:out_1's capture latency once JACK has propagated it (it does so
 * after connections), or one period after 5 s. */
static long port_latency(jack_client_t *c, const char *port, int frames)
{
	double end = mono_ns() + 5e9;
	jack_latency_range_t r = {0, 0};
	for (;;) {
		jack_port_t *p = jack_port_by_name(c, port);
		if (p)
			jack_port_get_latency_range(p, JackCaptureLatency, &r);
		if ((r.min == r.max && r.max > 0 && r.max != (jack_nframes_t)-1) ||
		    mono_ns() > end)
			break;
		check_interrupt();
		nap(0.01);
	}
	return r.min == r.max && r.max > 0 && r.max != (jack_nframes_t)-1
	               ? (long)r.max
	               : frames;
}

static void run_midi(const Config *cfg, int period, MidiResult *res)
{
	static Run run;
	memset(&run, 0, sizeof run);
	run.osc.fd = -1;
	memset(res, 0, sizeof *res);
	char fxd_name[128];
	/* fxd's config file: the chain and the [midi] line. */
	run_dir(&run);
	snprintf(run.conf, sizeof run.conf, "%s/fxd.conf", run.dir);
	FILE *f = fopen(run.conf, "w");
	if (!f ||
	    fprintf(f, "[chain]\nvol:gain db=0\n\n[midi]\n%s\n", MIDI_MAP) < 0 ||
	    fclose(f))
		fail("cannot write %s: %s", run.conf, strerror(errno));
	char *args[] = {"--no-safety", "-f", run.conf, NULL};
	run_up(cfg, period, &run, args, fxd_name, sizeof fxd_name);
	OscTally tally = {0, ""};

	Src *src = &run.src;
	Tape *tape = &run.tape;
	open_two(&run, "bknob-src", &src->client, "bknob-rec", &tape->client);
	src->level = MIDI_LEVEL;
	src->audio = jack_port_register(src->client, "out",
	                                JACK_DEFAULT_AUDIO_TYPE,
	                                JackPortIsOutput, 0);
	src->midi = jack_port_register(src->client, "midi",
	                               JACK_DEFAULT_MIDI_TYPE, JackPortIsOutput,
	                               0);
	tape->port = jack_port_register(
		tape->client, "in", JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
	if (!src->audio || !src->midi || !tape->port ||
	    jack_set_process_callback(src->client, src_process, src) ||
	    jack_set_freewheel_callback(src->client, note_freewheel,
	                                &src->freewheeling) ||
	    jack_set_process_callback(tape->client, tape_process, tape) ||
	    jack_set_xrun_callback(tape->client, tape_xrun, tape) ||
	    jack_activate(src->client) || jack_activate(tape->client))
		fail("cannot set up the JACK clients");
	char a[300], b[300];
	for (int ch = 1; ch <= 2; ch++) {
		snprintf(b, sizeof b, "%s:in_%d", fxd_name, ch);
		connect_or_fail(src->client, "bknob-src:out", b);
	}
	snprintf(b, sizeof b, "%s:midi_in", fxd_name);
	connect_or_fail(src->client, "bknob-src:midi", b);
	snprintf(a, sizeof a, "%s:out_1", fxd_name);
	connect_or_fail(tape->client, a, "bknob-rec:in");

	int rate = (int)jack_get_sample_rate(tape->client);
	int frames = (int)jack_get_buffer_size(tape->client);
	res->period = frames;
	res->rate = rate;
	res->freewheel = !cfg->realtime;
	res->latency = port_latency(tape->client, a, frames);
	if (cfg->server && period != frames)
		say("note: server '%s' runs at %d frames\n", run.server, frames);

	/* The schedule: CC k at a random frame of its period; periods far
	 * enough apart that the window from `settle` frames before a CC to
	 * `settle` after it holds the old level steady, then the change. */
	long glide = lrint(cfg->glide_ms * rate / 1e3);
	long settle = glide + res->latency + 2L * frames;
	long gap = (2 * settle + frames - 1) / frames + 1; /* periods */
	long first = (settle + frames - 1) / frames + 4;
	int n = cfg->steps;
	src->cc = calloc((size_t)n, sizeof *src->cc);
	if (!src->cc)
		fail("out of memory");
	for (int k = 0; k < n; k++) {
		src->cc[k].period = first + k * gap;
		src->cc[k].frame = (int)(uniform() * frames) % frames;
		src->cc[k].value = k & 1 ? 127 : 0; /* -20 dB first */
	}
	src->ncc = n;
	long periods = first + (long)n * gap + (settle + frames - 1) / frames +
	               16;
	tape->pcap = periods + 64;
	tape->cap = tape->pcap * frames;
	tape->data = calloc((size_t)tape->cap, sizeof *tape->data);
	tape->ptime = calloc((size_t)tape->pcap, sizeof *tape->ptime);
	tape->poff = calloc((size_t)tape->pcap, sizeof *tape->poff);
	tape->plen = calloc((size_t)tape->pcap, sizeof *tape->plen);
	if (!tape->data || !tape->ptime || !tape->poff || !tape->plen)
		fail("out of memory for %ld recorded frames", tape->cap);

	/* fxd's fade in is over; its statistics from here on. */
	nap(0.1 + 4.0 * frames / rate);
	lo_message done = osc_query(&run.osc, &tally, "/fxd/reset_metrics",
	                            "/fxd/done", 2);
	if (done)
		lo_message_free(done);
	if (res->freewheel) {
		if (jack_set_freewheel(src->client, 1))
			fail("cannot make JACK freewheel");
		run.freewheeling = 1;
		double end = mono_ns() + 10e9;
		while (atomic_load_explicit(&src->fw_run, memory_order_relaxed) <
		       16) {
			check_interrupt();
			if (mono_ns() > end)
				fail("JACK did not freewheel within 10 s");
			nap(0.001);
		}
	}
	atomic_store_explicit(&tape->on, 1, memory_order_release);
	atomic_store_explicit(&src->armed, 1, memory_order_release);
	/* Until the tape is past the last CC's window (or full). */
	double end = mono_ns() + 60e9 + 2e9 * (double)periods * frames / rate;
	for (;;) {
		check_interrupt();
		long k = atomic_load_explicit(&tape->periods,
		                              memory_order_acquire);
		if (atomic_load_explicit(&src->done, memory_order_acquire) &&
		    k > 0 &&
		    (int32_t)(tape->ptime[k - 1] - (src->cc[n - 1].t_event +
		                                    (jack_nframes_t)settle)) > 0)
			break;
		if (k >= tape->pcap || mono_ns() > end)
			break;
		nap(0.002);
	}
	atomic_store_explicit(&tape->on, 0, memory_order_release);
	if (run.freewheeling) {
		jack_set_freewheel(src->client, 0);
		run.freewheeling = 0;
	}
	long recorded = atomic_load_explicit(&tape->periods,
	                                     memory_order_acquire);
	nap(0.05);

	/* Each CC: the first sample after it that differs from the steady
	 * level `settle` frames before it. */
	double *v = calloc((size_t)n, sizeof *v);
	if (!v)
		fail("out of memory");
	int kept = 0;
	long hint = 0;
	res->min_frames = INFINITY;
	for (int k = 0; k < n; k++) {
		const Cc *c = &src->cc[k];
		res->steps++;
		res->not_written += !c->written;
		if (res->freewheel && !c->fw)
			res->not_freewheeled++;
		if (!c->written || k >= src->next)
			continue;
		float base, y = 0;
		jack_nframes_t t = c->t_event - (jack_nframes_t)settle;
		if (!tape_at(tape, recorded, t, &hint, &base)) {
			res->gaps++;
			continue;
		}
		float to = MIDI_LEVEL * (c->value ? 1.0f : 0.1f);
		int found = 0, gap_seen = 0;
		for (long i = 1; i <= 2 * settle; i++) {
			if (!tape_at(tape, recorded, t + (jack_nframes_t)i,
			             &hint, &y)) {
				gap_seen = 1;
				break;
			}
			if (y != base) {
				t += (jack_nframes_t)i;
				found = 1;
				break;
			}
		}
		if (!found) {
			if (gap_seen)
				res->gaps++;
			else
				res->misses++;
			continue;
		}
		/* The first changed sample lies on the way to the new level. */
		if (!((y - base) * (to - base) > 0 &&
		      fabsf(y - base) <= fabsf(to - base) * 1.001f)) {
			res->glitched++;
			continue;
		}
		int32_t d = (int32_t)(t - c->t_event);
		if (d < 0)
			res->early++;
		res->exact += d == res->latency;
		if (d < res->min_frames)
			res->min_frames = d;
		v[kept++] = d;
	}
	/* A step without a figure counts as infinitely late, unless the
	 * recording has a hole there (an xrun in realtime: not fxd's doing)
	 * or JACK refused to take the CC. */
	int counted = kept + res->misses + res->glitched;
	for (int k = kept; k < counted; k++)
		v[k] = INFINITY;
	res->frames = quantiles(v, counted);
	free(v);
	res->pass = kept > 0 && res->exact == counted &&
	            res->frames.max == res->latency &&
	            (!res->freewheel ||
	             (res->gaps == 0 && res->not_freewheeled == 0));

	static const char *const keys[] = {
		"midi_frames.count", "midi_frames.median",
		"midi_frames.p99",   "midi_frames.max",
		"midi.events",       "midi.overflows",
		"underflows",        "xruns"};
	double vals[NELEM(keys)];
	res->fxd_stats = fetch_stats(&run.osc, &tally, keys, vals, NELEM(keys));
	res->fxd_count = vals[0];
	res->fxd_median = vals[1];
	res->fxd_p99 = vals[2];
	res->fxd_max = vals[3];
	res->fxd_events = vals[4];
	res->fxd_overflows = vals[5];
	res->underflows = vals[6];
	res->fxd_xruns = vals[7];
	res->xruns = atomic_load(&tape->xruns);
	current = NULL;
	run_cleanup(&run);
}

static void fmt_frames(char *buf, size_t size, double v)
{
	fmt_value(buf, size, v, 0);
}

static void print_midi_table(const MidiResult *r, int n)
{
	say("\n%6s %5s %4s %7s %7s %7s %7s %6s %6s  %-9s %7s %7s %7s %7s "
	    "%6s %6s  %s\n",
	    "period", "steps", "miss", "p50", "p99", "max", "min", "latncy",
	    "exact", "judged in", "fxd p50", "fxd p99", "fxd max", "fxd n",
	    "undfl", "xruns", "result");
	for (int i = 0; i < n; i++) {
		const MidiResult *x = &r[i];
		char c[8][32];
		fmt_frames(c[0], sizeof c[0], x->frames.p50);
		fmt_frames(c[1], sizeof c[1], x->frames.p99);
		fmt_frames(c[2], sizeof c[2], x->frames.max);
		fmt_frames(c[3], sizeof c[3], x->min_frames);
		fmt_frames(c[4], sizeof c[4], x->fxd_median);
		fmt_frames(c[5], sizeof c[5], x->fxd_p99);
		fmt_frames(c[6], sizeof c[6], x->fxd_max);
		fmt_frames(c[7], sizeof c[7], x->fxd_count);
		say("%6d %5d %4d %7s %7s %7s %7s %6ld %6d  %-9s %7s %7s %7s %7s "
		    "%6.0f %6ld  %s\n",
		    x->period, x->steps, x->misses + x->glitched, c[0], c[1],
		    c[2], c[3], x->latency, x->exact,
		    x->freewheel ? "freewheel" : "realtime", c[4], c[5], c[6],
		    c[7], x->underflows, x->xruns, x->pass ? "PASS" : "MISS");
		if (x->early || x->glitched || x->gaps || x->not_written ||
		    x->not_freewheeled || x->fxd_overflows > 0)
			say("       (early %d, glitched %d, unrecorded %d, "
			    "refused by JACK %d, not freewheeled %d, fxd midi "
			    "overflows %.0f)\n",
			    x->early, x->glitched, x->gaps, x->not_written,
			    x->not_freewheeled, x->fxd_overflows);
	}
	say("(frames from the CC's frame on fxd:midi_in to the first sample of "
	    "fxd:out_1 that changed; miss: steps where no change, or a change "
	    "off the way to the new level, came, counted as infinitely late; "
	    "steps the recording has a hole at (xruns) are left out; latncy: fxd's port latency, the expected figure; "
	    "exact: steps that equal it; fxd p50/p99/max/n: fxd's own "
	    "midi_frames from /fxd/stats; undfl: fxd's underflows; xruns: "
	    "JACK's, seen here; PASS when every step counted equals the "
	    "latency)\n");
}

static void write_midi_json(FILE *f, const char *mode, const Config *cfg,
                            const MidiResult *r, int n)
{
	fprintf(f,
	        "{\n  \"bench\": \"bench_knob\",\n  \"kind\": \"midi\",\n"
	        "  \"mode\": \"%s\",\n  \"judged_in\": \"%s\",\n",
	        mode, cfg->realtime ? "realtime" : "freewheel");
	fprintf(f, "  ");
	jnum(f, "glide_ms", cfg->glide_ms, ",\n");
	fprintf(f,
	        "  \"mapping\": \"%s\",\n  \"input_level\": %g,\n"
	        "  \"units\": \"frames from the CC's frame on fxd:midi_in to "
	        "the first changed sample of fxd:out_1; steps without a "
	        "figure count as infinite (null where a quantile is one)\",\n",
	        MIDI_MAP, (double)MIDI_LEVEL);
	fprintf(f, "  \"results\": [\n");
	for (int i = 0; i < n; i++) {
		const MidiResult *x = &r[i];
		fprintf(f,
		        "    {\"period\": %d, \"sample_rate\": %d, \"steps\": %d, "
		        "\"freewheel\": %s, \"latency_frames\": %ld, "
		        "\"exact\": %d, \"misses\": %d, \"early\": %d, "
		        "\"glitched\": %d, \"unrecorded\": %d, "
		        "\"refused_by_jack\": %d, \"not_freewheeled\": %d, ",
		        x->period, x->rate, x->steps,
		        x->freewheel ? "true" : "false", x->latency, x->exact,
		        x->misses, x->early, x->glitched, x->gaps,
		        x->not_written, x->not_freewheeled);
		fprintf(f, "\"pass\": %s,\n      \"frames\": {",
		        x->pass ? "true" : "false");
		jnum(f, "p50", x->frames.p50, ", ");
		jnum(f, "p99", x->frames.p99, ", ");
		jnum(f, "max", x->frames.max, ", ");
		jnum(f, "min", x->min_frames, "");
		fprintf(f, "},\n      \"fxd\": {\"answered\": %s, ",
		        x->fxd_stats ? "true" : "false");
		jnum(f, "midi_frames_count", x->fxd_count, ", ");
		jnum(f, "midi_frames_median", x->fxd_median, ", ");
		jnum(f, "midi_frames_p99", x->fxd_p99, ", ");
		jnum(f, "midi_frames_max", x->fxd_max, ", ");
		jnum(f, "midi_events", x->fxd_events, ", ");
		jnum(f, "midi_overflows", x->fxd_overflows, ", ");
		jnum(f, "underflows", x->underflows, ", ");
		jnum(f, "xruns", x->fxd_xruns, "");
		fprintf(f, "}, \"jack_xruns\": %ld}%s\n", x->xruns,
		        i + 1 < n ? "," : "");
	}
	fprintf(f, "  ]\n}\n");
}

static void usage(void)
{
	fprintf(stderr,
	        "usage: bench_knob [--quick] [--json FILE|-] [--periods LIST] "
	        "[--steps N]\n"
	        "                  [--glide-ms MS] [--fxd PATH] [--server NAME]\n"
	        "                  [--rerender on|off|both] "
	        "[--midi [--realtime]]\n");
	exit(2);
}

/* Writes the JSON of a run to @p json (a file, or "-" for stdout).
 * Returns 0, or 1 with a message. */
static int write_json_to(const char *json, const char *mode, const Config *cfg,
                         const void *r, int n)
{
	FILE *f = strcmp(json, "-") ? fopen(json, "w") : stdout;
	if (!f) {
		fprintf(stderr, "bench_knob: %s: %s\n", json, strerror(errno));
		return 1;
	}
	if (cfg->midi)
		write_midi_json(f, mode, cfg, r, n);
	else
		write_json(f, mode, cfg, r, n);
	if (f != stdout && fclose(f)) {
		fprintf(stderr, "bench_knob: %s: %s\n", json, strerror(errno));
		return 1;
	}
	return 0;
}

/* The MIDI mode (--midi): one run per period. */
static int midi_main(const Config *cfg, int quick, const char *json,
                     const int *periods, int nperiods)
{
	say("bench_knob --midi: %s run, %d CCs per period (`%s`, alternating "
	    "0 and 127), glide %g ms, input a constant %g, judged %s\n",
	    quick ? "quick" : "full", cfg->steps, MIDI_MAP, cfg->glide_ms,
	    (double)MIDI_LEVEL,
	    cfg->realtime ? "in realtime (the figures may include xruns and "
	                    "underflows)"
	                  : "while JACK freewheels (exact: the machine's "
	                    "load cannot change it)");
	MidiResult results[MAX_PERIODS];
	for (int i = 0; i < nperiods; i++) {
		if (cfg->server)
			say("server '%s': starting fxd...\n", cfg->server);
		else
			say("period %d: starting jackd and fxd...\n", periods[i]);
		run_midi(cfg, periods[i], &results[i]);
	}
	print_midi_table(results, nperiods);
	return json ? write_json_to(json, quick ? "quick" : "full", cfg,
	                            results, nperiods)
	            : 0;
}

static long parse_long(const char *s, long lo, long hi)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	int quick = 0, steps = -1, periods[MAX_PERIODS], nperiods = 0;
	int modes[2] = {1, 0}, nmodes = 2; ///< re-rendering on, then off
	const char *json = NULL;
	Config cfg = {"./daemon/fxd", NULL, 20, 0, 0, 0};
	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(opt, "--quick")) {
			quick = 1;
			continue;
		}
		if (!strcmp(opt, "--midi")) {
			cfg.midi = 1;
			continue;
		}
		if (!strcmp(opt, "--realtime")) {
			cfg.realtime = 1;
			continue;
		}
		if (!val)
			usage();
		i++;
		if (!strcmp(opt, "--json")) {
			json = val;
		} else if (!strcmp(opt, "--steps")) {
			steps = (int)parse_long(val, 1, 1000000);
		} else if (!strcmp(opt, "--rerender")) {
			nmodes = 1;
			if (!strcmp(val, "on"))
				modes[0] = 1;
			else if (!strcmp(val, "off"))
				modes[0] = 0;
			else if (!strcmp(val, "both"))
				nmodes = 2;
			else
				usage();
		} else if (!strcmp(opt, "--fxd")) {
			cfg.fxd = val;
		} else if (!strcmp(opt, "--server")) {
			cfg.server = val;
		} else if (!strcmp(opt, "--glide-ms")) {
			char *end;
			cfg.glide_ms = strtod(val, &end);
			if (end == val || *end || !(cfg.glide_ms >= 0) ||
			    cfg.glide_ms > 10000)
				usage();
		} else if (!strcmp(opt, "--periods")) {
			char list[256];
			snprintf(list, sizeof list, "%s", val);
			nperiods = 0;
			for (char *save, *tok = strtok_r(list, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save)) {
				if (nperiods == MAX_PERIODS)
					usage();
				periods[nperiods++] = (int)parse_long(tok, 16,
				                                      8192);
			}
			if (!nperiods)
				usage();
		} else {
			usage();
		}
	}
	if (cfg.realtime && !cfg.midi)
		usage();
	if (!nperiods && cfg.midi) {
		periods[0] = 64;
		periods[1] = 256;
		periods[2] = 1024;
		nperiods = 3;
	} else if (!nperiods) {
		periods[0] = 64;
		periods[1] = 256;
		periods[2] = 1024;
		nperiods = 3;
	}
	if (cfg.server)
		nperiods = 1; /* its period, whatever it is */
	cfg.steps = steps > 0 ? steps : quick ? 60 : 400;
	tab = json && !strcmp(json, "-") ? stderr : stdout;

	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	jack_set_error_function(jack_message);
	jack_set_info_function(jack_message);
	setenv("JACK_NO_START_SERVER", "1", 1);
	rng_state = (uint64_t)mono_ns() ^ ((uint64_t)getpid() << 32) ^
	            0x9e3779b97f4a7c15u;
	if (!rng_state)
		rng_state = 1;

	if (!cfg.server && !which("jackd", jackd_bin, sizeof jackd_bin)) {
		fprintf(stderr, "bench_knob: jackd is not on PATH (install "
		                "jackd2), and no --server was given\n");
		return 1;
	}
	char fxd_check[512];
	if (!which(cfg.fxd, fxd_check, sizeof fxd_check) ||
	    access(cfg.fxd, X_OK) != 0) {
		fprintf(stderr,
		        "bench_knob: no fxd at %s (build it, or give "
		        "--fxd PATH)\n",
		        cfg.fxd);
		return 1;
	}

	if (cfg.midi)
		return midi_main(&cfg, quick, json, periods, nperiods);
	say("bench_knob: %s run, %d steps per period, glide %g ms, tone %g "
	    "dBFS, stepping /fx/vol/db between 0 and %g\n",
	    quick ? "quick" : "full", cfg.steps, cfg.glide_ms, TONE_DBFS, LOW_DB);
	Result results[2 * MAX_PERIODS];
	int nresults = 0;
	for (int i = 0; i < nperiods; i++) {
		for (int m = 0; m < nmodes; m++) {
			const char *rr = modes[m] ? "" : " --no-rerender";
			if (cfg.server)
				say("server '%s': starting fxd%s...\n",
				    cfg.server, rr);
			else
				say("period %d: starting jackd and fxd%s...\n",
				    periods[i], rr);
			run_one(&cfg, periods[i], modes[m], &results[nresults++]);
		}
	}
	print_table(results, nresults, cfg.glide_ms);

	return json ? write_json_to(json, quick ? "quick" : "full", &cfg,
	                            results, nresults)
	            : 0;
}
