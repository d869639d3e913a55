/* Model files: the summary's shapes and parameter counts for all seven architectures (numbers
 * from architectures.md), the net's state_dict names and shapes, and the loader's refusals, each
 * message naming the file and the layer. */
#include <stdlib.h>
#include <unistd.h>
#include "core/error.h"
#include "nn/model.h"
#include "nn/net.h"
#include "test.h"

static backend be;

static const cJSON *row(const cJSON *s, const char *name)
{
    const cJSON *mods = cJSON_GetObjectItemCaseSensitive(s, "modules");
    for (const cJSON *r = mods ? mods->child : NULL; r; r = r->next)
        if (!strcmp(cJSON_GetObjectItemCaseSensitive(r, "name")->valuestring, name)) return r;
    return NULL;
}

static double row_num(const cJSON *s, const char *name, const char *key)
{
    const cJSON *r = row(s, name);
    return r ? cJSON_GetObjectItemCaseSensitive(r, key)->valuedouble : -1;
}

/* output_shape equals [-1, a, b, c] (c, b may be 0 for shorter shapes) */
static int out_is(const cJSON *s, const char *name, int a, int b, int c)
{
    const cJSON *r = row(s, name);
    if (!r) return 0;
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(r, "output_shape");
    int want[4] = { -1, a, b, c }, n = b ? 4 : 2;
    if (cJSON_GetArraySize(o) != n) return 0;
    for (int i = 0; i < n; i++) if (cJSON_GetArrayItem(o, i)->valueint != want[i]) return 0;
    return 1;
}

static cJSON *summary_of(const char *arch, model_desc *m)
{
    char path[64];
    snprintf(path, sizeof path, "models/%s.json", arch);
    if (model_load(m, path)) return NULL;
    return model_summary_json(m);
}

/* the sum of the net's trainable tensor sizes and the total the summary reports */
static void net_agrees(const char *arch, long total)
{
    char path[64];
    snprintf(path, sizeof path, "models/%s.json", arch);
    net *n;
    CHECK(net_load(&n, path, &be, 2) == C_OK);
    if (!n) return;
    long sum = 0;
    for (int i = 0; i < net_n_tensors(n); i++) {
        int tr;
        net_tensor_info(n, i, NULL, NULL, NULL, &tr);
        if (tr) sum += (long)net_tensor_numel(n, i);
    }
    CHECK(sum == total);
    net_free(n);
}

static void summary_simplenet(void)
{
    model_desc m;
    cJSON *s = summary_of("simplenet", &m);
    CHECK(s != NULL);
    if (!s) return;
    CHECK(model_param_count(&m) == 123330);
    CHECK(row_num(s, "layers.0", "params") == 122920 && row_num(s, "layers.1", "params") == 410);
    CHECK(out_is(s, "layers.0", 40, 0, 0) && out_is(s, "layers.1", 10, 0, 0));
    net_agrees("simplenet", 123330);
    cJSON_Delete(s);
    model_free(&m);
}

static void summary_convnet_and_convnet2(void)
{
    const char *archs[2] = { "convnet", "convnet2" };
    for (int a = 0; a < 2; a++) {
        model_desc m;
        cJSON *s = summary_of(archs[a], &m);
        CHECK(s != NULL);
        if (!s) return;
        const char *c0 = a ? "layers.0.conv" : "layers.0", *c1 = a ? "layers.1.conv" : "layers.1", *c2 = a ? "layers.2.conv" : "layers.2";
        CHECK(row_num(s, c0, "params") == 560 && row_num(s, c1, "params") == 7240 && row_num(s, c2, "params") == 28880);
        CHECK(row_num(s, "out", "params") == 810);
        CHECK(model_param_count(&m) == 37490);
        if (a == 0) CHECK(out_is(s, "layers.0", 20, 15, 15) && out_is(s, "layers.1", 40, 7, 7) && out_is(s, "layers.2", 80, 3, 3) &&
                          out_is(s, "pool", 80, 1, 1));
        else CHECK(out_is(s, "layers.0", 20, 16, 16) && out_is(s, "layers.1", 40, 8, 8) && out_is(s, "layers.2", 80, 4, 4) &&
                   row(s, "pool") == NULL && row(s, "layers.0.conv") != NULL);
        net_agrees(archs[a], 37490);
        cJSON_Delete(s);
        model_free(&m);
    }
}

