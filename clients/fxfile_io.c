/* fxfile's sound files in and out (fxfile_io.h). */
#define _GNU_SOURCE /* tee, mkostemp, renameat2 */
#include "fxfile_io.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "fxfile_pipeline.h"
#include "fxfile_util.h"

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
	return sf_command(NULL, SFC_GET_FORMAT_INFO, &fi, sizeof fi) == 0 &&
	                       fi.name
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
		snprintf(buf, size, "subtype 0x%04x",
		         format & SF_FORMAT_SUBMASK);
	return buf;
}

static int format_ok(int format, int channels, int rate)
{
	SF_INFO info = {.samplerate = rate, .channels = channels,
	                .format = format};
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
	SF_INFO info = {.samplerate = rate, .channels = channels,
	                .format = format};
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

static void parse_raw(const char *raw, SF_INFO *info)
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
		fxfile_usage_error("--raw-input: '%s' is not "
		                   "RATE:CHANNELS:SUBTYPE", raw);
	if (!parse_long(f[0], 1, 10000000, &rate))
		fxfile_usage_error("--raw-input: '%s' is not a sample rate",
		                   f[0]);
	if (!parse_long(f[1], 1, 1024, &ch))
		fxfile_usage_error("--raw-input: '%s' is not a channel count "
		                   "(1..1024)", f[1]);
	if (!(sub = fxfile_subtype_code(f[2])))
		fxfile_usage_error("--raw-input: '%s' is not PCM_16, PCM_24, "
		                   "PCM_32, FLOAT or DOUBLE", f[2]);
	info->samplerate = (int)rate;
	info->channels = (int)ch;
	info->format = SF_FORMAT_RAW | sub | SF_ENDIAN_LITTLE;
}

static int temp_file(const char *what)
{
	const char *dir = getenv("TMPDIR");
	char path[PATH_MAX];
	dir = dir && *dir ? dir : "/tmp";
	snprintf(path, sizeof path, "%s/fxfile-spool.XXXXXX", dir);
	int fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		fxfile_error("cannot spool %s to '%s': %s", what, dir,
		             strerror(errno));
	unlink(path); /* gone with fxfile, whatever happens */
	return fd;
}

static void write_all(int fd, const void *data, size_t size,
                      const char *what)
{
	const char *p = data;
	while (size) {
		ssize_t n = write(fd, p, size);
		if (n < 0 && errno == EINTR) {
			fxfile_check_interrupt();
			continue;
		}
		if (n <= 0)
			fxfile_error("cannot spool %s: %s", what,
			             n < 0 ? strerror(errno) : "short write");
		p += n;
		size -= (size_t)n;
	}
}

/* Whether the pipe on @p fd starts like a file libsndfile reads right from
 * a pipe. tee(2) looks without taking anything out. */
static int pipe_streams(int fd)
{
	unsigned char head[12];
	int p[2];
	ssize_t n = 0;
	if (pipe(p))
		return 0;
	/* A writer may give the first bytes in pieces: look again for a
	 * while. */
	for (int tries = 0; tries < 200; tries++) {
		n = tee(fd, p[1], sizeof head, 0);
		if (n < 0 && errno == EINTR) {
			fxfile_check_interrupt();
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
		return 0;
	/* Checked by reading each from a pipe and from a file: these gave
	 * the same audio; FLAC fails, CAF reads as empty, RF64 loses
	 * frames. */
	return (!memcmp(head, "RIFF", 4) && !memcmp(head + 8, "WAVE", 4)) ||
	       !memcmp(head, "FORM", 4) || !memcmp(head, ".snd", 4) ||
	       !memcmp(head, "riff", 4) || !memcmp(head, "OggS", 4);
}

/* Copies all of @p fd to an unlinked temporary file, open at its start. */
static int spool_all(int fd)
{
	int out = temp_file("stdin");
	static char buf[1 << 16];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR) {
			fxfile_check_interrupt();
			continue;
		}
		if (n < 0)
			fxfile_error("cannot read stdin: %s", strerror(errno));
		if (n == 0)
			break;
		write_all(out, buf, (size_t)n, "stdin");
		fxfile_check_interrupt();
	}
	if (lseek(out, 0, SEEK_SET) != 0)
		fxfile_error("cannot spool stdin: %s", strerror(errno));
	return out;
}

