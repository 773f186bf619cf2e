/* SPDX-License-Identifier: ISC */
/* fxfile's sound files in and out (fxfile_io.h). */
#define _GNU_SOURCE /* tee, mkostemp */
#include "clients/file/fxfile_io.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "clients/file/fxfile_pipeline.h"
#include "clients/file/fxfile_report.h"
#include "daemon/base/fail.h"

/* ---- formats ------------------------------------------------------------ */

typedef struct {
	const char *key;
	int major;
} FormatKey;

/* Names beyond libsndfile's own extensions. */
static const FormatKey aliases[] = {
	{"aif", SF_FORMAT_AIFF},    {"aifc", SF_FORMAT_AIFF},
	{"snd", SF_FORMAT_AU},      {"ogg", SF_FORMAT_OGG},
	{"wave", SF_FORMAT_WAV},    {"wavex", SF_FORMAT_WAVEX},
	{"nist", SF_FORMAT_NIST},   {"sph", SF_FORMAT_NIST},
	{"mat4", SF_FORMAT_MAT4},   {"mat5", SF_FORMAT_MAT5},
	{"ircam", SF_FORMAT_IRCAM}, {"pcm", SF_FORMAT_RAW},
};

static int major_count(void)
{
	int n = 0;
	sf_command(NULL, SFC_GET_FORMAT_MAJOR_COUNT, &n, sizeof n);
	return n;
}

static SF_FORMAT_INFO major_info(int i)
{
	SF_FORMAT_INFO fi = {.format = i};
	sf_command(NULL, SFC_GET_FORMAT_MAJOR, &fi, sizeof fi);
	return fi;
}

/* The major format named @p key (an extension or an alias) that this
 * libsndfile has, or 0. */
static int find_major(const char *key)
{
	int alias = 0;
	for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
		if (!strcasecmp(aliases[i].key, key))
			alias = aliases[i].major;
	for (int i = 0, n = major_count(); i < n; i++) {
		SF_FORMAT_INFO fi = major_info(i);
		if (alias ? fi.format == alias
		          : fi.extension && !strcasecmp(fi.extension, key))
			return fi.format;
	}
	return 0;
}

static void known_formats(char *buf, size_t size)
{
	size_t at = 0;
	buf[0] = '\0';
	for (int i = 0, n = major_count(); i < n && at < size; i++) {
		SF_FORMAT_INFO fi = major_info(i);
		if (fi.extension && !strstr(buf, fi.extension))
			at += (size_t)snprintf(buf + at, size - at, "%s%s",
			                       at ? " " : "", fi.extension);
	}
}

const char *fxfile_format_name(int format)
{
	SF_FORMAT_INFO fi = {.format = format & SF_FORMAT_TYPEMASK};
	return sf_command(NULL, SFC_GET_FORMAT_INFO, &fi, sizeof fi) == 0 && fi.name
	               ? fi.name
	               : "this format";
}

const char *fxfile_subtype_name(int format, char *buf, size_t size)
{
	const char *s = fxfile_subtype_short_name(format);
	SF_FORMAT_INFO fi = {.format = format & SF_FORMAT_SUBMASK};
	if (!s && sf_command(NULL, SFC_GET_FORMAT_INFO, &fi, sizeof fi) == 0)
		s = fi.name;
	if (s)
		snprintf(buf, size, "%s", s);
	else
		snprintf(buf, size, "subtype 0x%04x", format & SF_FORMAT_SUBMASK);
	return buf;
}

static int format_ok(int format, int channels, int rate)
{
	SF_INFO info = {
		.samplerate = rate, .channels = channels, .format = format};
	return sf_format_check(&info);
}

/* The output subtype when none is asked for: the input's if the format
 * holds it, else the nearest that it does. */
static int default_subtype(int major, int endian, const SF_INFO *in)
{
	int sub = in->format & SF_FORMAT_SUBMASK;
	int is_float = sub == SF_FORMAT_FLOAT || sub == SF_FORMAT_DOUBLE;
	int prefs[] = {sub, is_float ? SF_FORMAT_FLOAT : SF_FORMAT_PCM_24,
	               SF_FORMAT_PCM_24, SF_FORMAT_PCM_16, SF_FORMAT_FLOAT};
	for (size_t i = 0; i < sizeof prefs / sizeof prefs[0]; i++)
		if (format_ok(major | prefs[i] | endian, 1, 48000))
			return prefs[i];
	int n = 0;
	sf_command(NULL, SFC_GET_FORMAT_SUBTYPE_COUNT, &n, sizeof n);
	for (int i = 0; i < n; i++) {
		SF_FORMAT_INFO fi = {.format = i};
		sf_command(NULL, SFC_GET_FORMAT_SUBTYPE, &fi, sizeof fi);
		if (format_ok(major | fi.format | endian, 1, 48000))
			return fi.format;
	}
	return 0;
}

