/* ops_list.h: the list of ops, one line per op (its contract header lib/ops/<op>.h).
 *
 * Included plainly, it declares every op's contract (backend.h does). Included again with
 * OP_NAME(op), OP_ENTRY(ret, name, params) and OP_DEVICE_ENTRY(ret, name, params) defined,
 * it expands the block at the end of each op's header, which names the op and its backend
 * entries (OP_DEVICE_ENTRY: one only backends that keep the data on the device provide). From
 * that come backend_iface's fields (backend.h), the prototypes and tables of both backends
 * (cpu_backend.h/.c: cpu_<name>, cuda_backend.h/.cu: cuda_<name>) and the op harness's list
 * of suites (tests/ops/test_backend_ops.c: ops_suite_<op>). No include guard: one include per
 * use; the three macros are undefined at the end, so each use defines all three. */
#include "ops/accumulate.h"
#include "ops/augment_batch.h"
#include "ops/batchnorm.h"
#include "ops/bnlayer.h"
#include "ops/conv2d.h"
#include "ops/dropout.h"
#include "ops/flatten.h"
#include "ops/gelu.h"
#include "ops/linear.h"
#include "ops/logsoftmax.h"
#include "ops/maxpool.h"
#include "ops/relu.h"
#include "ops/scale.h"
#include "ops/sgd.h"

#undef OP_NAME
#undef OP_ENTRY
#undef OP_DEVICE_ENTRY
