/* sweep_plan.h: a parameter sweep, sweeps/<name>.json, expanded into its points.
 *
 *   {"model": "resnet2", "params": "resnet2",
 *    "grid": {"phases.0.lr": [0.005, 0.01, 0.02], "batch_size": [128, 256]}}
 * or, instead of "grid", an explicit list of points:
 *    "points": [{"phases.0.lr": 0.005}, {"phases.0.lr": 0.02, "batch_size": 128}]
 * plus an optional "description" (text for the report). "model" names models/<model>.json,
 * "params" the base params file <params-dir>/<params>.json; every point is the base params with
 * its overrides applied by key path (sweep/key_path.h). A grid is every combination of its
 * values, the first key varying slowest.
 *
 * Loading checks everything before the caller writes anything: the sweep file's own keys, the
 * number of points (at most SWEEP_MAX_POINTS, counted before any value is checked), each key path
 * against the base params, every single grid value and then every whole point with the train
 * stage's params checker (train_params_load), and point names that are unique. Each refusal is
 * one line naming the sweep file and the key (`grid.phases.0.lr`, `points[2]`). */
#ifndef SWEEP_PLAN_H
#define SWEEP_PLAN_H

#include <cjson/cJSON.h>

#define SWEEP_MAX_POINTS 1000
#define SWEEP_NAME_MAX 120      /* longer derived point names become p<hash> */

typedef struct sweep_point {
    char *name;          /* derived from the overrides only, so editing other points keeps it */
    cJSON *overrides;    /* object: key path -> value, in the sweep's key order (owned) */
    char *params_text;   /* the point's params file as written (owned, newline-terminated) */
} sweep_point;

typedef struct sweep_plan {
    char *file;          /* the sweep file as given */
    char *name;          /* its base name without .json */
    char *description;   /* "" when none */
    char *model;         /* architecture name */
    char *model_path;    /* <models-dir>/<model>.json */
    char *params_path;   /* <params-dir>/<params>.json */
    int n_keys;
    char **keys;         /* every key path any point overrides, first use first */
    int n_points;
    sweep_point *points;
} sweep_plan;

/* Reads, expands and checks the sweep; C_OK, or C_ERR after one line. */
int sweep_plan_load(sweep_plan *p, const char *file, const char *params_dir, const char *models_dir);
void sweep_plan_free(sweep_plan *p);

#endif
