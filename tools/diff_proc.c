/*
 * diff_proc.c - the two servers of a tern-diff run: ternd and coturn's
 * turnserver, configured alike (one static long-term user, one realm,
 * loopback peers allowed, the same denied peer range, UDP and TCP listeners
 * on 127.0.0.1, UDP relays on 127.0.0.1, one relay thread, no TLS, no
 * RFC 5780, no TCP relays), each on free ports with its own relay port
 * range. Children die with tern-diff (PR_SET_PDEATHSIG) and are stopped by
 * PID.
 */
#define _GNU_SOURCE
#include "diff.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RELAY_PORTS 40u
#define ARGS_MAX    48u
#define ARG_LEN     320u

extern char **environ;

struct argv_buf {
	char text[ARGS_MAX][ARG_LEN];
	char *argv[ARGS_MAX + 1];
	unsigned n;
};

static void arg(struct argv_buf *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void arg(struct argv_buf *a, const char *fmt, ...)
{
	va_list ap;

	if (a->n >= ARGS_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(a->text[a->n], ARG_LEN, fmt, ap);
	va_end(ap);
	a->argv[a->n] = a->text[a->n];
	a->argv[++a->n] = NULL;
}

/* The environment without TERN_* variables (ternd would read them). */
static char **clean_env(void)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ[n] != NULL)
		n++;
	env = calloc(n + 1, sizeof(*env));
	if (env == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "TERN_", 5) != 0)
			env[k++] = environ[i];
	return env;
}

