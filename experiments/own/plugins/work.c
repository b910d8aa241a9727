/* An example plugin for `workload = "native"` (include/runner_plugin.h, ABI version 1).
 *
 * config: space-separated key=value pairs
 *   mode=compute   pure arithmetic, n steps of a seeded recurrence per task (the default)
 *   mode=malloc    n small allocations and frees per task (16 B to 4 KiB, seeded), the
 *                  allocator's work: threads share one heap, processes have one each
 *   n=N            steps or allocations per task (default 1000000)
 *   log=PATH       append "worker index seed input" per task to PATH (what the tests read)
 *   crash=K        crash (SIGSEGV) on task K, to see what the pools do with it
 *
 * Build: cc -O2 -shared -fPIC -o libwork.so work.c
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../../include/runner_plugin.h"

typedef struct {
    int malloc_mode;
    unsigned long n;
    long crash;
    int log_fd;
    unsigned worker;
} state;

uint32_t runner_plugin_abi(void) { return RUNNER_PLUGIN_ABI; }

void *runner_init(const char *config, uint32_t worker, char *err, size_t err_len) {
    state *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    s->n = 1000000;
    s->crash = -1;
    s->log_fd = -1;
    s->worker = worker;
    char *copy = strdup(config ? config : ""), *save = NULL;
    /* strtok_r, not strtok: the thread pool's workers call this at once */
    for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        if (strcmp(tok, "mode=malloc") == 0) s->malloc_mode = 1;
        else if (strcmp(tok, "mode=compute") == 0) s->malloc_mode = 0;
        else if (strncmp(tok, "n=", 2) == 0) s->n = strtoul(tok + 2, NULL, 10);
        else if (strncmp(tok, "crash=", 6) == 0) s->crash = strtol(tok + 6, NULL, 10);
        else if (strncmp(tok, "log=", 4) == 0) {
            s->log_fd = open(tok + 4, O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (s->log_fd < 0) {
                snprintf(err, err_len, "cannot open %s", tok + 4);
                free(copy);
                free(s);
                return NULL;
            }
        } else {
            snprintf(err, err_len, "unknown config `%s`", tok);
            free(copy);
            free(s);
            return NULL;
        }
    }
    free(copy);
    return s;
}

static volatile unsigned long sink;

static unsigned long next(unsigned long *x) {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

int runner_run(void *p, const runner_task *task, char *err, size_t err_len) {
    state *s = p;
    if ((long)task->index == s->crash) *(volatile int *)0 = 0; /* a real fault: SIGSEGV */
    unsigned long x = task->seed | 1, sum = 0;
    if (s->malloc_mode) {
        for (unsigned long i = 0; i < s->n; i++) {
            size_t size = 16 + next(&x) % 4081;
            char *b = malloc(size);
            if (!b) {
                snprintf(err, err_len, "malloc of %zu bytes failed", size);
                return 1;
            }
            b[0] = (char)i;
            b[size - 1] = (char)x;
            sum += (unsigned char)b[0] + (unsigned char)b[size - 1];
            free(b);
        }
    } else {
        for (unsigned long i = 0; i < s->n; i++) sum += next(&x) & 0xff;
    }
    if (s->log_fd >= 0) {
        char line[4200];
        int len = snprintf(line, sizeof line, "%u %llu %llu %s\n", s->worker, (unsigned long long)task->index,
                           (unsigned long long)task->seed, task->input ? task->input : "-");
        if (write(s->log_fd, line, len) != len) {
            snprintf(err, err_len, "cannot write the log");
            return 1;
        }
    }
    sink = sum; /* keeps the work from being optimised away */
    return 0;
}

void runner_fini(void *p) {
    state *s = p;
    if (s->log_fd >= 0) close(s->log_fd);
    free(s);
}
