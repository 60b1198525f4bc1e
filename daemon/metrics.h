/* metrics.h - Prometheus text exposition of the workers' counters over HTTP. */
#ifndef TERND_METRICS_H
#define TERND_METRICS_H

#include "ternd.h"

#include <stddef.h>

/* Format every metric into buf; returns the length (truncated at cap). */
size_t ternd_metrics_format(const struct ternd_shared *sh, char *buf, size_t cap);
/* Answer one HTTP connection on fd (GET /metrics) and close it. */
void ternd_metrics_serve(const struct ternd_shared *sh, int fd);

#endif /* TERND_METRICS_H */
