/* download.c: fetch a URL (or file://) to a file atomically with retries and a sha256 check. */
#include "io/download.h"

#include "core/atomic.h"
#include "core/errors.h"
#include "core/fs.h"
#include "core/progress.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void download_opts_init(download_opts *o)
{
    memset(o, 0, sizeof *o);
    o->retries = 3;
    o->backoff_s = 1.0;
    o->connect_timeout_s = 20;
    o->stall_timeout_s = 60;
    o->show_progress = isatty(STDERR_FILENO);
    o->verbose_retries = o->show_progress;
}

int download_sha256_valid(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!isxdigit((unsigned char)s[n])) return 0;
    return n == 64;
}

static void digest_hex(EVP_MD_CTX *md, char hex[65])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(md, d, &n);
    for (unsigned int i = 0; i < n && i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
    hex[64] = '\0';
}

int download_sha256_file(const char *path, char hex[65])
{
    FILE *fp = fs_fopen_read(path);
    if (!fp) return C_ERR;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md) {
        fclose(fp);
        return err_msg(path, "out of memory");
    }
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    static unsigned char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, fp)) > 0) EVP_DigestUpdate(md, buf, n);
    int bad = ferror(fp);
    fclose(fp);
    digest_hex(md, hex);
    EVP_MD_CTX_free(md);
    return bad ? err_msg(path, "read error") : C_OK;
}

/* State of one transfer attempt, shared with the curl callbacks. */
typedef struct xfer {
    FILE *fp;             /* the temporary file (borrowed from atomic_file) */
    EVP_MD_CTX *md;       /* running SHA-256 of the bytes written */
    long long bytes;
    int write_errno;      /* set when fwrite failed: not a transient failure */
    int show_progress;
    int bar_started;
    progress bar;
} xfer;

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
    xfer *x = ud;
    size_t n = size * nmemb;
    if (fwrite(ptr, 1, n, x->fp) != n) {
        x->write_errno = errno ? errno : EIO;
        return 0; /* makes curl fail with CURLE_WRITE_ERROR */
    }
    EVP_DigestUpdate(x->md, ptr, n);
    x->bytes += (long long)n;
    return n;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)ultotal, (void)ulnow;
    xfer *x = ud;
    if (!x->show_progress || dltotal <= 0) return 0;
    /* Counted in KiB so the bar's n/total stay readable for a 137 MB archive. */
    if (!x->bar_started) {
        progress_init(&x->bar, "fetch (KiB)", (long)(dltotal / 1024));
        x->bar_started = 1;
    }
    progress_update(&x->bar, (long)(dlnow / 1024));
    return 0;
}

static void sleep_s(double s)
{
    if (s <= 0) return;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* For file:// URLs: the decoded local path (malloc'd), or NULL for other schemes. */
static char *file_url_path(const char *url)
{
    if (strncasecmp(url, "file://", 7) != 0) return NULL;
    CURLU *u = curl_url();
    char *path = NULL, *out = NULL;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PATH, &path, CURLU_URLDECODE) == CURLUE_OK)
        out = xstrdup(path);
    curl_free(path);
    curl_url_cleanup(u);
    return out;
}

enum { ATTEMPT_OK, ATTEMPT_TRANSIENT, ATTEMPT_FATAL };

