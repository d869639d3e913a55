/* test_stderr.h: capture what a call prints on stderr, for tests whose contract includes the
 * one-line error message. Usage: stderr_capture_begin(); call(); stderr_capture_end(buf, cap). */
#ifndef TEST_STDERR_H
#define TEST_STDERR_H

#include <stdio.h>
#include <unistd.h>

static FILE *stderr_capture_file;
static int stderr_saved_fd = -1;

static inline void stderr_capture_begin(void)
{
    fflush(stderr);
    stderr_capture_file = tmpfile();
    stderr_saved_fd = dup(2);
    dup2(fileno(stderr_capture_file), 2);
}

/* Restores stderr and copies what was printed (NUL-terminated, truncated to cap-1) into buf. */
static inline void stderr_capture_end(char *buf, size_t cap)
{
    fflush(stderr);
    dup2(stderr_saved_fd, 2);
    close(stderr_saved_fd);
    rewind(stderr_capture_file);
    size_t n = fread(buf, 1, cap - 1, stderr_capture_file);
    buf[n] = '\0';
    fclose(stderr_capture_file);
}

static inline int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

#endif