static int pcm_bits(int subtype)
{
	switch (subtype & SF_FORMAT_SUBMASK) {
	case SF_FORMAT_PCM_S8:
	case SF_FORMAT_PCM_U8:
		return 8;
	case SF_FORMAT_PCM_16:
		return 16;
	case SF_FORMAT_PCM_24:
		return 24;
	case SF_FORMAT_PCM_32:
		return 32;
	default:
		return 0;
	}
}

/* Whether libsndfile writes @p format to a pipe: asked of a real one. */
static int streams(int format, int channels, int rate)
{
	int fds[2];
	if (pipe(fds))
		return 1; /* the real open will say */
	SF_INFO info = {
		.samplerate = rate, .channels = channels, .format = format};
	SNDFILE *sf = sf_open_fd(fds[1], SFM_WRITE, &info, SF_FALSE);
	if (sf)
		sf_close(sf);
	close(fds[0]);
	close(fds[1]);
	return sf != NULL;
}

static const char *extension(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	const char *dot = strrchr(base, '.');
	return dot && dot != base ? dot + 1 : NULL;
}

/* libsndfile's "System error : File too large." as "File too large". */
static const char *sf_reason(SNDFILE *sf, char *buf, size_t size)
{
	const char *s = sf_strerror(sf);
	static const char prefix[] = "System error : ";
	if (!strncmp(s, prefix, sizeof prefix - 1))
		s += sizeof prefix - 1;
	snprintf(buf, size, "%s", s);
	size_t len = strlen(buf);
	while (len && (buf[len - 1] == '.' || buf[len - 1] == '\n' ||
	               buf[len - 1] == ' '))
		buf[--len] = '\0';
	return buf;
}

/* ---- input -------------------------------------------------------------- */

static int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (end == s || *end || errno == ERANGE || v < min || v > max)
		return 0;
	*out = v;
	return 1;
}

static FxStatus parse_raw(const char *raw, SF_INFO *info, char *err,
                          size_t err_size)
{
	char spec[128], *save = NULL;
	snprintf(spec, sizeof spec, "%s", raw);
	const char *f[3];
	int nf = 0;
	for (char *t = strtok_r(spec, ":", &save); t;
	     t = strtok_r(NULL, ":", &save))
		if (nf++ < 3)
			f[nf - 1] = t;
	long rate, ch;
	int sub;
	if (nf != 3)
		return fxfile_usage_fail(err, err_size,
		                         "--raw-input: '%s' is "
		                         "not RATE:CHANNELS:SUBTYPE",
		                         raw);
	if (!parse_long(f[0], 1, 10000000, &rate))
		return fxfile_usage_fail(err, err_size,
		                         "--raw-input: '%s' is "
		                         "not a sample rate",
		                         f[0]);
	if (!parse_long(f[1], 1, 1024, &ch))
		return fxfile_usage_fail(err, err_size,
		                         "--raw-input: '%s' is "
		                         "not a channel count (1..1024)",
		                         f[1]);
	if (!(sub = fxfile_subtype_code(f[2])))
		return fxfile_usage_fail(err, err_size,
		                         "--raw-input: '%s' is "
		                         "not PCM_16, PCM_24, PCM_32, FLOAT or "
		                         "DOUBLE",
		                         f[2]);
	info->samplerate = (int)rate;
	info->channels = (int)ch;
	info->format = SF_FORMAT_RAW | sub | SF_ENDIAN_LITTLE;
	return FX_OK;
}

/* An unlinked temporary file in $TMPDIR, open in *@p fd. */
static FxStatus temp_file(const char *what, int *fd, char *err, size_t err_size)
{
	const char *dir = getenv("TMPDIR");
	char path[PATH_MAX];
	dir = dir && *dir ? dir : "/tmp";
	snprintf(path, sizeof path, "%s/fxfile-spool.XXXXXX", dir);
	*fd = mkostemp(path, O_CLOEXEC);
	if (*fd < 0)
		return fx_fail(FX_ERR_IO, err, err_size,
		               "cannot spool %s to "
		               "'%s': %s",
		               what, dir, strerror(errno));
	unlink(path); /* gone with fxfile, whatever happens */
	return FX_OK;
}

static FxStatus write_all(int fd, const void *data, size_t size,
                          const char *what, char *err, size_t err_size)
{
	const char *p = data;
	while (size) {
		ssize_t n = write(fd, p, size);
		if (n < 0 && errno == EINTR) {
			if (fxfile_interruption() != FX_OK)
				return FXFILE_ERR_INTERRUPTED;
			continue;
		}
		if (n <= 0)
			return fx_fail(FX_ERR_IO, err, err_size,
			               "cannot spool %s: %s", what,
			               n < 0 ? strerror(errno) : "short write");
		p += n;
		size -= (size_t)n;
	}
	return FX_OK;
}

/* Whether the pipe on @p fd starts like a file libsndfile reads right from
 * a pipe, in *@p yes. tee(2) looks without taking anything out. */
