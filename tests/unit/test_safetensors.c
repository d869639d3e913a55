/* safetensors: round trip of every dtype, each malformed-file rejection, and interop with
 * Python's `safetensors` package (from the .venv that `make deps` creates). */
#include "core/fs.h"
#include "core/errors.h"
#include "io/safetensors.h"
#include "test.h"
#include "test_stderr.h"

#include <fcntl.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[256];
static char venv_python[512];

/* stderr capture: the rejection messages are part of the contract */
static void capture_begin(void) { stderr_capture_begin(); }
static void capture_end(char *buf, size_t cap) { stderr_capture_end(buf, cap); }

/* Writes an 8-byte length (hlen, or strlen(json) when hlen < 0), the JSON and data bytes. */
static void write_raw(const char *path, long long hlen, const char *json, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    uint64_t len = hlen < 0 ? strlen(json) : (uint64_t)hlen;
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(len >> (8 * i));
    fwrite(b, 1, 8, f);
    fwrite(json, 1, strlen(json), f);
    if (n) fwrite(data, 1, n, f);
    fclose(f);
}

/* Expects safetensors_read to refuse the file with one line naming the file and containing each of the
 * given fragments (NULL-terminated). */
static int rejects(const char *path, const char *frag1, const char *frag2)
{
    char err[2048];
    safetensors_file f;
    capture_begin();
    int rc = safetensors_read(&f, path);
    capture_end(err, sizeof err);
    int ok = rc == C_ERR && f.buffer == NULL && f.tensors == NULL && count_lines(err) == 1 &&
             strstr(err, path) && (!frag1 || strstr(err, frag1)) && (!frag2 || strstr(err, frag2));
    if (!ok) printf("    (rc %d, message: %s)\n", rc, err);
    return ok;
}

static void path_in(char *out, size_t cap, const char *name) { snprintf(out, cap, "%s/%s", dir, name); }

/* ---------------------------------------------------------------- round trip */

static void roundtrip_every_dtype(void)
{
    uint8_t u8[5] = {0, 1, 127, 128, 255};
    int32_t i32[6] = {-2147483647 - 1, -1, 0, 1, 65536, 2147483647};
    int64_t i64[3] = {INT64_MIN, -5, INT64_MAX};
    float f32[6] = {0.0f, -1.5f, 3.25f, 1e-30f, -1e30f, 7.0f};
    double f64[4] = {3.141592653589793, -2.5, 1e-300, 1e300};
    float scalar = 42.5f;
    int64_t s_u8[1] = {5}, s_i32[2] = {2, 3}, s_i64[1] = {3}, s_f32[3] = {1, 2, 3}, s_f64[2] = {2, 2};
    int64_t s_empty[2] = {0, 3};
    char path[300];
    path_in(path, sizeof path, "rt.safetensors");

    safetensors_writer w;
    safetensors_writer_init(&w);
    safetensors_writer_add(&w, "u8", SAFETENSORS_U8, 1, s_u8, u8);
    safetensors_writer_add(&w, "i32", SAFETENSORS_I32, 2, s_i32, i32);
    safetensors_writer_add(&w, "i64", SAFETENSORS_I64, 1, s_i64, i64);
    safetensors_writer_add(&w, "f32", SAFETENSORS_F32, 3, s_f32, f32);
    safetensors_writer_add(&w, "f64", SAFETENSORS_F64, 2, s_f64, f64);
    safetensors_writer_add(&w, "scalar", SAFETENSORS_F32, 0, NULL, &scalar);
    safetensors_writer_add(&w, "empty", SAFETENSORS_I64, 2, s_empty, NULL);
    safetensors_writer_meta(&w, "classes", "cat,dog");
    safetensors_writer_meta(&w, "quote\"back\\slash", "tab\there\nnewline \xc3\xa9");
    CHECK(safetensors_writer_save(&w, path) == C_OK);
    safetensors_writer_free(&w);

    safetensors_file f;
    CHECK(safetensors_read(&f, path) == C_OK);
    if (test_case_failed) return;
    CHECK(f.n_tensors == 7);
    /* header length is padded to a multiple of 8 */
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | ((unsigned char *)f.buffer)[i];
    CHECK(hlen % 8 == 0);
    const safetensors_tensor *t;
    CHECK((t = safetensors_expect(&f, "u8", SAFETENSORS_U8, 1)) && t->shape[0] == 5 && t->nbytes == 5 &&
          !memcmp(t->data, u8, 5));
    CHECK((t = safetensors_expect(&f, "i32", SAFETENSORS_I32, 2)) && t->shape[0] == 2 && t->shape[1] == 3 &&
          !memcmp(t->data, i32, sizeof i32));
    CHECK((t = safetensors_expect(&f, "i64", SAFETENSORS_I64, 1)) && !memcmp(t->data, i64, sizeof i64) &&
          (uintptr_t)t->data % 8 == 0);
    CHECK((t = safetensors_expect(&f, "f32", SAFETENSORS_F32, 3)) && t->shape[2] == 3 && !memcmp(t->data, f32, sizeof f32));
    CHECK((t = safetensors_expect(&f, "f64", SAFETENSORS_F64, 2)) && !memcmp(t->data, f64, sizeof f64) &&
          (uintptr_t)t->data % 8 == 0);
    CHECK((t = safetensors_expect(&f, "scalar", SAFETENSORS_F32, 0)) && t->nbytes == 4 && *(const float *)t->data == 42.5f);
    CHECK((t = safetensors_expect(&f, "empty", SAFETENSORS_I64, 2)) && t->shape[0] == 0 && t->shape[1] == 3 && t->nbytes == 0);
    CHECK(!strcmp(f.tensors[0].name, "u8") && !strcmp(f.tensors[6].name, "empty")); /* offset order */
    CHECK(f.n_meta == 2);
    CHECK(safetensors_meta(&f, "classes") && !strcmp(safetensors_meta(&f, "classes"), "cat,dog"));
    CHECK(safetensors_meta(&f, "quote\"back\\slash") &&
          !strcmp(safetensors_meta(&f, "quote\"back\\slash"), "tab\there\nnewline \xc3\xa9"));
    CHECK(safetensors_meta(&f, "absent") == NULL);
    CHECK(safetensors_find(&f, "nope") == NULL);
    safetensors_free(&f);
}

