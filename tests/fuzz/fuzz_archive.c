/* fuzz_archive.c: libFuzzer harness for the sort stage's reading half: the archive reader
 * (ingest/read.c, libarchive, from memory), the labels and name resolution (ingest/labels.c) and
 * the PNG decoding (ingest/decode.c). Writing is left out (it only writes what these accepted). */
#include <stdint.h>
#include <stdlib.h>

#include "ingest/ingest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ingest_set s;
    ingest_set_init(&s);
    if (ingest_read_memory(&s, "fuzz.tgz", data, size) == 0 && ingest_resolve(&s) == 0)
        (void)ingest_decode(&s);
    ingest_set_free(&s);
    return 0;
}
