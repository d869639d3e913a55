/* fuzz_input.h: hands a fuzzer's bytes to readers that take a path: an in-memory file
 * (memfd, nothing on disk) reached as /proc/self/fd/N, rewritten for every input. */
#ifndef FUZZ_INPUT_H
#define FUZZ_INPUT_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* Harnesses add the bytes they read here, so the reads are not optimised away and ASan checks them. */
static volatile unsigned char fuzz_sink;

/* Returns a path whose contents are exactly data[0..size); the same path for every call. */
static inline const char *fuzz_input_path(const void *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz_input", MFD_CLOEXEC);
        if (fd < 0) {
            perror("memfd_create");
            abort();
        }
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size)) {
        perror("fuzz input");
        abort();
    }
    return path;
}

#endif