static bool spawn(struct diff_server *s, const char *path, struct argv_buf *a)
{
	int fd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	char **env = clean_env();
	pid_t parent = getpid();

	if (fd < 0 || env == NULL) {
		fprintf(stderr, "tern-diff: %s: %s\n", s->log, strerror(errno));
		free(env);
		if (fd >= 0)
			close(fd);
		return false;
	}
	s->pid = fork();
	if (s->pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		/* a killed tern-diff must not leave a server behind */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
			_exit(126);
		dup2(null, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execve(path, a->argv, env);
		fprintf(stderr, "exec %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	free(env);
	close(fd);
	if (s->pid < 0) {
		s->pid = 0;
		return false;
	}
	return true;
}

/* Listener port and relay range, not overlapping the other server's. */
static bool pick_ports(const struct diff_config *c, struct diff_server *s,
                       const struct diff_server *other)
{
	uint16_t avoid[1] = {other != NULL ? other->port : 0};
	uint16_t lo = other != NULL ? other->min_port : 0, hi = other != NULL ? other->max_port : 0;

	snprintf(s->ip, sizeof(s->ip), "127.0.0.1");
	snprintf(s->log, sizeof(s->log), "%s/%s.log", c->dir, s->name);
	s->port = diff_free_port(avoid, other != NULL ? 1 : 0);
	if (s->port == 0 || !diff_free_range(RELAY_PORTS, lo, hi, &s->min_port)) {
		fprintf(stderr, "tern-diff: no free ports for %s\n", s->name);
		return false;
	}
	s->max_port = (uint16_t)(s->min_port + RELAY_PORTS - 1);
	return true;
}

/* The settings both servers share: addresses, ports, realm, users, peers. */
static void common_args(const struct diff_config *c, const struct diff_server *s,
                        struct argv_buf *a)
{
	arg(a, "--listening-ip=127.0.0.1");
	arg(a, "--relay-ip=127.0.0.1");
	arg(a, "--listening-port=%u", s->port);
	arg(a, "--min-port=%u", s->min_port);
	arg(a, "--max-port=%u", s->max_port);
	arg(a, "--realm=%s", c->realm);
	arg(a, "--user=%s:%s", c->user, c->password);
	arg(a, "--user=%s:%s", c->user2, c->password2);
	arg(a, "--denied-peer-ip=%s", c->denied_peer);
	arg(a, "--allow-loopback-peers");
	arg(a, "--relay-threads=1");
	arg(a, "--stale-nonce=600");
}

bool diff_start_ternd(const struct diff_config *c, struct diff_server *s)
{
	struct argv_buf a = {0};

	s->name = "ternd";
	if (!pick_ports(c, s, NULL))
		return false;
	arg(&a, "ternd");
	common_args(c, s, &a);
	arg(&a, "--no-tls");
	arg(&a, "--stop-grace=0");
	if (c->rfc5766)
		arg(&a, "--rfc5766-channel-numbers");
	if (c->verbose)
		arg(&a, "--verbose");
	return spawn(s, c->ternd_path, &a);
}

bool diff_start_coturn(const struct diff_config *c, struct diff_server *s,
                       const struct diff_server *other)
{
	struct argv_buf a = {0};

	s->name = "coturn";
	if (!pick_ports(c, s, other))
		return false;
	arg(&a, "turnserver");
	arg(&a, "-n"); /* no configuration file */
	arg(&a, "--no-cli");
	arg(&a, "--no-tls");
	arg(&a, "--no-dtls");
	arg(&a, "--no-tcp-relay");
	arg(&a, "--no-rfc5780");
	common_args(c, s, &a);
	arg(&a, "--lt-cred-mech");
	arg(&a, "--db=%s/coturn.db", c->dir);
	arg(&a, "--pidfile=%s/coturn.pid", c->dir);
	arg(&a, "--log-file=stdout");
	arg(&a, "--simple-log");
	if (c->verbose)
		arg(&a, "--verbose");
	return spawn(s, c->coturn_path, &a);
}

bool diff_wait_ready(struct diff_server *s, int timeout_ms)
{
	uint64_t end = diff_now_ms() + (uint64_t)timeout_ms;
	struct diff_config cfg = {0};
	struct diff_step st = {.action = DIFF_ACT_REQUEST,
	                       .method = TERN_STUN_BINDING,
	                       .transport = -1,
	                       .lifetime = -1,
	                       .channel = -1,
	                       .family = -1,
	                       .add_family = -1,
	                       .even_port = -1,
	                       .wait_ms = 200};

	while (diff_now_ms() < end) {
		struct diff_ctx x;
		struct diff_outcome o = {0};
		uint8_t txid[TERN_STUN_TXID_LEN];
		int status;

		if (s->pid > 0 && waitpid(s->pid, &status, WNOHANG) == s->pid) {
			s->pid = 0;
			fprintf(stderr, "tern-diff: %s exited during start-up\n", s->name);
			return false;
		}
		diff_ctx_init(&x, s, &cfg, NULL, false);
		diff_step_act(&x, &st, txid, &o);
		if (o.cls != DIFF_OUT_FAILED)
			diff_step_observe(&x, &st, txid, diff_now_ms() + 200u, &o);
		diff_ctx_free(&x);
		if (o.cls == DIFF_OUT_SUCCESS)
			return true;
		usleep(50000);
	}
	fprintf(stderr, "tern-diff: %s did not answer a Binding on %s:%u\n", s->name, s->ip,
	        s->port);
	return false;
}

bool diff_stop(struct diff_server *s)
{
	int status = 0;

	if (s->pid <= 0)
		return true;
	kill(s->pid, SIGTERM);
	for (int i = 0; i < 60; i++) {
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			s->pid = 0;
			return WIFEXITED(status) && WEXITSTATUS(status) == 0;
		}
		usleep(50000);
	}
	kill(s->pid, SIGKILL);
	waitpid(s->pid, &status, 0);
	s->pid = 0;
	return false;
}

bool diff_log_clean(const struct diff_server *s)
{
	char line[1024];
	FILE *f = fopen(s->log, "r");
	bool clean = true;

	if (f == NULL)
		return true;
	while (clean && fgets(line, sizeof(line), f) != NULL)
		clean = strstr(line, "Sanitizer") == NULL && strstr(line, "runtime error") == NULL;
	fclose(f);
	return clean;
}

void diff_print_log(const struct diff_server *s)
{
	char buf[4096];
	FILE *f = fopen(s->log, "r");
	size_t n;

	if (f == NULL)
		return;
	fprintf(stderr, "---- %s ----\n", s->log);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, stderr);
	fprintf(stderr, "---- end of log ----\n");
	fclose(f);
}