/* One attempt into af (rewound first). Writes the reason of a failure into why. */
static int attempt(const download_opts *o, atomic_file *af, xfer *x, char *why, size_t cap)
{
    rewind(af->fp);
    if (ftruncate(fileno(af->fp), 0) != 0) {
        snprintf(why, cap, "cannot truncate temporary file: %s", strerror(errno));
        return ATTEMPT_FATAL;
    }
    x->fp = af->fp;
    x->bytes = 0;
    x->write_errno = 0;
    x->bar_started = 0;
    EVP_DigestInit_ex(x->md, EVP_sha256(), NULL);

    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(why, cap, "cannot initialise libcurl");
        return ATTEMPT_FATAL;
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, o->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, o->connect_timeout_s);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, o->stall_timeout_s);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "cifar-fetch/1.0");
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);

    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    if (x->bar_started) {
        if (rc == CURLE_OK) progress_finish(&x->bar);
        else fputc('\n', stderr); /* end the half-drawn bar before the message */
    }
    const char *detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);

    switch (rc) {
    case CURLE_OK:
        return ATTEMPT_OK;
    case CURLE_HTTP_RETURNED_ERROR:
        snprintf(why, cap, "HTTP error %ld", status);
        return (status >= 500 || status == 408 || status == 429) ? ATTEMPT_TRANSIENT
                                                                  : ATTEMPT_FATAL;
    case CURLE_WRITE_ERROR:
        snprintf(why, cap, "cannot write %s: %s", o->out_path,
                 x->write_errno ? strerror(x->write_errno) : detail);
        return ATTEMPT_FATAL;
    default: break;
    }
    /* The other codes: the line is "<what> (<curl's detail>)", or the detail alone (what NULL).
     * Any code not listed (cut connections, TLS hiccups, empty replies) is worth another try. */
    static const struct { CURLcode rc; const char *what; int result; } lines[] = {
        { CURLE_FILE_COULDNT_READ_FILE, "cannot read local file", ATTEMPT_FATAL },
        { CURLE_UNSUPPORTED_PROTOCOL, NULL, ATTEMPT_FATAL },
        { CURLE_URL_MALFORMAT, NULL, ATTEMPT_FATAL },
        { CURLE_TOO_MANY_REDIRECTS, NULL, ATTEMPT_FATAL },
        { CURLE_COULDNT_RESOLVE_HOST, "cannot resolve host", ATTEMPT_TRANSIENT },
        { CURLE_COULDNT_CONNECT, "host unreachable", ATTEMPT_TRANSIENT },
        { CURLE_OPERATION_TIMEDOUT, "timed out", ATTEMPT_TRANSIENT },
    };
    const char *what = "transfer failed";
    int result = ATTEMPT_TRANSIENT;
    for (size_t k = 0; k < sizeof lines / sizeof lines[0]; k++)
        if (lines[k].rc == rc) { what = lines[k].what; result = lines[k].result; }
    if (what) snprintf(why, cap, "%s (%s)", what, detail);
    else snprintf(why, cap, "%s", detail);
    return result;
}

static int valid_scheme(const char *url)
{
    return !strncasecmp(url, "http://", 7) || !strncasecmp(url, "https://", 8) ||
           !strncasecmp(url, "file://", 7);
}

int download_url(const download_opts *o)
{
    if (!valid_scheme(o->url))
        return err_msg(o->url, "unsupported URL (use http://, https:// or file://)");
    if (o->sha256 && !download_sha256_valid(o->sha256))
        return err_msg(o->url, "sha256 must be 64 hex digits, got '%s'", o->sha256);

    /* A missing local file is reported plainly (curl's message is vaguer). */
    char *local = file_url_path(o->url);
    if (local) {
        struct stat st;
        int bad = stat(local, &st) != 0 ? errno : (S_ISDIR(st.st_mode) ? EISDIR : 0);
        free(local);
        if (bad) return err_msg(o->url, "cannot read local file: %s", strerror(bad));
        /* a FIFO or a device would block curl's read (or never end) */
        if (!S_ISREG(st.st_mode))
            return err_msg(o->url, "local file is %s, not a regular file", fs_kind_name((unsigned)st.st_mode));
    }

    static int curl_ready;
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return err_msg(o->url, "cannot initialise libcurl");
        curl_ready = 1;
    }

    atomic_file af;
    if (atomic_open(&af, o->out_path) != C_OK) return C_ERR;
    xfer x;
    memset(&x, 0, sizeof x);
    x.show_progress = o->show_progress;
    x.md = EVP_MD_CTX_new();
    if (!x.md) {
        atomic_abort(&af);
        return err_msg(o->url, "out of memory");
    }

    char why[512] = "";
    int result = ATTEMPT_FATAL, attempts = 0;
    double delay = o->backoff_s;
    for (;;) {
        attempts++;
        result = attempt(o, &af, &x, why, sizeof why);
        if (result != ATTEMPT_TRANSIENT || attempts > o->retries) break;
        if (o->verbose_retries)
            err_warn(o->url, "%s; retry %d of %d in %.1f s", why, attempts, o->retries, delay);
        sleep_s(delay);
        delay *= 2;
    }

    int rc = C_OK;
    if (result != ATTEMPT_OK) {
        if (attempts > 1)
            rc = err_msg(o->url, "%s (gave up after %d attempts)", why, attempts);
        else
            rc = err_msg(o->url, "%s", why);
    } else if (x.bytes == 0) {
        rc = err_msg(o->url, "the download is empty");
    } else {
        char got[65];
        digest_hex(x.md, got);
        if (o->sha256 && strcasecmp(got, o->sha256) != 0)
            rc = err_msg(o->url, "sha256 mismatch: expected %s, got %s", o->sha256, got);
    }
    EVP_MD_CTX_free(x.md);
    if (rc != C_OK) {
        atomic_abort(&af);
        return C_ERR;
    }
    return atomic_commit(&af);
}
