/* model.c: parse and check models/<arch>.json (format in model.h). */
#include "nn/model.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/errors.h"
#include "core/fs.h"
#include "core/json.h"
#include "ops/conv2d.h"
#include "ops/maxpool.h"

/* per type (nn/layer_types.h): its name in model files, the keys it accepts besides name and
 * type, and whether it needs a name */
static const struct { const char *name; ml_type type; const char *keys; int named; } ml_types[] = {
#define X(type, name, kind, keys, named, ew) { name, ML_##type, keys, named },
    ML_TYPES(X)
#undef X
};
#define N_TYPES ((int)(sizeof ml_types / sizeof ml_types[0]))

const char *model_type_name(ml_type t)
{
    for (int i = 0; i < N_TYPES; i++)
        if (ml_types[i].type == t) return ml_types[i].name;
    return "?";
}

/* Layer label for messages: `layers[3] (layers.1)`. */
static void layer_label(char *buf, size_t n, int i, const cJSON *o)
{
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(o, "name");
    if (cJSON_IsString(nm)) snprintf(buf, n, "layers[%d] (%s)", i, nm->valuestring);
    else snprintf(buf, n, "layers[%d]", i);
}

/* An integer key: required unless dflt >= 0 (then it is the default). */
static int get_int(const char *where, const char *lab, const cJSON *o, const char *key, int dflt,
                   int min, int max, int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) {
        if (dflt < 0) return err_msg(where, "%s: missing key \"%s\"", lab, key);
        *out = dflt;
        return C_OK;
    }
    long long i = 0;
    switch (json_int(v, min, max, &i)) {
    case JSON_INT_NOT_INTEGER: return err_msg(where, "%s: \"%s\" must be an integer", lab, key);
    case JSON_INT_RANGE:   /* digits up to 1e18; beyond, 1e+308 rather than 309 digits */
        return err_msg(where, fabs(v->valuedouble) < 1e18 ? "%s: \"%s\" = %.0f out of range [%d, %d]"
                                                          : "%s: \"%s\" = %g out of range [%d, %d]",
                       lab, key, v->valuedouble, min, max);
    case JSON_INT_OK: break;
    }
    *out = (int)i;
    return C_OK;
}

/* Per-sample values of a layer's output, and weights of one of its tensors: at most 2^28 (1 GiB
 * of floats), so that every size below, times any batch, is exact in 64 bits and the refusal
 * comes from here, before anything is allocated. */
#define MODEL_MAX_VALUES (1LL << 28)

static long long shape_values(int ndim, const int *s)
{
    long long v = 1;
    for (int i = 0; i < ndim; i++) v *= s[i];   /* each <= 2^16 channels or 2^12 pixels */
    return v;
}

static int get_bool(const char *where, const char *lab, const cJSON *o, const char *key, int dflt, int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) {
        if (dflt < 0) return err_msg(where, "%s: missing key \"%s\"", lab, key);
        *out = dflt;
        return C_OK;
    }
    if (!cJSON_IsBool(v)) return err_msg(where, "%s: \"%s\" must be true or false", lab, key);
    *out = cJSON_IsTrue(v);
    return C_OK;
}

/* A finite number key in [lo, hi] (lo excluded when lo_open): required unless has_dflt. */
static int get_num(const char *where, const char *lab, const cJSON *o, const char *key, int has_dflt, double dflt,
                   double lo, int lo_open, double hi, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) {
        if (!has_dflt) return err_msg(where, "%s: missing key \"%s\"", lab, key);
        *out = dflt;
        return C_OK;
    }
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!(d >= lo && d <= hi) || (lo_open && d == lo))
        return err_msg(where, "%s: \"%s\" must be a number in %s%g, %g]", lab, key, lo_open ? "(" : "[", lo, hi);
    *out = d;
    return C_OK;
}

/* Conv2d "init": "default", "dirac" or "whiten". */
static int get_init(const char *where, const char *lab, const cJSON *o, ml_init *out)
{
    static const char *const names[] = { "default", "dirac", "whiten" };
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "init");
    *out = ML_INIT_DEFAULT;
    if (!v) return C_OK;
    for (int i = 0; i < 3 && cJSON_IsString(v); i++)
        if (!strcmp(v->valuestring, names[i])) { *out = (ml_init)i; return C_OK; }
    return err_msg(where, "%s: \"init\" must be \"default\", \"dirac\" or \"whiten\"", lab);
}

