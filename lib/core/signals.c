/* signals.c: termination signals: remove temporaries and die, or stop cleanly (see signals.h). */
#include "core/signals.h"

#include <signal.h>
#include <string.h>

static const int handled[] = { SIGINT, SIGTERM, SIGHUP, SIGUSR1 };
#define N_HANDLED ((int)(sizeof handled / sizeof handled[0]))

static int installed, graceful;
static void (*fatal_hook)(void);
static volatile sig_atomic_t stop_sig;

static void on_signal(int sig)
{
    if (graceful && sig != SIGHUP && !stop_sig) {
        stop_sig = sig;   /* the stage saves its state at the next iteration boundary */
        return;
    }
    if (fatal_hook) fatal_hook();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
    raise(sig);           /* pending until this handler returns, then the default action */
}

void signals_install(void (*hook)(void))
{
    if (hook) fatal_hook = hook;
    if (installed) return;
    installed = 1;
    for (int i = 0; i < N_HANDLED; i++) {
        struct sigaction old, sa;
        if (sigaction(handled[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;   /* nohup & co. */
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sa.sa_flags = SA_RESTART;   /* reads and writes in progress simply continue */
        sigemptyset(&sa.sa_mask);
        for (int k = 0; k < N_HANDLED; k++) sigaddset(&sa.sa_mask, handled[k]);
        sigaction(handled[i], &sa, NULL);
    }
}

void signals_graceful(void)
{
    signals_install(NULL);
    graceful = 1;
}

int signals_stop_requested(void) { return stop_sig; }

const char *signals_name(int sig)
{
    switch (sig) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
    case SIGUSR1: return "SIGUSR1";
    default: return "a signal";
    }
}
