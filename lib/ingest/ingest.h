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
 *   sort_read     stream the archive, check every entry, keep the PNG bytes (sort_read.c)
 *   sort_resolve  parse labels.txt, map classes, order by index, refuse duplicates (sort_labels.c)
 *   sort_decode   decode every PNG to 32x32 RGB in parallel (sort_decode.c)
 *   sort_write    write <out>/cifar10/... and <out>/data/{train,test}.safetensors (sort_write.c) */
#ifndef SORT_H
#define SORT_H

#include <stddef.h>
#include <stdint.h>

#define SORT_SIDE 32
#define SORT_IMAGE_BYTES (SORT_SIDE * SORT_SIDE * 3)
#define SORT_MAX_CLASSES 256           /* labels are stored as U8 */
#define SORT_MAX_PNG_BYTES (4u << 20)   /* far above any 32x32 PNG; bounds memory per entry */
#define SORT_MAX_LABELS_BYTES (64u << 10)

enum { SORT_TRAIN, SORT_TEST, SORT_NSPLITS };

typedef struct sort_image {
    char *entry;          /* archive path, for messages (owned) */
    long index;           /* <i> of the name */
    char *class_name;     /* <class> of the name (owned) */
    int label;            /* set by sort_resolve */
    unsigned char *png;   /* the entry's bytes (owned) */
    size_t png_len;
} sort_image;

typedef struct sort_split {
    const char *name;     /* "train" / "test" (static) */
    sort_image *items;    /* archive order after sort_read, index order after sort_resolve */
    size_t n, cap;
    uint8_t *pixels;      /* [n, 32, 32, 3] after sort_decode (owned) */
    uint8_t *labels;      /* [n] after sort_decode (owned) */
} sort_split;

typedef struct sort_set {
    char *archive;        /* path given to sort_read (owned) */
    char *labels_text;    /* contents of labels.txt, NUL-terminated (owned), NULL if absent */
    char *labels_entry;   /* its archive path (owned) */
    char **classes;       /* n_classes names (owned), after sort_resolve */
    int n_classes;
    sort_split split[SORT_NSPLITS];
    int show_progress;    /* progress bars on stderr */
} sort_set;

void sort_set_init(sort_set *s);
void sort_set_free(sort_set *s);

int sort_read(sort_set *s, const char *archive_path);
int sort_resolve(sort_set *s);
int sort_decode(sort_set *s);
/* out_dir receives cifar10/ (swapped in whole) and data/{train,test}.safetensors. */
int sort_write(const sort_set *s, const char *out_dir);

/* Name rules, exposed for tests. Strips a leading "./", then classifies:
 * SORT_NAME_LABELS, SORT_NAME_IMAGE (*split, *index and class span set), SORT_NAME_LAYOUT_DIR
 * (cifar/, cifar/train/, cifar/test/), SORT_NAME_OTHER (skipped with a warning), or SORT_NAME_BAD
 * with the reason in why. */
enum { SORT_NAME_BAD, SORT_NAME_LABELS, SORT_NAME_IMAGE, SORT_NAME_LAYOUT_DIR, SORT_NAME_OTHER };
int sort_classify_name(const char *name, int *split, long *index, const char **cls,
                       size_t *cls_len, const char **why);

#endif
