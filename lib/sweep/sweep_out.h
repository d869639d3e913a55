/* sweep_out.h: the files a sweep's expansion writes into its folder ($(ART)/sweeps/<name>/).
 *
 *   <point>.params.json   the point's params file, rewritten only when its bytes change, so Make
 *                         re-plans only the points that changed or are new
 *   plan.json             {"sweep", "file", "description", "model", "params", "keys": [...],
 *                          "points": [{"name", "overrides": {key path: value}}, ...]}
 *                         for the report (rewritten only when it changes)
 *   points.mk             the make fragment mk/sweep.mk includes: SWEEP_MODEL_<name>,
 *                         SWEEP_POINTS_<name> and the fragment's own extra prerequisites
 * Every file is written atomically; points.mk last, so it never lists a point without params. */
#ifndef SWEEP_OUT_H
#define SWEEP_OUT_H

#include "sweep/sweep_plan.h"

int sweep_out_write(const sweep_plan *p, const char *out_dir);

#endif