static int shape_str(char *buf, size_t n, int ndim, const int *s)
{
    return ndim == 3 ? snprintf(buf, n, "[%d,%d,%d]", s[0], s[1], s[2]) : snprintf(buf, n, "[%d]", s[0]);
}

/* Fills one layer from its JSON object and computes its output shape from cur. */
static int parse_layer(const char *where, int i, const cJSON *o, model_layer *L, int *ndim, int *cur)
{
    char lab[128], sh[64];
    layer_label(lab, sizeof lab, i, o);
    if (!cJSON_IsObject(o)) return err_msg(where, "%s: must be an object", lab);
    const cJSON *ty = cJSON_GetObjectItemCaseSensitive(o, "type");
    if (!ty) return err_msg(where, "%s: missing key \"type\"", lab);
    if (!cJSON_IsString(ty)) return err_msg(where, "%s: \"type\" must be a string", lab);
    int k = 0;
    while (k < N_TYPES && strcmp(ml_types[k].name, ty->valuestring)) k++;
    if (k == N_TYPES) return err_msg(where, "%s: unknown type \"%s\"", lab, ty->valuestring);
    memset(L, 0, sizeof *L);
    L->type = ml_types[k].type;
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(o, "name");
    /* modules with tensors need their PyTorch path; parameter-free ones may have one */
    int module = ml_types[k].named;
    if (nm) {
        if (!cJSON_IsString(nm) || !nm->valuestring[0] || strlen(nm->valuestring) >= sizeof L->name - 16)
            return err_msg(where, "%s: \"name\" must be a non-empty string shorter than %zu", lab, sizeof L->name - 16);
        strcpy(L->name, nm->valuestring);
    } else if (module) {
        return err_msg(where, "%s: missing key \"name\" (the PyTorch module path)", lab);
    }
    const char *allowed = ml_types[k].keys;
    for (const cJSON *c = o->child; c; c = c->next) {
        char key[80];
        snprintf(key, sizeof key, " %s ", c->string);
        if (strcmp(c->string, "type") && strcmp(c->string, "name") && !strstr(allowed, key))
            return err_msg(where, "%s: unknown key \"%s\" for %s", lab, c->string, ty->valuestring);
    }
    L->in_ndim = *ndim;
    memcpy(L->in_shape, cur, sizeof L->in_shape);
    shape_str(sh, sizeof sh, *ndim, cur);
    switch (L->type) {
    case ML_LINEAR:
        if (get_int(where, lab, o, "in", -1, 1, 1 << 24, &L->in) || get_int(where, lab, o, "out", -1, 1, 1 << 24, &L->out) ||
            get_bool(where, lab, o, "bias", 1, &L->bias))
            return C_ERR;
        if (*ndim != 1) return err_msg(where, "%s: Linear needs flat input, got %s (add a Flatten)", lab, sh);
        if (cur[0] != L->in) return err_msg(where, "%s: in = %d but the previous output has %d features", lab, L->in, cur[0]);
        if ((long long)L->in * L->out > MODEL_MAX_VALUES)
            return err_msg(where, "%s: %d x %d = %lld weights, more than %lld", lab, L->out, L->in,
                           (long long)L->in * L->out, MODEL_MAX_VALUES);
        cur[0] = L->out;
        break;
    case ML_CONV2D: case ML_CONVLAYER: case ML_BNLAYER: case ML_RESNETLAYER: {
        int conv = L->type == ML_CONV2D, resl = L->type == ML_RESNETLAYER;
        if (get_int(where, lab, o, "in", -1, 1, 1 << 16, &L->in) || get_int(where, lab, o, "out", -1, 1, 1 << 16, &L->out) ||
            get_int(where, lab, o, "kernel", conv ? -1 : 3, 1, 64, &L->kernel) ||
            get_int(where, lab, o, "stride", conv ? 1 : resl ? 1 : 2, 1, 64, &L->stride) ||
            get_int(where, lab, o, "padding", conv ? 0 : 1, 0, 64, &L->padding) ||
            get_bool(where, lab, o, "bias", L->type == ML_CONV2D || L->type == ML_CONVLAYER, &L->bias) ||
            (conv && get_init(where, lab, o, &L->init)))
            return C_ERR;
        if (*ndim != 3) return err_msg(where, "%s: %s needs [C,H,W] input, got %s", lab, ty->valuestring, sh);
        if (cur[0] != L->in) return err_msg(where, "%s: in = %d but the previous output has %d channels", lab, L->in, cur[0]);
        if ((L->type == ML_BNLAYER || resl) && L->bias) return err_msg(where, "%s: %s has no conv bias", lab, ty->valuestring);
        int oh = conv2d_out_size(cur[1], L->kernel, L->stride, L->padding), ow = conv2d_out_size(cur[2], L->kernel, L->stride, L->padding);
        if (oh < 1 || ow < 1) return err_msg(where, "%s: kernel %d does not fit input %s", lab, L->kernel, sh);
        if (resl && (L->in != L->out || oh != cur[1] || ow != cur[2]))
            return err_msg(where, "%s: ResnetLayer must keep the shape %s for its skip connection", lab, sh);
        if (L->init == ML_INIT_WHITEN) {   /* train/whiten.c fills it from the training images' patches */
            if (i != 0 || L->in != 3)
                return err_msg(where, "%s: \"init\": \"whiten\" is for the first layer on the RGB images (in = 3), "
                               "got layer %d with in = %d", lab, i, L->in);
            if (L->in * L->kernel * L->kernel > MODEL_WHITEN_MAX_PATCH)
                return err_msg(where, "%s: \"init\": \"whiten\": kernel %d gives %d values per patch, at most %d", lab,
                               L->kernel, L->in * L->kernel * L->kernel, MODEL_WHITEN_MAX_PATCH);
            if (L->out != 2 * L->in * L->kernel * L->kernel)
                return err_msg(where, "%s: \"init\": \"whiten\" with in = %d and kernel %d needs out = %d (got %d)", lab,
                               L->in, L->kernel, 2 * L->in * L->kernel * L->kernel, L->out);
        }
        long long wts = (long long)L->out * L->in * L->kernel * L->kernel;
        if (wts > MODEL_MAX_VALUES)
            return err_msg(where, "%s: %d x %d x %d x %d = %lld weights, more than %lld", lab, L->out, L->in,
                           L->kernel, L->kernel, wts, MODEL_MAX_VALUES);
        cur[0] = L->out; cur[1] = oh; cur[2] = ow;
        break;
    }
    case ML_MAXPOOL: {
        int os;
        if (get_int(where, lab, o, "output_size", 1, 1, 1, &os)) return C_ERR;
        if (*ndim != 3) return err_msg(where, "%s: AdaptiveMaxPool2d needs [C,H,W] input, got %s", lab, sh);
        cur[1] = cur[2] = 1;
        break;
    }
    case ML_FLATTEN:
        /* the input's size was checked against MODEL_MAX_VALUES (< 2^31) when it was made */
        if (*ndim == 3) { cur[0] = (int)shape_values(3, cur); cur[1] = cur[2] = 0; *ndim = 1; }
        break;
    case ML_DROPOUT: {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "p");
        if (!p) return err_msg(where, "%s: missing key \"p\"", lab);
        if (!cJSON_IsNumber(p) || !(p->valuedouble >= 0 && p->valuedouble < 1))
            return err_msg(where, "%s: \"p\" must be a number in [0, 1)", lab);
        L->p = (float)p->valuedouble;
        if (*ndim != 1) return err_msg(where, "%s: Dropout is supported on flat input only, got %s", lab, sh);
        break;
    }
    case ML_BATCHNORM2D:
        if (get_int(where, lab, o, "features", -1, 1, 1 << 16, &L->in) ||
            get_num(where, lab, o, "eps", 1, 1e-12, 0, 1, 1, &L->eps) ||
            get_num(where, lab, o, "momentum", 1, 0.4, 0, 0, 1, &L->momentum))
            return C_ERR;
        if (*ndim != 3) return err_msg(where, "%s: BatchNorm2d needs [C,H,W] input, got %s", lab, sh);
        if (cur[0] != L->in)
            return err_msg(where, "%s: features = %d but the previous output has %d channels", lab, L->in, cur[0]);
        L->out = L->in;
        break;
    case ML_MAXPOOL2D:
        if (get_int(where, lab, o, "kernel", -1, 1, 64, &L->kernel)) return C_ERR;
        if (*ndim != 3) return err_msg(where, "%s: MaxPool2d needs [C,H,W] input, got %s", lab, sh);
        L->stride = L->kernel;
        if (maxpool2d_out_size(cur[1], L->kernel) < 1 || maxpool2d_out_size(cur[2], L->kernel) < 1)
            return err_msg(where, "%s: kernel %d does not fit input %s", lab, L->kernel, sh);
        cur[1] = maxpool2d_out_size(cur[1], L->kernel);
        cur[2] = maxpool2d_out_size(cur[2], L->kernel);
        break;
    case ML_MUL:
        if (get_num(where, lab, o, "scale", 0, 0, -1e30, 0, 1e30, &L->scale)) return C_ERR;
        break;
    case ML_LOGSOFTMAX:
        if (*ndim != 1) return err_msg(where, "%s: LogSoftmax needs flat input, got %s", lab, sh);
        break;
    default:   /* ReLU, GELU and any other type without keys: the shape is kept */
        break;
    }
    long long values = shape_values(*ndim, cur);
    if (values > MODEL_MAX_VALUES) {
        shape_str(sh, sizeof sh, *ndim, cur);
        return err_msg(where, "%s: output %s has %lld values per image, more than %lld", lab, sh, values,
                       MODEL_MAX_VALUES);
    }
    L->out_ndim = *ndim;
    memcpy(L->out_shape, cur, sizeof L->out_shape);
    return C_OK;
}