void fxfile_input_open(FxFileInput *in, const char *name, const char *raw)
{
	memset(in, 0, sizeof *in);
	in->spool_fd = -1;
	int is_stdin = !strcmp(name, "-");
	if (is_stdin)
		snprintf(in->label, sizeof in->label, "stdin");
	else
		snprintf(in->label, sizeof in->label, "'%s'", name);
	if (raw)
		parse_raw(raw, &in->info);
	int fd = 0;
	if (!is_stdin && (fd = open(name, O_RDONLY | O_CLOEXEC)) < 0)
		fxfile_error("cannot open '%s': %s", name, strerror(errno));
	if (fstat(fd, &in->st))
		fxfile_error("cannot read %s: %s", in->label, strerror(errno));
	if (S_ISDIR(in->st.st_mode))
		fxfile_error("%s is a directory", in->label);
	if (is_stdin && !raw && lseek(fd, 0, SEEK_CUR) < 0 &&
	    !(S_ISFIFO(in->st.st_mode) && pipe_streams(fd)))
		fd = spool_all(fd);
	in->sf = sf_open_fd(fd, SFM_READ, &in->info, fd != 0);
	if (!in->sf) {
		const char *ext = is_stdin ? NULL : extension(name);
		if (!raw && ext && find_major(ext) == SF_FORMAT_RAW)
			fxfile_error("%s: a headerless file needs --raw-input "
			             "RATE:CHANNELS:SUBTYPE", in->label);
		char why[256];
		fxfile_error("%s: not a sound file fxfile can read (%s)",
		             in->label, sf_reason(NULL, why, sizeof why));
	}
	if (in->info.channels < 1)
		fxfile_error("%s: no channels", in->label);
	if (in->info.samplerate < 1000 || in->info.samplerate > 768000)
		fxfile_error("%s: a sample rate of %d Hz is outside "
		             "1000..768000", in->label, in->info.samplerate);
}

void fxfile_input_keep(FxFileInput *in)
{
	if (!in->info.seekable && in->spool_fd < 0)
		in->spool_fd = temp_file("stdin");
}

long fxfile_input_read(FxFileInput *in, float *buf, long frames)
{
	size_t frame = (size_t)in->info.channels * sizeof(float);
	if (in->replay) {
		size_t want = (size_t)frames * frame, got = 0;
		while (got < want) {
			ssize_t n = read(in->spool_fd, (char *)buf + got,
			                 want - got);
			if (n < 0 && errno == EINTR) {
				fxfile_check_interrupt();
				continue;
			}
			if (n < 0)
				fxfile_error("cannot read the spooled "
				             "input back: %s", strerror(errno));
			if (n == 0)
				break;
			got += (size_t)n;
		}
		return (long)(got / frame);
	}
	sf_count_t n = sf_readf_float(in->sf, buf, frames);
	if (n < frames && sf_error(in->sf)) {
		char why[256];
		fxfile_error("cannot read %s: %s", in->label,
		             sf_reason(in->sf, why, sizeof why));
	}
	if (n > 0 && in->spool_fd >= 0)
		write_all(in->spool_fd, buf, (size_t)n * frame, "stdin");
	return (long)n;
}

