/*
 * daemon_proc.c - the ternd process of one daemon test: a temp directory,
 * free ports, the configuration file, fork/exec by PID, readiness, signals,
 * the metrics endpoint and a self-signed certificate.
 */
#define _GNU_SOURCE
#include "daemon_harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

extern char **environ;

const char *dh_ternd_path = "ternd";

uint64_t dh_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};

	nanosleep(&ts, NULL);
}

/* --------------------------------------------------------------- ports */

/* A socket of type on the loopback address of family at port; -1 if busy. */
static int bind_loopback(int family, int type, uint16_t port, uint16_t *got)
{
	struct sockaddr_storage ss = {0};
	socklen_t len =
	    family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	int fd = socket(family, type | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd < 0)
		return -1;
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_loopback;
		s6->sin6_port = htons(port);
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		s4->sin_port = htons(port);
	}
	if (bind(fd, (struct sockaddr *)&ss, len) != 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
		close(fd);
		return -1;
	}
	if (got != NULL)
		*got = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

/* Whether port is free for UDP and TCP on 127.0.0.1 and ::1. */
static bool port_free(uint16_t port, bool tcp)
{
	int fds[4];
	bool ok = true;

	fds[0] = bind_loopback(AF_INET, SOCK_DGRAM, port, NULL);
	fds[1] = bind_loopback(AF_INET6, SOCK_DGRAM, port, NULL);
	fds[2] = tcp ? bind_loopback(AF_INET, SOCK_STREAM, port, NULL) : -2;
	fds[3] = tcp ? bind_loopback(AF_INET6, SOCK_STREAM, port, NULL) : -2;
	for (int i = 0; i < 4; i++) {
		if (fds[i] == -1)
			ok = false;
		else if (fds[i] >= 0)
			close(fds[i]);
	}
	return ok;
}

/* A port the kernel chose for TCP that is free for UDP too, on both families. */
static uint16_t free_port(const uint16_t *avoid, size_t n_avoid)
{
	for (int tries = 0; tries < 200; tries++) {
		uint16_t port = 0;
		int fd = bind_loopback(AF_INET, SOCK_STREAM, 0, &port);
		bool dup = false;

		assert_true(fd >= 0);
		close(fd);
		for (size_t i = 0; i < n_avoid; i++)
			dup = dup || avoid[i] == port;
		if (!dup && port_free(port, true))
			return port;
	}
	fail_msg("no free port");
	return 0;
}

void dh_set_relay_range(struct dh_daemon *d, unsigned n)
{
	/* below the kernel's ephemeral range, so no port-0 socket lands in it */
	for (int tries = 0; tries < 500; tries++) {
		uint16_t r = 0, base;
		bool ok = true;

		assert_int_equal(getrandom(&r, sizeof(r), 0), (ssize_t)sizeof(r));
		base = (uint16_t)(20000u + r % (32000u - 20000u - n));
		for (unsigned i = 0; i < n && ok; i++)
			ok = port_free((uint16_t)(base + i), false);
		if (ok) {
			d->min_port = base;
			d->max_port = (uint16_t)(base + n - 1);
			return;
		}
	}
	fail_msg("no free relay port range of %u", n);
}

/* -------------------------------------------------------------- config */