int model_parse(model_desc *m, const char *where, const char *json)
{
    memset(m, 0, sizeof *m);
    cJSON *root = cJSON_Parse(json);
    if (!root) {
        const char *e = cJSON_GetErrorPtr();
        int line = 1;
        for (const char *s = json; e && s < e; s++) line += *s == '\n';
        return err_msg(where, "invalid JSON near line %d", line);
    }
    int rc = C_ERR;
    const cJSON *arch, *input, *classes, *layers;
    if (!cJSON_IsObject(root)) { err_msg(where, "top level must be an object"); goto out; }
    for (const cJSON *c = root->child; c; c = c->next)
        if (strcmp(c->string, "arch") && strcmp(c->string, "input") && strcmp(c->string, "classes") &&
            strcmp(c->string, "layers") && strcmp(c->string, "comment")) {
            err_msg(where, "unknown key \"%s\"", c->string);
            goto out;
        }
    arch = cJSON_GetObjectItemCaseSensitive(root, "arch");
    input = cJSON_GetObjectItemCaseSensitive(root, "input");
    classes = cJSON_GetObjectItemCaseSensitive(root, "classes");
    layers = cJSON_GetObjectItemCaseSensitive(root, "layers");
    if (!cJSON_IsString(arch) || strlen(arch->valuestring) >= sizeof m->arch || !arch->valuestring[0]) {
        err_msg(where, "\"arch\" must be a short non-empty string");
        goto out;
    }
    for (const char *s = arch->valuestring; *s; s++)   /* it names models/<arch>.json and the artifacts */
        if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') && !(*s >= '0' && *s <= '9') && *s != '_' &&
            *s != '-' && !(*s == '.' && s != arch->valuestring)) {
            err_msg(where, "\"arch\": \"%s\" is not a name (letters, digits, _ - and .)", arch->valuestring);
            goto out;
        }
    strcpy(m->arch, arch->valuestring);
    if (!cJSON_IsArray(input) || cJSON_GetArraySize(input) != 3) { err_msg(where, "\"input\" must be [C, H, W]"); goto out; }
    for (int i = 0; i < 3; i++) {
        long long v;
        if (json_int(cJSON_GetArrayItem(input, i), 1, 4096, &v) != JSON_INT_OK) {
            err_msg(where, "input[%d]: must be an integer in [1, 4096]", i);
            goto out;
        }
        m->input[i] = (int)v;
    }
    if (shape_values(3, m->input) > MODEL_MAX_VALUES) {
        err_msg(where, "input: [%d,%d,%d] has %lld values per image, more than %lld", m->input[0], m->input[1],
                m->input[2], shape_values(3, m->input), MODEL_MAX_VALUES);
        goto out;
    }
    long long nc;
    if (json_int(classes, 2, 100000, &nc) != JSON_INT_OK) {
        err_msg(where, "\"classes\" must be an integer in [2, 100000]");
        goto out;
    }
    m->classes = (int)nc;
    if (!cJSON_IsArray(layers) || cJSON_GetArraySize(layers) < 1) { err_msg(where, "\"layers\" must be a non-empty array"); goto out; }
    m->n_layers = cJSON_GetArraySize(layers);
    m->layers = xcalloc((size_t)m->n_layers, sizeof *m->layers);
    int ndim = 3, cur[3] = { m->input[0], m->input[1], m->input[2] }, i = 0;
    for (const cJSON *o = layers->child; o; o = o->next, i++) {
        if (parse_layer(where, i, o, &m->layers[i], &ndim, cur)) goto out;
        model_layer *L = &m->layers[i];
        for (int j = 0; j < i && L->name[0]; j++)
            if (!strcmp(m->layers[j].name, L->name)) { err_msg(where, "layers[%d] (%s): duplicate module name", i, L->name); goto out; }
        if (L->type == ML_LOGSOFTMAX && i != m->n_layers - 1) { err_msg(where, "layers[%d]: LogSoftmax must be the last layer", i); goto out; }
    }
    if (m->layers[m->n_layers - 1].type != ML_LOGSOFTMAX) { err_msg(where, "layers[%d]: the last layer must be LogSoftmax", m->n_layers - 1); goto out; }
    if (ndim != 1 || cur[0] != m->classes) {
        err_msg(where, "layers[%d]: the output has %d values per image but classes = %d", m->n_layers - 1, cur[0], m->classes);
        goto out;
    }
    m->path = xstrdup(where);
    rc = C_OK;