void fxfile_input_rewind(FxFileInput *in)
{
	if (in->spool_fd >= 0) {
		if (lseek(in->spool_fd, 0, SEEK_SET) != 0)
			fxfile_error("cannot read the spooled input "
			             "back: %s", strerror(errno));
		in->replay = 1;
		return;
	}
	if (sf_seek(in->sf, 0, SEEK_SET) != 0)
		fxfile_error("cannot seek in %s: %s", in->label,
		             sf_strerror(in->sf));
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

static int choose_format(const FxFileOptions *o, const FxFileInput *in,
                         const char *name)
{
	int major = 0;
	char known[512];
	if (o->format) {
		if (!(major = find_major(o->format))) {
			known_formats(known, sizeof known);
			fxfile_usage_error("--format: unknown format '%s' "
			                   "(known: %s)", o->format, known);
		}
	} else if (!strcmp(name, "-")) {
		fxfile_usage_error("writing to stdout needs --format (au, flac "
		                   "or raw: formats that stream)");
	} else {
		const char *ext = extension(name);
		if (!ext || !(major = find_major(ext)))
			fxfile_usage_error("'%s': cannot tell the format from "
			                   "the name; give --format", name);
	}
	int endian = major == SF_FORMAT_RAW ? SF_ENDIAN_LITTLE : 0;
	int sub = o->subtype ? fxfile_subtype_code(o->subtype)
	                     : default_subtype(major, endian, &in->info);
	if (!sub || !format_ok(major | sub | endian, 1, 48000)) {
		if (o->subtype)
			fxfile_usage_error("--subtype %s: %s cannot hold it",
			                   o->subtype,
			                   fxfile_format_name(major));
		fxfile_error("%s: no subtype fxfile can write",
		             fxfile_format_name(major));
	}
	char sb[64];
	int ch = in->info.channels, rate = in->info.samplerate;
	if (!format_ok(major | sub | endian, ch, rate))
		fxfile_error("'%s': %s %s cannot hold %d channels at "
		             "%d Hz", name, fxfile_format_name(major),
		             fxfile_subtype_name(sub, sb, sizeof sb), ch, rate);
	return major | sub | endian;
}

void fxfile_output_plan(FxFileOutput *out, const FxFileOptions *o,
                        const FxFileInput *in)
{
	const char *name = o->out;
	memset(out, 0, sizeof *out);
	out->fd = -1;
	int to_stdout = !strcmp(name, "-");
	if (to_stdout)
		snprintf(out->label, sizeof out->label, "stdout");
	else
		snprintf(out->label, sizeof out->label, "'%s'", name);
	int format = choose_format(o, in, name);
	int ch = in->info.channels, rate = in->info.samplerate;
	out->info = (SF_INFO){.samplerate = rate, .channels = ch,
	                      .format = format};
	out->bits = pcm_bits(format);
	out->dither = out->bits && out->bits <= 16 && !o->no_dither;

	struct stat st;
	if (to_stdout) {
		if (!streams(format, ch, rate))
			fxfile_error("%s cannot be written to a pipe; "
			             "give --format au, flac or raw for stdout",
			             fxfile_format_name(format));
		if (fstat(1, &st) == 0 && S_ISREG(st.st_mode) &&
		    same_file(&st, &in->st))
			fxfile_error("stdout is the input file; "
			             "fxfile never writes over its input");
		out->direct = 1;
		out->fd = 1;
		return;
	}
	size_t len = strlen(name);
	if (len >= sizeof out->path)
		fxfile_error("%s: name too long", out->label);
	memcpy(out->path, name, len + 1);
	if (lstat(name, &st) == 0 && S_ISLNK(st.st_mode)) {
		/* The file the link points to is replaced; the link stays. */
		char *real = realpath(name, NULL);
		if (!real)
			fxfile_error("%s: %s", out->label, strerror(errno));
		snprintf(out->path, sizeof out->path, "%s", real);
		free(real);
	}
	mode_t mask = umask(0);
	umask(mask);
	out->mode = 0666 & ~mask;
	if (stat(out->path, &st) != 0) {
		if (errno != ENOENT)
			fxfile_error("%s: %s", out->label, strerror(errno));
		return;
	}
	if (same_file(&st, &in->st))
		fxfile_error("%s is the input file; fxfile never "
		             "writes over its input", out->label);
	if (S_ISDIR(st.st_mode))
		fxfile_error("%s is a directory", out->label);
	if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) {
		out->direct = 1; /* /dev/null, a named pipe */
		return;
	}
	if (!S_ISREG(st.st_mode))
		fxfile_error("%s is not a regular file", out->label);
	if (!o->force)
		fxfile_error("%s exists (--force replaces it)", out->label);
	out->replace = 1;
	out->mode = st.st_mode & 07777;
}

/* The directory of @p path in @p dir ("." for a bare name); returns the
 * last component. */
static const char *dir_of(const char *path, char *dir, size_t size)
{
	const char *slash = strrchr(path, '/');
	if (!slash) {
		snprintf(dir, size, ".");
		return path;
	}
	int len = slash == path ? 1 : (int)(slash - path);
	snprintf(dir, size, "%.*s", len, path);
	return slash + 1;
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

static SF_VIRTUAL_IO sink_io = {sink_length, sink_seek, sink_read,
                                sink_write, sink_tell};

void fxfile_output_open(FxFileOutput *out)
{
	if (out->direct && out->fd < 0 &&
	    (out->fd = open(out->path, O_WRONLY | O_CLOEXEC)) < 0)
		fxfile_error("cannot open %s: %s", out->label, strerror(errno));
	if (!out->direct) {
		char dir[PATH_MAX];
		const char *base = dir_of(out->path, dir, sizeof dir);
		int n = snprintf(out->tmp, sizeof out->tmp,
		                 "%s/.%s.fxfile-XXXXXX", dir, base);
		if (n < 0 || (size_t)n >= sizeof out->tmp) {
			out->tmp[0] = '\0';
			fxfile_error("%s: name too long", out->label);
		}
		if ((out->fd = mkostemp(out->tmp, O_CLOEXEC)) < 0) {
			out->tmp[0] = '\0';
			fxfile_error("cannot create a file in '%s': %s",
			             dir, strerror(errno));
		}
		if (fchmod(out->fd, out->mode))
			fxfile_error("cannot set the mode of '%s': %s",
			             out->tmp, strerror(errno));
	}
	SF_INFO info = out->info;
	out->via_sink = (out->info.format & SF_FORMAT_TYPEMASK) ==
	                        SF_FORMAT_FLAC &&
	                lseek(out->fd, 0, SEEK_CUR) < 0;
	out->sf = out->via_sink ? sf_open_virtual(&sink_io, SFM_WRITE, &info,
	                                          out)
	                        : sf_open_fd(out->fd, SFM_WRITE, &info,
	                                     SF_FALSE);
	if (!out->sf) {
		const char *why = sf_strerror(NULL);
		if (strstr(why, "pipe"))
			fxfile_error("%s: %s cannot be written to a pipe; use "
			             "--format au, flac or raw", out->label,
			             fxfile_format_name(out->info.format));
		fxfile_error("cannot write %s: %s", out->label, why);
	}
	/* libsndfile stamps WAV and AIFF PEAK chunks with the time. */
	sf_command(out->sf, SFC_SET_ADD_PEAK_CHUNK, NULL, SF_FALSE);
	if (!out->bits)
		sf_command(out->sf, SFC_SET_CLIPPING, NULL, SF_TRUE);
	out->rng = 0x243f6a8885a308d3u; /* any fixed seed */
	out->buf = fxfile_calloc((size_t)FXFILE_BLOCK * out->info.channels,
	                         sizeof(int));
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

void fxfile_output_write(FxFileOutput *out, float *const *blk, long off,
                         long frames, double gain)
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
		fxfile_error("cannot write %s: %s", out->label,
		             out->sink.err ? strerror(out->sink.err)
		             : sf_reason(out->sf, why, sizeof why));
	}
}