void dh_init(struct dh_daemon *d)
{
	uint16_t ports[3];

	memset(d, 0, sizeof(*d));
	snprintf(d->dir, sizeof(d->dir), "/tmp/tern-dtest-XXXXXX");
	assert_non_null(mkdtemp(d->dir));
	snprintf(d->conf, sizeof(d->conf), "%s/ternd.conf", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/ternd.log", d->dir);
	snprintf(d->cert, sizeof(d->cert), "%s/cert.pem", d->dir);
	snprintf(d->pkey, sizeof(d->pkey), "%s/pkey.pem", d->dir);
	for (size_t i = 0; i < 3; i++)
		ports[i] = free_port(ports, i);
	d->port = ports[0];
	d->tls_port = ports[1];
	d->metrics_port = ports[2];
	dh_set_relay_range(d, 4);
	d->threads = 1;
	d->user = "alice:alice-pw";
	d->rfc5766 = false;
}

int dh_setup(void **state)
{
	struct dh_daemon *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return -1;
	dh_init(d);
	*state = d;
	return 0;
}

int dh_teardown(void **state)
{
	dh_source_ip = NULL; /* a failed test may leave it set */
	dh_cleanup(*state);
	free(*state);
	return 0;
}

void dh_extra(struct dh_daemon *d, const char *fmt, ...)
{
	size_t used = strlen(d->extra);
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(d->extra + used, sizeof(d->extra) - used, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n + 1 < sizeof(d->extra) - used);
	strcat(d->extra, "\n");
}

void dh_write_config(const struct dh_daemon *d)
{
	char tmp[DH_PATH_MAX + 8];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", d->conf);
	f = fopen(tmp, "w");
	assert_non_null(f);
	fprintf(f, "# written by test_daemon\nlistening-ip=127.0.0.1\nrelay-ip=127.0.0.1\n");
	if (d->ipv6)
		fprintf(f, "listening-ip=::1\nrelay-ip=::1\n");
	fprintf(f, "listening-port=%u\nmin-port=%u\nmax-port=%u\n", d->port, d->min_port,
	        d->max_port);
	if (d->tls)
		fprintf(f, "tls-listening-port=%u\ncert=%s\npkey=%s\n", d->tls_port, d->cert,
		        d->pkey);
	else
		fprintf(f, "no-tls\n");
	fprintf(f, "verbose\nrealm=tern.test\nallow-loopback-peers\nrelay-threads=%u\n",
	        d->threads);
	fprintf(f, "metrics-port=%u\nstop-grace=%u\n", d->metrics_port, d->stop_grace);
	if (d->user != NULL)
		fprintf(f, "user=%s\n", d->user);
	if (d->rfc5766)
		fprintf(f, "rfc5766-channel-numbers\n");
	fputs(d->extra, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(rename(tmp, d->conf), 0);
}

/* ------------------------------------------------------------- process */

/* The environment without TERN_* variables (ternd would read them). */
static char **clean_env(void)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ[n] != NULL)
		n++;
	env = calloc(n + 1, sizeof(*env));
	assert_non_null(env);
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "TERN_", 5) != 0)
			env[k++] = environ[i];
	return env;
}

static unsigned spawn_nofile; /* RLIMIT_NOFILE for the next spawn; 0 = inherited */

static pid_t spawn(const char *const *args, int out_fd, int err_fd)
{
	char **env = clean_env();
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		struct rlimit rl = {spawn_nofile, spawn_nofile};

		if (spawn_nofile != 0 && setrlimit(RLIMIT_NOFILE, &rl) != 0)
			_exit(126);
		dup2(null, 0);
		dup2(out_fd, 1);
		dup2(err_fd, 2);
		execve(dh_ternd_path, (char *const *)(uintptr_t)args, env);
		_exit(127);
	}
	free(env);
	return pid;
}

static bool reap(struct dh_daemon *d, int timeout_ms, int *status)
{
	uint64_t end = dh_now_ms() + (uint64_t)timeout_ms;

	for (;;) {
		pid_t r = waitpid(d->pid, status, WNOHANG);

		if (r == d->pid) {
			d->pid = 0;
			return true;
		}
		if (dh_now_ms() >= end)
			return false;
		sleep_ms(5);
	}
}

static void print_log(const struct dh_daemon *d)
{
	char buf[4096];
	FILE *f = fopen(d->log, "r");
	size_t n;

	if (f == NULL)
		return;
	fprintf(stderr, "---- %s ----\n", d->log);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, stderr);
	fprintf(stderr, "---- end of log ----\n");
	fclose(f);
}

void dh_start(struct dh_daemon *d)
{
	const char *args[] = {"ternd", "-c", d->conf, NULL};
	uint64_t end;
	int fd, status;

	if (d->tls)
		dh_make_cert(d->cert, d->pkey);
	dh_write_config(d);
	fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	spawn_nofile = d->nofile;
	d->pid = spawn(args, fd, fd);
	spawn_nofile = 0;
	close(fd);
	end = dh_now_ms() + 15000u; /* sanitizer builds start slowly */
	while (dh_now_ms() < end) {
		struct dh_client *c = dh_connect(DH_UDP, "127.0.0.1", d->port);
		int rc;

		assert_non_null(c);
		rc = dh_binding(c);
		dh_close(c);
		if (rc == 0)
			return;
		if (reap(d, 0, &status)) {
			print_log(d);
			fail_msg("ternd exited during start-up (status 0x%x)", status);
		}
	}
	print_log(d);
	fail_msg("ternd did not answer a Binding request");
}

bool dh_signal_wait(struct dh_daemon *d, int sig, int timeout_ms, int *status)
{
	assert_true(d->pid > 0);
	assert_int_equal(kill(d->pid, sig), 0);
	return reap(d, timeout_ms, status);
}

