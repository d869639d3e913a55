/* params: json_load and params_check refuse every kind of bad file with one line naming the
 * file and the key; accessors and params_file_hash. */
#include "core/fs.h"
#include "core/errors.h"
#include "core/json.h"
#include "core/params.h"
#include "test.h"
#include "test_stderr.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];
static char err[2048];
static void capture_begin(void) { stderr_capture_begin(); }
/* Restores stderr and leaves what was printed in err[]. */
static void capture_end(void) { stderr_capture_end(err, sizeof err); }

static int one_line(void) { return count_lines(err) == 1; }

static void write_file(char *path, size_t cap, const char *name, const char *text)
{
    snprintf(path, cap, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
}

/* The table a hypothetical train stage would use. */
static const p_field top_fields[] = {
    {"arch", P_STRING, 1, 0, -1, 0},
    {"epochs", P_INT, 1, 1, 1000, 0},
    {"lr", P_NUMBER, 0, 0, 10, 1},
    {"wd", P_NUMBER, 0, 0, 1, 0},
    {"tta", P_BOOL, 0, 0, -1, 0},
    {"phases", P_ARRAY, 0, 0, -1, 0},
    {"opt", P_OBJECT, 0, 0, -1, 0},
};
static const p_field phase_fields[] = {
    {"lr", P_NUMBER, 1, 0, 10, 1},
    {"cycles", P_INT, 0, 0, 100, 0},
};
#define NF(a) ((int)(sizeof a / sizeof a[0]))

/* Loads text and checks it against top_fields and every phases[i] against phase_fields.
 * Returns the result; err[] holds stderr. */
static int load_and_check(const char *text, char *path, size_t cap)
{
    write_file(path, cap, "p.json", text);
    json_doc d;
    capture_begin();
    int rc = json_load(&d, path);
    if (rc == C_OK) {
        rc = params_check(d.path, "", d.root, top_fields, NF(top_fields));
        const cJSON *ph = cJSON_GetObjectItemCaseSensitive(d.root, "phases");
        int i = 0;
        for (const cJSON *p = ph ? ph->child : NULL; p && rc == C_OK; p = p->next, i++) {
            char where[64];
            snprintf(where, sizeof where, "phases[%d]", i);
            rc = params_check(d.path, where, p, phase_fields, NF(phase_fields));
        }
        json_free(&d);
    }
    capture_end();
    return rc;
}

/* The refusal names the file and the key path and says what is wrong, on one line. */
#define CHECK_REFUSED(text, keypart, whatpart) do { \
        char path_[300]; \
        int rc_ = load_and_check(text, path_, sizeof path_); \
        CHECK(rc_ == C_ERR); \
        CHECK(one_line()); \
        CHECK(strstr(err, "test_params: ") == err); \
        CHECK(strstr(err, path_) != NULL); \
        CHECK(strstr(err, keypart) != NULL); \
        CHECK(strstr(err, whatpart) != NULL); \
        if (test_case_failed) printf("    (message: %s)\n", err); \
    } while (0)

static void valid_file_and_accessors(void)
{
    char path[300];
    int rc = load_and_check("{\"arch\": \"resnet\", \"epochs\": 8, \"lr\": 0.01, \"tta\": true,\n"
                            " \"phases\": [{\"lr\": 1e-3, \"cycles\": 2}, {\"lr\": 10}], \"opt\": {}}",
                            path, sizeof path);
    CHECK(rc == C_OK);
    CHECK(err[0] == '\0');
    json_doc d;
    CHECK(json_load(&d, path) == C_OK);
    if (test_case_failed) return;
    CHECK(!strcmp(d.path, path));
    CHECK(!strcmp(params_string(d.root, "arch", "x"), "resnet"));
    CHECK(params_int(d.root, "epochs", -1) == 8);
    CHECK_NEAR(params_number(d.root, "lr", -1), 0.01, 1e-12);
    CHECK_NEAR(params_number(d.root, "wd", 5e-4), 5e-4, 1e-15); /* absent: default */
    CHECK(params_bool(d.root, "tta", 0) == 1);
    CHECK(params_bool(d.root, "missing", 1) == 1);
    CHECK(!strcmp(params_string(d.root, "missing", "dflt"), "dflt"));
    CHECK(params_int(d.root, "arch", 7) == 7); /* wrong type: default */
    json_free(&d);
}

