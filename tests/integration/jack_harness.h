/* SPDX-License-Identifier: ISC */
/* fxd — integration-test harness: a private jackd per test, the fxd daemon
 * and JACK's tools as child processes, and in-process JACK player and
 * recorder clients.
 *
 * Every process the harness starts is stopped by PID, never by name, and
 * gets SIGTERM if the test process dies first (a failed Check test exits
 * at once; jackd leads its own session, so Check's kill of the test's
 * process group would miss it). fx_test_jack_main then gives back what
 * such servers left: /dev/shm files and slots in JACK's shared server
 * registry. Waits poll a condition with short sleeps under a deadline;
 * nothing synchronises on a fixed sleep. A test still running after 35 s
 * ($FX_TEST_STUCK_REPORT; 0 turns it off) prints, once, each of its
 * processes' threads with their state, kernel wait and system call: what
 * a test that Check's timeout then kills leaves to go on.
 *
 * One JACK test program of a user runs at a time (fx_test_jack_lock):
 * JACK's metadata store, a Berkeley DB environment in /dev/shm/jack_db-UID,
 * is one per user, shared by every server and client; every jackd that
 * stops cleanly deletes its files, and the first client a process opens
 * (and each jackd as it starts) opens it. An open while another server
 * deletes it joins region files of two generations: libdb maps one that
 * is still being created, shorter than the older one says, and the client
 * dies of SIGBUS in __memp_open or __mutex_open, or fails ("BDB0126 mmap:
 * Invalid argument") and libjack leaks the environment (exit 1 under
 * LeakSanitizer).
 *
 * A JACK world per test: where it may (root, or CAP_SYS_ADMIN), each of
 * Check's test processes runs in a mount and IPC namespace of its own,
 * with a fresh tmpfs on /dev/shm, entered before it starts or opens
 * anything of JACK's. Its servers, their sockets, semaphores, registry and
 * metadata store are its own and go with it: a server killed in the
 * middle of a write to the store, or one hung at SIGTERM after its test
 * timed out, cannot wedge the clients of later tests nor touch a user's
 * own JACK. (A CI run once lost two whole programs at the end of a
 * distcheck, every test timing out in a JACK call without a word, where
 * the store and the registry were the only things tests shared.)
 * Elsewhere the tests share this user's /dev/shm, one program at a time
 * under the lock, as before.
 *
 * Audio is compared sample for sample only while JACK freewheels
 * (fx_test_freewheel). In realtime the dummy backend, on a loaded machine,
 * runs clients late: a client can read an upstream port buffer of another
 * cycle, or be read while it writes its next one, and its frame time can
 * be the next cycle's. No pairing of periods across clients survives
 * that. Freewheeling, the server runs every client once per cycle in graph
 * order (player, fxd, recorder) and waits for each cycle to finish, and
 * frame times step by exactly one period: a recorded period and the
 * player's period of the same cycle carry the same frame time. Realtime
 * runs are judged only against the counters fxd and JACK keep.
 */
#ifndef FX_JACK_HARNESS_H
#define FX_JACK_HARNESS_H

#include "tests/fxtest.h"

#include <jack/jack.h>
#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

/** Path of the fxd binary under test: $FXD_BIN, else the build tree's. */
const char *fx_test_fxd_bin(void);

/** NULL if the integration tests can run here (jackd and its tools on
 *  PATH), else why not. */
const char *fx_test_jack_missing(void);

/** Runs @p suite like fx_test_run, but prints a TAP skip plan and succeeds
 *  when fx_test_jack_missing says why the tests cannot run. It takes
 *  fx_test_jack_lock first (a TAP bail-out when it cannot). Afterwards it
 *  cleans up after servers that failed tests left behind. */
int fx_test_jack_main(Suite *suite);

/** Seconds fx_test_jack_lock waits: more than any JACK test program takes
 *  (tests/integration/jack_lib.sh's jack_serialise waits as long). */
#define FX_TEST_JACK_LOCK_WAIT 900

