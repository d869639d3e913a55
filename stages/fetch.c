/* fetch: downloads the CIFAR-10 PNG archive.
 *
 *   fetch [--params params/data.json] [--url URL] [--sha256 HEX] [--retries N] [--backoff S]
 *         [--connect-timeout S] --out artifacts/cifar.tgz
 *
 * The URL and optional sha256 come from the params file ({"url": ..., "sha256": ...}); --url
 * (the Makefile's CIFAR_URL) overrides the URL, --sha256 the checksum. See lib/fetch.h. */
#include "core/errors.h"
#include "io/download.h"
#include "core/json.h"
#include "core/params.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const p_field data_fields[] = {
    {"url", P_STRING, 1, 0, 0, 0},
    {"sha256", P_STRING, 0, 0, 0, 0},
};

static _Noreturn void usage(void)
{
    err_die(NULL, "usage: fetch [--params FILE] [--url URL] [--sha256 HEX] [--retries N] "
                  "[--backoff SECONDS] [--connect-timeout SECONDS] --out FILE");
}

static double parse_num(const char *flag, const char *s, double lo, double hi)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= lo && v <= hi))
        err_die(flag, "must be a number in [%g, %g], got '%s'", lo, hi, s);
    return v;
}

int main(int argc, char **argv)
{
    err_init(argv[0]);
    const char *params_path = NULL, *url = NULL, *sha = NULL;
    download_opts o;
    download_opts_init(&o);

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc) usage();
        const char *v = argv[++i];
        if (!strcmp(a, "--params")) params_path = v;
        else if (!strcmp(a, "--url")) url = v;
        else if (!strcmp(a, "--sha256")) sha = v;
        else if (!strcmp(a, "--out")) o.out_path = v;
        else if (!strcmp(a, "--retries")) o.retries = (int)parse_num(a, v, 0, 20);
        else if (!strcmp(a, "--backoff")) o.backoff_s = parse_num(a, v, 0, 600);
        else if (!strcmp(a, "--connect-timeout")) o.connect_timeout_s = (long)parse_num(a, v, 1, 600);
        else usage();
    }
    if (!o.out_path || (!params_path && !url)) usage();

    json_doc doc = {0};
    if (params_path) {
        CHECK_OK(json_load(&doc, params_path));
        CHECK_OK(params_check(params_path, "", doc.root, data_fields,
                              (int)(sizeof data_fields / sizeof data_fields[0])));
        const char *p_url = params_string(doc.root, "url", NULL);
        const char *p_sha = params_string(doc.root, "sha256", NULL);
        if (!p_url[0]) err_die(params_path, "url: must not be empty");
        if (p_sha && !download_sha256_valid(p_sha))
            err_die(params_path, "sha256: must be 64 hex digits");
        if (!url) url = p_url;
        if (!sha) sha = p_sha;
    }
    if (sha && !download_sha256_valid(sha)) err_die("--sha256", "must be 64 hex digits");
    o.url = url;
    o.sha256 = sha;

    int rc = download_url(&o);
    if (params_path) json_free(&doc);
    if (rc != C_OK) err_exit();
    return 0;
}
