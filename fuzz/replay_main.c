/*
 * replay_main.c - a plain driver for the fuzz harnesses (no fuzzing engine).
 *
 * Usage: fuzz_<target> PATH...
 * Each PATH is a file, or a directory whose files (and the files of its
 * subdirectories, one level down) are replayed; names starting with '.' or
 * "README" are skipped. Every file's bytes go to LLVMFuzzerTestOneInput in a
 * buffer of exactly their size, so a sanitizer build catches overreads.
 * Prints "replayed N files"; exits 0, or 1 when a path cannot be read (a
 * harness that finds a bug aborts on its own; the last "replay: FILE" line on
 * stderr names the input). ctest runs this over
 * corpus/<target>/ on every build.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"

/* The whole file in a new buffer of exactly its size (never NULL on success). */
static int read_file(const char *path, uint8_t **out, size_t *out_len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL, *grown;
	size_t len = 0, cap = 0, got;
	int ret = -1;

	if (f == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	do {
		if (len == cap) {
			cap = cap ? cap * 2 : 4096;
			grown = realloc(buf, cap);
			if (grown == NULL) {
				goto out_close;
			}
			buf = grown;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
	} while (got > 0);
	if (ferror(f)) {
		fprintf(stderr, "replay: %s: read error\n", path);
		goto out_close;
	}
	*out = malloc(len ? len : 1);
	if (*out != NULL) {
		memcpy(*out, buf, len);
		*out_len = len;
		ret = 0;
	}
out_close:
	free(buf);
	fclose(f);
	return ret;
}

static int replay_file(const char *path, size_t *count)
{
	uint8_t *data;
	size_t len;

	if (read_file(path, &data, &len) != 0) {
		return -1;
	}
	/* Named first, so the last name printed is the input that crashed. */
	fprintf(stderr, "replay: %s\n", path);
	/* Exact size: a sanitizer build catches a read past the input. */
	(void)LLVMFuzzerTestOneInput(data, len);
	free(data);
	(*count)++;
	return 0;
}

static bool skipped_name(const char *name)
{
	return name[0] == '.' || strncmp(name, "README", 6) == 0;
}

static int replay_path(const char *path, int depth, size_t *count);

static int replay_dir(const char *path, int depth, size_t *count)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int ret = 0;

	if (d == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(path) + strlen(e->d_name) + 2;
		char *child;

		if (skipped_name(e->d_name)) {
			continue;
		}
		child = malloc(n);
		if (child == NULL) {
			ret = -1;
			break;
		}
		snprintf(child, n, "%s/%s", path, e->d_name);
		if (replay_path(child, depth + 1, count) != 0) {
			ret = -1;
		}
		free(child);
	}
	closedir(d);
	return ret;
}

/* depth 0: a command-line argument; directories are entered down to depth 1. */
static int replay_path(const char *path, int depth, size_t *count)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		return depth <= 1 ? replay_dir(path, depth, count) : 0;
	}
	if (!S_ISREG(st.st_mode)) {
		return 0;
	}
	return replay_file(path, count);
}

int main(int argc, char **argv)
{
	size_t count = 0;
	int status = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE-OR-DIRECTORY...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		if (replay_path(argv[i], 0, &count) != 0) {
			status = 1;
		}
	}
	printf("replayed %zu files\n", count);
	return status;
}