out:
    cJSON_Delete(root);
    if (rc != C_OK) { free(m->layers); memset(m, 0, sizeof *m); }
    return rc;
}

int model_load(model_desc *m, const char *path)
{
    memset(m, 0, sizeof *m);
    FILE *f = fs_fopen_read(path);   /* a regular file: a FIFO is refused, never waited on */
    if (!f) return C_ERR;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) buf = xrealloc(buf, cap = cap * 2 + 8192);
        size_t r = fread(buf + len, 1, cap - len - 1, f);
        len += r;
        if (r == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) { free(buf); return err_msg(path, "read error"); }
    buf[len] = 0;
    if (strlen(buf) != len) { free(buf); return err_msg(path, "invalid JSON: contains a NUL byte"); }
    int rc = model_parse(m, path, buf);
    free(buf);
    return rc;
}

void model_free(model_desc *m)
{
    free(m->path);
    free(m->layers);
    memset(m, 0, sizeof *m);
}

/* Parameters the layer owns, conv child included. */
static long layer_params(const model_layer *L)
{
    switch (L->type) {
    case ML_LINEAR: return (long)L->out * L->in + (L->bias ? L->out : 0);
    case ML_CONV2D: case ML_CONVLAYER:
        return (long)L->out * L->in * L->kernel * L->kernel + (L->bias ? L->out : 0);
    case ML_BNLAYER: case ML_RESNETLAYER:
        return (long)L->out * L->in * L->kernel * L->kernel + 2L * L->out;
    case ML_BATCHNORM2D: return 2L * L->out;   /* weight (frozen) and bias */
    default: return 0;
    }
}