static void summary_bn_nets(void)
{
    const char *archs[3] = { "convbnnet", "convbnnet2", "resnet" };
    const int l[5] = { 10, 20, 40, 80, 160 }, hw[5] = { 32, 16, 8, 4, 2 };
    for (int a = 0; a < 3; a++) {
        model_desc m;
        cJSON *s = summary_of(archs[a], &m);
        CHECK(s != NULL);
        if (!s) return;
        CHECK(row_num(s, "conv1", "params") == 760 && out_is(s, "conv1", 10, 32, 32));
        long total = 760 + 1610;
        for (int i = 0; i < 4; i++) {
            char nm[32];
            snprintf(nm, sizeof nm, "layers.%d.conv", i);
            CHECK(row_num(s, nm, "params") == l[i] * l[i + 1] * 9);   /* 1,800 7,200 28,800 115,200 */
            CHECK(out_is(s, nm, l[i + 1], hw[i + 1], hw[i + 1]));
            snprintf(nm, sizeof nm, "layers.%d", i);
            CHECK(row_num(s, nm, "fastai_nb_params") == 0 && row_num(s, nm, "params") == 2 * l[i + 1]);
            total += l[i] * l[i + 1] * 9 + 2 * l[i + 1];
            int extra = a == 0 ? 0 : a == 1 ? 1 : 2;
            for (int k = 0; k < extra; k++) {
                snprintf(nm, sizeof nm, "layers%d.%d", k + 2, i);
                const cJSON *r = row(s, nm);
                CHECK(r && !strcmp(cJSON_GetObjectItemCaseSensitive(r, "type")->valuestring, a == 1 ? "BnLayer" : "ResnetLayer"));
                CHECK(out_is(s, nm, l[i + 1], hw[i + 1], hw[i + 1]));
                total += l[i + 1] * l[i + 1] * 9 + 2 * l[i + 1];
            }
        }
        CHECK(row_num(s, "out", "params") == 1610);
        CHECK(model_param_count(&m) == total);
        CHECK(cJSON_GetObjectItemCaseSensitive(s, "total_params")->valuedouble == total);
        net_agrees(archs[a], total);
        cJSON_Delete(s);
        model_free(&m);
    }
}

static void summary_resnet2(void)
{
    model_desc m;
    cJSON *s = summary_of("resnet2", &m);
    CHECK(s != NULL);
    if (!s) return;
    CHECK(out_is(s, "conv1.conv", 16, 28, 28) && row_num(s, "conv1.conv", "params") == 16 * 3 * 49);
    CHECK(out_is(s, "layers.0", 32, 14, 14) && out_is(s, "layers.1", 128, 7, 7) && out_is(s, "layers.2", 256, 4, 4));
    CHECK(out_is(s, "layers3.2", 256, 4, 4) && out_is(s, "drop", 256, 0, 0) && out_is(s, "out", 10, 0, 0));
    CHECK(row_num(s, "out", "params") == 2570);
    const int l[4] = { 16, 32, 128, 256 };
    long total = 16 * 3 * 49 + 32 + 2570;
    for (int i = 0; i < 3; i++) total += l[i] * l[i + 1] * 9 + 2 * l[i + 1] + 2 * (l[i + 1] * l[i + 1] * 9 + 2 * l[i + 1]);
    CHECK(model_param_count(&m) == total);
    /* post-order like fastai's hooks: the conv child right before its BnLayer */
    const cJSON *mods = cJSON_GetObjectItemCaseSensitive(s, "modules");
    CHECK(!strcmp(cJSON_GetArrayItem(mods, 0)->child->valuestring, "conv1.conv"));
    CHECK(!strcmp(cJSON_GetArrayItem(mods, 1)->child->valuestring, "conv1"));
    net_agrees("resnet2", total);
    net *n;
    CHECK(net_load(&n, "models/resnet2.json", &be, 1) == C_OK);
    if (n) {
        int ndim, shape[4], tr;
        int i = net_tensor_find(n, "layers2.1.conv.weight");
        CHECK(i >= 0 && net_tensor_info(n, i, NULL, &ndim, shape, &tr) == C_OK && ndim == 4 && shape[0] == 128 && shape[3] == 3 && tr);
        i = net_tensor_find(n, "layers.2.means");
        CHECK(i >= 0 && net_tensor_info(n, i, NULL, &ndim, shape, &tr) == C_OK && ndim == 3 && shape[0] == 256 && shape[1] == 1 && !tr);
        CHECK(net_tensor_find(n, "out.weight") >= 0 && net_tensor_find(n, "conv1.a") >= 0 && net_tensor_find(n, "drop.weight") < 0);
        net_free(n);
    }
    cJSON_Delete(s);
    model_free(&m);
}

