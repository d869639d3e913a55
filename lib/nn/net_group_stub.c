/* net_group_stub.c: STUB of LAYERS' tensor groups and freezing (see net_group_stub.h); delete on merge. */
#include "nn/net_group_stub.h"

#include "core/errors.h"

#define STUB_MAX_FROZEN 64

static struct { const net *n; int i; } stub_frozen[STUB_MAX_FROZEN];
static int stub_n_frozen;

int net_tensor_group(const net *n, int i)
{
    (void)n;
    (void)i;
    return NET_GROUP_DEFAULT;
}

int net_tensor_frozen(const net *n, int i)
{
    for (int k = 0; k < stub_n_frozen; k++)
        if (stub_frozen[k].n == n && stub_frozen[k].i == i) return 1;
    return 0;
}

int net_tensor_set_frozen(net *n, int i, int frozen)
{
    if (i < 0 || i >= net_n_tensors(n)) return err_msg(net_model(n)->path, "tensor %d does not exist", i);
    for (int k = 0; k < stub_n_frozen; k++)
        if (stub_frozen[k].n == n && stub_frozen[k].i == i) {
            if (!frozen) stub_frozen[k] = stub_frozen[--stub_n_frozen];
            return C_OK;
        }
    if (!frozen) return C_OK;
    if (stub_n_frozen == STUB_MAX_FROZEN) return err_msg(net_model(n)->path, "too many frozen tensors");
    stub_frozen[stub_n_frozen].n = n;
    stub_frozen[stub_n_frozen++].i = i;
    return C_OK;
}
