/*
 * main.c - ternd: load the configuration, start the workers, drop
 * privileges, then wait for signals (SIGHUP reloads, SIGTERM/SIGINT stop
 * gracefully) and serve the metrics endpoint.
 */
#define _GNU_SOURCE
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "net.h"
#include "ternd.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/un.h>
#include <unistd.h>

extern char **environ;

static struct ternd_shared shared;

struct process {
	int argc;
	char **argv;
	struct ternd_config *cfg;
	pthread_t threads[TERND_MAX_WORKERS];
	struct ternd_worker_arg args[TERND_MAX_WORKERS];
	unsigned started;
	int sigfd;
	int metrics_fd;
};

static int load(struct process *p, struct ternd_config *cfg, enum ternd_config_action *action)
{
	struct ternd_config_error err;
	char path[TERND_MAX_PATH];

	ternd_config_init(cfg);
	if (ternd_config_load(cfg, p->argc, p->argv, environ, action, path, sizeof(path), &err) ==
	    0)
		return 0;
	if (err.line > 0)
		fprintf(stderr, "ternd: %s:%u: %s\n", err.source, err.line, err.message);
	else
		fprintf(stderr, "ternd: %s: %s\n", err.source, err.message);
	ternd_config_free(cfg);
	return -1;
}

static int open_log(const struct ternd_config *cfg)
{
	int fd = 2;

	if (cfg->log_file != NULL) {
		fd = open(cfg->log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
		if (fd < 0) {
			fprintf(stderr, "ternd: cannot open log-file %s: %s\n", cfg->log_file,
			        strerror(errno));
			return -1;
		}
	}
	ternd_log_setup(fd, cfg->log_format == TERND_LOG_JSON,
	                cfg->verbose ? TERND_DEBUG : TERND_INFO);
	for (size_t i = 0; i < cfg->n_warnings; i++)
		ternd_log(TERND_WARN, "config", "%s", cfg->warnings[i]);
	return 0;
}

static void wake_workers(struct process *p)
{
	for (unsigned i = 0; i < p->started; i++)
		(void)!write(shared.wake_fd[i], "w", 1);
}

static int start_workers(struct process *p)
{
	int ready[2];
	int failed = 0;

	if (pipe2(ready, O_CLOEXEC) != 0)
		return -1;
	for (unsigned i = 0; i < shared.workers; i++) {
		int ctl[2];

		if (pipe2(ctl, O_CLOEXEC | O_NONBLOCK) != 0)
			break;
		shared.wake_fd[i] = ctl[1];
		p->args[i] = (struct ternd_worker_arg){&shared, i, ctl[0], ready[1]};
		if (pthread_create(&p->threads[i], NULL, ternd_worker_main, &p->args[i]) != 0)
			break;
		p->started++;
	}
	for (unsigned i = 0; i < p->started; i++) {
		char status = 1;

		if (read(ready[0], &status, 1) != 1 || status != 0)
			failed = 1;
	}
	close(ready[0]);
	close(ready[1]);
	if (failed || p->started != shared.workers)
		return -1;
	/* every listener is bound: the workers may serve (see wait_for_start) */
	wake_workers(p);
	return 0;
}

static void stop_workers(struct process *p, uint32_t grace_s)
{
	shared.stop_deadline = ternd_now_ms() + (uint64_t)grace_s * 1000u;
	atomic_store(&shared.stopping, 1);
	wake_workers(p);
	for (unsigned i = 0; i < p->started; i++) {
		pthread_join(p->threads[i], NULL);
		close(p->args[i].control_fd);
		close(shared.wake_fd[i]);
	}
	p->started = 0;
}

static int drop_privileges(const struct ternd_config *cfg)
{
	struct group *g = cfg->proc_group ? getgrnam(cfg->proc_group) : NULL;
	struct passwd *u = cfg->proc_user ? getpwnam(cfg->proc_user) : NULL;

	if ((cfg->proc_group && g == NULL) || (cfg->proc_user && u == NULL)) {
		ternd_log(TERND_ERROR, "privileges", "unknown proc-user or proc-group");
		return -1;
	}
	if ((g != NULL && setgid(g->gr_gid) != 0) ||
	    (u != NULL && (setgroups(0, NULL) != 0 || (g == NULL && setgid(u->pw_gid) != 0) ||
	                   setuid(u->pw_uid) != 0))) {
		ternd_log(TERND_ERROR, "privileges", "cannot drop privileges: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void write_pidfile(const struct ternd_config *cfg)
{
	FILE *f;

	if (cfg->pidfile == NULL)
		return;
	f = fopen(cfg->pidfile, "w");
	if (f == NULL) {
		ternd_log(TERND_WARN, "pidfile", "cannot write %s: %s", cfg->pidfile,
		          strerror(errno));
		return;
	}
	fprintf(f, "%ld\n", (long)getpid());
	fclose(f);
}

/* SIGHUP: read the configuration again, swap what may change. */
static void reload(struct process *p)
{
	enum ternd_config_action action;
	struct ternd_config *fresh = malloc(sizeof(*fresh));

	if (fresh == NULL || load(p, fresh, &action) != 0) {
		free(fresh);
		ternd_log(TERND_ERROR, "reload_failed", "configuration kept as it was");
		return;
	}
	if (strcmp(fresh->realm, p->cfg->realm) != 0) {
		ternd_config_free(fresh);
		free(fresh);
		ternd_log(TERND_ERROR, "reload_failed",
		          "realm cannot change while running (keys derive from it): restart ternd");
		return;
	}
	if (ternd_shared_reload(&shared, fresh) != 0) {
		ternd_config_free(fresh);
		free(fresh);
		ternd_log(TERND_ERROR, "reload_failed", "configuration kept as it was");
		return;
	}
	ternd_config_free(p->cfg);
	free(p->cfg);
	p->cfg = fresh;
	wake_workers(p);
	ternd_log(TERND_INFO, "reloaded", "users=%zu secrets=%zu", fresh->n_users,
	          fresh->use_auth_secret ? fresh->n_static_auth_secret : 0);
}

static int open_metrics(struct process *p)
{
	struct tern_addr at = p->cfg->metrics_ip;

	p->metrics_fd = -1;
	if (p->cfg->metrics_port == 0)
		return 0;
	if (at.family == TERN_AF_NONE)
		ternd_addr_parse("127.0.0.1", &at);
	at.port = p->cfg->metrics_port;
	p->metrics_fd = ternd_tcp_listener(&at, 0, 16);
	if (p->metrics_fd < 0) {
		ternd_log(TERND_ERROR, "metrics_failed", "cannot listen on metrics-port %u: %s",
		          at.port, strerror(-p->metrics_fd));
		return -1;
	}
	return 0;
}

/* Wait for signals and metrics requests until told to stop; returns the signal. */
static int serve(struct process *p)
{
	for (;;) {
		struct pollfd pfd[2] = {{p->sigfd, POLLIN, 0}, {p->metrics_fd, POLLIN, 0}};
		struct signalfd_siginfo si;

		if (poll(pfd, p->metrics_fd >= 0 ? 2 : 1, -1) < 0 && errno != EINTR)
			return SIGTERM;
		if (p->metrics_fd >= 0 && (pfd[1].revents & POLLIN)) {
			int fd = accept4(p->metrics_fd, NULL, NULL, SOCK_CLOEXEC);

			if (fd >= 0)
				ternd_metrics_serve(&shared, fd);
		}
		if (!(pfd[0].revents & POLLIN) || read(p->sigfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo == SIGHUP)
			reload(p);
		else
			return (int)si.ssi_signo;
	}
}

static void announce(const struct process *p)
{
	char a[64], b[64];

	ternd_log(TERND_INFO, "started",
	          "workers=%u endpoints=%zu relay_v4=%s relay_v6=%s ports=%u-%u realm=%s tls=%s",
	          shared.workers, shared.n_endpoints,
	          shared.relay_cfg.relay_v4.family
	              ? ternd_addr_str(&shared.relay_cfg.relay_v4, false, a, sizeof(a))
	              : "off",
	          shared.relay_cfg.relay_v6.family
	              ? ternd_addr_str(&shared.relay_cfg.relay_v6, false, b, sizeof(b))
	              : "off",
	          p->cfg->min_port, p->cfg->max_port, p->cfg->realm, shared.tls ? "on" : "off");
	for (size_t i = 0; i < shared.n_endpoints; i++) {
		static const char *const names[] = {"udp", "tcp", "tls"};

		ternd_log(TERND_INFO, "listening", "%s %s", names[shared.endpoints[i].transport],
		          ternd_addr_str(&shared.endpoints[i].addr, true, a, sizeof(a)));
	}
}

/*
 * SO_REUSEPORT would let a second ternd of the same user join this one's
 * listeners and silently take half the traffic: an abstract socket named
 * after the port (per network namespace) makes the second one fail.
 */
static int claim_port(const struct ternd_config *cfg)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int n =
	    snprintf(sun.sun_path + 1, sizeof(sun.sun_path) - 1, "ternd:%u", cfg->listening_port);

	if (fd < 0 || n < 0 ||
	    bind(fd, (struct sockaddr *)&sun,
	         (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n)) != 0) {
		ternd_log(TERND_ERROR, "already_running",
		          "another ternd already serves port %u on this host", cfg->listening_port);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd; /* held, never closed, until the process exits */
}

static int run(struct process *p)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGPIPE);
	/* blocked before any thread starts, so only the signalfd sees them */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sigdelset(&set, SIGPIPE);
	p->sigfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (p->sigfd < 0 || claim_port(p->cfg) < 0 || ternd_shared_init(&shared, p->cfg) != 0 ||
	    open_metrics(p) != 0)
		return 1;
	if (start_workers(p) != 0) {
		ternd_log(TERND_ERROR, "start_failed", "a worker could not start; stopping");
		stop_workers(p, 0);
		return 1;
	}
	if (drop_privileges(p->cfg) != 0) {
		stop_workers(p, 0);
		return 1;
	}
	write_pidfile(p->cfg);
	announce(p);
	sig = serve(p);
	ternd_log(TERND_INFO, "stopping", "signal=%d grace=%us", sig, p->cfg->stop_grace);
	stop_workers(p, p->cfg->stop_grace);
	ternd_log(TERND_INFO, "stopped", "all workers finished");
	return 0;
}

int main(int argc, char **argv)
{
	struct process p = {.argc = argc, .argv = argv, .metrics_fd = -1, .sigfd = -1};
	enum ternd_config_action action;
	int rc;

	p.cfg = malloc(sizeof(*p.cfg));
	if (p.cfg == NULL || load(&p, p.cfg, &action) != 0) {
		free(p.cfg); /* load() freed what the config held */
		return 2;
	}
	if (action == TERND_HELP) {
		ternd_config_usage(stdout);
		rc = 0;
	} else if (action == TERND_CHECK) {
		for (size_t i = 0; i < p.cfg->n_warnings; i++)
			printf("warning: %s\n", p.cfg->warnings[i]);
		printf("configuration ok\n");
		rc = 0;
	} else {
		rc = open_log(p.cfg) != 0 ? 1 : run(&p);
		if (p.cfg->pidfile != NULL && rc == 0)
			unlink(p.cfg->pidfile);
		ternd_shared_free(&shared);
		if (p.metrics_fd >= 0)
			close(p.metrics_fd);
	}
	ternd_config_free(p.cfg);
	free(p.cfg);
	return rc;
}
