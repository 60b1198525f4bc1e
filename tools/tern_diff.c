/*
 * tern-diff - the differential check: the same scripted STUN/TURN client
 * sessions against ternd and coturn's turnserver, configured alike, with
 * each step's response class and error code compared.
 *
 * For every step it prints the request, what each server answered
 * (success, error and code, none, a Data indication or ChannelData, a
 * datagram delivered to the peer, a closed connection) and a verdict:
 * "same", "explained TAG" (a documented difference whose outcomes match the
 * explanations file exactly), "KNOWN TERND BUG TAG" or "DIFFERENT".
 * Exit status: 0 when every difference is explained or a known ternd bug,
 * 1 on an unexplained difference (with --strict, a known bug too) or when
 * a ternd started here does not stop cleanly (exit 0, no sanitizer report),
 * 2 on a usage or set-up error, 77 when turnserver is not installed (ctest
 * SKIP_RETURN_CODE).
 */
#define _GNU_SOURCE
#include "diff.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXIT_DIFFERENT 1
#define EXIT_SETUP     2
#define EXIT_SKIP      77
#define MAX_SESSIONS   64

struct options {
	struct diff_config cfg;
	const char *ternd_addr, *coturn_addr;
	const char *expl_path;
	const char *markdown;
	bool keep;
	bool strict; /* known ternd bugs fail the run too */
	char **sessions;
	int nsessions;
};

struct totals {
	unsigned runs, steps, same, explained, bugs, different;
	unsigned per_tag[DIFF_MAX_EXPL];
};

struct run {
	const struct options *opt;
	struct diff_server *servers;
	const struct diff_expls *expls;
	struct totals *t;
	FILE *md;
};

static const char usage_text[] =
    "usage: tern-diff --ternd PATH [OPTIONS] SESSION-FILE...\n"
    "\n"
    "Runs each session script against ternd and coturn (started here on free\n"
    "loopback ports, configured alike) and compares every step's response\n"
    "class and error code.\n"
    "\n"
    "options:\n"
    "  --ternd PATH          the ternd binary to start\n"
    "  --coturn PATH         the turnserver binary (default: turnserver in PATH)\n"
    "  --ternd-addr IP:PORT  use a running ternd instead of starting one\n"
    "  --coturn-addr IP:PORT use a running coturn instead of starting one\n"
    "  --explanations FILE   documented differences (TAG | TERND | COTURN | REF)\n"
    "  --markdown FILE       also write the results as a Markdown table\n"
    "  --rfc5766             start ternd with rfc5766-channel-numbers\n"
    "  --user U --password P --realm R   the credentials (default diff,\n"
    "                        diff-password, tern.diff)\n"
    "  --strict              known ternd bugs (explanations whose reference\n"
    "                        starts \"ternd bug\") fail the run too\n"
    "  --keep                keep the servers' logs (the directory is printed)\n"
    "  --verbose             start both servers with verbose logging\n"
    "\n"
    "Servers given by address must have that user and realm, a second user\n"
    "diff2:diff2-password, allow loopback peers and deny 198.51.100.0/24.\n"
    "\n"
    "Exit status: 0 every difference explained or a known ternd bug, 1 an\n"
    "unexplained difference (or, with --strict, a known ternd bug) or a\n"
    "ternd that did not stop cleanly on SIGTERM, 2 usage or set-up error,\n"
    "77 turnserver not installed.\n";

/* ------------------------------------------------------------ options */

static volatile pid_t child_pids[DIFF_SERVERS];

static void on_signal(int sig)
{
	for (unsigned i = 0; i < DIFF_SERVERS; i++)
		if (child_pids[i] > 0)
			kill(child_pids[i], SIGKILL);
	_exit(128 + sig);
}

/* turnserver's path from $PATH, or NULL. */
static const char *find_in_path(const char *name, char *buf, size_t cap)
{
	const char *path = getenv("PATH");
	char dirs[4096];
	char *save = NULL;

	if (path == NULL || strchr(name, '/') != NULL)
		return access(name, X_OK) == 0 ? name : NULL;
	snprintf(dirs, sizeof(dirs), "%s", path);
	for (char *d = strtok_r(dirs, ":", &save); d != NULL; d = strtok_r(NULL, ":", &save)) {
		snprintf(buf, cap, "%s/%s", d, name);
		if (access(buf, X_OK) == 0)
			return buf;
	}
	return NULL;
}