long model_param_count(const model_desc *m)
{
    long t = 0;
    for (int i = 0; i < m->n_layers; i++) t += layer_params(&m->layers[i]);
    return t;
}

static cJSON *shape_json(int ndim, const int *s)
{
    cJSON *a = cJSON_CreateArray();
    cJSON_AddItemToArray(a, cJSON_CreateNumber(-1));
    for (int i = 0; i < ndim; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(s[i]));
    return a;
}

static void add_row(cJSON *mods, const char *name, const char *type, int ind, const int *in,
                    int outd, const int *out, long params, long fastai)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "name", name);
    cJSON_AddStringToObject(r, "type", type);
    cJSON_AddItemToObject(r, "input_shape", shape_json(ind, in));
    cJSON_AddItemToObject(r, "output_shape", shape_json(outd, out));
    cJSON_AddNumberToObject(r, "params", (double)params);
    cJSON_AddNumberToObject(r, "fastai_nb_params", (double)fastai);
    cJSON_AddItemToArray(mods, r);
}

cJSON *model_summary_json(const model_desc *m)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "arch", m->arch);
    cJSON *in = cJSON_CreateArray();
    cJSON_AddItemToArray(in, cJSON_CreateNumber(-1));
    for (int i = 0; i < 3; i++) cJSON_AddItemToArray(in, cJSON_CreateNumber(m->input[i]));
    cJSON_AddItemToObject(root, "input", in);
    cJSON_AddNumberToObject(root, "total_params", (double)model_param_count(m));
    cJSON *mods = cJSON_AddArrayToObject(root, "modules");
    for (int i = 0; i < m->n_layers; i++) {
        const model_layer *L = &m->layers[i];
        if (!L->name[0]) continue;       /* functional step: no hook fires */
        long p = layer_params(L);
        if (L->type == ML_CONVLAYER || L->type == ML_BNLAYER || L->type == ML_RESNETLAYER) {
            char child[80];
            snprintf(child, sizeof child, "%s.conv", L->name);
            int conv_out[3] = { L->out_shape[0], L->out_shape[1], L->out_shape[2] };
            long cp = L->type == ML_CONVLAYER ? p : p - 2L * L->out;
            add_row(mods, child, "Conv2d", 3, L->in_shape, 3, conv_out, cp, cp);
            add_row(mods, L->name, model_type_name(L->type), 3, L->in_shape, 3, L->out_shape, p - cp, 0);
        } else {
            add_row(mods, L->name, model_type_name(L->type), L->in_ndim, L->in_shape, L->out_ndim, L->out_shape, p, p);
        }
    }
    return root;
}