static void missing_file(void)
{
    json_doc d;
    char path[300];
    snprintf(path, sizeof path, "%s/nope.json", dir);
    capture_begin();
    int rc = json_load(&d, path);
    capture_end();
    CHECK(rc == C_ERR && one_line() && strstr(err, path) && strstr(err, "cannot open"));
}

static void syntax_error_names_line(void)
{
    CHECK_REFUSED("{\n  \"arch\": \"resnet\",\n  \"epochs\": 8,,\n}\n", "line 3", "invalid JSON");
    CHECK_REFUSED("{\"arch\": \"resnet\"} {}", "line 1", "after the end");
    CHECK_REFUSED("", "line 1", "invalid JSON");
    CHECK_REFUSED("[1, 2]", "top level", "object");
}

static void unknown_key(void)
{
    CHECK_REFUSED("{\"arch\": \"a\", \"epochs\": 1, \"lr_max\": 0.1}", ": lr_max: ", "unknown key");
    CHECK_REFUSED("{\"arch\": \"a\", \"epochs\": 1, \"phases\": [{\"lr\": 1, \"cyc\": 2}]}",
                  ": phases[0].cyc: ", "unknown key");
}

static void wrong_type(void)
{
    CHECK_REFUSED("{\"arch\": 3, \"epochs\": 1}", ": arch: ", "must be a string");
    CHECK_REFUSED("{\"arch\": \"a\", \"epochs\": \"8\"}", ": epochs: ", "must be an integer");
    CHECK_REFUSED("{\"arch\": \"a\", \"epochs\": 2.5}", ": epochs: ", "must be an integer");
    CHECK_REFUSED("{\"arch\": \"a\", \"epochs\": 2, \"tta\": 1}", ": tta: ", "must be true or false");
    CHECK_REFUSED("{\"arch\": \"a\", \"epochs\": 2, \"lr\": null}", ": lr: ", "must be a number");
    CHECK_REFUSED("{\"arch\": \"a\", \"epochs\": 2, \"phases\": {}}", ": phases: ", "must be an array");
    CHECK_REFUSED("{\"arch\": \"a\", \"epochs\": 2, \"opt\": []}", ": opt: ", "must be an object");
    CHECK_REFUSED("{\"arch\": \"a\", \"epochs\": 2, \"phases\": [3]}", ": phases[0]: ", "must be an object");
}

static void missing_required(void)
{
    CHECK_REFUSED("{\"arch\": \"a\"}", ": epochs: ", "missing required key");
    CHECK_REFUSED("{\"arch\": \"a\", \"epochs\": 1, \"phases\": [{\"lr\": 1}, {\"cycles\": 1}]}",
                  ": phases[1].lr: ", "missing required key");
}

static void out_of_range(void)
{
    CHECK_REFUSED("{\"arch\": \"a\", \"epochs\": 0}", ": epochs: ", "must be in [1, 1000] (got 0)");
    CHECK_REFUSED("{\"arch\": \"a\", \"epochs\": 1001}", ": epochs: ", "must be in [1, 1000]");
    CHECK_REFUSED("{\"arch\": \"a\", \"epochs\": 1, \"lr\": 0}", ": lr: ", "must be in (0, 10]");
    CHECK_REFUSED("{\"arch\": \"a\", \"epochs\": 1, \"lr\": 10.5}", ": lr: ", "(got 10.5)");
    CHECK_REFUSED("{\"arch\": \"a\", \"epochs\": 1, \"wd\": -0.1}", ": wd: ", "must be in [0, 1]");
    CHECK_REFUSED("{\"arch\": \"a\", \"epochs\": 1, \"phases\": [{\"lr\": 1, \"cycles\": -1}]}",
                  ": phases[0].cycles: ", "must be in [0, 100]");
    /* inclusive bounds are accepted */
    char path[300];
    CHECK(load_and_check("{\"arch\": \"a\", \"epochs\": 1000, \"wd\": 0, \"lr\": 10}", path, sizeof path) == C_OK);
}

static void duplicate_key(void)
{
    CHECK_REFUSED("{\"arch\": \"a\", \"epochs\": 1, \"epochs\": 2}", ": epochs: ", "duplicate key");
}

/* Issue 11: cJSON skips a NUL byte between tokens as white space and ends a string at one
 * ("cpu\0junk" read as "cpu"), so such a file was accepted. Refused, naming the line. */