static bool take_value(int argc, char **argv, int *i, const char *name, const char **out)
{
	if (strcmp(argv[*i], name) != 0)
		return false;
	if (*i + 1 >= argc) {
		fprintf(stderr, "tern-diff: %s needs a value\n", name);
		exit(EXIT_SETUP);
	}
	*out = argv[++*i];
	return true;
}

static void parse_options(int argc, char **argv, struct options *o)
{
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (take_value(argc, argv, &i, "--ternd", &o->cfg.ternd_path) ||
		    take_value(argc, argv, &i, "--coturn", &o->cfg.coturn_path) ||
		    take_value(argc, argv, &i, "--ternd-addr", &o->ternd_addr) ||
		    take_value(argc, argv, &i, "--coturn-addr", &o->coturn_addr) ||
		    take_value(argc, argv, &i, "--explanations", &o->expl_path) ||
		    take_value(argc, argv, &i, "--markdown", &o->markdown) ||
		    take_value(argc, argv, &i, "--user", &o->cfg.user) ||
		    take_value(argc, argv, &i, "--password", &o->cfg.password) ||
		    take_value(argc, argv, &i, "--realm", &o->cfg.realm))
			continue;
		if (strcmp(argv[i], "--rfc5766") == 0) {
			o->cfg.rfc5766 = true;
		} else if (strcmp(argv[i], "--strict") == 0) {
			o->strict = true;
		} else if (strcmp(argv[i], "--keep") == 0) {
			o->keep = true;
		} else if (strcmp(argv[i], "--verbose") == 0) {
			o->cfg.verbose = true;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(usage_text, stdout);
			exit(0);
		} else {
			fprintf(stderr, "tern-diff: unknown option %s\n%s", argv[i], usage_text);
			exit(EXIT_SETUP);
		}
	}
	o->sessions = argv + i;
	o->nsessions = argc - i;
	if (o->nsessions == 0 || o->nsessions > MAX_SESSIONS ||
	    (o->cfg.ternd_path == NULL && o->ternd_addr == NULL)) {
		fputs(usage_text, stderr);
		exit(EXIT_SETUP);
	}
}

/* ------------------------------------------------------------ servers */

static bool use_address(struct diff_server *s, const char *name, const char *text)
{
	struct tern_addr a;

	s->name = name;
	if (!diff_parse_addr(text, &a) || a.port == 0) {
		fprintf(stderr, "tern-diff: bad address %s\n", text);
		return false;
	}
	diff_addr_str(&a, s->ip, sizeof(s->ip));
	*strrchr(s->ip, ':') = '\0';
	if (s->ip[0] == '[') {
		memmove(s->ip, s->ip + 1, strlen(s->ip));
		s->ip[strlen(s->ip) - 1] = '\0';
	}
	s->port = a.port;
	return true;
}

static bool start_servers(struct options *o, struct diff_server *s)
{
	bool ok;

	ok = o->ternd_addr != NULL ? use_address(&s[0], "ternd", o->ternd_addr)
	                           : diff_start_ternd(&o->cfg, &s[0]);
	child_pids[0] = s[0].pid;
	if (ok)
		ok = o->coturn_addr != NULL ? use_address(&s[1], "coturn", o->coturn_addr)
		                            : diff_start_coturn(&o->cfg, &s[1], &s[0]);
	child_pids[1] = s[1].pid;
	for (unsigned i = 0; ok && i < DIFF_SERVERS; i++) {
		if (!diff_wait_ready(&s[i], 15000)) {
			diff_print_log(&s[i]);
			ok = false;
		}
	}
	for (unsigned i = 0; ok && i < DIFF_SERVERS; i++)
		printf("tern-diff: %s on %s:%u, relay ports %u-%u\n", s[i].name, s[i].ip, s[i].port,
		       s[i].min_port, s[i].max_port);
	return ok;
}