/** Holds this user's JACK test lock, /dev/shm/fxd-jack-tests-EUID.lock
 *  (flock), until the process exits, so that no server of another test
 *  program stops (and deletes JACK's metadata store) while this one opens
 *  clients, and the reverse. Waits for it at most FX_TEST_JACK_LOCK_WAIT
 *  s. It is not passed on to what the harness spawns, and sets
 *  $FX_JACK_LOCK_HELD (the path) for children: with that set, an ancestor
 *  holds it and this does nothing. Returns 0, or -1 with the reason on
 *  stderr. */
int fx_test_jack_lock(void);

/** Gives back the slots that dead test servers of this user (names
 *  fxd...; never a server of the user's own) hold in JACK's shared server
 *  registry (8 in all; once they are taken by dead servers no jackd
 *  starts): each such name is started once more and stopped cleanly.
 *  First it deletes JACK's metadata store if no process has it open (a
 *  client that died creating it leaves one that every later client dies
 *  of). Called, under fx_test_jack_lock, before and after a suite runs;
 *  tests/integration/jack_reclaim runs it for the shell tests. Returns the
 *  slots given back. */
int fx_test_jack_reclaim(void);

/** Gives back the slot of the dead server @p name, whoever owns it: starts
 *  it once more and stops it cleanly (for a test that killed its own).
 *  Returns 1 on success. */
int fx_test_jack_reclaim_name(const char *name);

/** Monotonic time in seconds. */
double fx_test_now(void);

/** Sleeps @p seconds (between polls; never as synchronisation). */
void fx_test_nap(double seconds);

/** A fresh directory for one test's logs and files. Returns a malloc'd
 *  path; fx_test_dir_remove deletes the files in it and frees it. */
char *fx_test_dir_new(const char *tag);
void fx_test_dir_remove(char *dir);

/** Writes @p text to @p path (atomically: a temp file then rename).
 *  Returns 0 on success. */
int fx_test_write_file(const char *path, const char *text);

/** Reads a whole file into a malloc'd string (NULL if it cannot). */
char *fx_test_read_file(const char *path);

/** Runs a shell command line with a time limit (it is wrapped in
 *  `timeout`), its stdout and stderr captured into a malloc'd string
 *  (*out, may be NULL). Returns the exit status, 124 on timeout, -1 if it
 *  could not run. */
