/*
 * log.c - structured log lines (text or JSON): one write(2) each, or, on a
 * thread that asked for it, gathered and written together.
 */
#define _GNU_SOURCE
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Set once at start-up (and on SIGHUP by the main thread) before workers read it. */
static int log_fd = 2;
static bool log_json;
static enum ternd_log_level log_max = TERND_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

#define LOG_BUF_CAP 16384
/* This thread's gathered lines (ternd_log_buffered()); whole lines only. */
static _Thread_local char tl_buf[LOG_BUF_CAP];
static _Thread_local size_t tl_len;
static _Thread_local bool tl_on;
static _Thread_local uint64_t tl_since; /* monotonic ms of the oldest gathered line */

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void ternd_log_setup(int fd, bool json, enum ternd_log_level max_level)
{
	log_fd = fd;
	log_json = json;
	log_max = max_level;
}

bool ternd_log_enabled(enum ternd_log_level level)
{
	return level <= log_max;
}

/* Escape for a JSON string: quotes, backslashes and control bytes. */
static size_t json_escape(char *out, size_t cap, const char *in)
{
	size_t o = 0;

	for (; *in != '\0' && o + 7 < cap; in++) {
		unsigned char c = (unsigned char)*in;

		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20) {
			o += (size_t)snprintf(out + o, cap - o, "\\u%04x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
	return o;
}

void ternd_log(enum ternd_log_level level, const char *event, const char *fmt, ...)
{
	char msg[768], esc[1600], line[2048], ts[32];
	struct timespec now;
	struct tm tm;
	va_list ap;
	int n;

	if (!ternd_log_enabled(level))
		return;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	if (log_json) {
		json_escape(esc, sizeof(esc), msg);
		n = snprintf(
		    line, sizeof(line),
		    "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"event\":\"%s\",\"msg\":\"%s\"}\n", ts,
		    now.tv_nsec / 1000000, level_names[level], event, esc);
	} else {
		n = snprintf(line, sizeof(line), "%s.%03ldZ %s %s %s\n", ts, now.tv_nsec / 1000000,
		             level_names[level], event, msg);
	}
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	if (!tl_on) {
		(void)!write(log_fd, line, (size_t)n);
		return;
	}
	if (tl_len + (size_t)n > sizeof(tl_buf))
		ternd_log_flush();
	if (tl_len == 0)
		tl_since = mono_ms();
	memcpy(tl_buf + tl_len, line, (size_t)n);
	tl_len += (size_t)n;
	if (level == TERND_ERROR)
		ternd_log_flush();
}

void ternd_log_flush(void)
{
	size_t done = 0;

	while (done < tl_len) {
		ssize_t w = write(log_fd, tl_buf + done, tl_len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break; /* a full disk or a closed pipe: the lines are lost, as unbuffered */
		done += (size_t)w;
	}
	tl_len = 0;
}

int ternd_log_flush_due(void)
{
	uint64_t waited;

	if (tl_len == 0)
		return -1;
	waited = mono_ms() - tl_since;
	if (waited < TERND_LOG_HOLD_MS)
		return (int)(TERND_LOG_HOLD_MS - waited);
	ternd_log_flush();
	return -1;
}

void ternd_log_buffered(bool on)
{
	if (!on)
		ternd_log_flush();
	tl_on = on;
}