/* RF64 ignores SFC_SET_ADD_PEAK_CHUNK in libsndfile 1.2.0 and stamps its
 * PEAK chunk with time(NULL): zero the stamp, so equal runs give equal
 * files. RIFF chunks: id, little-endian size, data padded to even. */
static void unstamp_rf64(const FxFileOutput *out)
{
	if ((out->info.format & SF_FORMAT_TYPEMASK) != SF_FORMAT_RF64 ||
	    out->direct)
		return;
	unsigned char h[8];
	off_t at = 12;
	for (int k = 0; k < 64; k++) {
		if (pread(out->fd, h, 8, at) != 8)
			return;
		uint32_t size = h[4] | h[5] << 8 | h[6] << 16 |
		                (uint32_t)h[7] << 24;
		if (!memcmp(h, "PEAK", 4)) {
			static const unsigned char zero[4];
			if (size >= 8 && pwrite(out->fd, zero, 4, at + 12) != 4)
				fxfile_error("cannot write %s: %s",
				             out->label, strerror(errno));
			return;
		}
		if (!memcmp(h, "data", 4))
			return;
		at += 8 + (off_t)size + (size & 1);
	}
}

static void put_in_place(FxFileOutput *out)
{
	if (out->replace) {
		if (rename(out->tmp, out->path))
			fxfile_error("cannot replace %s: %s",
			             out->label, strerror(errno));
		return;
	}
	if (!renameat2(AT_FDCWD, out->tmp, AT_FDCWD, out->path,
	               RENAME_NOREPLACE))
		return;
	int e = errno;
	/* A filesystem without RENAME_NOREPLACE: link() does not replace
	 * either. */
	if ((e == EINVAL || e == ENOSYS) && !link(out->tmp, out->path)) {
		unlink(out->tmp);
		return;
	}
	if (e == EINVAL || e == ENOSYS)
		e = errno;
	if (e == EEXIST)
		fxfile_error("%s appeared while fxfile ran (--force "
		             "replaces it)", out->label);
	fxfile_error("cannot create %s: %s", out->label, strerror(e));
}

void fxfile_output_finish(FxFileOutput *out)
{
	int err = sf_close(out->sf);
	out->sf = NULL;
	if (err || out->sink.err)
		fxfile_error("cannot write %s: %s", out->label,
		             out->sink.err ? strerror(out->sink.err)
		             : sf_error_number(err));
	unstamp_rf64(out);
	free(out->buf);
	out->buf = NULL;
	if (out->direct) {
		if (out->fd != 1 && close(out->fd))
			fxfile_error("cannot write %s: %s", out->label,
			             strerror(errno));
		return;
	}
	if (fsync(out->fd) || close(out->fd))
		fxfile_error("cannot write %s: %s", out->label,
		             strerror(errno));
	fxfile_check_interrupt();
	put_in_place(out);
	out->tmp[0] = '\0';
	/* The rename itself, on disk. */
	char dir[PATH_MAX];
	dir_of(out->path, dir, sizeof dir);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
}

void fxfile_output_discard(FxFileOutput *out)
{
	if (out->tmp[0])
		unlink(out->tmp);
	out->tmp[0] = '\0';
}