/* An odd-sized U8 tensor pushes the next F32 off its natural alignment: the reader must still
 * hand out aligned data with the right values. */
static void misaligned_offsets_are_realigned(void)
{
    uint8_t u8[3] = {9, 8, 7};
    float f32[4] = {1.5f, -2.5f, 3.5f, -4.5f};
    int64_t s3 = 3, s4 = 4;
    char path[300];
    path_in(path, sizeof path, "misaligned.safetensors");
    safetensors_writer w;
    safetensors_writer_init(&w);
    safetensors_writer_add(&w, "bytes", SAFETENSORS_U8, 1, &s3, u8);
    safetensors_writer_add(&w, "floats", SAFETENSORS_F32, 1, &s4, f32);
    CHECK(safetensors_writer_save(&w, path) == C_OK);
    safetensors_writer_free(&w);
    safetensors_file f;
    CHECK(safetensors_read(&f, path) == C_OK);
    if (test_case_failed) return;
    const safetensors_tensor *t = safetensors_expect(&f, "floats", SAFETENSORS_F32, 1);
    CHECK(t && (uintptr_t)t->data % 4 == 0 && !memcmp(t->data, f32, sizeof f32));
    t = safetensors_expect(&f, "bytes", SAFETENSORS_U8, 1);
    CHECK(t && !memcmp(t->data, u8, 3));
    safetensors_free(&f);
}

static void empty_file_and_no_metadata(void)
{
    char path[300];
    path_in(path, sizeof path, "none.safetensors");
    safetensors_writer w;
    safetensors_writer_init(&w);
    CHECK(safetensors_writer_save(&w, path) == C_OK);
    safetensors_writer_free(&w);
    safetensors_file f;
    CHECK(safetensors_read(&f, path) == C_OK);
    CHECK(f.n_tensors == 0 && f.n_meta == 0 && f.size == 16); /* 8 + "{}" padded to 8 */
    safetensors_free(&f);
}