static void fmt_shape(char *buf, size_t n, const cJSON *a)
{
    size_t k = 0;
    k += (size_t)snprintf(buf + k, n - k, "[");
    for (const cJSON *v = a->child; v && k < n; v = v->next)
        k += (size_t)snprintf(buf + k, n - k, "%s%d", v == a->child ? "" : ", ", v->valueint);
    if (k < n) snprintf(buf + k, n - k, "]");
}

void model_summary_print(const model_desc *m, FILE *f)
{
    cJSON *s = model_summary_json(m);
    fprintf(f, "%s (input [-1, %d, %d, %d])\n", m->arch, m->input[0], m->input[1], m->input[2]);
    fprintf(f, "%-14s %-18s %-20s %-20s %10s\n", "module", "type", "input", "output", "params");
    const cJSON *mods = cJSON_GetObjectItemCaseSensitive(s, "modules");
    for (const cJSON *r = mods->child; r; r = r->next) {
        char in[64], out[64];
        fmt_shape(in, sizeof in, cJSON_GetObjectItemCaseSensitive(r, "input_shape"));
        fmt_shape(out, sizeof out, cJSON_GetObjectItemCaseSensitive(r, "output_shape"));
        fprintf(f, "%-14s %-18s %-20s %-20s %10.0f\n", cJSON_GetObjectItemCaseSensitive(r, "name")->valuestring,
                cJSON_GetObjectItemCaseSensitive(r, "type")->valuestring, in, out,
                cJSON_GetObjectItemCaseSensitive(r, "params")->valuedouble);
    }
    fprintf(f, "total params: %ld\n", model_param_count(m));
    cJSON_Delete(s);
}