static FxStatus pipe_streams(int fd, int *yes)
{
	unsigned char head[12];
	int p[2];
	ssize_t n = 0;
	*yes = 0;
	if (pipe(p))
		return FX_OK;
	/* A writer may give the first bytes in pieces: look again for a
	 * while. */
	for (int tries = 0; tries < 200; tries++) {
		n = tee(fd, p[1], sizeof head, 0);
		if (n < 0 && errno == EINTR) {
			if (fxfile_interruption() != FX_OK) {
				close(p[0]);
				close(p[1]);
				return FXFILE_ERR_INTERRUPTED;
			}
			continue;
		}
		if (n <= 0 || n == (ssize_t)sizeof head)
			break;
		/* Take the copy out of p, wait, and look again. */
		if (read(p[0], head, (size_t)n) != n)
			break;
		n = 0;
		nanosleep(&(struct timespec){0, 10000000}, NULL);
	}
	if (n == (ssize_t)sizeof head && read(p[0], head, sizeof head) != n)
		n = 0;
	close(p[0]);
	close(p[1]);
	if (n != (ssize_t)sizeof head)
		return FX_OK;
	/* Checked by reading each from a pipe and from a file: these gave
	 * the same audio; FLAC fails, CAF reads as empty, RF64 loses
	 * frames. */
	*yes = (!memcmp(head, "RIFF", 4) && !memcmp(head + 8, "WAVE", 4)) ||
	       !memcmp(head, "FORM", 4) || !memcmp(head, ".snd", 4) ||
	       !memcmp(head, "riff", 4) || !memcmp(head, "OggS", 4);
	return FX_OK;
}

/* Copies all of @p fd to an unlinked temporary file, open at its start
 * in *@p out. */
static FxStatus spool_all(int fd, int *out, char *err, size_t err_size)
{
	FxStatus st = temp_file("stdin", out, err, err_size);
	static char buf[1 << 16];
	while (st == FX_OK) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR) {
			st = fxfile_interruption();
			continue;
		}
		if (n < 0)
			return fx_fail(FX_ERR_IO, err, err_size,
			               "cannot read stdin: %s", strerror(errno));
		if (n == 0)
			break;
		st = write_all(*out, buf, (size_t)n, "stdin", err, err_size);
		if (st == FX_OK)
			st = fxfile_interruption();
	}
	if (st == FX_OK && lseek(*out, 0, SEEK_SET) != 0)
		return fx_fail(FX_ERR_IO, err, err_size,
		               "cannot spool stdin: %s", strerror(errno));
	return st;
}

/* ---- truncated input ----------------------------------------------------- */

/* libsndfile bounds the frame count a header gives by the file's length,
 * and says nothing. To learn what the header says, the file is opened
 * again through callbacks that report it longer than it is, twice, by two
 * lengths: a count the header states comes out the same both times; one
 * made from the length (a header written for streaming, W64) follows
 * it. */
typedef struct {
	int fd;
	sf_count_t pos, len;
} Probe;

static sf_count_t probe_length(void *user)
{
	return ((Probe *)user)->len;
}

static sf_count_t probe_seek(sf_count_t offset, int whence, void *user)
{
	Probe *p = user;
	sf_count_t to = whence == SEEK_SET   ? offset
	                : whence == SEEK_CUR ? p->pos + offset
	                                     : p->len + offset;
	if (to < 0)
		return -1;
	return p->pos = to;
}

static sf_count_t probe_read(void *ptr, sf_count_t count, void *user)
{
	Probe *p = user;
	ssize_t n = pread(p->fd, ptr, (size_t)count, p->pos);
	n = n < 0 ? 0 : n; /* past the end: nothing, as for a short file */
	p->pos += n;
	return n;
}

static sf_count_t probe_write(const void *ptr, sf_count_t count, void *user)
{
	(void)ptr, (void)count, (void)user;
	return 0;
}

static sf_count_t probe_tell(void *user)
{
	return ((Probe *)user)->pos;
}

static sf_count_t probe_frames(int fd, sf_count_t len)
{
	SF_VIRTUAL_IO io = {probe_length, probe_seek, probe_read, probe_write,
	                    probe_tell};
	Probe p = {fd, 0, len};
	SF_INFO info = {0};
	SNDFILE *sf = sf_open_virtual(&io, SFM_READ, &info, &p);
	if (!sf)
		return -1;
	sf_close(sf);
	return info.frames;
}

/* The frames the header of the regular file @p fd gives; 0 if none
 * (SF_COUNT_MAX is libsndfile's "unknown", as in a streamed FLAC). */
static sf_count_t header_frames(int fd)
{
	struct stat st;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		return 0;
	sf_count_t a = probe_frames(fd, st.st_size + ((sf_count_t)1 << 30));
	sf_count_t b = probe_frames(fd, st.st_size + ((sf_count_t)1 << 31));
	return a > 0 && a == b && a != SF_COUNT_MAX ? a : 0;
}

