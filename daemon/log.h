/*
 * log.h - one line per event, text or JSON, to stderr or a log file.
 * Safe from every thread: each line is one write(2). Secrets never reach
 * here: callers log names, addresses and codes, never passwords or keys.
 */
#ifndef TERND_LOG_H
#define TERND_LOG_H

#include <stdbool.h>

enum ternd_log_level { TERND_ERROR, TERND_WARN, TERND_INFO, TERND_DEBUG };

/* fd to write to; json selects {"ts":..,"level":..,"event":..,"msg":..}. */
void ternd_log_setup(int fd, bool json, enum ternd_log_level max_level);
bool ternd_log_enabled(enum ternd_log_level level);
/* event is a short snake_case tag ("alloc_created"); fmt the details. */
void ternd_log(enum ternd_log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* TERND_LOG_H */