/* ternd must stop cleanly on SIGTERM, sanitizer builds included. */
static int stop_servers(struct diff_server *s, int rc)
{
	bool started = s[0].pid > 0;
	bool ok = diff_stop(&s[0]);

	diff_stop(&s[1]);
	if (started && (!ok || !diff_log_clean(&s[0]))) {
		diff_print_log(&s[0]);
		fprintf(stderr, "tern-diff: ternd did not stop cleanly on SIGTERM\n");
		return rc == 0 ? EXIT_DIFFERENT : rc;
	}
	return rc;
}

static void remove_dir(const char *path)
{
	DIR *dir = opendir(path);
	struct dirent *e;

	if (dir == NULL)
		return;
	while ((e = readdir(dir)) != NULL) {
		char p[512];

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		unlink(p);
	}
	closedir(dir);
	rmdir(path);
}

/* ------------------------------------------------------------ running */

/* "same", "explained TAG", "KNOWN TERND BUG TAG" or "DIFFERENT"; counts it. */
static const char *verdict(const struct run *r, const struct diff_step *st, const char *a,
                           const char *b, char *buf, size_t cap)
{
	const struct diff_expl *e;
	bool unknown = false;

	r->t->steps++;
	if (strcmp(a, b) == 0 && strncmp(a, "failed", 6) != 0) {
		r->t->same++;
		return "same";
	}
	e = diff_expl_match(r->expls, st->explain, a, b, &unknown);
	if (e != NULL) {
		r->t->per_tag[e - r->expls->e]++;
		if (e->bug)
			r->t->bugs++;
		else
			r->t->explained++;
		snprintf(buf, cap, "%s %s", e->bug ? "KNOWN TERND BUG" : "explained", e->tag);
		return buf;
	}
	r->t->different++;
	snprintf(buf, cap, "DIFFERENT%s", unknown ? " (a tag is not in the explanations)" : "");
	return buf;
}

static bool answered(const struct diff_outcome *o)
{
	return o->cls == DIFF_OUT_SUCCESS || o->cls == DIFF_OUT_ERROR;
}

static void run_step(const struct run *r, struct diff_ctx *ctx, const struct diff_step *st,
                     const char *label)
{
	uint8_t txid[DIFF_SERVERS][TERN_STUN_TXID_LEN];
	struct diff_outcome o[DIFF_SERVERS];
	char out[DIFF_SERVERS][DIFF_OUT_MAX], vbuf[DIFF_OUT_MAX + 32];
	const char *v;
	uint64_t end;

	for (unsigned i = 0; i < DIFF_SERVERS; i++)
		diff_step_act(&ctx[i], st, txid[i], &o[i]);
	end = diff_now_ms() + (uint64_t)st->wait_ms;
	for (unsigned i = 0; i < DIFF_SERVERS; i++)
		diff_step_observe(&ctx[i], st, txid[i], end, &o[i]);
	/* one server answered, the other not yet: a slow (sanitizer) build gets longer */
	end = diff_now_ms() + DIFF_ANSWER_MS;
	for (unsigned i = 0; i < DIFF_SERVERS; i++)
		if (o[i].cls == DIFF_OUT_NONE && answered(&o[1 - i]))
			diff_step_observe(&ctx[i], st, txid[i], end, &o[i]);
	for (unsigned i = 0; i < DIFF_SERVERS; i++)
		diff_outcome_str(&o[i], out[i], sizeof(out[i]));
	v = verdict(r, st, out[0], out[1], vbuf, sizeof(vbuf));
	printf("%-26s %-22s %-44.44s | %-24s | %-24s | %s\n", label, st->name, st->text, out[0],
	       out[1], v);
	if (r->md != NULL)
		fprintf(r->md, "| %s | %s | `%s` | %s | %s | %s |\n", label, st->name, st->text,
		        out[0], out[1], v);
}

static void run_session(const struct run *r, const struct diff_session *s, bool tcp, unsigned index)
{
	struct diff_ctx ctx[DIFF_SERVERS];
	char label[DIFF_NAME_MAX + 8], source[32];

	/* a source address per run: ternd limits 401s per source address */
	snprintf(source, sizeof(source), "127.0.%u.%u", 100 + index / 200, 10 + index % 200);
	snprintf(label, sizeof(label), "%s/%s", s->name, tcp ? "tcp" : "udp");
	for (unsigned i = 0; i < DIFF_SERVERS; i++)
		diff_ctx_init(&ctx[i], &r->servers[i], &r->opt->cfg, source, tcp);
	r->t->runs++;
	for (unsigned k = 0; k < s->nsteps; k++)
		run_step(r, ctx, &s->steps[k], label);
	for (unsigned i = 0; i < DIFF_SERVERS; i++)
		diff_ctx_free(&ctx[i]);
}