int fx_test_sh(char **out, double timeout, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- jackd ---------------------------------------------------------- */

typedef struct FxTestServerImpl FxTestServer;

/** Starts `jackd -n NAME --no-realtime -d dummy -r 48000 -p PERIOD` with a
 *  fresh unique name, its output in @p dir, and waits (bounded) until a
 *  client can connect. NULL on failure (the reason goes to stderr). */
FxTestServer *fx_test_server_start(const char *dir, int period);

/** A server with a fresh unique name that is not started yet:
 *  fx_test_server_restart starts it. */
FxTestServer *fx_test_server_new(const char *dir, int period);

/** Waits until a client can connect. Returns 1, or 0 on timeout or when
 *  jackd exited. */
int fx_test_server_wait_ready(FxTestServer *s, double timeout);

/** Stops jackd: SIGTERM and a 5 s wait, then SIGKILL, or SIGKILL at once
 *  when @p sig is SIGKILL. Removes the server's stale /dev/shm files.
 *  Returns 0 if it stopped from @p sig alone. */
int fx_test_server_stop(FxTestServer *s, int sig);

/** Starts jackd (again) under the same name and period and waits until it
 *  is ready. Returns 1 on success. */
int fx_test_server_restart(FxTestServer *s);

const char *fx_test_server_name(const FxTestServer *s);

/** Stops the server if it runs and frees @p s. After a SIGKILL it starts
 *  and cleanly stops the name once more, which gives back its slot in
 *  JACK's shared server registry. NULL is a no-op. */
void fx_test_server_free(FxTestServer *s);

/* ---- the fxd daemon -------------------------------------------------- */

typedef struct FxTestDaemonImpl FxTestDaemon;

/** Starts fxd with JACK_DEFAULT_SERVER=@p server (none if NULL) and
 *  JACK_NO_START_SERVER=1, the NULL-terminated @p args after argv[0], its
 *  stdout and stderr into a log file in @p dir. NULL if it cannot fork. */
FxTestDaemon *fx_test_daemon_start(const char *server, const char *dir,
                                   const char *const *args);

/** Starts another program (argv[0], looked up on PATH; argv
 *  NULL-terminated) the same way, for JACK's tools. */
FxTestDaemon *fx_test_program_start(const char *server, const char *dir,
                                    const char *const *argv);

/** Waits for the log line announcing readiness ("fxd: ready:"). Returns 1,
 *  or 0 on timeout or when fxd exited first. */
int fx_test_daemon_wait_ready(FxTestDaemon *d, double timeout);

/** Waits until @p needle shows in the log after byte @p from. Returns 1,
 *  or 0 on timeout or when fxd exited without printing it. */
int fx_test_daemon_wait_log(FxTestDaemon *d, size_t from, const char *needle,
                            double timeout);

/** Waits for two stats lines after byte @p from (fxd run with
 *  --stats-interval): the main loop logs them after its tick, so the
 *  second one's tick began after the caller's action and saw it (the
 *  links it remembers, the ports that appeared). Fails the test after
 *  10 s each. */
void fx_test_daemon_wait_two_ticks(FxTestDaemon *d, size_t from);

/** The log so far (malloc'd), and its size in bytes. */
char *fx_test_daemon_log(FxTestDaemon *d);
size_t fx_test_daemon_log_size(FxTestDaemon *d);
const char *fx_test_daemon_log_path(const FxTestDaemon *d);

/** Sends @p sig. Returns 0 on success. */
int fx_test_daemon_signal(FxTestDaemon *d, int sig);

/** 1 while fxd runs. */
int fx_test_daemon_running(FxTestDaemon *d);

/** Waits for fxd to exit. Returns its exit code, 128 + signal if a signal
 *  killed it, or -1 on timeout (it is left running). */
int fx_test_daemon_wait_exit(FxTestDaemon *d, double timeout);

/** Kills fxd (SIGKILL) if it still runs, reaps it and frees @p d. */
void fx_test_daemon_free(FxTestDaemon *d);

/** fxd's counters from the last stats summary line in @p log (the one it
 *  prints on exit); a field it did not print stays -1. Returns 1 if a
 *  summary was found. */
typedef struct {
	long long callbacks, chunks, overflows, underflows, late, xruns,
		nonfinite;
} FxTestStats;
int fx_test_parse_stats(const char *log, FxTestStats *st);

/* ---- plain clients ---------------------------------------------------- */

/** Opens a client on @p server (never starting one); JACK's own error
 *  output is muted while it tries. NULL if it cannot connect. */
jack_client_t *fx_test_client_open(const char *server, const char *name);

/** jack_client_close in a helper thread, given up after @p timeout (jack2
 *  issue #395: it can hang after the server went away). Returns 0 if it
 *  closed. */
int fx_test_client_close(jack_client_t *c, double timeout);

/** Waits until @p port exists. Returns 1, or 0 on timeout. */
int fx_test_wait_port(jack_client_t *c, const char *port, double timeout);

/** Waits until ports @p a and @p b are connected (or, with @p connected
 *  0, not). Returns 1, or 0 on timeout. */
int fx_test_wait_connection(jack_client_t *c, const char *a, const char *b,
                            int connected, double timeout);

/** The latency range of @p port in @p mode, or {-1, -1} if no such port. */
jack_latency_range_t fx_test_port_latency(jack_client_t *c, const char *port,
                                          jack_latency_callback_mode_t mode);

/* ---- player and recorder --------------------------------------------- */

typedef struct FxTestPlayerImpl FxTestPlayer;
typedef struct FxTestRecorderImpl FxTestRecorder;

/** A client with @p channels output ports "out_1".. that plays silence
 *  until told to play. Activated. NULL on failure. */
FxTestPlayer *fx_test_player_new(const char *server, const char *name,
                                 int channels);

/** Copies @p frames frames of @p bufs (one per channel) and plays them
 *  from the first period whose frame time is at or after @p start, over
 *  and over when @p loop. A single play then goes on with silence, still
 *  logging its periods, until stopped. Only while idle or stopped. Returns
 *  0 on success. */
int fx_test_player_play(FxTestPlayer *p, const float *const *bufs, long frames,
                        jack_nframes_t start, int loop);

/** fx_test_player_play from the next cycle on, whatever its frame time
 *  (while freewheeling, frame times run far ahead of the clock). */
int fx_test_player_play_now(FxTestPlayer *p, const float *const *bufs,
                            long frames, int loop);

/** Stops playing at the next period (silence from then on). */
void fx_test_player_stop(FxTestPlayer *p);

/** Waits until a single play has reached its end (or stop took effect).
 *  Returns 1, or 0 on timeout. */
int fx_test_player_wait_done(FxTestPlayer *p, double timeout);

/** Frame time (jack_last_frame_time) of the first period played. */
jack_nframes_t fx_test_player_first_frame(const FxTestPlayer *p);

/** Periods since the play started (the first 2^17 are logged). */
long fx_test_player_periods(const FxTestPlayer *p);

/** Logged period @p i: its frame time, the buffer position at its first
 *  frame (past the end after a single play), and its length. Returns 0 if
 *  not logged. */
int fx_test_player_period(const FxTestPlayer *p, long i, jack_nframes_t *time,
                          long *pos, int *frames);

/** 1 if logged period @p i ran while JACK freewheeled. */
int fx_test_player_freewheeling(const FxTestPlayer *p, long i);

/** The logged period that contains frame time @p t, or -1. */
long fx_test_player_find(const FxTestPlayer *p, jack_nframes_t t);

jack_client_t *fx_test_player_client(FxTestPlayer *p);

/** Closes the client (bounded; closing deactivates) and frees. NULL is a
 *  no-op. */
void fx_test_player_free(FxTestPlayer *p);

/** A client with @p channels input ports "in_1".. that can record up to
 *  @p capacity frames per channel. Activated. NULL on failure. */
FxTestRecorder *fx_test_recorder_new(const char *server, const char *name,
                                     int channels, long capacity);

/** Starts recording from the next period, whole periods only, until full
 *  or stopped. Forgets an earlier recording. Only while not recording. */
void fx_test_recorder_start(FxTestRecorder *r);

/** Like fx_test_recorder_start, but the recording begins in the cycle in
 *  which @p p starts its next play (call before fx_test_player_play).
 *  While freewheeling that is the play's first cycle: recorded period k
 *  then ran in the same cycle as the player's period k. */
void fx_test_recorder_start_with(FxTestRecorder *r, const FxTestPlayer *p);

/** Stops recording at the next period. */
void fx_test_recorder_stop(FxTestRecorder *r);

/** Waits until at least @p frames are recorded, or the recording ended.
 *  Returns 1 if @p frames are there, else 0. */
int fx_test_recorder_wait_frames(FxTestRecorder *r, long frames, double timeout);

/** Waits until the recording is full or stopped. Returns 1, or 0 on
 *  timeout. */
int fx_test_recorder_wait_done(FxTestRecorder *r, double timeout);

/** Recorded frames and periods so far. */
long fx_test_recorder_frames(const FxTestRecorder *r);
long fx_test_recorder_periods(const FxTestRecorder *r);

/** Samples of channel @p ch (0-based), fx_test_recorder_frames long. */
const float *fx_test_recorder_data(const FxTestRecorder *r, int ch);

/** Period @p i: its frame time, first frame in the data, and length. */
jack_nframes_t fx_test_recorder_period_time(const FxTestRecorder *r, long i);
long fx_test_recorder_period_offset(const FxTestRecorder *r, long i);
int fx_test_recorder_period_frames(const FxTestRecorder *r, long i);

/** 1 if recorded period @p i ran while JACK freewheeled. */
int fx_test_recorder_freewheeling(const FxTestRecorder *r, long i);

/** While JACK freewheels, holds each cycle to at least 1/@p speed of its
 *  realtime length (0: no limit), so that freewheeled audio lasts long
 *  enough for the daemon's control thread to act on it (a signal, a
 *  reload): the graph still runs without deadlines. The recorder, last in
 *  the graph, waits at the end of its cycle, when the clients before it
 *  are done with theirs (a client that leaves meanwhile is not signalled
 *  by one still inside the cycle). */
void fx_test_recorder_pace(FxTestRecorder *r, double speed);

/** Of the recorded periods from @p from on, the number of runs of whole
 *  periods of silence (all channels zero) after the first sound. A late
 *  recorder can read one silent buffer twice, but each run needs at least
 *  one silent period from upstream: in realtime, each run after fxd's
 *  output started is matched by an underflow fxd counted. */
long fx_test_recorder_silent_runs(const FxTestRecorder *r, long from);

/** 1 if every recorded sample is finite. */
int fx_test_recorder_finite(const FxTestRecorder *r);

/** Closes the client (bounded; closing deactivates) and frees. NULL is a
 *  no-op. */
void fx_test_recorder_free(FxTestRecorder *r);

/** Connects @p src to @p dst through @p c. Returns 0 on success. */
int fx_test_connect(jack_client_t *c, const char *src, const char *dst);

/** Connects @p src to @p dst, retrying until it works (a client's ports
 *  exist before it is active, and JACK refuses those). Returns 1, or 0
 *  on timeout. */
int fx_test_connect_wait(jack_client_t *c, const char *src, const char *dst,
                         double timeout);

/** fx_test_server_start; a server that does not start fails the test,
 *  naming @p dir (its logs). */
FxTestServer *fx_test_server_up(const char *dir, int period);

/** fx_test_daemon_start, then waits until fxd is ready; a daemon that
 *  does not start or get ready in 15 s fails the test, naming its log. */
FxTestDaemon *fx_test_daemon_start_ready(const char *server, const char *dir,
                                         const char *const *args);

/** Starts fxd on @p server in @p dir as `fxd -n NAME` and the NULL-ended
 *  @p extra arguments (NULL: none) and waits until it is ready; a daemon
 *  that does not start or get ready fails the test, naming its log. */
FxTestDaemon *fx_test_fxd_start(const char *server, const char *dir,
                                const char *name, const char *const *extra);

/** Opens a player and a recorder of @p channels on @p server (the
 *  recorder holding @p capacity frames), wires them through the fxd named
 *  @p fxd_name and returns the player's client, for queries; a failure
 *  fails the test. */
jack_client_t *fx_test_io_open(const char *server, const char *fxd_name,
                               int channels, long capacity, FxTestPlayer **play,
                               FxTestRecorder **rec);

/** For k = 1..@p n connects PLAYER:out_k to DAEMON:in_k and DAEMON:out_k
 *  to RECORDER:in_k (either side skipped when NULL), waiting for the
 *  ports and for each connection to show. Returns 0 on success. */
int fx_test_wire(jack_client_t *c, const char *player, const char *daemon,
                 const char *recorder, int n);

/** JACK freewheel mode on or off, asked through client @p c. Returns 0
 *  once the server has switched; by then every client's freewheel
 *  callback (fxd's too) has returned, since the server waits for them
 *  before it runs a cycle the new way. Turning it off restores the
 *  connections saved when it began: if a client left meanwhile (fxd
 *  stopped), leave the server freewheeling until it is stopped, or the
 *  clients that fed it signal a semaphore that is gone (and hang). */
int fx_test_freewheel(jack_client_t *c, int on);

/** No period found (fx_test_player_period_of). */
#define FX_TEST_NO_PERIOD LONG_MIN

/** The player's period that ran @p cycles JACK cycles before recorder
 *  period @p k (0: in the same cycle), found by frame time, or
 *  FX_TEST_NO_PERIOD. Only freewheeled cycles count: the recorder's, the
 *  player's and every one between must have freewheeled, with frame times
 *  one period apart. */
long fx_test_player_period_of(const FxTestRecorder *r, const FxTestPlayer *p,
                              long k, int cycles);

/** Sample @p i of channel @p ch of the player's logged period @p period.
 *  Returns 1 with *v set, or 0 if that period is not logged. */
int fx_test_player_sample(const FxTestPlayer *p, long period, int ch, int i,
                          float *v);

/** Compares recorded period @p k with what @p p played @p cycles JACK
 *  cycles earlier, sample by sample: 1 equal, 0 silent where sound was
 *  due, -1 different, -2 not paired (see fx_test_player_period_of). */
int fx_test_recorded_vs_player(const FxTestRecorder *r, long k,
                               const FxTestPlayer *p, int cycles);

/** Records about @p seconds (whole periods) and waits until it stopped;
 *  fails the test if it cannot. */
void fx_test_record(FxTestRecorder *r, double seconds);

/** Waits until @p p has played @p n periods in a row while JACK
 *  freewheels (fails the test after 20 s). */
void fx_test_wait_freewheeled(const FxTestPlayer *p, long n);

/** Freewheeling (it turns it on and off through @p p's client), plays
 *  @p bufs (@p frames per channel) once and records from the play's first
 *  cycle until at least @p periods are recorded. Fails the test unless
 *  recorded period k and the player's period k ran in the same cycle (the
 *  same frame time), one period after the other, all freewheeling. */
void fx_test_freewheel_play(FxTestPlayer *p, FxTestRecorder *r,
                            const float *const *bufs, long frames, long periods);

/** Freewheeling (on and off through @p p's client), records about
 *  @p seconds of what @p p's running play makes of it, from once @p p has
 *  played @p warmup periods freewheeling (fxd's latency or more, so that
 *  every recorded period pairs with a freewheeled input). */
void fx_test_record_freewheeling(FxTestPlayer *p, FxTestRecorder *r,
                                 double seconds, long warmup);

/** The gain of recorded period @p k of channel 0 against what @p p played
 *  @p cycles JACK cycles earlier (fxd's latency): <y, x> / <x, x>. NAN if
 *  not paired (see fx_test_player_period_of). */
double fx_test_period_gain(const FxTestRecorder *r, const FxTestPlayer *p,
                           long k, int cycles);

/* ---- MIDI sender and listener ------------------------------------------
 * A client with a MIDI output port "midi_out" that writes scheduled events
 * at chosen frames of chosen periods (counted by its own process
 * callback), and a MIDI input port "midi_in" that logs what reaches it
 * with frame times. Connect one side per client: a client wired both to
 * and from fxd would close a loop in the graph, and JACK would order it
 * after fxd. */

typedef struct FxTestMidiImpl FxTestMidi;

/** One event to send: @p size bytes of @p data at frame @p frame of the
 *  schedule's period @p period (0: the first cycle after
 *  fx_test_midi_send). */
typedef struct {
	long period;
	int frame;
	int size;
	const uint8_t *data;
} FxTestMidiEvent;

/** A MIDI client that logs up to @p capacity received events. Activated.
 *  NULL on failure. */
FxTestMidi *fx_test_midi_new(const char *server, const char *name, long capacity);

/** Copies the @p n events of @p ev (sorted by period, then frame) and
 *  writes them from the next cycle on. Only while idle (no schedule, or
 *  the last one sent). Returns 0 on success. */
int fx_test_midi_send(FxTestMidi *m, const FxTestMidiEvent *ev, int n);

/** Waits until the schedule's last period has run. Returns 1, or 0 on
 *  timeout. */
int fx_test_midi_wait_sent(FxTestMidi *m, double timeout);

/** Frame time (jack_last_frame_time) and freewheeling of the schedule's
 *  period @p k, and the events of it that JACK took (@p written may be
 *  NULL). Returns 0 if that period has not run. */
int fx_test_midi_period(const FxTestMidi *m, long k, jack_nframes_t *time,
                        int *freewheeling, int *written);

/** Events of the last schedule that JACK took, and that it refused (a
 *  full port buffer: jack_midi_event_write failed). */
long fx_test_midi_written(const FxTestMidi *m);
long fx_test_midi_refused(const FxTestMidi *m);

/** Forgets what was received and logs from the next cycle on. */
void fx_test_midi_listen(FxTestMidi *m);

/** Events received since fx_test_midi_listen (at most the capacity). */
long fx_test_midi_received(const FxTestMidi *m);

/** Received event @p i: its frame time (the period's plus its offset), its
 *  length and up to @p max of its first bytes. Returns the bytes copied,
 *  or -1 if there is no event @p i. */
int fx_test_midi_event(const FxTestMidi *m, long i, jack_nframes_t *time,
                       int *size, uint8_t *bytes, int max);

jack_client_t *fx_test_midi_client(FxTestMidi *m);

/** Closes the client (bounded) and frees. NULL is a no-op. */
void fx_test_midi_free(FxTestMidi *m);

/** Waits until @p m holds @p n received events. Returns 1, or 0 on
 *  timeout. */
int fx_test_midi_wait_received(const FxTestMidi *m, long n, double timeout);

/** fxd with MIDI under test: its server, fxd (1 channel, `--no-safety`,
 *  presets in @p dir), a player and a recorder on its audio, a MIDI sender
 *  into NAME:midi_in and a listener on NAME:midi_out. The player plays
 *  silence until a test plays something. */
typedef struct {
	char *dir; ///< the test's files: logs, config, presets
	FxTestServer *srv;
	char name[64]; ///< fxd's client name
	FxTestDaemon *fxd;
	FxTestPlayer *pl;
	FxTestRecorder *rc;
	FxTestMidi *snd;    ///< wired to NAME:midi_in
	FxTestMidi *lis;    ///< wired from NAME:midi_out
	jack_client_t *ctl; ///< the player's client, for queries
	int period;
	unsigned latency; ///< what fxd's audio ports report, in frames
	int osc_port;     ///< fxd's OSC port (UDP, 127.0.0.1)
} FxTestMidiRig;

/** Starts a rig on a fresh `-p @p period` server: fxd runs the config
 *  `[chain]` @p chain, `[midi]` @p midi (lines; "" none), the recorder
 *  holds @p capacity frames, the listener 4096 events. Returns once the
 *  MIDI is wired and fxd's ports agree on their latency; any failure
 *  fails the test. */
FxTestMidiRig *fx_test_midi_rig_up(int period, const char *chain,
                                   const char *midi, long capacity);

/** Stops the rig's fxd, which must still run, cleanly (SIGTERM, exit 0).
 *  Returns its log (malloc'd). */
char *fx_test_midi_rig_stop(FxTestMidiRig *r);

/** Frees the rig (fxd killed if it still runs) and removes its files. */
void fx_test_midi_rig_free(FxTestMidiRig *r);

/** Path of the fxctl beside the fxd under test (fx_test_fxd_bin's
 *  ../clients/fxctl). */
const char *fx_test_fxctl_bin(void);

/** Runs `fxctl --port @p port @p args` (shell words) with a 10 s limit.
 *  Returns its exit status, its output in *@p out (malloc'd, may be
 *  NULL). */
int fx_test_fxctl(int port, char **out, const char *args);

/** fxd's OSC port, from its ready line ("..., osc udp 127.0.0.1:PORT"),
 *  or -1. */
int fx_test_osc_port(FxTestDaemon *d);

/** The integer that follows @p key in fxd's last stats summary line in
 *  @p log (as fx_test_parse_stats reads it: "midi overflows 3"), or -1
 *  when the line or the key is missing. */
long long fx_test_stats_value(const char *log, const char *key);

#endif
