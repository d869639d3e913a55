/* peak_rss: runs a command and reports its peak resident memory (for make bench).
 *
 *   peak_rss [-o FILE] [-l LABEL] COMMAND [ARGS...]
 *
 * The figure is getrusage(RUSAGE_CHILDREN).ru_maxrss once the command has exited: the largest
 * resident set of the command or of any descendant it waited for (a stage's threads share its
 * resident set, so for one stage program this is the stage's peak). It is written as one line
 * "LABEL KIB" appended to FILE (or "peak_rss: LABEL: N MiB" on stderr without -o), LABEL
 * defaulting to the command's name. The exit status is the command's (128 + N when it was
 * killed by signal N; 127 when it could not be started). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static void usage(void)
{
    fprintf(stderr, "usage: peak_rss [-o FILE] [-l LABEL] COMMAND [ARGS...]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *out = NULL, *label = NULL;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--")) { i++; break; }
        if (!strcmp(argv[i], "-o") && i + 1 < argc) out = argv[++i];
        else if (!strcmp(argv[i], "-l") && i + 1 < argc) label = argv[++i];
        else usage();
    }
    if (i >= argc) usage();
    if (!label) label = argv[i];

    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "peak_rss: fork: %s\n", strerror(errno));
        return 127;
    }
    if (pid == 0) {
        execvp(argv[i], argv + i);
        fprintf(stderr, "peak_rss: %s: %s\n", argv[i], strerror(errno));
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            fprintf(stderr, "peak_rss: waitpid: %s\n", strerror(errno));
            return 127;
        }
    struct rusage ru;
    if (getrusage(RUSAGE_CHILDREN, &ru) != 0) {
        fprintf(stderr, "peak_rss: getrusage: %s\n", strerror(errno));
        return 127;
    }
    long kib = ru.ru_maxrss;   /* Linux: kilobytes */
    if (out) {
        FILE *f = fopen(out, "a");
        if (!f || fprintf(f, "%s %ld\n", label, kib) < 0 || fclose(f) != 0) {
            fprintf(stderr, "peak_rss: %s: cannot write: %s\n", out, strerror(errno));
            return 127;
        }
    } else {
        fprintf(stderr, "peak_rss: %s: %.1f MiB\n", label, kib / 1024.0);
    }
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}