static int sample_bytes(int format)
{
	static const struct {
		int subtype, bytes;
	} sizes[] = {
		{SF_FORMAT_PCM_S8, 1}, {SF_FORMAT_PCM_U8, 1},
		{SF_FORMAT_ULAW, 1},   {SF_FORMAT_ALAW, 1},
		{SF_FORMAT_PCM_16, 2}, {SF_FORMAT_PCM_24, 3},
		{SF_FORMAT_PCM_32, 4}, {SF_FORMAT_FLOAT, 4},
		{SF_FORMAT_DOUBLE, 8},
	};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
		if (sizes[i].subtype == (format & SF_FORMAT_SUBMASK))
			return sizes[i].bytes;
	return 0;
}

/* On a pipe libsndfile takes the header's count as it stands. A header
 * written for streaming holds a placeholder there, 2 GiB of data or more
 * (sox 0x7ffff000, others 0xffffffff): that is not a claim. */
static sf_count_t stream_frames(const SF_INFO *info)
{
	int bytes = sample_bytes(info->format);
	if (!bytes || info->frames <= 0)
		return 0;
	return info->frames < 0x7ff00000 / ((sf_count_t)info->channels * bytes)
	               ? info->frames
	               : 0;
}

/* The input ended after @p have of the frames its header gives: an error,
 * or a note with --accept-truncated. */
static FxStatus truncated(FxFileInput *in, sf_count_t have, char *err,
                          size_t err_size)
{
	const char *held = in->info.seekable ? "the file holds" : "it brought";
	if (!in->accept_truncated)
		return fx_fail(FX_ERR_IO, err, err_size,
		               "%s is truncated: its "
		               "header gives %lld frames, %s %lld "
		               "(--accept-truncated takes what is there)",
		               in->label, (long long)in->claimed, held,
		               (long long)have);
	if (!in->said_truncated++)
		fxfile_note("%s is truncated: its header gives %lld frames, %s "
		            "%lld; going on with those",
		            in->label, (long long)in->claimed, held,
		            (long long)have);
	return FX_OK;
}

/* ---- opening --------------------------------------------------------------- */

/* Waits until the pipe or FIFO @p fd has something to read (or its
 * writer is gone). Here SIGINT ends the wait: libsndfile would retry a
 * read it interrupts. The signals are let in only inside ppoll, so one
 * that comes before it is not lost. */
static FxStatus wait_readable(int fd)
{
	sigset_t stop, old;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGHUP);
	sigprocmask(SIG_BLOCK, &stop, &old);
	struct pollfd p = {.fd = fd, .events = POLLIN};
	FxStatus st;
	while ((st = fxfile_interruption()) == FX_OK)
		if (ppoll(&p, 1, NULL, &old) >= 0 || errno != EINTR)
			break; /* an error: the read will say */
	sigprocmask(SIG_SETMASK, &old, NULL);
	return st;
}

FxStatus fxfile_input_open(FxFileInput *in, const FxFileOptions *o, char *err,
                           size_t err_size)
{
	const char *name = o->in, *raw = o->raw_input;
	memset(in, 0, sizeof *in);
	in->spool_fd = -1;
	in->accept_truncated = o->accept_truncated;
	int is_stdin = !strcmp(name, "-");
	if (is_stdin)
		snprintf(in->label, sizeof in->label, "stdin");
	else
		snprintf(in->label, sizeof in->label, "'%s'", name);
	FxStatus st = raw ? parse_raw(raw, &in->info, err, err_size) : FX_OK;
	if (st != FX_OK)
		return st;
	/* Opened without blocking: a FIFO with no writer yet is then waited
	 * for in wait_readable. */
	int fd = is_stdin ? 0 : open(name, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return fx_fail(FX_ERR_IO, err, err_size, "cannot open '%s': %s",
		               name, strerror(errno));
	if (fstat(fd, &in->st))
		return fx_fail(FX_ERR_IO, err, err_size, "cannot read %s: %s",
		               in->label, strerror(errno));
	if (S_ISDIR(in->st.st_mode))
		return fx_fail(FX_ERR_INVALID, err, err_size,
		               "%s is a directory", in->label);
	if (S_ISFIFO(in->st.st_mode) && (st = wait_readable(fd)) != FX_OK)
		return st;
	/* Reads block from here on, as libsndfile expects. */
	if (!is_stdin && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK))
		return fx_fail(FX_ERR_IO, err, err_size, "cannot read %s: %s",
		               in->label, strerror(errno));
	if (is_stdin && !raw && lseek(fd, 0, SEEK_CUR) < 0) {
		int direct = 0;
		if (S_ISFIFO(in->st.st_mode) &&
		    (st = pipe_streams(fd, &direct)) != FX_OK)
			return st;
		if (!direct && (st = spool_all(fd, &fd, err, err_size)) != FX_OK)
			return st;
	}
	in->sf = sf_open_fd(fd, SFM_READ, &in->info, fd != 0);
	if (!in->sf) {
		const char *ext = is_stdin ? NULL : extension(name);
		if (!raw && ext && find_major(ext) == SF_FORMAT_RAW)
			return fx_fail(FX_ERR_SYNTAX, err, err_size,
			               "%s: a headerless file needs "
			               "--raw-input RATE:CHANNELS:SUBTYPE",
			               in->label);
		char why[256];
		return fx_fail(FX_ERR_SYNTAX, err, err_size,
		               "%s: not a sound "
		               "file fxfile can read (%s)",
		               in->label, sf_reason(NULL, why, sizeof why));
	}
	if (in->info.channels < 1)
		return fx_fail(FX_ERR_INVALID, err, err_size, "%s: no channels",
		               in->label);
	if (in->info.samplerate < 1000 || in->info.samplerate > 768000)
		return fx_fail(FX_ERR_RANGE, err, err_size,
		               "%s: a sample rate "
		               "of %d Hz is outside 1000..768000",
		               in->label, in->info.samplerate);
	if (!raw)
		in->claimed = in->info.seekable ? header_frames(fd)
		                                : stream_frames(&in->info);
	if (in->info.seekable && in->claimed > in->info.frames)
		return truncated(in, in->info.frames, err, err_size);
	return FX_OK;
}

