/* signals.h: how a stage reacts to SIGINT, SIGTERM, SIGHUP and SIGUSR1.
 *
 * By default (signals_install, done by core/atomic when the first temporary is opened) each of
 * them removes the registered temporaries and ends the process with that signal. A stage that can
 * stop cleanly (train, lrfind) calls signals_graceful(): the first SIGINT, SIGTERM or SIGUSR1
 * (what Slurm sends before a time limit) only sets a flag that the stage polls between iterations;
 * a second one of these ends the process at once, temporaries still removed. A signal that was
 * ignored when the process started (nohup, `trap '' TERM`) stays ignored. */
#ifndef SIGNALS_H
#define SIGNALS_H

/* The exit status of a stage that stopped on a signal after saving what it needs to resume
 * (EX_TEMPFAIL of sysexits.h). */
#define SIGNALS_EXIT_INTERRUPTED 75

/* Installs the default handlers (idempotent). hook runs inside the handler before the process
 * ends (core/atomic's removal of temporaries); NULL keeps the previous hook. */
void signals_install(void (*hook)(void));
/* Switches SIGINT, SIGTERM and SIGUSR1 to "first: set the flag, second: end now". */
void signals_graceful(void);
/* The signal number that asked to stop, or 0. */
int signals_stop_requested(void);
/* "SIGINT", "SIGTERM", ... */
const char *signals_name(int sig);

#endif