static void expect_reports_dtype_and_rank(void)
{
    char path[300], err[1024];
    path_in(path, sizeof path, "expect.safetensors");
    float v[2] = {1, 2};
    int64_t s = 2;
    safetensors_writer w;
    safetensors_writer_init(&w);
    safetensors_writer_add(&w, "w", SAFETENSORS_F32, 1, &s, v);
    CHECK(safetensors_writer_save(&w, path) == C_OK);
    safetensors_writer_free(&w);
    safetensors_file f;
    CHECK(safetensors_read(&f, path) == C_OK);
    if (test_case_failed) return;
    capture_begin();
    const safetensors_tensor *a = safetensors_expect(&f, "w", SAFETENSORS_U8, 1);
    capture_end(err, sizeof err);
    CHECK(a == NULL && strstr(err, path) && strstr(err, "'w'") && strstr(err, "F32") && strstr(err, "U8"));
    capture_begin();
    a = safetensors_expect(&f, "w", SAFETENSORS_F32, 2);
    capture_end(err, sizeof err);
    CHECK(a == NULL && strstr(err, "'w'") && strstr(err, "dimensions"));
    capture_begin();
    a = safetensors_expect(&f, "bias", SAFETENSORS_F32, 1);
    capture_end(err, sizeof err);
    CHECK(a == NULL && strstr(err, path) && strstr(err, "'bias'") && strstr(err, "missing"));
    safetensors_free(&f);
}

static void writer_refuses_duplicate_names(void)
{
    char path[300], err[1024];
    path_in(path, sizeof path, "dup_w.safetensors");
    float v = 1;
    safetensors_writer w;
    safetensors_writer_init(&w);
    safetensors_writer_add(&w, "a", SAFETENSORS_F32, 0, NULL, &v);
    safetensors_writer_add(&w, "a", SAFETENSORS_F32, 0, NULL, &v);
    capture_begin();
    int rc = safetensors_writer_save(&w, path);
    capture_end(err, sizeof err);
    safetensors_writer_free(&w);
    CHECK(rc == C_ERR && strstr(err, "duplicate") && strstr(err, "'a'"));
    CHECK(access(path, F_OK) != 0);
}

/* A bad rank or a negative dimension is refused with one line; save then writes nothing. */
static void writer_refuses_bad_tensor(void)
{
    char path[300], err[1024];
    float v = 1;
    int64_t neg[2] = { 2, -1 };
    for (int kind = 0; kind < 2; kind++) {
        path_in(path, sizeof path, "bad_w.safetensors");
        safetensors_writer w;
        safetensors_writer_init(&w);
        safetensors_writer_add(&w, "ok", SAFETENSORS_F32, 0, NULL, &v);
        capture_begin();
        int rc_add = kind == 0 ? safetensors_writer_add(&w, "r", SAFETENSORS_F32, SAFETENSORS_MAX_DIMS + 1, neg, &v)
                               : safetensors_writer_add(&w, "n", SAFETENSORS_F32, 2, neg, &v);
        int rc_save = safetensors_writer_save(&w, path);
        capture_end(err, sizeof err);
        safetensors_writer_free(&w);
        CHECK(rc_add == C_ERR && rc_save == C_ERR && count_lines(err) == 1);
        CHECK(strstr(err, kind == 0 ? "bad dtype or rank 9" : "negative dimension -1"));
        CHECK(access(path, F_OK) != 0);
    }
}

/* ---------------------------------------------------------------- rejections */

static const unsigned char zeros[64];

static void reject_missing_file(void)
{
    char path[300];
    path_in(path, sizeof path, "does-not-exist.safetensors");
    CHECK(rejects(path, "cannot open", NULL));
}

static void reject_short_file(void)
{
    char path[300];
    path_in(path, sizeof path, "short.safetensors");
    FILE *f = fopen(path, "wb");
    fwrite("abc", 1, 3, f);
    fclose(f);
    CHECK(rejects(path, "too short", NULL));
}

static void reject_header_beyond_file(void)
{
    char path[300];
    path_in(path, sizeof path, "hlen.safetensors");
    write_raw(path, 1000, "{}", NULL, 0);
    CHECK(rejects(path, "header length 1000", "beyond"));
    write_raw(path, (long long)0x7fffffffffffffffLL, "{}", NULL, 0);
    CHECK(rejects(path, "beyond", NULL));
}

static void reject_invalid_json(void)
{
    char path[300];
    path_in(path, sizeof path, "json.safetensors");
    write_raw(path, -1, "{\"a\": {\"dtype\": \"F32\",", NULL, 0);
    CHECK(rejects(path, "invalid JSON", NULL));
    write_raw(path, -1, "{} xx", NULL, 0);
    CHECK(rejects(path, "invalid JSON", NULL));
    write_raw(path, -1, "[1, 2]  ", NULL, 0);
    CHECK(rejects(path, "not a JSON object", NULL));
}

/* Issue 11: a NUL byte in the header was accepted (cJSON ends a string at it and skips it
 * between tokens; trailing NULs counted as padding). Each is refused with the byte's offset. */