/* runs model_load on text written to a temp file and returns what it printed on stderr */
static int load_text(const char *text, char *msg, size_t msg_len, char *path, size_t path_len)
{
    snprintf(path, path_len, "/tmp/test_model_%d.json", (int)getpid());
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    char errp[64];
    snprintf(errp, sizeof errp, "/tmp/test_model_%d.err", (int)getpid());
    fflush(stderr);
    int saved = dup(2);
    FILE *e = fopen(errp, "w+");
    dup2(fileno(e), 2);
    model_desc m;
    int rc = model_load(&m, path);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(e);
    size_t k = fread(msg, 1, msg_len - 1, e);
    msg[k] = 0;
    fclose(e);
    remove(errp);
    remove(path);
    if (rc == C_OK) model_free(&m);
    return rc;
}

#define HEAD "{\"arch\": \"t\", \"input\": [3, 32, 32], \"classes\": 10, \"layers\": ["
#define TAIL ", {\"type\": \"AdaptiveMaxPool2d\"}, {\"type\": \"Flatten\"}, {\"name\": \"out\", \"type\": \"Linear\", \"in\": 20, \"out\": 10}, {\"type\": \"LogSoftmax\"}]}"

static void expect_error(const char *text, const char *needle)
{
    char msg[512], path[64];
    CHECK(load_text(text, msg, sizeof msg, path, sizeof path) == C_ERR);
    if (!strstr(msg, path) || !strstr(msg, needle)) printf("  message: %s", msg);
    CHECK(strstr(msg, path) != NULL);
    CHECK(strstr(msg, needle) != NULL);
    CHECK(strchr(msg, '\n') == msg + strlen(msg) - 1);   /* one line */
}

static void loader_refuses_malformed_files(void)
{
    char msg[512], path[64];
    CHECK(load_text(HEAD "{\"name\": \"c\", \"type\": \"Conv2d\", \"in\": 3, \"out\": 20, \"kernel\": 3}" TAIL, msg, sizeof msg, path, sizeof path) == C_OK);
    expect_error(HEAD "{\"name\": \"c\", \"type\": \"Conv2d\", \"in\": 3, \"out\": 20, \"kernel\": 3" TAIL, "invalid JSON");
    expect_error(HEAD "{\"name\": \"c\", \"type\": \"Conv3d\", \"in\": 3, \"out\": 20, \"kernel\": 3}" TAIL, "layers[0] (c): unknown type \"Conv3d\"");
    expect_error(HEAD "{\"name\": \"c\", \"type\": \"Conv2d\", \"in\": 3, \"kernel\": 3}" TAIL, "layers[0] (c): missing key \"out\"");
    expect_error(HEAD "{\"name\": \"c\", \"type\": \"Conv2d\", \"in\": 4, \"out\": 20, \"kernel\": 3}" TAIL, "layers[0] (c): in = 4 but the previous output has 3 channels");
    expect_error(HEAD "{\"name\": \"c\", \"type\": \"Conv2d\", \"in\": 3, \"out\": 30, \"kernel\": 3}" TAIL, "layers[3] (out): in = 20 but the previous output has 30 features");
    expect_error(HEAD "{\"name\": \"c\", \"type\": \"Conv2d\", \"in\": 3, \"out\": 20, \"kernel\": 3, \"strde\": 2}" TAIL, "layers[0] (c): unknown key \"strde\"");
    expect_error(HEAD "{\"name\": \"c\", \"type\": \"Conv2d\", \"in\": 3, \"out\": 20, \"kernel\": \"3\"}" TAIL, "layers[0] (c): \"kernel\" must be an integer");
    expect_error(HEAD "{\"type\": \"Conv2d\", \"in\": 3, \"out\": 20, \"kernel\": 3}" TAIL, "layers[0]: missing key \"name\"");
    expect_error(HEAD "{\"name\": \"c\", \"type\": \"ResnetLayer\", \"in\": 3, \"out\": 20}" TAIL, "layers[0] (c): ResnetLayer must keep the shape");
    expect_error("{\"arch\": \"t\", \"input\": [3, 32, 32], \"classes\": 10, \"layers\": [{\"type\": \"Flatten\"}]}", "the last layer must be LogSoftmax");
    expect_error("[1, 2]", "top level must be an object");
    char missing[80];
    snprintf(missing, sizeof missing, "/tmp/no_such_model_%d.json", (int)getpid());
    model_desc m;
    CHECK(model_load(&m, missing) == C_ERR);
}

int main(int argc, char **argv)
{
    (void)argc;
    err_init(argv[0]);
    if (backend_cpu_init(&be, 0)) return 1;
    TEST_RUN(summary_simplenet);
    TEST_RUN(summary_convnet_and_convnet2);
    TEST_RUN(summary_bn_nets);
    TEST_RUN(summary_resnet2);
    TEST_RUN(loader_refuses_malformed_files);
    backend_free(&be);
    TEST_EXIT();
}