FxStatus fxfile_input_keep(FxFileInput *in, char *err, size_t err_size)
{
	if (!in->info.seekable && in->spool_fd < 0)
		return temp_file("stdin", &in->spool_fd, err, err_size);
	return FX_OK;
}

/* Reads up to @p frames back from the spool, in *@p got. */
static FxStatus replay(FxFileInput *in, float *buf, long frames, long *got,
                       char *err, size_t err_size)
{
	size_t frame = (size_t)in->info.channels * sizeof(float);
	size_t want = (size_t)frames * frame, have = 0;
	while (have < want) {
		ssize_t n = read(in->spool_fd, (char *)buf + have, want - have);
		if (n < 0 && errno == EINTR) {
			if (fxfile_interruption() != FX_OK)
				return FXFILE_ERR_INTERRUPTED;
			continue;
		}
		if (n < 0)
			return fx_fail(FX_ERR_IO, err, err_size,
			               "cannot read "
			               "the spooled input back: %s",
			               strerror(errno));
		if (n == 0)
			break;
		have += (size_t)n;
	}
	*got = (long)(have / frame);
	return FX_OK;
}

FxStatus fxfile_input_read(FxFileInput *in, float *buf, long frames, long *got,
                           char *err, size_t err_size)
{
	*got = 0;
	if (in->replay)
		return replay(in, buf, frames, got, err, err_size);
	sf_count_t n = sf_readf_float(in->sf, buf, frames);
	if (n < frames && sf_error(in->sf)) {
		char why[256];
		return fx_fail(FX_ERR_IO, err, err_size, "cannot read %s: %s",
		               in->label, sf_reason(in->sf, why, sizeof why));
	}
	in->got += n;
	FxStatus st = FX_OK;
	if (n < frames && in->got < in->claimed)
		st = truncated(in, in->got, err, err_size);
	if (st == FX_OK && n > 0 && in->spool_fd >= 0)
		st = write_all(in->spool_fd, buf,
		               (size_t)n * in->info.channels * sizeof(float),
		               "stdin", err, err_size);
	*got = (long)n;
	return st;
}

FxStatus fxfile_input_rewind(FxFileInput *in, char *err, size_t err_size)
{
	if (in->spool_fd >= 0) {
		if (lseek(in->spool_fd, 0, SEEK_SET) != 0)
			return fx_fail(FX_ERR_IO, err, err_size,
			               "cannot read "
			               "the spooled input back: %s",
			               strerror(errno));
		in->replay = 1;
		return FX_OK;
	}
	in->got = 0;
	if (sf_seek(in->sf, 0, SEEK_SET) != 0)
		return fx_fail(FX_ERR_IO, err, err_size, "cannot seek in %s: %s",
		               in->label, sf_strerror(in->sf));
	return FX_OK;
}

void fxfile_input_close(FxFileInput *in)
{
	if (in->sf)
		sf_close(in->sf);
	if (in->spool_fd >= 0)
		close(in->spool_fd);
	in->sf = NULL;
	in->spool_fd = -1;
}

/* ---- output ------------------------------------------------------------- */