/* The whole log (up to 1 MiB) in a static buffer. */
static const char *read_log(const struct dh_daemon *d)
{
	static char buf[1 << 20];
	FILE *f = fopen(d->log, "r");
	size_t n = 0;

	if (f != NULL) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

bool dh_log_contains(const struct dh_daemon *d, const char *text)
{
	return strstr(read_log(d), text) != NULL;
}

bool dh_log_shows(const struct dh_daemon *d, const char *text)
{
	uint64_t until = dh_now_ms() + DH_LOG_WAIT_MS;

	while (!dh_log_contains(d, text)) {
		if (dh_now_ms() >= until)
			return false;
		sleep_ms(10);
	}
	return true;
}

int dh_client_worker(const struct dh_daemon *d, const struct dh_client *c)
{
	const char *p;
	char key[128], ip[64];

	inet_ntop(AF_INET, c->local.addr, ip, sizeof(ip));
	snprintf(key, sizeof(key), "alloc_created client=%s:%u worker=", ip, c->local.port);
	if (!dh_log_shows(d, key))
		return -1;
	p = strstr(read_log(d), key);
	return p == NULL ? -1 : atoi(p + strlen(key));
}

void dh_stop_clean(struct dh_daemon *d)
{
	int status = 0;

	if (!dh_signal_wait(d, SIGTERM, 10000 + 1000 * (int)d->stop_grace, &status)) {
		print_log(d);
		fail_msg("ternd did not stop on SIGTERM");
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || dh_log_contains(d, "Sanitizer") ||
	    dh_log_contains(d, "runtime error")) {
		print_log(d);
		fail_msg("ternd did not stop cleanly (status 0x%x)", status);
	}
}

static void remove_dir(const char *path)
{
	DIR *dir = opendir(path);
	struct dirent *e;

	if (dir == NULL)
		return;
	while ((e = readdir(dir)) != NULL) {
		char p[DH_PATH_MAX * 2];

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		unlink(p);
	}
	closedir(dir);
	rmdir(path);
}

void dh_cleanup(struct dh_daemon *d)
{
	int status;

	if (d->pid > 0) {
		/* the test failed before stopping it: show why */
		kill(d->pid, SIGKILL);
		waitpid(d->pid, &status, 0);
		d->pid = 0;
		print_log(d);
	}
	if (d->dir[0] != '\0')
		remove_dir(d->dir);
	d->dir[0] = '\0';
}

int dh_run(const char *const *args, char *err, size_t cap)
{
	int p[2], status = 0, null;
	size_t got = 0;
	pid_t pid;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	assert_true(null >= 0);
	pid = spawn(args, null, p[1]);
	close(p[1]);
	close(null);
	for (;;) {
		ssize_t n = read(p[0], err + got, cap - 1 - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	err[got] = '\0';
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ------------------------------------------------------------- metrics */

size_t dh_http_get(const struct dh_daemon *d, const char *path, char *buf, size_t cap)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(d->metrics_port)};
	struct timeval tv = {2, 0};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char req[256];
	size_t got = 0;
	int n;

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n", path);
	assert_int_equal(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
	while (got + 1 < cap) {
		ssize_t r = recv(fd, buf + got, cap - 1 - got, 0);

		if (r <= 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	close(fd);
	return got;
}

long long dh_metric(const struct dh_daemon *d, const char *name)
{
	static char buf[32768];
	char key[128];
	const char *p;

	dh_http_get(d, "/metrics", buf, sizeof(buf));
	snprintf(key, sizeof(key), "\n%s ", name);
	p = strstr(buf, key);
	return p == NULL ? -1 : strtoll(p + strlen(key), NULL, 10);
}

bool dh_wait_metric(const struct dh_daemon *d, const char *name, long long value, int timeout_ms)
{
	uint64_t end = dh_now_ms() + (uint64_t)timeout_ms;

	do {
		if (dh_metric(d, name) == value)
			return true;
		sleep_ms(50);
	} while (dh_now_ms() < end);
	return false;
}

/* ---------------------------------------------------------- certificate */

void dh_make_cert(const char *cert_path, const char *key_path)
{
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name;
	FILE *f;

	assert_non_null(pk);
	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 1), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), -3600));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
	assert_int_equal(X509_set_pubkey(x, pk), 1);
	name = X509_get_subject_name(x);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	                                            (const unsigned char *)"localhost", -1, -1, 0),
	                 1);
	assert_int_equal(X509_set_issuer_name(x, name), 1);
	assert_true(X509_sign(x, pk, EVP_sha256()) > 0);
	assert_non_null(f = fopen(cert_path, "w"));
	assert_int_equal(PEM_write_X509(f, x), 1);
	fclose(f);
	assert_non_null(f = fopen(key_path, "w"));
	assert_int_equal(PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(pk);
}
