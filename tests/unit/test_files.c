/* SPDX-License-Identifier: ISC */
/* Files written whole and read with care (daemon/base/safefile.h), and the
 * preset and state files (daemon/engine/persist.h) on top of it, without JACK: an engine whose worker never runs, a control over
 * it, and real files in a private directory. Links planted where a
 * temporary file could be, FIFOs, directories and devices at the target,
 * NUL bytes, state files cut at every byte, a byte changed, and the state
 * judged against the configured chain. */
#define _GNU_SOURCE
#include "tests/fxtest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "daemon/engine/control.h"
#include "daemon/engine/engine.h"
#include "daemon/engine/persist.h"
#include "daemon/base/safefile.h"

static const char CHAIN[] = "dly:delay time=350 mix=0.2 | vol:gain db=-3";

/* ---- helpers --------------------------------------------------------------- */

typedef struct {
	char dir[64], presets[96], state[96];
	FxEngine *e;
	FxControl *c;
} Rig;

static Rig *rig_new(const char *chain)
{
	Rig *r = calloc(1, sizeof *r);
	ck_assert_ptr_nonnull(r);
	snprintf(r->dir, sizeof r->dir, "/tmp/fxd-test-files-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(r->dir));
	snprintf(r->presets, sizeof r->presets, "%s/presets", r->dir);
	snprintf(r->state, sizeof r->state, "%s/state", r->dir);
	ck_assert_int_eq(mkdir(r->presets, 0755), 0);
	FxChainSpec spec = fx_test_spec(chain);
	FxEngineConfig ec = fx_engine_config_default();
	ec.period = 256;
	FxStatus st;
	r->e = fx_engine_new(&ec, &spec, &st);
	ck_assert_msg(r->e, "fx_engine_new: %s", fx_strerror(st));
	fx_engine_set_worker_running(r->e, 0);
	FxControlConfig cc = {.preset_dir = r->presets, .state_file = r->state};
	r->c = fx_control_new(r->e, &cc);
	ck_assert_ptr_nonnull(r->c);
	return r;
}

static int remove_one(const char *path, const struct stat *st, int flag,
                      struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void rig_free(Rig *r)
{
	fx_control_free(r->c);
	fx_engine_free(r->e);
	nftw(r->dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	free(r);
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
}

/* The whole file (NULs and all) and its length. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	char *buf = malloc(1 << 21);
	ck_assert_ptr_nonnull(buf);
	size_t n = fread(buf, 1, (1 << 21) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static mode_t kind_of(const char *path)
{
	struct stat sb;
	ck_assert_int_eq(lstat(path, &sb), 0);
	return sb.st_mode & S_IFMT;
}

/* Entries of @p dir whose names hold @p part. */
static int count_names(const char *dir, const char *part)
{
	DIR *d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	int n = 0;
	for (struct dirent *de; (de = readdir(d));)
		n += strstr(de->d_name, part) != NULL;
	closedir(d);
	return n;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static char *format(const FxChainSpec *spec)
{
	size_t n = fx_spec_format(spec, NULL, 0) + 1;
	char *s = malloc(n);
	ck_assert_ptr_nonnull(s);
	fx_spec_format(spec, s, n);
	return s;
}

/* ---- presets ---------------------------------------------------------------- */

/* The old save opened "x.fxchain.tmp" with O_TRUNC and followed a link
 * planted there: anything the daemon could write was overwritten. */
START_TEST(preset_save_does_not_follow_a_planted_link)
{
	Rig *r = rig_new(CHAIN);
	char victim[128], link_path[160], preset[160], err[512] = "";
	snprintf(victim, sizeof victim, "%s/victim", r->dir);
	snprintf(link_path, sizeof link_path, "%s/x.fxchain.tmp", r->presets);
	snprintf(preset, sizeof preset, "%s/x.fxchain", r->presets);
	write_file(victim, "precious\n", 9);
	ck_assert_int_eq(symlink(victim, link_path), 0);

	ck_assert_msg(fx_control_preset_save(r->c, "x", err, sizeof err) == FX_OK,
	              "%s", err);
	char *text = slurp(victim, NULL);
	ck_assert_str_eq(text, "precious\n");
	free(text);
	ck_assert_int_eq(kind_of(link_path), S_IFLNK);
	ck_assert_int_eq(kind_of(preset), S_IFREG);
	text = slurp(preset, NULL);
	ck_assert_msg(strstr(text, "dly:delay time=350") != NULL, "%s", text);
	free(text);
	ck_assert_int_eq(count_names(r->presets, ".tmp-"), 0);
	rig_free(r);
}
END_TEST

/* A long chain: 32 slots, long labels, numbers of 17 digits. */
START_TEST(preset_of_a_long_chain_round_trips)
{
	char chain[32 * 400] = "";
	for (int s = 0; s < 32; s++) {
		char slot[400];
		snprintf(slot, sizeof slot,
		         "%sdelay_number_%02d_of_thirty_two:delay time=333.33333333333331 "
		         "feedback=0.30000001192092896 mix=0.30000001192092896",
		         s ? " | " : "", s);
		strcat(chain, slot);
	}
	Rig *r = rig_new(chain);
	FxChainSpec before, after;
	fx_control_get_spec(r->c, &before);
	char err[512] = "";
	ck_assert_msg(fx_control_preset_save(r->c, "long", err, sizeof err) ==
	                      FX_OK,
	              "%s", err);
	fx_control_swap(r->c, &(FxChainSpec){0}, NULL, 0);
	ck_assert_msg(fx_control_preset_load(r->c, "long", err, sizeof err) ==
	                      FX_OK,
	              "%s", err);
	fx_control_get_spec(r->c, &after);
	char *a = format(&before), *b = format(&after);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	rig_free(r);
}
END_TEST

/* A FIFO, a directory, a symbolic link and (when one can be made) a
 * device at a preset's or the state file's name: refused with one line
 * that names it, left as it was, no temporary file left behind. */
START_TEST(saves_refuse_what_is_not_a_regular_file)
{
	Rig *r = rig_new(CHAIN);
	char path[160], err[512];
	struct {
		const char *name;
		const char *kind;
		mode_t type;
	} cases[] = {
		{"fifo", "a FIFO", S_IFIFO},
		{"dir", "a directory", S_IFDIR},
		{"link", "a symbolic link", S_IFLNK},
		{"null", "a character device", S_IFCHR},
	};
	char target[128];
	snprintf(target, sizeof target, "%s/target", r->dir);
	write_file(target, "kept\n", 5);
	int tried = 0;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(path, sizeof path, "%s/%s.fxchain", r->presets,
		         cases[i].name);
		int made = cases[i].type == S_IFIFO   ? mkfifo(path, 0644)
		           : cases[i].type == S_IFDIR ? mkdir(path, 0755)
		           : cases[i].type == S_IFLNK
		                   ? symlink(target, path)
		                   : mknod(path, S_IFCHR | 0666, makedev(1, 3));
		if (made != 0) {
			ck_assert_int_eq(cases[i].type, S_IFCHR); /* not root */
			continue;
		}
		tried++;
		err[0] = '\0';
		ck_assert_int_ne(fx_control_preset_save(r->c, cases[i].name,
		                                        err, sizeof err),
		                 FX_OK);
		ck_assert_msg(strstr(err, cases[i].kind) &&
		                      strstr(err, "not a regular file") &&
		                      strstr(err, path),
		              "%s: %s", cases[i].name, err);
		ck_assert_ptr_null(strchr(err, '\n'));
		ck_assert_int_eq(kind_of(path), cases[i].type);
	}
	ck_assert_int_ge(tried, 3);
	char *text = slurp(target, NULL);
	ck_assert_str_eq(text, "kept\n");
	free(text);
	ck_assert_int_eq(count_names(r->presets, ".tmp"), 0);

	/* The state file: a FIFO stays a FIFO, the failure is reported. */
	FxControlConfig cc = {.preset_dir = r->presets};
	snprintf(path, sizeof path, "%s/state.fifo", r->dir);
	ck_assert_int_eq(mkfifo(path, 0644), 0);
	cc.state_file = path;
	FxControl *c = fx_control_new(r->e, &cc);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(fx_control_set_bpm(c, 133), FX_OK);
	err[0] = '\0';
	ck_assert_int_eq(fx_control_save_state(c, 1, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "a FIFO, not a regular file"), "%s", err);
	ck_assert_int_eq(kind_of(path), S_IFIFO);
	ck_assert_int_eq(count_names(r->dir, ".tmp"), 0);
	fx_control_free(c);
	rig_free(r);
}
END_TEST

/* A FIFO with no writer at a preset's or the state file's name is refused
 * at once (the old reader blocked in fopen, and Check's timeout ended the
 * test); a NUL byte is refused at its line and column. */
START_TEST(reads_never_block_and_refuse_nul_bytes)
{
	Rig *r = rig_new(CHAIN);
	char path[160], err[512] = "";
	snprintf(path, sizeof path, "%s/fifo.fxchain", r->presets);
	ck_assert_int_eq(mkfifo(path, 0644), 0);
	double t0 = now_s();
	ck_assert_int_eq(fx_control_preset_load(r->c, "fifo", err, sizeof err),
	                 FX_ERR_INVALID);
	ck_assert_msg(strstr(err, "is a FIFO, not a regular file"), "%s", err);
	FxChainSpec spec;
	double bpm = 0;
	ck_assert_int_eq(fx_state_read(path, &spec, &bpm, err, sizeof err),
	                 FX_ERR_INVALID);
	ck_assert_msg(strstr(err, "is a FIFO"), "%s", err);
	fprintf(stderr, "# refused two FIFOs in %.3f s\n", now_s() - t0);

	/* Text after a NUL byte must not be ignored. */
	static const char nul_preset[] = "vol:gain db=-3\n| \0 bogus:stuff\n";
	snprintf(path, sizeof path, "%s/nul.fxchain", r->presets);
	write_file(path, nul_preset, sizeof nul_preset - 1);
	ck_assert_int_eq(fx_control_preset_load(r->c, "nul", err, sizeof err),
	                 FX_ERR_SYNTAX);
	char want[256];
	snprintf(want, sizeof want, "%s:2:3: a NUL byte", path);
	ck_assert_msg(strstr(err, want), "%s", err);

	static const char nul_state[] = "fxd-state 1\nbpm 120\n"
					"chain vol:gain db=-3\n\0"
					"chain vol:gain db=-60\n";
	write_file(r->state, nul_state, sizeof nul_state - 1);
	ck_assert_int_ne(fx_state_read(r->state, &spec, &bpm, err, sizeof err),
	                 FX_OK);
	snprintf(want, sizeof want, "%s:4:1: a NUL byte", r->state);
	ck_assert_msg(strstr(err, want), "%s", err);

	/* Too large, and missing. */
	size_t big = (1u << 20) + 1;
	char *junk = malloc(big);
	ck_assert_ptr_nonnull(junk);
	memset(junk, 'a', big);
	snprintf(path, sizeof path, "%s/big.fxchain", r->presets);
	write_file(path, junk, big);
	free(junk);
	ck_assert_int_eq(fx_control_preset_load(r->c, "big", err, sizeof err),
	                 FX_ERR_RANGE);
	ck_assert_msg(strstr(err, "larger than 1 MiB"), "%s", err);
	ck_assert_int_eq(fx_control_preset_load(r->c, "gone", err, sizeof err),
	                 FX_ERR_IO);
	ck_assert_str_eq(err, "no preset 'gone'");
	rig_free(r);
}
END_TEST

/* ---- the state file --------------------------------------------------------- */

static char *saved_state(Rig *r, size_t *len)
{
	char err[512] = "";
	ck_assert_int_eq(fx_control_set_param(r->c, 1, 0, -7, NULL, 0), FX_OK);
	ck_assert_msg(fx_control_save_state(r->c, 1, err, sizeof err) == 0,
	              "%s", err);
	return slurp(r->state, len);
}

/* Cut after any byte, the state file is not read as good: the old reader
 * took "dly:delay time=35" from a file cut in the middle of "350" and
 * dropped the slots after it. */
START_TEST(state_file_cut_anywhere_is_refused)
{
	Rig *r = rig_new(CHAIN);
	size_t len;
	char *whole = saved_state(r, &len);
	char *cut35 = strstr(whole, "time=35");
	ck_assert_ptr_nonnull(cut35);
	FxChainSpec spec;
	double bpm;
	char err[512];
	ck_assert_int_eq(fx_state_read(r->state, &spec, &bpm, err, sizeof err),
	                 FX_OK);
	ck_assert_double_eq(spec.slots[1].values[0], -7);
	int refused = 0;
	for (size_t n = 0; n < len; n++) {
		write_file(r->state, whole, n);
		err[0] = '\0';
		FxStatus st = fx_state_read(r->state, &spec, &bpm, err,
		                            sizeof err);
		ck_assert_msg(st != FX_OK,
		              "cut after %zu of %zu bytes: read as "
		              "good",
		              n, len);
		ck_assert_msg(*err && !strchr(err, '\n'), "cut after %zu: '%s'",
		              n, err);
		refused++;
	}
	/* The example of the issue, with the reason. */
	write_file(r->state, whole, (size_t)(cut35 - whole) + 7);
	ck_assert_int_ne(fx_state_read(r->state, &spec, &bpm, err, sizeof err),
	                 FX_OK);
	ck_assert_msg(strstr(err, "cut short"), "%s", err);
	fprintf(stderr, "# %d cuts of a %zu-byte state file refused\n", refused,
	        len);
	free(whole);
	rig_free(r);
}
END_TEST

/* One byte changed anywhere before the end line: the checksum says so. */
START_TEST(state_file_with_a_byte_changed_is_refused)
{
	Rig *r = rig_new(CHAIN);
	size_t len;
	char *whole = saved_state(r, &len);
	char *end = strstr(whole, "\nend ");
	ck_assert_ptr_nonnull(end);
	FxChainSpec spec;
	double bpm;
	char err[512];
	char *at = strstr(whole, "time=350");
	ck_assert_ptr_nonnull(at);
	at[6] = '6'; /* time=360: still a good chain */
	write_file(r->state, whole, len);
	ck_assert_int_ne(fx_state_read(r->state, &spec, &bpm, err, sizeof err),
	                 FX_OK);
	ck_assert_msg(strstr(err, "damaged"), "%s", err);
	at[6] = '5';
	/* Every byte before the end line, each changed once. */
	for (size_t i = 0; i <= (size_t)(end - whole); i++) {
		char keep = whole[i];
		whole[i] = keep == 'x' ? 'y' : 'x';
		write_file(r->state, whole, len);
		ck_assert_msg(fx_state_read(r->state, &spec, &bpm, err,
		                            sizeof err) != FX_OK,
		              "byte %zu changed: read as good", i);
		whole[i] = keep;
	}
	write_file(r->state, whole, len);
	ck_assert_int_eq(fx_state_read(r->state, &spec, &bpm, err, sizeof err),
	                 FX_OK);
	free(whole);
	rig_free(r);
}
END_TEST

/* The state is restored only under the configured chain it was saved
 * under; anything else is said in one line. */
START_TEST(state_is_restored_only_under_its_configured_chain)
{
	Rig *r = rig_new(CHAIN);
	FxChainSpec configured = fx_test_spec(CHAIN);
	FxChainSpec edited = fx_test_spec(
		"dly:delay time=350 mix=0.2 | vol:gain db=-6");
	static FxState state;
	char why[768] = "";
	ck_assert_int_eq(fx_state_restore_check(r->state, &configured, &state,
	                                        why, sizeof why),
	                 FX_STATE_MISSING);
	ck_assert_msg(strstr(why, "no state in"), "%s", why);

	free(saved_state(r, NULL));
	ck_assert_int_eq(fx_state_restore_check(r->state, &configured, &state,
	                                        why, sizeof why),
	                 FX_STATE_RESTORE);
	ck_assert_int_eq(state.has_config, 1);
	ck_assert_double_eq(state.spec.slots[1].values[0], -7);
	ck_assert_int_eq(fx_state_restore_check(r->state, &edited, &state, why,
	                                        sizeof why),
	                 FX_STATE_CONFIG_CHANGED);
	ck_assert_msg(strstr(why, "configured chain changed"), "%s", why);
	ck_assert_ptr_null(strchr(why, '\n'));

	/* After a reload of the edited config the state is saved under it. */
	fx_control_set_config_chain(r->c, &edited);
	char err[512] = "";
	ck_assert_int_eq(fx_control_save_state(r->c, 1, err, sizeof err), 0);
	ck_assert_int_eq(fx_state_restore_check(r->state, &edited, &state, why,
	                                        sizeof why),
	                 FX_STATE_RESTORE);
	ck_assert_int_eq(fx_state_restore_check(r->state, &configured, &state,
	                                        why, sizeof why),
	                 FX_STATE_CONFIG_CHANGED);

	/* A file of an older fxd is read, but not restored. */
	static const char old[] = "fxd-state 1\nbpm 97.5\nchain vol:gain db=-3\n";
	write_file(r->state, old, sizeof old - 1);
	ck_assert_int_eq(fx_state_restore_check(r->state, &configured, &state,
	                                        why, sizeof why),
	                 FX_STATE_UNVERIFIED);
	ck_assert_msg(strstr(why, "older fxd"), "%s", why);

	write_file(r->state, old, 20);
	ck_assert_int_eq(fx_state_restore_check(r->state, &configured, &state,
	                                        why, sizeof why),
	                 FX_STATE_DAMAGED);
	ck_assert_msg(strstr(why, "cannot restore the state"), "%s", why);
	rig_free(r);
}
END_TEST

/* The tempo is written as the shortest text that reads back as it: 93.3
 * was "bpm 93.299999999999997" with %.17g. */
START_TEST(state_file_writes_the_tempo_as_sent)
{
	Rig *r = rig_new(CHAIN);
	ck_assert_int_eq(fx_control_set_bpm(r->c, 93.3), FX_OK);
	char err[512] = "";
	ck_assert_msg(fx_control_save_state(r->c, 1, err, sizeof err) == 0,
	              "%s", err);
	char *text = slurp(r->state, NULL);
	ck_assert_msg(strstr(text, "\nbpm 93.3\n"), "the state file:\n%s", text);
	FxChainSpec spec;
	double bpm = 0;
	ck_assert_int_eq(fx_state_read(r->state, &spec, &bpm, err, sizeof err),
	                 FX_OK);
	ck_assert_double_eq(bpm, 93.3);
	free(text);
	rig_free(r);
}
END_TEST

/* Three failures told apart by the status (persist.h): no file, a file
 * that cannot be read, and one read but not a whole state file. fxd says
 * "no state yet" only for the first. */
START_TEST(state_read_tells_missing_unreadable_and_damaged_apart)
{
	Rig *r = rig_new(CHAIN);
	FxChainSpec spec;
	double bpm = 0;
	char err[512] = "", want[256];
	ck_assert_int_eq(fx_state_read(r->state, &spec, &bpm, err, sizeof err),
	                 FX_ERR_IO);
	snprintf(want, sizeof want, "no state file '%s'", r->state);
	ck_assert_str_eq(err, want);

	/* A directory where the file should be, and a path under a file. */
	ck_assert_int_eq(mkdir(r->state, 0755), 0);
	ck_assert_int_eq(fx_state_read(r->state, &spec, &bpm, err, sizeof err),
	                 FX_ERR_INVALID);
	ck_assert_msg(strstr(err, "a directory"), "%s", err);
	ck_assert_int_eq(rmdir(r->state), 0);
	char under[160];
	write_file(r->state, "x", 1);
	snprintf(under, sizeof under, "%s/state", r->state);
	ck_assert_int_eq(fx_state_read(under, &spec, &bpm, err, sizeof err),
	                 FX_ERR_INVALID);
	ck_assert_msg(strstr(err, "Not a directory"), "%s", err);
	static FxState state;
	char why[768];
	ck_assert_int_eq(
		fx_state_restore_check(under, &spec, &state, why, sizeof why),
		FX_STATE_DAMAGED);

	/* Read, but not a state file. */
	ck_assert_int_eq(fx_state_read(r->state, &spec, &bpm, err, sizeof err),
	                 FX_ERR_SYNTAX);
	ck_assert_msg(strstr(err, "not an fxd state file"), "%s", err);
	rig_free(r);
}
END_TEST

/* mkdir -p for the preset directory, and its failure in one line. */
START_TEST(preset_dir_is_made_on_save)
{
	Rig *r = rig_new(CHAIN);
	char dir[160], err[512] = "";
	snprintf(dir, sizeof dir, "%s/a/b/c/", r->dir);
	ck_assert_int_eq(fx_make_dirs(dir, err, sizeof err), FX_OK);
	ck_assert_int_eq(kind_of(dir), S_IFDIR);
	ck_assert_int_eq(fx_make_dirs(dir, err, sizeof err), FX_OK);
	snprintf(dir, sizeof dir, "%s/file", r->dir);
	write_file(dir, "x", 1);
	snprintf(dir, sizeof dir, "%s/file/sub", r->dir);
	ck_assert_int_eq(fx_make_dirs(dir, err, sizeof err), FX_ERR_IO);
	ck_assert_msg(strstr(err, "cannot create") && strstr(err, dir), "%s",
	              err);
	rig_free(r);
}
END_TEST

/* ---- the module ------------------------------------------------------------- */

START_TEST(safe_file_modes_and_names)
{
	Rig *r = rig_new(CHAIN);
	char path[160], err[512] = "";
	snprintf(path, sizeof path, "%s/out.txt", r->dir);
	mode_t old_mask = umask(027);
	FxStatus st;
	FxSafeFile *f = fx_safe_file_new(path, "test file", 0666, 0, &st, err,
	                                 sizeof err);
	ck_assert_msg(f != NULL, "%s", err);
	struct stat sb;
	ck_assert_int_eq(fstat(fx_safe_file_fd(f), &sb), 0);
	ck_assert_int_eq(sb.st_mode & 07777, 0600);
	ck_assert_int_eq(count_names(r->dir, ".out.txt.tmp-"), 1);
	ck_assert_int_ne(access(path, F_OK), 0);
	ck_assert_int_eq(fx_safe_file_write(f, "new\n", 4, err, sizeof err),
	                 FX_OK);
	ck_assert_int_eq(fx_safe_file_commit(f, err, sizeof err), FX_OK);
	fx_safe_file_free(f);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 07777, 0640); /* 0666 less the umask */
	ck_assert_int_eq(count_names(r->dir, ".tmp-"), 0);
	umask(old_mask);

	/* A file replaced keeps its mode. */
	ck_assert_int_eq(chmod(path, 0604), 0);
	ck_assert_int_eq(fx_safe_file_save(path, "test file", "newer\n", 6,
	                                   0666, err, sizeof err),
	                 FX_OK);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 07777, 0604);
	char *text = slurp(path, NULL);
	ck_assert_str_eq(text, "newer\n");
	free(text);

	/* Given up before the commit: nothing is left. */
	f = fx_safe_file_new(path, "test file", 0666, 0, &st, err, sizeof err);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fx_safe_file_write(f, "lost\n", 5, err, sizeof err),
	                 FX_OK);
	fx_safe_file_free(f);
	ck_assert_int_eq(count_names(r->dir, ".tmp-"), 0);
	text = slurp(path, NULL);
	ck_assert_str_eq(text, "newer\n");
	free(text);

	/* No replace: a target that appears meanwhile is kept. */
	char other[160];
	snprintf(other, sizeof other, "%s/other.txt", r->dir);
	f = fx_safe_file_new(other, "test file", 0666, FX_SAFE_NO_REPLACE, &st,
	                     err, sizeof err);
	ck_assert_ptr_nonnull(f);
	write_file(other, "first\n", 6);
	ck_assert_int_eq(fx_safe_file_write(f, "second\n", 7, err, sizeof err),
	                 FX_OK);
	ck_assert_int_ne(fx_safe_file_commit(f, err, sizeof err), FX_OK);
	ck_assert_int_eq(errno, EEXIST);
	fx_safe_file_free(f);
	text = slurp(other, NULL);
	ck_assert_str_eq(text, "first\n");
	free(text);
	ck_assert_int_eq(count_names(r->dir, ".tmp-"), 0);
	ck_assert_ptr_null(fx_safe_file_new(other, "test file", 0666,
	                                    FX_SAFE_NO_REPLACE, &st, err,
	                                    sizeof err));
	ck_assert_int_eq(errno, EEXIST);

	/* A directory that is not there. */
	snprintf(path, sizeof path, "%s/none/x", r->dir);
	ck_assert_ptr_null(fx_safe_file_new(path, "test file", 0666, 0, &st,
	                                    err, sizeof err));
	ck_assert_int_eq(st, FX_ERR_IO);
	ck_assert_msg(strstr(err, "No such file"), "%s", err);
	rig_free(r);
}
END_TEST

int main(void)
{
	/* One line per case and per test. */
	/* clang-format off */
	const FxTestCase cases[] = {
		/* A reader that blocks on a FIFO ends here, as a failure. */
		{"presets", 20, .tests = {
			{preset_save_does_not_follow_a_planted_link, 0},
			{preset_of_a_long_chain_round_trips, 0},
			{saves_refuse_what_is_not_a_regular_file, 0},
			{reads_never_block_and_refuse_nul_bytes, 0},
		}},
		{"state", 60, .tests = {
			{state_file_cut_anywhere_is_refused, 0},
			{state_file_with_a_byte_changed_is_refused, 0},
			{state_is_restored_only_under_its_configured_chain, 0},
			{state_file_writes_the_tempo_as_sent, 0},
			{state_read_tells_missing_unreadable_and_damaged_apart,
			 0},
		}},
		{"module", 0, .tests = {
			{safe_file_modes_and_names, 0},
			{preset_dir_is_made_on_save, 0},
		}},
		{.name = NULL},
	};
	/* clang-format on */
	return fx_test_run(fx_test_suite("files", cases));
}
