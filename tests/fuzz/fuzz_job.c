/* fuzz_job.c - the job file loader (YAML) and its --set overrides.
 *
 * The input is the job file's text, then, each after a NUL byte, up to
 * GP_JOB_MAX_SET overrides "KEY=VALUE" (what `gpdot-client train --set`
 * passes). A job that gp_job_parse accepts must keep the bounds gp_job.h
 * states, and gp_job_load on the same bytes written to a file under /tmp
 * must give exactly the same job. */
#include "fuzz.h"
#include "gp_job.h"

static bool name_ok(const char *s)
{
    if (!*s) return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr("_.:-", *s)))
            return false;
    return true;
}

static void check_job(const gp_job *j)
{
    FUZZ_CHECK(name_ok(j->name), "job name '%s'", j->name);
    FUZZ_CHECK(j->nlayers >= 1 && j->nlayers <= GP_JOB_MAX_LAYERS, "%d layers", j->nlayers);
    for (int l = 0; l <= j->nlayers; l++)
        FUZZ_CHECK(j->sizes[l] >= 1 && j->sizes[l] <= GP_JOB_MAX_WIDTH, "width %d", j->sizes[l]);
    for (int l = 0; l + 1 < j->nlayers; l++)
        FUZZ_CHECK((unsigned)j->act[l] <= GP_ACT_IDENTITY, "activation %d", (int)j->act[l]);
    FUZZ_CHECK(j->batch >= 1 && j->batch <= GP_JOB_MAX_BATCH, "batch %d", j->batch);
    FUZZ_CHECK(j->epochs >= 1 && j->epochs <= GP_JOB_MAX_EPOCHS, "epochs %d", j->epochs);
    FUZZ_CHECK(j->lr > 0 && j->gamma > 0 && j->gamma <= 1 && j->lr_min >= 0, "rates");
    FUZZ_CHECK(j->step_every >= 1 && j->check_every >= 1 && j->checkpoint_every >= 1 &&
                   j->max_redo >= 0,
               "steps");
    FUZZ_CHECK(j->nrules >= 0 && j->nrules <= GP_JOB_MAX_RULES, "%d rules", j->nrules);
    const gp_data_files *fs[2] = {&j->train, &j->test};
    for (int i = 0; i < 2; i++)
        FUZZ_CHECK(fs[i]->csv[0] ? !fs[i]->images[0] && !fs[i]->labels[0]
                                 : fs[i]->images[0] && fs[i]->labels[0],
                   "data set %d: neither IDX nor CSV", i);
    FUZZ_CHECK(!(j->m || j->n) || j->scheme[0], "m, n without a scheme");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static gp_job a, b; /* large: kept off the stack */
    /* one copy, NUL-terminated, split at NUL bytes */
    char *buf = malloc(size + 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    size_t tlen = strlen(buf);
    const char *set[GP_JOB_MAX_SET];
    int nset = 0;
    for (size_t p = tlen; p < size && nset < GP_JOB_MAX_SET; p += strlen(buf + p + 1) + 1)
        set[nset++] = buf + p + 1;

    gp_msg why = {{0}};
    gp_err e = gp_job_parse(buf, tlen, "job.yaml", "/srv/data", set, nset, &a, &why);
    if (fuzz_verbose()) fprintf(stderr, "job (%d --set): %s %s\n", nset, gp_errname(e), why.text);
    if (e != GP_OK) {
        FUZZ_CHECK(e == GP_EINVAL || e == GP_ENOMEM, "error %s: %s", gp_errname(e), why.text);
        free(buf);
        return 0;
    }
    check_job(&a);
    /* the same bytes through the file loader: the job's directory and
     * default name come from the path, so parse again with those */
    char path[32];
    if (fuzz_tmpfile(buf, tlen, path) == 0) {
        e = gp_job_parse(buf, tlen, path, "/tmp", set, nset, &a, &why);
        FUZZ_CHECK(e == GP_OK, "accepted as job.yaml, not as %s: %s", path, why.text);
        e = gp_job_load(path, set, nset, &b, &why);
        unlink(path);
        FUZZ_CHECK(e == GP_OK, "parsed from memory but not from a file: %s", why.text);
        FUZZ_CHECK(!memcmp(&a, &b, sizeof a), "gp_job_load and gp_job_parse differ");
    }
    free(buf);
    return 0;
}