static void nul_byte_refused(void)
{
    static const char between[] = "{\"arch\": \"a\",\n \"epochs\": 1\0}";
    static const char in_string[] = "{\"arch\": \"a\0junk\", \"epochs\": 1}";
    const char *texts[] = { between, in_string };
    const size_t lens[] = { sizeof between - 1, sizeof in_string - 1 };
    const char *lines[] = { "line 2", "line 1" };
    for (int i = 0; i < 2; i++) {
        char path[300];
        snprintf(path, sizeof path, "%s/nul.json", dir);
        FILE *f = fopen(path, "wb");
        fwrite(texts[i], 1, lens[i], f);
        fclose(f);
        json_doc d;
        capture_begin();
        int rc = json_load(&d, path);
        capture_end();
        if (rc == C_OK) json_free(&d);
        CHECK(rc == C_ERR && one_line() && strstr(err, path) && strstr(err, "NUL byte") && strstr(err, lines[i]));
        if (test_case_failed) printf("    (message: %s)\n", err);
    }
}

/* json_int decides in double before converting: no undefined out-of-range cast. */
static void integers_are_exact(void)
{
    const char *texts[] = { "7", "10.5", "1e10", "1e400", "-1e400", "\"3\"", "-3", "65536" };
    const json_int_status want[] = { JSON_INT_OK, JSON_INT_NOT_INTEGER, JSON_INT_RANGE, JSON_INT_RANGE,
                                     JSON_INT_RANGE, JSON_INT_NOT_INTEGER, JSON_INT_RANGE, JSON_INT_OK };
    for (int i = 0; i < 8; i++) {
        cJSON *v = cJSON_Parse(texts[i]);
        long long out = -1;
        CHECK(v && json_int(v, 0, 65536, &out) == want[i]);
        if (want[i] == JSON_INT_OK) CHECK(out == (i == 0 ? 7 : 65536));
        cJSON_Delete(v);
    }
    CHECK_REFUSED("{\"arch\": \"a\", \"epochs\": 1e400}", ": epochs: ", "must be an integer");
}

static void hash_is_fnv1a64(void)
{
    char path[300], out[17];
    /* Published FNV-1a 64 test vectors. */
    write_file(path, sizeof path, "h0", "");
    CHECK(params_file_hash(path, out) == C_OK && !strcmp(out, "cbf29ce484222325"));
    write_file(path, sizeof path, "h1", "a");
    CHECK(params_file_hash(path, out) == C_OK && !strcmp(out, "af63dc4c8601ec8c"));
    write_file(path, sizeof path, "h2", "foobar");
    CHECK(params_file_hash(path, out) == C_OK && !strcmp(out, "85944171f73967e8"));
    snprintf(path, sizeof path, "%s/absent", dir);
    capture_begin();
    int rc = params_file_hash(path, out);
    capture_end();
    CHECK(rc == C_ERR && strstr(err, path));
}

/* A FIFO or a folder in place of the file: one line saying what is there, never a wait (a FIFO
 * with no writer blocked fopen forever; a folder gave "read failed"). alarm: a hang fails. */
static void hash_refuses_fifo_and_folder(void)
{
    char path[300], out[17];
    snprintf(path, sizeof path, "%s/fifo.json", dir);
    CHECK(mkfifo(path, 0644) == 0);
    alarm(20);
    capture_begin();
    int rc = params_file_hash(path, out);
    capture_end();
    alarm(0);
    CHECK(rc == C_ERR && strstr(err, path) && strstr(err, "is a FIFO, not a regular file") && one_line());
    unlink(path);
    snprintf(path, sizeof path, "%s/folder.json", dir);
    CHECK(mkdir(path, 0755) == 0);
    capture_begin();
    rc = params_file_hash(path, out);
    capture_end();
    CHECK(rc == C_ERR && strstr(err, path) && strstr(err, "is a folder, not a regular file") && one_line());
    rmdir(path);
}

int main(void)
{
    err_init("test_params");
    snprintf(dir, sizeof dir, "/tmp/test_params.XXXXXX");
    if (!mkdtemp(dir)) return 1;
    TEST_RUN(valid_file_and_accessors);
    TEST_RUN(missing_file);
    TEST_RUN(syntax_error_names_line);
    TEST_RUN(unknown_key);
    TEST_RUN(wrong_type);
    TEST_RUN(missing_required);
    TEST_RUN(out_of_range);
    TEST_RUN(duplicate_key);
    TEST_RUN(nul_byte_refused);
    TEST_RUN(integers_are_exact);
    TEST_RUN(hash_is_fnv1a64);
    TEST_RUN(hash_refuses_fifo_and_folder);
    fs_remove_tree(dir);
    TEST_EXIT();
}