static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* OUT's libsndfile format, in *@p format. */
static FxStatus choose_format(const FxFileOptions *o, const FxFileInput *in,
                              const char *name, int *format, char *err,
                              size_t err_size)
{
	int major = 0;
	char known[512];
	if (o->format) {
		if (!(major = find_major(o->format))) {
			known_formats(known, sizeof known);
			return fxfile_usage_fail(err, err_size,
			                         "--format: "
			                         "unknown format '%s' (known: %s)",
			                         o->format, known);
		}
	} else if (!strcmp(name, "-")) {
		return fxfile_usage_fail(err, err_size,
		                         "writing to stdout "
		                         "needs --format (au, flac or raw: "
		                         "formats that stream)");
	} else {
		const char *ext = extension(name);
		if (!ext || !(major = find_major(ext)))
			return fxfile_usage_fail(err, err_size,
			                         "'%s': cannot "
			                         "tell the format from the "
			                         "name; give --format",
			                         name);
	}
	int endian = major == SF_FORMAT_RAW ? SF_ENDIAN_LITTLE : 0;
	int sub = o->subtype ? fxfile_subtype_code(o->subtype)
	                     : default_subtype(major, endian, &in->info);
	if (!sub || !format_ok(major | sub | endian, 1, 48000)) {
		if (o->subtype)
			return fxfile_usage_fail(err, err_size,
			                         "--subtype %s: "
			                         "%s cannot hold it",
			                         o->subtype,
			                         fxfile_format_name(major));
		return fx_fail(FX_ERR_INVALID, err, err_size,
		               "%s: no subtype fxfile can write",
		               fxfile_format_name(major));
	}
	char sb[64];
	int ch = in->info.channels, rate = in->info.samplerate;
	if (!format_ok(major | sub | endian, ch, rate))
		return fx_fail(FX_ERR_INVALID, err, err_size,
		               "'%s': %s %s "
		               "cannot hold %d channels at %d Hz",
		               name, fxfile_format_name(major),
		               fxfile_subtype_name(sub, sb, sizeof sb), ch, rate);
	*format = major | sub | endian;
	return FX_OK;
}

FxStatus fxfile_output_plan(FxFileOutput *out, const FxFileOptions *o,
                            const FxFileInput *in, char *err, size_t err_size)
{
	const char *name = o->out;
	memset(out, 0, sizeof *out);
	out->fd = -1;
	int to_stdout = !strcmp(name, "-");
	if (to_stdout)
		snprintf(out->label, sizeof out->label, "stdout");
	else
		snprintf(out->label, sizeof out->label, "'%s'", name);
	int format = 0;
	FxStatus st = choose_format(o, in, name, &format, err, err_size);
	if (st != FX_OK)
		return st;
	int ch = in->info.channels, rate = in->info.samplerate;
	out->info = (SF_INFO){
		.samplerate = rate, .channels = ch, .format = format};
	out->bits = pcm_bits(format);
	out->dither = out->bits && out->bits <= 16 && !o->no_dither;

	struct stat sb;
	if (to_stdout) {
		if (!streams(format, ch, rate))
			return fx_fail(FX_ERR_INVALID, err, err_size,
			               "%s "
			               "cannot be written to a pipe; give "
			               "--format au, flac or raw for stdout",
			               fxfile_format_name(format));
		if (fstat(1, &sb) == 0 && S_ISREG(sb.st_mode) &&
		    same_file(&sb, &in->st))
			return fx_fail(FX_ERR_INVALID, err, err_size,
			               "stdout is the input file; fxfile never "
			               "writes over its input");
		out->direct = 1;
		out->fd = 1;
		return FX_OK;
	}
	size_t len = strlen(name);
	if (len >= sizeof out->path)
		return fx_fail(FX_ERR_INVALID, err, err_size,
		               "%s: name too long", out->label);
	memcpy(out->path, name, len + 1);
	if (lstat(name, &sb) == 0 && S_ISLNK(sb.st_mode)) {
		/* The file the link points to is replaced; the link stays. */
		char *real = realpath(name, NULL);
		if (!real)
			return fx_fail(FX_ERR_IO, err, err_size, "%s: %s",
			               out->label, strerror(errno));
		snprintf(out->path, sizeof out->path, "%s", real);
		free(real);
	}
	if (stat(out->path, &sb) != 0) {
		if (errno != ENOENT)
			return fx_fail(FX_ERR_IO, err, err_size, "%s: %s",
			               out->label, strerror(errno));
		return FX_OK;
	}
	if (same_file(&sb, &in->st))
		return fx_fail(FX_ERR_INVALID, err, err_size,
		               "%s is the input "
		               "file; fxfile never writes over its input",
		               out->label);
	if (S_ISDIR(sb.st_mode))
		return fx_fail(FX_ERR_INVALID, err, err_size,
		               "%s is a directory", out->label);
	if (S_ISCHR(sb.st_mode) || S_ISFIFO(sb.st_mode)) {
		out->direct = 1; /* /dev/null, a named pipe */
		return FX_OK;
	}
	if (!S_ISREG(sb.st_mode))
		return fx_fail(FX_ERR_INVALID, err, err_size,
		               "%s is not a regular file", out->label);
	if (!o->force)
		return fx_fail(FX_ERR_INVALID, err, err_size,
		               "%s exists (--force replaces it)", out->label);
	out->replace = 1;
	return FX_OK;
}

/* libsndfile 1.2.0 "seeks" on a pipe by doing nothing, so the STREAMINFO
 * that libFLAC rewrites at the end lands after the last frame and breaks
 * the stream (libsndfile then cannot read it back). FLAC to a pipe goes
 * through these callbacks instead: writes go out in order, and what is
 * written over bytes already gone is dropped, as libFLAC itself does for
 * an output that cannot seek. */
static sf_count_t sink_length(void *user)
{
	return ((FxFileOutput *)user)->sink.end;
}