static void reject_nul_in_header(void)
{
    char path[300];
    path_in(path, sizeof path, "nul.safetensors");
    static const char in_name[] = "{\"w\0x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
    static const char between[] = "{\"w\":{\"dtype\":\"F32\",\0\"shape\":[1],\"data_offsets\":[0,4]}}";
    static const char padded[] = "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}\0\0\0";
    const char *hdrs[] = { in_name, between, padded };
    const size_t lens[] = { sizeof in_name - 1, sizeof between - 1, sizeof padded - 1 };
    const long at[] = { 3, 20, 54 };
    for (int i = 0; i < 3; i++) {
        FILE *f = fopen(path, "wb");
        unsigned char b[8];
        for (int k = 0; k < 8; k++) b[k] = (unsigned char)((uint64_t)lens[i] >> (8 * k));
        fwrite(b, 1, 8, f);
        fwrite(hdrs[i], 1, lens[i], f);
        fwrite(zeros, 1, 4, f);
        fclose(f);
        char frag[64];
        snprintf(frag, sizeof frag, "NUL byte at byte %ld", at[i]);
        CHECK(rejects(path, frag, NULL));
    }
}

static void reject_unknown_dtype(void)
{
    char path[300];
    path_in(path, sizeof path, "dtype.safetensors");
    write_raw(path, -1, "{\"w\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", zeros, 4);
    CHECK(rejects(path, "'w'", "unknown dtype 'F16'"));
}

