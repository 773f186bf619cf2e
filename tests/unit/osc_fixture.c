/* SPDX-License-Identifier: ISC */
/* The OSC unit tests' shared rig and helpers (osc_fixture.h). */
#define _GNU_SOURCE
#include "tests/unit/osc_fixture.h"

void client_open(Client *cl, const char *host)
{
	cl->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(cl->fd, 0);
	int size = 4 << 20;
	setsockopt(cl->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
	struct sockaddr_in a = {.sin_family = AF_INET};
	ck_assert_int_eq(inet_pton(AF_INET, host, &a.sin_addr), 1);
	ck_assert_int_eq(bind(cl->fd, (struct sockaddr *)&a, sizeof a), 0);
	socklen_t len = sizeof a;
	getsockname(cl->fd, (struct sockaddr *)&a, &len);
	cl->port = ntohs(a.sin_port);
}

void client_close(Client *cl)
{
	close(cl->fd);
}

int next_reply(Client *cl, Reply *out, int timeout_ms)
{
	struct pollfd p = {cl->fd, POLLIN, 0};
	if (poll(&p, 1, timeout_ms) != 1)
		return 0;
	ssize_t n = recv(cl->fd, cl->buf, sizeof cl->buf, 0);
	ck_assert_int_gt(n, 0);
	size_t plen = strnlen((const char *)cl->buf, (size_t)n);
	ck_assert_msg(plen < (size_t)n, "reply without a terminated address");
	int res = 0;
	out->m = lo_message_deserialise(cl->buf, (size_t)n, &res);
	ck_assert_msg(out->m, "undecodable reply to %s (%d)", cl->buf, res);
	out->path = strdup((const char *)cl->buf);
	return 1;
}

void reply_free(Reply *r)
{
	lo_message_free(r->m);
	free(r->path);
}

void collect(Client *cl, Replies *out, int quiet_ms)
{
	out->n = 0;
	while (out->n < MAX_REPLIES && next_reply(cl, &out->r[out->n], quiet_ms))
		out->n++;
}

void replies_free(Replies *rs)
{
	for (int i = 0; i < rs->n; i++)
		reply_free(&rs->r[i]);
	rs->n = 0;
}

void drain(Client *cl)
{
	Replies rs;
	collect(cl, &rs, QUIET_MS);
	replies_free(&rs);
}

void drain_now(Client *cl)
{
	while (recv(cl->fd, cl->buf, sizeof cl->buf, MSG_DONTWAIT) > 0)
		;
}

const char *types_of(lo_message m)
{
	return lo_message_get_types(m);
}

const void *arg(lo_message m, int i)
{
	ck_assert_int_lt(i, lo_message_get_argc(m));
	return lo_message_get_argv(m)[i];
}

float arg_f(lo_message m, int i)
{
	ck_assert_int_eq(types_of(m)[i], LO_FLOAT);
	float v;
	memcpy(&v, arg(m, i), sizeof v);
	return v;
}

int arg_i(lo_message m, int i)
{
	ck_assert_int_eq(types_of(m)[i], LO_INT32);
	int32_t v;
	memcpy(&v, arg(m, i), sizeof v);
	return v;
}

double arg_d(lo_message m, int i)
{
	ck_assert_int_eq(types_of(m)[i], LO_DOUBLE);
	double v;
	memcpy(&v, arg(m, i), sizeof v);
	return v;
}

const char *arg_s(lo_message m, int i)
{
	ck_assert_int_eq(types_of(m)[i], LO_STRING);
	return arg(m, i);
}

lo_message expect_at(Client *cl, const char *path, const char *types,
                     int timeout_ms, int line)
{
	Reply r;
	ck_assert_msg(next_reply(cl, &r, timeout_ms),
	              "line %d: no reply, wanted %s", line, path);
	ck_assert_msg(!strcmp(r.path, path) && !strcmp(types_of(r.m), types),
	              "line %d: got %s ,%s %s, wanted %s ,%s", line, r.path,
	              types_of(r.m),
	              !strcmp(r.path, "/fxd/fail") ? (const char *)arg(r.m, 1)
	                                           : "",
	              path, types);
	free(r.path);
	return r.m;
}

void expect_nothing_at(Client *cl, int line)
{
	Reply r;
	if (next_reply(cl, &r, QUIET_MS)) {
		char path[256];
		snprintf(path, sizeof path, "%s ,%s", r.path, types_of(r.m));
		reply_free(&r);
		ck_abort_msg("line %d: unexpected reply %s", line, path);
	}
}

int count_path(const Replies *rs, const char *path, lo_message *last)
{
	int n = 0;
	for (int i = 0; i < rs->n; i++)
		if (!strcmp(rs->r[i].path, path)) {
			n++;
			if (last)
				*last = rs->r[i].m;
		}
	return n;
}

int count_prefix(const Replies *rs, const char *prefix)
{
	int n = 0;
	for (int i = 0; i < rs->n; i++)
		n += !strncmp(rs->r[i].path, prefix, strlen(prefix));
	return n;
}

Rig *rig_open(RigOptions opt)
{
	Rig *r = calloc(1, sizeof *r);
	ck_assert_ptr_nonnull(r);
	snprintf(r->dir, sizeof r->dir, "/tmp/fxd-test-osc-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(r->dir));
	snprintf(r->preset_dir, sizeof r->preset_dir, "%s/presets", r->dir);
	snprintf(r->state_file, sizeof r->state_file, "%s/state", r->dir);

	FxChainSpec spec = fx_test_spec(opt.chain ? opt.chain : CHAIN);
	FxEngineConfig ec = fx_engine_config_default();
	ec.period = PERIOD;
	FxStatus st;
	r->e = fx_engine_new(&ec, &spec, &st);
	ck_assert_msg(r->e, "fx_engine_new: %s", fx_strerror(st));
	fx_engine_set_worker_running(r->e, 0);

	FxControlConfig cc = {.preset_dir = r->preset_dir,
	                      .state_file = r->state_file,
	                      .on_lock = opt.on_lock,
	                      .user = opt.on_lock_user};
	r->c = fx_control_new(r->e, &cc);
	ck_assert_ptr_nonnull(r->c);

	if (opt.midi)
		ck_assert_ptr_nonnull(r->midi = fx_midi_new(r->c));

	FxOscConfig oc = fx_osc_config_default();
	oc.midi = r->midi;
	oc.port = 0;
	oc.aliases = opt.aliases;
	oc.n_aliases = opt.n_aliases;
	oc.targets = opt.targets;
	oc.n_targets = opt.n_targets;
	oc.rate_hz = opt.rate_hz > 0 ? opt.rate_hz : 1000;
	oc.tcp = opt.tcp;
	if (opt.tcp_max)
		oc.tcp_max = opt.tcp_max;
	if (opt.tcp_idle_s > 0)
		oc.tcp_idle_s = opt.tcp_idle_s;
	char why[256] = "";
	r->o = fx_osc_new(&oc, r->c, why, sizeof why);
	ck_assert_msg(r->o, "fx_osc_new: %s", why);
	ck_assert_int_gt(fx_osc_port(r->o), 0);

	client_open(&r->cl, "127.0.0.1");
	for (int c = 0; c < 2; c++) {
		r->inp[c] = r->in[c];
		r->outp[c] = r->out[c];
	}
	if (opt.threaded)
		ck_assert_int_eq(fx_osc_start(r->o), 0);
	return r;
}

Rig *rig_new(void)
{
	return rig_open((RigOptions){0});
}

int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

void rig_free(Rig *r)
{
	fx_osc_free(r->o);
	fx_midi_free(r->midi);
	fx_control_free(r->c);
	fx_engine_free(r->e);
	client_close(&r->cl);
	nftw(r->dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
	free(r);
}

void send_internal(Rig *r, const char *path, const char *types, ...)
{
	lo_message m = lo_message_new();
	va_list ap;
	va_start(ap, types);
	ck_assert_int_eq(lo_message_add_varargs(m, types, ap), 0);
	va_end(ap);
	size_t len = 0;
	void *data = lo_message_serialise(m, path, NULL, &len);
	ck_assert_ptr_nonnull(data);
	fx_osc_inject(r->o, data, len, r->cl.port);
	free(data);
	lo_message_free(m);
}

void send_raw(Rig *r, const void *data, size_t len)
{
	fx_osc_inject(r->o, data, len, r->cl.port);
}

void *build_va(const char *path, size_t *len, const char *types, va_list ap)
{
	lo_message m = lo_message_new();
	ck_assert_int_eq(lo_message_add_varargs(m, types, ap), 0);
	*len = 0;
	void *data = lo_message_serialise(m, path, NULL, len);
	ck_assert_ptr_nonnull(data);
	lo_message_free(m);
	return data;
}

void udp_send_internal(Rig *r, Client *cl, const char *path, const char *types,
                       ...)
{
	va_list ap;
	va_start(ap, types);
	size_t len;
	void *data = build_va(path, &len, types, ap);
	va_end(ap);
	struct sockaddr_in to = {.sin_family = AF_INET,
	                         .sin_port = htons((uint16_t)fx_osc_port(r->o)),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	ck_assert_int_eq(
		sendto(cl->fd, data, len, 0, (struct sockaddr *)&to, sizeof to),
		(ssize_t)len);
	free(data);
}

void expect_fail_at(Rig *r, const char *path, const char *why, int line)
{
	lo_message m = expect_at(&r->cl, "/fxd/fail", "ss", WAIT_MS, line);
	ck_assert_msg(!strcmp(arg_s(m, 0), path) && strstr(arg_s(m, 1), why),
	              "line %d: failed %s (%s), wanted %s (...%s...)", line,
	              arg_s(m, 0), arg_s(m, 1), path, why);
	lo_message_free(m);
}

void expect_done_at(Rig *r, const char *path, int line)
{
	lo_message m = expect_at(&r->cl, "/fxd/done", "s", WAIT_MS, line);
	ck_assert_msg(!strcmp(arg_s(m, 0), path), "line %d: done %s", line,
	              arg_s(m, 0));
	lo_message_free(m);
}

float get_f(Rig *r, const char *path)
{
	SEND(r, path, "");
	lo_message m = expect(&r->cl, path, "f", WAIT_MS);
	float v = arg_f(m, 0);
	lo_message_free(m);
	return v;
}

int get_i(Rig *r, const char *path)
{
	SEND(r, path, "");
	lo_message m = expect(&r->cl, path, "i", WAIT_MS);
	int v = arg_i(m, 0);
	lo_message_free(m);
	return v;
}

FxOscCounters counters(Rig *r)
{
	FxOscCounters c;
	fx_osc_counters(r->o, &c);
	return c;
}

void nap_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

void play(Rig *r, int periods)
{
	for (int p = 0; p < periods; p++) {
		for (int i = 0; i < PERIOD; i++, r->frame++) {
			float x = (float)(r->amp * sin(2 * M_PI * r->hz *
			                               r->frame / 48000.0));
			r->in[0][i] = r->in[1][i] = x;
		}
		fx_engine_process(r->e, r->inp, r->outp, PERIOD);
		fx_engine_work(r->e);
	}
}

void tick(Rig *r)
{
	nap_ms(2);
	fx_osc_tick(r->o);
}

void tick_collect(Rig *r, Replies *rs)
{
	tick(r);
	collect(&r->cl, rs, QUIET_MS);
}

void subscribe(Rig *r)
{
	SEND(r, "/fxd/subscribe", "");
	lo_message m = expect(&r->cl, "/fxd/subscribed", "sii", WAIT_MS);
	ck_assert_str_eq(arg_s(m, 0), "127.0.0.1");
	ck_assert_int_eq(arg_i(m, 1), r->cl.port);
	lo_message_free(m);
	drain(&r->cl);
}

const FxParamInfo *param_info(const char *effect, const char *name)
{
	const FxEffectClass *cls = fx_effect_find(effect);
	ck_assert_ptr_nonnull(cls);
	int p = fx_param_find(cls, name);
	ck_assert_int_ge(p, 0);
	return &cls->params[p];
}

int label_index(const FxParamInfo *p, const char *label)
{
	for (int i = 0; p->labels[i]; i++)
		if (!strcmp(p->labels[i], label))
			return i;
	ck_abort_msg("no label %s", label);
	return -1;
}

double stat_value(lo_message m, const char *key, int *ok)
{
	const char *t = types_of(m);
	*ok = 0;
	for (int i = 0; t[i] && t[i + 1]; i += 2) {
		ck_assert_int_eq(t[i], LO_STRING);
		ck_assert_int_eq(t[i + 1], LO_DOUBLE);
		if (!strcmp(arg_s(m, i), key)) {
			*ok = 1;
			return arg_d(m, i + 1);
		}
	}
	return NAN;
}

double stat_of(lo_message m, const char *key)
{
	int ok;
	double v = stat_value(m, key, &ok);
	ck_assert_msg(ok, "no %s in /fxd/stats", key);
	ck_assert_msg(isfinite(v), "%s is %g", key, v);
	return v;
}

lo_message get_stats(Rig *r)
{
	SEND(r, "/fxd/stats", "");
	Reply rep;
	ck_assert(next_reply(&r->cl, &rep, WAIT_MS));
	ck_assert_str_eq(rep.path, "/fxd/stats");
	free(rep.path);
	return rep.m;
}

void make_presets(Rig *r, int n)
{
	mkdir(r->preset_dir, 0755);
	for (int i = 0; i < n; i++) {
		char path[256];
		snprintf(path, sizeof path, "%s/%s%05d.fxchain", r->preset_dir,
		         PRESET_STEM, i);
		write_file(path, "vol:gain\n", 9);
	}
}

int preset_parts(const Replies *rs, size_t part)
{
	int names = 0, parts = rs->n;
	ck_assert_int_ge(parts, 2);
	for (int i = 0; i < parts; i++) {
		lo_message m = rs->r[i].m;
		const char *t = types_of(m);
		ck_assert_str_eq(rs->r[i].path, "/fxd/preset/list");
		ck_assert(!strncmp(t, "ii", 2) &&
		          strspn(t + 2, "s") == strlen(t + 2));
		ck_assert_int_eq(arg_i(m, 0), i);
		ck_assert_int_eq(arg_i(m, 1), parts);
		ck_assert_uint_le(lo_message_length(m, "/fxd/preset/list"),
		                  part + 64);
		for (int k = 2; t[k]; k++, names++) {
			char want[80];
			snprintf(want, sizeof want, "%s%05d", PRESET_STEM, names);
			ck_assert_str_eq(arg_s(m, k), want);
		}
	}
	return names;
}

/* A small JSON checker: 1 if the whole text is one valid JSON value. */
typedef struct {
	const char *p;
	int depth;
} Json;

static int json_value(Json *j);

static void json_space(Json *j)
{
	while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')
		j->p++;
}

static int json_string(Json *j)
{
	if (*j->p++ != '"')
		return 0;
	for (;;) {
		unsigned char ch = (unsigned char)*j->p++;
		if (ch == '"')
			return 1;
		if (ch < 32)
			return 0;
		if (ch != '\\')
			continue;
		ch = (unsigned char)*j->p++;
		if (ch == 'u') {
			for (int i = 0; i < 4; i++, j->p++)
				if (!strchr("0123456789abcdefABCDEF", *j->p) ||
				    !*j->p)
					return 0;
		} else if (!ch || !strchr("\"\\/bfnrt", ch)) {
			return 0;
		}
	}
}

static int json_digits(Json *j)
{
	const char *start = j->p;
	while (*j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > start;
}

static int json_number(Json *j)
{
	if (*j->p == '-')
		j->p++;
	if (*j->p == '0')
		j->p++;
	else if (!json_digits(j))
		return 0;
	if (*j->p == '.') {
		j->p++;
		if (!json_digits(j))
			return 0;
	}
	if (*j->p == 'e' || *j->p == 'E') {
		j->p++;
		if (*j->p == '+' || *j->p == '-')
			j->p++;
		if (!json_digits(j))
			return 0;
	}
	return 1;
}

static int json_word(Json *j, const char *w)
{
	size_t n = strlen(w);
	if (strncmp(j->p, w, n))
		return 0;
	j->p += n;
	return 1;
}

/* Members of an object (@p close '}') or elements of an array (']'). */
static int json_items(Json *j, char close)
{
	j->p++;
	json_space(j);
	if (*j->p == close) {
		j->p++;
		return 1;
	}
	for (;;) {
		json_space(j);
		if (close == '}') {
			if (!json_string(j))
				return 0;
			json_space(j);
			if (*j->p++ != ':')
				return 0;
		}
		if (!json_value(j))
			return 0;
		json_space(j);
		char ch = *j->p++;
		if (ch == close)
			return 1;
		if (ch != ',')
			return 0;
	}
}

static int json_value(Json *j)
{
	if (++j->depth > 64)
		return 0;
	json_space(j);
	int ok;
	switch (*j->p) {
	case '{':
		ok = json_items(j, '}');
		break;
	case '[':
		ok = json_items(j, ']');
		break;
	case '"':
		ok = json_string(j);
		break;
	case 't':
		ok = json_word(j, "true");
		break;
	case 'f':
		ok = json_word(j, "false");
		break;
	case 'n':
		ok = json_word(j, "null");
		break;
	default:
		ok = json_number(j);
		break;
	}
	j->depth--;
	return ok;
}

int json_valid(const char *text)
{
	Json j = {text, 0};
	if (!json_value(&j))
		return 0;
	json_space(&j);
	return *j.p == '\0';
}

void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "we");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	fclose(f);
}

char *json_of(Rig *r)
{
	SEND(r, "/fxd/json", "");
	Replies rs;
	collect(&r->cl, &rs, QUIET_MS);
	ck_assert_int_ge(rs.n, 1);
	char *text = calloc(1, (size_t)rs.n * FX_OSC_JSON_PART + 1);
	for (int i = 0; i < rs.n; i++) {
		ck_assert_str_eq(rs.r[i].path, "/fxd/json");
		strcat(text, arg_s(rs.r[i].m, 2));
	}
	replies_free(&rs);
	ck_assert_msg(json_valid(text), "not JSON: %s", text);
	return text;
}
