/* ingest.h: the CIFAR PNG archive -> class folders and packed tensors ("untar and sort").
 *
 * The archive is streamed with libarchive and never extracted: accepted entries are
 *   cifar/labels.txt                   class names, one per line (label = 0-based line number)
 *   cifar/{train,test}/<i>_<class>.png  32x32 images, <i> a decimal index unique per split
 * Other entries are skipped with a warning. Links, devices, absolute paths, `..` components,
 * malformed names, duplicate indices, unknown classes, a missing labels.txt, an empty split and
 * undecodable PNGs are refused with one line naming the entry.
 *
 * Steps, each C_OK / C_ERR after one error line:
 *   ingest_read     stream the archive, check every entry, keep the PNG bytes (ingest_read.c)
 *   ingest_resolve  parse labels.txt, map classes, order by index, refuse duplicates (sort_labels.c)
 *   ingest_decode   decode every PNG to 32x32 RGB in parallel (ingest_decode.c)
 *   ingest_write    write <out>/cifar10/... and <out>/data/{train,test}.safetensors (ingest_write.c) */
#ifndef INGEST_H
#define INGEST_H

#include <stddef.h>
#include <stdint.h>

#define INGEST_SIDE 32
#define INGEST_IMAGE_BYTES (INGEST_SIDE * INGEST_SIDE * 3)
#define INGEST_MAX_CLASSES 256           /* labels are stored as U8 */
#define INGEST_MAX_PNG_BYTES (4u << 20)   /* far above any 32x32 PNG; bounds memory per entry */
#define INGEST_MAX_LABELS_BYTES (64u << 10)

enum { SORT_TRAIN, SORT_TEST, SORT_NSPLITS };

typedef struct ingest_image {
    char *entry;          /* archive path, for messages (owned) */
    long index;           /* <i> of the name */
    char *class_name;     /* <class> of the name (owned) */
    int label;            /* set by ingest_resolve */
    unsigned char *png;   /* the entry's bytes (owned) */
    size_t png_len;
} ingest_image;

typedef struct ingest_split {
    const char *name;     /* "train" / "test" (static) */
    ingest_image *items;    /* archive order after ingest_read, index order after ingest_resolve */
    size_t n, cap;
    uint8_t *pixels;      /* [n, 32, 32, 3] after ingest_decode (owned) */
    uint8_t *labels;      /* [n] after ingest_decode (owned) */
} ingest_split;

typedef struct ingest_set {
    char *archive;        /* path given to ingest_read (owned) */
    char *labels_text;    /* contents of labels.txt, NUL-terminated (owned), NULL if absent */
    char *labels_entry;   /* its archive path (owned) */
    char **classes;       /* n_classes names (owned), after ingest_resolve */
    int n_classes;
    ingest_split split[SORT_NSPLITS];
    int show_progress;    /* progress bars on stderr */
} ingest_set;

void ingest_set_init(ingest_set *s);
void ingest_set_free(ingest_set *s);

int ingest_read(ingest_set *s, const char *archive_path);
/* The same from an archive held in memory (len bytes; name is used in messages): the fuzzer's entry. */
int ingest_read_memory(ingest_set *s, const char *name, const void *data, size_t len);
int ingest_resolve(ingest_set *s);
int ingest_decode(ingest_set *s);
/* out_dir receives cifar10/ and data/{train,test}.safetensors, committed together (journal
 * <out_dir>/sort.commit, core/atomic.h): all three are the new ones or all the old ones. */
int ingest_write(const ingest_set *s, const char *out_dir);
/* ingest_write first waits for a concurrent sort into out_dir (lock <out_dir>/sort.lock, held
 * until exit). ingest_recover (a sort's first step) finishes, under that lock, a commit a killed
 * sort had begun; without a journal it does nothing (and creates nothing). */
int ingest_recover(const char *out_dir);

/* Name rules, exposed for tests. Strips a leading "./", then classifies:
 * SORT_NAME_LABELS, SORT_NAME_IMAGE (*split, *index and class span set), SORT_NAME_LAYOUT_DIR
 * (cifar/, cifar/train/, cifar/test/), SORT_NAME_OTHER (skipped with a warning), or SORT_NAME_BAD
 * with the reason in why. */
enum { SORT_NAME_BAD, SORT_NAME_LABELS, SORT_NAME_IMAGE, SORT_NAME_LAYOUT_DIR, SORT_NAME_OTHER };
int ingest_classify_name(const char *name, int *split, long *index, const char **cls,
                       size_t *cls_len, const char **why);

/* Whether an OpenMP loop's stop flag is set (read atomically; the thread that fails sets it
 * with an atomic write): after the first failure the other threads take no new images. */
static inline int ingest_stopped(const int *flag)
{
    int v;
#pragma omp atomic read
    v = *flag;
    return v;
}

#endif