static void print_totals(const struct run *r, unsigned nsessions)
{
	const struct totals *t = r->t;

	printf("\ntern-diff: %u sessions, %u runs, %u steps: %u same, %u explained, "
	       "%u known ternd bugs, %u unexplained\n",
	       nsessions, t->runs, t->steps, t->same, t->explained, t->bugs, t->different);
	for (unsigned i = 0; i < r->expls->n; i++)
		if (t->per_tag[i] != 0)
			printf("  %-24s %3u  %s\n", r->expls->e[i].tag, t->per_tag[i],
			       r->expls->e[i].ref);
	if (r->md != NULL)
		fprintf(r->md,
		        "\n%u sessions, %u runs, %u steps: %u same, %u explained differences, "
		        "%u known ternd bugs, %u unexplained differences.\n",
		        nsessions, t->runs, t->steps, t->same, t->explained, t->bugs, t->different);
}

static int run_all(struct options *o, struct diff_server *servers, const struct diff_expls *x)
{
	static struct diff_session session;
	struct totals t = {0};
	struct run r = {o, servers, x, &t, NULL};
	unsigned index = 0;

	if (o->markdown != NULL && (r.md = fopen(o->markdown, "w")) == NULL) {
		fprintf(stderr, "tern-diff: %s: %s\n", o->markdown, strerror(errno));
		return EXIT_SETUP;
	}
	if (r.md != NULL)
		fprintf(r.md, "| session | step | request | ternd | coturn | verdict |\n"
		              "| --- | --- | --- | --- | --- | --- |\n");
	printf("%-26s %-22s %-44s | %-24s | %-24s | %s\n", "session", "step", "request", "ternd",
	       "coturn", "verdict");
	for (int i = 0; i < o->nsessions; i++) {
		if (!diff_session_load(o->sessions[i], &session))
			return EXIT_SETUP;
		if (session.udp)
			run_session(&r, &session, false, index++);
		if (session.tcp)
			run_session(&r, &session, true, index++);
	}
	print_totals(&r, (unsigned)o->nsessions);
	if (r.md != NULL)
		fclose(r.md);
	return t.different == 0 && (!o->strict || t.bugs == 0) ? 0 : EXIT_DIFFERENT;
}

int main(int argc, char **argv)
{
	static struct diff_expls expls;
	struct options o = {.cfg = {.user = "diff",
	                            .password = "diff-password",
	                            .realm = "tern.diff",
	                            .user2 = "diff2",
	                            .password2 = "diff2-password",
	                            .denied_peer = "198.51.100.0-198.51.100.255"}};
	struct diff_server servers[DIFF_SERVERS] = {{0}};
	char coturn[4096];
	int rc = EXIT_SETUP;

	parse_options(argc, argv, &o);
	if (o.coturn_addr == NULL) {
		o.cfg.coturn_path =
		    find_in_path(o.cfg.coturn_path != NULL ? o.cfg.coturn_path : "turnserver",
		                 coturn, sizeof(coturn));
		if (o.cfg.coturn_path == NULL) {
			printf("tern-diff: SKIP: coturn's turnserver is not installed\n");
			return EXIT_SKIP;
		}
	}
	if (o.expl_path != NULL && !diff_expls_load(o.expl_path, &expls))
		return EXIT_SETUP;
	snprintf(o.cfg.dir, sizeof(o.cfg.dir), "/tmp/tern-diff-XXXXXX");
	if (mkdtemp(o.cfg.dir) == NULL) {
		perror("tern-diff: mkdtemp");
		return EXIT_SETUP;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	if (start_servers(&o, servers))
		rc = run_all(&o, servers, &expls);
	rc = stop_servers(servers, rc);
	if (o.keep)
		printf("tern-diff: logs kept in %s\n", o.cfg.dir);
	else
		remove_dir(o.cfg.dir);
	return rc;
}
