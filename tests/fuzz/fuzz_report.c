/* fuzz_report.c: libFuzzer harness for the report's JSON readers (report/inputs.c and the
 * stats.json reader, data/norm_stats.c). The first byte picks the artifact the rest becomes:
 * 0 tiny.summary.json, 1 .lrfind.json, 2 .metrics.json, 3 .eval.json, 4 stats.json. Any bytes give
 * C_OK or C_ERR, never a crash, a leak or undefined behaviour. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/norm_stats.h"
#include "fuzz/fuzz_input.h"
#include "report/internal.h"

static const char *const kinds[] = {"summary", "lrfind", "metrics", "eval"};
#define N_KINDS 5

static char dir[64];

static void remove_dir(void)
{
    char path[128];
    for (int k = 0; k < 4; k++) {
        snprintf(path, sizeof path, "%s/a.%s.json", dir, kinds[k]);
        unlink(path);
    }
    rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        /* report_arch_load finds artifacts by name in a folder: a private one, removed at exit. */
        snprintf(dir, sizeof dir, "%s/fuzz_report.XXXXXX", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
        if (!mkdtemp(dir)) abort();
        atexit(remove_dir);
    }
    if (size < 1) return 0;
    int kind = data[0] % N_KINDS;
    if (kind == 4) {
        norm_stats ns;
        double mean[3], std[3];
        (void)norm_stats_load(fuzz_input_path(data + 1, size - 1), &ns, mean, std);
        return 0;
    }
    char path[128];
    for (int k = 0; k < 4; k++) {
        snprintf(path, sizeof path, "%s/a.%s.json", dir, kinds[k]);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/a.%s.json", dir, kinds[kind]);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, data + 1, size - 1) != (ssize_t)(size - 1)) abort();
    close(fd);
    report_arch a;
    (void)report_arch_load(&a, dir, "tiny", 0);
    report_arch_free(&a);
    return 0;
}
