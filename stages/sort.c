/* sort: "untar and sort into class folders" without untarring.
 *
 *   sort --archive artifacts/cifar.tgz --out artifacts
 *
 * Streams the archive (lib/sort.h), then writes artifacts/cifar10/{train,test}/<class>/<i>.png
 * and artifacts/data/{train,test}.safetensors, all three committed together (journal
 * artifacts/sort.commit); a second sort into the same folder waits for the first
 * (artifacts/sort.lock). Any refused entry: one line, exit 1, no output. */
#include "core/errors.h"
#include "core/fs.h"
#include "ingest/ingest.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    err_init(argv[0]);
    const char *archive = NULL, *out = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--archive")) archive = argv[i + 1];
        else if (!strcmp(argv[i], "--out")) out = argv[i + 1];
        else archive = NULL, i = argc;
    }
    if (!archive || !out || argc != 5) err_die(NULL, "usage: sort --archive FILE --out DIR");

    /* a commit a killed run began is finished first (one sort into a folder writes at a time) */
    CHECK_OK(ingest_recover(out));
    CHECK_OK(fs_check_regular(archive));   /* libarchive opens it its own way: a FIFO would block it */
    ingest_set s;
    ingest_set_init(&s);
    s.show_progress = isatty(STDERR_FILENO);
    CHECK_OK(ingest_read(&s, archive));
    CHECK_OK(ingest_resolve(&s));
    CHECK_OK(ingest_decode(&s));
    CHECK_OK(ingest_write(&s, out));
    printf("sort: %zu train and %zu test images in %d classes\n", s.split[SORT_TRAIN].n,
            s.split[SORT_TEST].n, s.n_classes);
    ingest_set_free(&s);
    return 0;
}