static sf_count_t sink_seek(sf_count_t offset, int whence, void *user)
{
	FxFileOutput *out = user;
	sf_count_t to = whence == SEEK_SET   ? offset
	                : whence == SEEK_CUR ? out->sink.pos + offset
	                                     : out->sink.end + offset;
	if (to < 0)
		return -1;
	out->sink.pos = to;
	return to;
}

static sf_count_t sink_read(void *ptr, sf_count_t count, void *user)
{
	(void)ptr;
	(void)count;
	(void)user;
	return 0;
}

static sf_count_t sink_write(const void *ptr, sf_count_t count, void *user)
{
	FxFileOutput *out = user;
	const char *p = ptr;
	sf_count_t gone = out->sink.end - out->sink.pos;
	sf_count_t skip = gone <= 0 ? 0 : gone < count ? gone : count;
	for (sf_count_t at = skip; at < count;) {
		ssize_t n = write(out->fd, p + at, (size_t)(count - at));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			out->sink.err = n < 0 ? errno : EIO;
			out->sink.pos += at;
			return at;
		}
		at += n;
	}
	out->sink.pos += count;
	if (out->sink.pos > out->sink.end)
		out->sink.end = out->sink.pos;
	return count;
}

static sf_count_t sink_tell(void *user)
{
	return ((FxFileOutput *)user)->sink.pos;
}

static SF_VIRTUAL_IO sink_io = {sink_length, sink_seek, sink_read, sink_write,
                                sink_tell};

FxStatus fxfile_output_open(FxFileOutput *out, char *err, size_t err_size)
{
	if (out->direct && out->fd < 0 &&
	    (out->fd = open(out->path, O_WRONLY | O_CLOEXEC)) < 0)
		return fx_fail(FX_ERR_IO, err, err_size, "cannot open %s: %s",
		               out->label, strerror(errno));
	if (!out->direct) {
		/* Without --force the rename will not replace a file that
		 * appears meanwhile. */
		FxStatus st;
		out->file = fx_safe_file_new(out->path, "output", 0666,
		                             out->replace ? 0 : FX_SAFE_NO_REPLACE,
		                             &st, err, err_size);
		if (!out->file && errno == EEXIST)
			return fx_fail(FX_ERR_IO, err, err_size,
			               "%s appeared "
			               "while fxfile ran (--force replaces it)",
			               out->label);
		if (!out->file)
			return st;
		out->fd = fx_safe_file_fd(out->file);
	}
	SF_INFO info = out->info;
	out->via_sink = (out->info.format & SF_FORMAT_TYPEMASK) ==
	                        SF_FORMAT_FLAC &&
	                lseek(out->fd, 0, SEEK_CUR) < 0;
	out->sf = out->via_sink
	                  ? sf_open_virtual(&sink_io, SFM_WRITE, &info, out)
	                  : sf_open_fd(out->fd, SFM_WRITE, &info, SF_FALSE);
	if (!out->sf) {
		const char *why = sf_strerror(NULL);
		if (strstr(why, "pipe"))
			return fx_fail(FX_ERR_INVALID, err, err_size,
			               "%s: %s "
			               "cannot be written to a pipe; use --format "
			               "au, flac or raw",
			               out->label,
			               fxfile_format_name(out->info.format));
		return fx_fail(FX_ERR_IO, err, err_size, "cannot write %s: %s",
		               out->label, why);
	}
	/* libsndfile stamps WAV and AIFF PEAK chunks with the time. */
	sf_command(out->sf, SFC_SET_ADD_PEAK_CHUNK, NULL, SF_FALSE);
	if (!out->bits)
		sf_command(out->sf, SFC_SET_CLIPPING, NULL, SF_TRUE);
	out->rng = 0x243f6a8885a308d3u; /* any fixed seed */
	out->buf = calloc((size_t)FXFILE_BLOCK * out->info.channels, sizeof(int));
	if (!out->buf)
		return fx_fail(FX_ERR_NOMEM, err, err_size, "out of memory");
	return FX_OK;
}

