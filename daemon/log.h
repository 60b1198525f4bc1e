/*
 * log.h - one line per event, text or JSON, to stderr or a log file.
 * Safe from every thread: each line is one write(2), or, on a thread that
 * buffers (a worker, at most TERND_LOG_HOLD_MS late), part of one write of whole
 * lines. Secrets never reach here: callers log names, addresses and codes,
 * never passwords or keys.
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
/*
 * on: keep the calling thread's lines until ternd_log_flush(), when 16 KB
 * have gathered, or an error-level line (written at once, with what came
 * before it). Lines of different threads may then reach the file out of
 * timestamp order. off: flush, and write each line as it comes again.
 */
void ternd_log_buffered(bool on);
/* Write the calling thread's gathered lines; nothing when it does not buffer. */
void ternd_log_flush(void);
/*
 * A worker's loop, before it blocks: write the gathered lines once the
 * oldest has waited TERND_LOG_HOLD_MS (a busy worker then writes about ten
 * times a second, not once per loop round). Returns how many milliseconds
 * until the rest is due, or -1 when nothing waits: the loop wakes by then.
 */
#define TERND_LOG_HOLD_MS 100
int ternd_log_flush_due(void);

#endif /* TERND_LOG_H */
