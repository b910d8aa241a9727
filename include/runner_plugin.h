/* The runner's plugin ABI, version 1: a shared library that `workload = "native"` runs under
 * the runner's pools (sequential, thread, process, hybrid). See README.md, "Your own workload". */
#include <stdint.h>
#include <stddef.h>
#define RUNNER_PLUGIN_ABI 1
typedef struct { uint64_t index; uint64_t seed; const char *input; } runner_task;  /* input: NULL without a file */
uint32_t runner_plugin_abi(void);                                                  /* required: returns RUNNER_PLUGIN_ABI */
void *runner_init(const char *config, uint32_t worker, char *err, size_t err_len); /* optional: NULL with err set fails the worker */
int runner_run(void *state, const runner_task *task, char *err, size_t err_len);   /* required: 0 = ok, else failed with err */
void runner_fini(void *state);                                                      /* optional */