/* SplitMix64: one 64-bit draw per sample, in file order. */
static uint64_t draw(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static void write_float(FxFileOutput *out, float *const *blk, long off,
                        long frames, double gain)
{
	const int ch = out->info.channels;
	float *o = out->buf;
	for (long i = 0; i < frames; i++)
		for (int c = 0; c < ch; c++)
			o[i * ch + c] = (float)(blk[c][off + i] * gain);
}

/* libsndfile scales floats by 2^(bits-1) - 1 on write but reads back with
 * 1/2^(bits-1); quantising by 2^(bits-1) here makes PCM in, PCM out exact
 * (without dither). */
static void write_short(FxFileOutput *out, float *const *blk, long off,
                        long frames, double gain)
{
	const int ch = out->info.channels;
	short *o = out->buf;
	const double scale = out->bits == 8 ? 128.0 : 32768.0;
	const double top = scale - 1.0;
	const int mul = out->bits == 8 ? 256 : 1; /* 8 bits: the top byte */
	for (long i = 0; i < frames; i++)
		for (int c = 0; c < ch; c++) {
			double v = blk[c][off + i] * gain * scale;
			if (out->dither) {
				/* TPDF: the difference of two uniform draws,
				 * within +-1 LSB. */
				uint64_t z = draw(&out->rng);
				v += (double)(z >> 40) * 0x1p-24 -
				     (double)((z >> 16) & 0xffffff) * 0x1p-24;
			}
			v = rint(v);
			v = v > top ? top : v < -scale ? -scale : v;
			o[i * ch + c] = (short)((int)v * mul);
		}
}

static void write_int(FxFileOutput *out, float *const *blk, long off,
                      long frames, double gain)
{
	const int ch = out->info.channels;
	int *o = out->buf;
	const double scale = out->bits == 24 ? 0x1p23 : 0x1p31;
	const double top = scale - 1.0;
	const int mul = out->bits == 24 ? 256 : 1; /* 24 bits: the top 3 */
	for (long i = 0; i < frames; i++)
		for (int c = 0; c < ch; c++) {
			double v = rint(blk[c][off + i] * gain * scale);
			v = v > top ? top : v < -scale ? -scale : v;
			o[i * ch + c] = (int)v * mul;
		}
}

FxStatus fxfile_output_write(FxFileOutput *out, float *const *blk, long off,
                             long frames, double gain, char *err, size_t err_size)
{
	sf_count_t done;
	if (!out->bits) {
		write_float(out, blk, off, frames, gain);
		done = sf_writef_float(out->sf, out->buf, frames);
	} else if (out->bits <= 16) {
		write_short(out, blk, off, frames, gain);
		done = sf_writef_short(out->sf, out->buf, frames);
	} else {
		write_int(out, blk, off, frames, gain);
		done = sf_writef_int(out->sf, out->buf, frames);
	}
	if (done != frames) {
		char why[256];
		return fx_fail(FX_ERR_IO, err, err_size, "cannot write %s: %s",
		               out->label,
		               out->sink.err
		                       ? strerror(out->sink.err)
		                       : sf_reason(out->sf, why, sizeof why));
	}
	return FX_OK;
}

/* RF64 ignores SFC_SET_ADD_PEAK_CHUNK in libsndfile 1.2.0 and stamps its
 * PEAK chunk with time(NULL): zero the stamp, so equal runs give equal
 * files. RIFF chunks: id, little-endian size, data padded to even. */
static FxStatus unstamp_rf64(const FxFileOutput *out, char *err, size_t err_size)
{
	if ((out->info.format & SF_FORMAT_TYPEMASK) != SF_FORMAT_RF64 ||
	    out->direct)
		return FX_OK;
	unsigned char h[8];
	off_t at = 12;
	for (int k = 0; k < 64; k++) {
		if (pread(out->fd, h, 8, at) != 8)
			return FX_OK;
		uint32_t size = h[4] | h[5] << 8 | h[6] << 16 |
		                (uint32_t)h[7] << 24;
		if (!memcmp(h, "PEAK", 4)) {
			static const unsigned char zero[4];
			if (size >= 8 && pwrite(out->fd, zero, 4, at + 12) != 4)
				return fx_fail(FX_ERR_IO, err, err_size,
				               "cannot write %s: %s",
				               out->label, strerror(errno));
			return FX_OK;
		}
		if (!memcmp(h, "data", 4))
			return FX_OK;
		at += 8 + (off_t)size + (size & 1);
	}
	return FX_OK;
}

FxStatus fxfile_output_finish(FxFileOutput *out, char *err, size_t err_size)
{
	int sf_err = sf_close(out->sf);
	out->sf = NULL;
	if (sf_err || out->sink.err)
		return fx_fail(FX_ERR_IO, err, err_size, "cannot write %s: %s",
		               out->label,
		               out->sink.err ? strerror(out->sink.err)
		                             : sf_error_number(sf_err));
	FxStatus st = unstamp_rf64(out, err, err_size);
	if (st != FX_OK)
		return st;
	free(out->buf);
	out->buf = NULL;
	if (out->direct) {
		if (out->fd != 1 && close(out->fd))
			return fx_fail(FX_ERR_IO, err, err_size,
			               "cannot write %s: %s", out->label,
			               strerror(errno));
		return FX_OK;
	}
	if ((st = fxfile_interruption()) != FX_OK)
		return st;
	st = fx_safe_file_commit(out->file, err, err_size);
	if (st != FX_OK) {
		if (errno == EEXIST)
			return fx_fail(FX_ERR_IO, err, err_size,
			               "%s appeared "
			               "while fxfile ran (--force replaces it)",
			               out->label);
		if (st == FX_ERR_INVALID) /* no longer a regular file */
			return st;
		return fx_fail(FX_ERR_IO, err, err_size, "cannot write %s: %s",
		               out->label, strerror(errno));
	}
	fx_safe_file_free(out->file);
	out->file = NULL;
	return FX_OK;
}

void fxfile_output_discard(FxFileOutput *out)
{
	fx_safe_file_free(out->file);
	out->file = NULL;
}