static void reject_size_mismatch(void)
{
    char path[300];
    path_in(path, sizeof path, "size.safetensors");
    write_raw(path, -1, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", zeros, 20);
    CHECK(rejects(path, "'w'", "span 20"));
}

static void reject_overlap(void)
{
    char path[300];
    path_in(path, sizeof path, "overlap.safetensors");
    write_raw(path, -1,
              "{\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]},"
              "\"b\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[4,12]}}",
              zeros, 12);
    CHECK(rejects(path, "'b'", "overlap tensor 'a'"));
}

static void reject_gap(void)
{
    char path[300];
    path_in(path, sizeof path, "gap.safetensors");
    write_raw(path, -1,
              "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
              "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[8,12]}}",
              zeros, 12);
    CHECK(rejects(path, "'b'", "gap of 4 bytes"));
}

static void reject_offsets_not_at_zero(void)
{
    char path[300];
    path_in(path, sizeof path, "start.safetensors");
    write_raw(path, -1, "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,8]}}", zeros, 8);
    CHECK(rejects(path, "'a'", "not 0"));
}

static void reject_data_past_end(void)
{
    char path[300];
    path_in(path, sizeof path, "past.safetensors");
    write_raw(path, -1, "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", zeros, 10);
    CHECK(rejects(path, "'a'", "past the end"));
}

static void reject_trailing_bytes(void)
{
    char path[300];
    path_in(path, sizeof path, "trailing.safetensors");
    write_raw(path, -1, "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}", zeros, 9);
    CHECK(rejects(path, "5 trailing bytes", NULL));
}

static void reject_negative_or_fractional_dims(void)
{
    char path[300];
    path_in(path, sizeof path, "neg.safetensors");
    write_raw(path, -1, "{\"a\":{\"dtype\":\"U8\",\"shape\":[-4],\"data_offsets\":[0,4]}}", zeros, 4);
    CHECK(rejects(path, "'a'", "shape[0]"));
    write_raw(path, -1, "{\"a\":{\"dtype\":\"U8\",\"shape\":[2, 1.5],\"data_offsets\":[0,3]}}", zeros, 3);
    CHECK(rejects(path, "'a'", "shape[1]"));
    write_raw(path, -1, "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,-4]}}", zeros, 4);
    CHECK(rejects(path, "'a'", "data_offsets"));
    write_raw(path, -1, "{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}",
              zeros, 1);
    CHECK(rejects(path, "'a'", "9 dimensions"));
}

static void reject_duplicate_names(void)
{
    char path[300];
    path_in(path, sizeof path, "dup.safetensors");
    write_raw(path, -1,
              "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
              "\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,8]}}",
              zeros, 8);
    CHECK(rejects(path, "duplicate tensor name 'a'", NULL));
}

static void reject_bad_metadata(void)
{
    char path[300];
    path_in(path, sizeof path, "meta.safetensors");
    write_raw(path, -1, "{\"__metadata__\":{\"epochs\":3}}      ", NULL, 0);
    CHECK(rejects(path, "__metadata__", "'epochs' is not a string"));
    write_raw(path, -1, "{\"__metadata__\":[\"x\"]}", NULL, 0);
    CHECK(rejects(path, "__metadata__", "not an object"));
}

static void reject_malformed_entry(void)
{
    char path[300];
    path_in(path, sizeof path, "entry.safetensors");
    write_raw(path, -1, "{\"a\":{\"dtype\":\"U8\",\"shape\":[4]}}", zeros, 4);
    CHECK(rejects(path, "'a'", "missing data_offsets"));
    write_raw(path, -1, "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4],\"x\":1}}", zeros, 4);
    CHECK(rejects(path, "'a'", "unknown field 'x'"));
    write_raw(path, -1, "{\"a\":5}", NULL, 0);
    CHECK(rejects(path, "'a'", "not an object"));
}

/* ---------------------------------------------------------------- interop with Python */

static int run_python(const char *script)
{
    pid_t pid = fork();
    if (pid == 0) {
        execl(venv_python, venv_python, "-c", script, (char *)NULL);
        _exit(127);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void interop_python(void)
{
    if (access(venv_python, X_OK) != 0) {
        CHECK(!"the Python venv is missing: run `make deps` to create .venv with numpy and safetensors");
        return;
    }
    /* C writes, Python reads */
    char path[300], script[4096];
    path_in(path, sizeof path, "c_written.safetensors");
    uint8_t img[2 * 2 * 3];
    for (int i = 0; i < 12; i++) img[i] = (uint8_t)(i * 20 + 1);
    uint8_t lab[1] = {7};
    int32_t i32[3] = {-3, 0, 70000};
    int64_t i64[2] = {-9000000000LL, 5};
    float f32[6];
    for (int i = 0; i < 6; i++) f32[i] = (float)i * 0.25f - 1.0f;
    double f64 = 2.718281828459045;
    int64_t s_img[3] = {2, 2, 3}, s_lab = 1, s_i32 = 3, s_i64 = 2, s_f32[2] = {3, 2}, s_empty = 0;
    safetensors_writer w;
    safetensors_writer_init(&w);
    safetensors_writer_add(&w, "images", SAFETENSORS_U8, 3, s_img, img);
    safetensors_writer_add(&w, "labels", SAFETENSORS_U8, 1, &s_lab, lab);
    safetensors_writer_add(&w, "ints", SAFETENSORS_I32, 1, &s_i32, i32);
    safetensors_writer_add(&w, "longs", SAFETENSORS_I64, 1, &s_i64, i64);
    safetensors_writer_add(&w, "weight", SAFETENSORS_F32, 2, s_f32, f32);
    safetensors_writer_add(&w, "e", SAFETENSORS_F64, 0, NULL, &f64);
    safetensors_writer_add(&w, "nothing", SAFETENSORS_F32, 1, &s_empty, NULL);
    safetensors_writer_meta(&w, "classes", "cat,dog \"q\"");
    safetensors_writer_meta(&w, "split", "train");
    CHECK(safetensors_writer_save(&w, path) == C_OK);
    safetensors_writer_free(&w);
    snprintf(script, sizeof script,
             "import sys, numpy as np\n"
             "from safetensors.numpy import load_file\n"
             "from safetensors import safe_open\n"
             "d = load_file(%s%s%s)\n"
             "exp = {'images': np.arange(12, dtype=np.uint8).reshape(2,2,3)*20+1,\n"
             "       'labels': np.array([7], np.uint8),\n"
             "       'ints': np.array([-3, 0, 70000], np.int32),\n"
             "       'longs': np.array([-9000000000, 5], np.int64),\n"
             "       'weight': (np.arange(6, dtype=np.float32)*0.25-1).reshape(3,2),\n"
             "       'e': np.array(2.718281828459045, np.float64),\n"
             "       'nothing': np.zeros((0,), np.float32)}\n"
             "assert sorted(d) == sorted(exp), sorted(d)\n"
             "for k, v in exp.items():\n"
             "    assert d[k].dtype == v.dtype and d[k].shape == v.shape, (k, d[k].dtype, d[k].shape)\n"
             "    assert np.array_equal(d[k], v), k\n"
             "with safe_open(%s%s%s, 'np') as f:\n"
             "    assert f.metadata() == {'classes': 'cat,dog \"q\"', 'split': 'train'}, f.metadata()\n",
             "'", path, "'", "'", path, "'");
    int rc = run_python(script);
    CHECK(rc == 0);

    /* Python writes, C reads */
    char ppath[300];
    path_in(ppath, sizeof ppath, "py_written.safetensors");
    snprintf(script, sizeof script,
             "import numpy as np\n"
             "from safetensors.numpy import save_file\n"
             "save_file({'a': np.arange(6, dtype=np.float32).reshape(2,3)/4,\n"
             "           'b': np.array([1,2,3], np.uint8),\n"
             "           'c': np.array([-1, 1<<40], np.int64),\n"
             "           'd': np.array([7, -7], np.int32),\n"
             "           'f': np.array([[0.1]], np.float64)},\n"
             "          '%s', metadata={'arch': 'resnet', 'seed': '0'})\n",
             ppath);
    CHECK(run_python(script) == 0);
    safetensors_file f;
    CHECK(safetensors_read(&f, ppath) == C_OK);
    if (test_case_failed) return;
    const safetensors_tensor *t;
    CHECK(f.n_tensors == 5);
    CHECK((t = safetensors_expect(&f, "a", SAFETENSORS_F32, 2)) && t->shape[0] == 2 && t->shape[1] == 3 &&
          ((const float *)t->data)[5] == 1.25f && ((const float *)t->data)[1] == 0.25f);
    CHECK((t = safetensors_expect(&f, "b", SAFETENSORS_U8, 1)) && ((const uint8_t *)t->data)[2] == 3);
    CHECK((t = safetensors_expect(&f, "c", SAFETENSORS_I64, 1)) && ((const int64_t *)t->data)[1] == (1LL << 40) &&
          ((const int64_t *)t->data)[0] == -1);
    CHECK((t = safetensors_expect(&f, "d", SAFETENSORS_I32, 1)) && ((const int32_t *)t->data)[1] == -7);
    CHECK((t = safetensors_expect(&f, "f", SAFETENSORS_F64, 2)) && ((const double *)t->data)[0] == 0.1);
    CHECK(safetensors_meta(&f, "arch") && !strcmp(safetensors_meta(&f, "arch"), "resnet"));
    CHECK(safetensors_meta(&f, "seed") && !strcmp(safetensors_meta(&f, "seed"), "0"));
    safetensors_free(&f);
}

static void find_venv(const char *argv0)
{
    /* Tests run from the repository root (tests/run); fall back to the binary's location
     * build/tests/unit/<t> -> ../../../.venv. */
    snprintf(venv_python, sizeof venv_python, ".venv/bin/python");
    if (access(venv_python, X_OK) == 0) return;
    const char *slash = strrchr(argv0, '/');
    if (slash)
        snprintf(venv_python, sizeof venv_python, "%.*s/../../../.venv/bin/python",
                 (int)(slash - argv0), argv0);
}

int main(int argc, char **argv)
{
    (void)argc;
    err_init("test_safetensors");
    find_venv(argv[0]);
    snprintf(dir, sizeof dir, "/tmp/test_safetensors.XXXXXX");
    if (!mkdtemp(dir)) return 1;
    TEST_RUN(roundtrip_every_dtype);
    TEST_RUN(misaligned_offsets_are_realigned);
    TEST_RUN(empty_file_and_no_metadata);
    TEST_RUN(expect_reports_dtype_and_rank);
    TEST_RUN(writer_refuses_duplicate_names);
    TEST_RUN(writer_refuses_bad_tensor);
    TEST_RUN(reject_missing_file);
    TEST_RUN(reject_short_file);
    TEST_RUN(reject_header_beyond_file);
    TEST_RUN(reject_invalid_json);
    TEST_RUN(reject_nul_in_header);
    TEST_RUN(reject_unknown_dtype);
    TEST_RUN(reject_size_mismatch);
    TEST_RUN(reject_overlap);
    TEST_RUN(reject_gap);
    TEST_RUN(reject_offsets_not_at_zero);
    TEST_RUN(reject_data_past_end);
    TEST_RUN(reject_trailing_bytes);
    TEST_RUN(reject_negative_or_fractional_dims);
    TEST_RUN(reject_duplicate_names);
    TEST_RUN(reject_bad_metadata);
    TEST_RUN(reject_malformed_entry);
    TEST_RUN(interop_python);
    if (!getenv("KEEP")) fs_remove_tree(dir);
    TEST_EXIT();
}
