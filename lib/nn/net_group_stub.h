/* net_group_stub.h: STUB, to delete when helper LAYERS' net_tensor_group / net_tensor_set_frozen /
 * net_tensor_frozen (declared in nn/net.h) are merged: remove this file, net_group_stub.c and the
 * includes marked STUB. Until then every tensor is in the default group and freezing is kept in a
 * small table here, so the training rules build and run on the existing models. */
#ifndef NET_GROUP_STUB_H
#define NET_GROUP_STUB_H

#include "nn/net.h"

#ifndef NET_GROUP_DEFAULT
#define NET_GROUP_DEFAULT 0
#define NET_GROUP_NORM_BIAS 1
int net_tensor_group(const net *n, int i);
int net_tensor_set_frozen(net *n, int i, int frozen);
int net_tensor_frozen(const net *n, int i);
#endif

#endif
