/* download.h: download one URL (http://, https://, file://) to a file with libcurl.
 *
 * The body goes to a temporary file beside the target (atomic.h) while a SHA-256 is computed on
 * the fly; the target appears only when the transfer is complete and the checksum (if given)
 * matches. Transient failures (cannot connect or resolve, timeouts, cut transfers, HTTP 5xx, 408,
 * 429) are retried with exponential backoff; HTTP 4xx, a missing local file and a checksum
 * mismatch are not. Every failure ends in one line `fetch: URL: what is wrong`. */
#ifndef DOWNLOAD_H
#define DOWNLOAD_H

typedef struct download_opts {
    const char *url;          /* borrowed */
    const char *sha256;       /* expected digest, 64 hex digits, or NULL to skip the check */
    const char *out_path;     /* borrowed; written atomically */
    int retries;              /* extra attempts after the first, transient failures only */
    double backoff_s;         /* delay before the first retry; doubled before each next one */
    long connect_timeout_s;
    long stall_timeout_s;     /* abort (and retry) when under 1 byte/s for this long */
    int show_progress;        /* progress bar on stderr (only meant for a terminal) */
    int verbose_retries;      /* one warning line per retry (only meant for a terminal) */
} download_opts;

/* Fills o with the defaults: 3 retries from 1 s, 20 s connect timeout, 60 s stall timeout,
 * progress and retry notes when stderr is a terminal. url/out_path are left NULL. */
void download_opts_init(download_opts *o);

/* Downloads o->url to o->out_path. C_OK or C_ERR after one error line. */
int download_url(const download_opts *o);

/* 1 when s is exactly 64 hex digits (either case). */
int download_sha256_valid(const char *s);

/* SHA-256 of a file as 64 lowercase hex digits into hex[65]. */
int download_sha256_file(const char *path, char hex[65]);

#endif
