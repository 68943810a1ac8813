/* jobs.c - the job table and the I/O thread's side: submit, status, cancel,
 * JOIN and JOIN_INFO, forwarding. */
#define _GNU_SOURCE
#include "trainer_impl.h"

static const char *const state_names[] = {"queued", "running", "done", "failed", "cancelled"};

static void restore_job(gp_trainer *t);
static tjob *find_job(gp_trainer *t, uint64_t id);

gp_trainer *tr_new(const gp_config *cfg, int self, void *ctx, const char *pub, const char *sec)
{
    gp_trainer *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->cfg = cfg;
    t->self = self;
    t->P = cfg->nnodes;
    t->ctx = ctx;
    t->active = -1;
    gp_msg why = {{0}};
    if (st_dir(cfg->state_dir, self, t->dir, sizeof t->dir, &why) != GP_OK) {
        tlog(t, "no durable state (jobs are not resumed after a restart): %s", why.text);
        t->dir[0] = 0;
    }
    pthread_mutex_init(&t->mu, NULL);
    gp_cond_init(&t->cv);
    /* made here, used by the trainer thread alone from its start on */
    for (int p = 0; p < t->P; p++)
        if (p != self && !(t->out[p] = net_peer(ctx, cfg, pub, sec, p))) {
            tlog(t, "the trainer cannot connect to node %d at %s: %s", p, cfg->nodes[p].peer,
                 zmq_strerror(errno));
            tr_destroy(&t);
            return NULL;
        }
    t->pull = zmq_socket(ctx, ZMQ_PULL);
    int hwm = 0;
    if (!t->pull || zmq_setsockopt(t->pull, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
        zmq_bind(t->pull, TR_ENDPOINT) != 0 ||
        pthread_create(&t->thread, NULL, trainer_main, t) != 0) {
        tr_destroy(&t);
        return NULL;
    }
    t->thread_started = true;
    if (t->dir[0]) restore_job(t);
    return t;
}

/* A job this node was running when it stopped, from job.bin: queued again,
 * to resume from its checkpoints. */
static void restore_job(gp_trainer *t)
{
    char path[700];
    state_path(t, "job.bin", path, sizeof path);
    st_buf b;
    gp_msg why = {{0}};
    gp_err e = st_read(path, ST_JOB, &b, &why);
    if (e == GP_ENOTFOUND) return;
    if (e != GP_OK) {
        tlog(t, "the saved job is damaged (%s): removed", why.text);
        drop_state(t);
        return;
    }
    gp_pmsg m;
    gp_pmsg_init(&m, GP_MT_SUBMIT, 0);
    gp_pmsg_uint(&m, GP_F_JOB, st_get_u64(&b));
    static const gp_field f[6] = {GP_F_TEXT,         GP_F_SET,       GP_F_TRAIN_DATA,
                                  GP_F_TRAIN_LABELS, GP_F_TEST_DATA, GP_F_TEST_LABELS};
    for (int i = 0; i < 6; i++) {
        uint64_t len = st_get_u64(&b);
        const uint8_t *p = st_view(&b, (size_t)len);
        if (!p) break;
        m.v[f[i]].s = (gp_pstr){(const char *)p, (size_t)len};
        gp_pmsg_mark(&m, f[i]);
    }
    if (b.bad || b.at != b.len) e = gp_fail(&why, GP_EFORMAT, "%s: inconsistent", path);
    if (e == GP_OK) e = tr_submit(t, &m, &why);
    if (e == GP_OK) {
        pthread_mutex_lock(&t->mu);
        tjob *j = find_job(t, m.v[GP_F_JOB].u);
        if (j) j->resume = true;
        pthread_cond_broadcast(&t->cv);
        pthread_mutex_unlock(&t->mu);
        tlog(t, "job %016" PRIx64 " restored from %s: resuming from its checkpoints",
             m.v[GP_F_JOB].u, path);
    } else {
        tlog(t, "cannot restore the saved job: %s", why.text);
    }
    free(b.p);
}

static void job_free(tjob *j)
{
    free(j->text);
    free(j->set);
    for (int i = 0; i < 4; i++) free(j->blob[i]);
    memset(j, 0, sizeof *j);
}

void tr_destroy(gp_trainer **tp)
{
    gp_trainer *t = *tp;
    if (!t) return;
    pthread_mutex_lock(&t->mu);
    t->stop = true;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    if (t->thread_started) pthread_join(t->thread, NULL);
    if (t->pull) zmq_close(t->pull);
    for (int p = 0; p < t->P; p++)
        if (t->out[p]) zmq_close(t->out[p]);
    mail_clear(t);
    for (int i = 0; i < TR_JOBS; i++) job_free(&t->jobs[i]);
    for (int l = 0; l < GP_JOB_MAX_LAYERS; l++) {
        gp_rmat_free(&t->fin.wt[l]);
        gp_code_destroy(&t->fin.code[l]);
    }
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
    free(t);
    *tp = NULL;
}

void *tr_socket(gp_trainer *t)
{
    return t->pull;
}

void tr_forward(gp_trainer *t, tr_adopt_fn adopt, void *arg)
{
    for (int i = 0; i < 16; i++) {
        zmq_msg_t note;
        zmq_msg_init(&note);
        int rc = zmq_msg_recv(&note, t->pull, ZMQ_DONTWAIT);
        zmq_msg_close(&note);
        if (rc < 0) break;
        /* a job ended: store its blocks */
        pthread_mutex_lock(&t->mu);
        finished f = t->fin;
        memset(&t->fin, 0, sizeof t->fin);
        pthread_mutex_unlock(&t->mu);
        for (int l = 0; l < f.nlayers && f.ready; l++) {
            char name[64];
            tr_weight_name(f.job, l, name, sizeof name);
            if (f.code[l]) adopt(arg, name, &f.wt[l], f.rows[l], f.cols[l], &f.code[l], f.updates);
            gp_rmat_free(&f.wt[l]);
            gp_code_destroy(&f.code[l]);
        }
    }
}

void tr_sent(gp_trainer *t, uint64_t *messages, uint64_t *bytes)
{
    *messages += atomic_exchange(&t->sent, 0);
    *bytes += atomic_exchange(&t->sent_bytes, 0);
}

static tjob *find_job(gp_trainer *t, uint64_t id)
{
    if (id == 0) id = t->latest;
    for (int i = 0; i < TR_JOBS; i++)
        if (t->jobs[i].used && t->jobs[i].id == id) return &t->jobs[i];
    return NULL;
}

static char *dup_bytes(gp_pstr s)
{
    char *p = malloc(s.len + 1);
    if (!p) return NULL;
    memcpy(p, s.p, s.len);
    p[s.len] = 0;
    return p;
}

gp_err tr_submit(gp_trainer *t, const gp_pmsg *m, gp_msg *why)
{
    uint64_t id = m->v[GP_F_JOB].u;
    if (id == 0) return gp_fail(why, GP_EINVAL, "job id 0 is reserved");
    gp_pstr text = m->v[GP_F_TEXT].s, set = {"", 0};
    if (gp_pmsg_has(m, GP_F_SET)) set = m->v[GP_F_SET].s;
    if (text.len > (1u << 20) || set.len > (1u << 16))
        return gp_fail(why, GP_ERANGE, "a job file of %zu bytes (at most 1 MiB)", text.len);
    /* the overrides: lines of key=value */
    char *setcopy = dup_bytes(set), *textcopy = dup_bytes(text);
    const char *sets[GP_JOB_MAX_SET];
    int nset = 0;
    gp_err e = GP_OK;
    if (!setcopy || !textcopy) e = gp_fail(why, GP_ENOMEM, "no memory for the job");
    char *lines = e == GP_OK ? dup_bytes(set) : NULL;
    for (char *save = NULL, *line = lines ? strtok_r(lines, "\n", &save) : NULL; e == GP_OK && line;
         line = strtok_r(NULL, "\n", &save)) {
        if (nset == GP_JOB_MAX_SET)
            e = gp_fail(why, GP_ERANGE, "more than %d overrides", GP_JOB_MAX_SET);
        else
            sets[nset++] = line;
    }
    tjob nj = {0};
    if (e == GP_OK) e = gp_job_parse(textcopy, text.len, "job", NULL, sets, nset, &nj.job, why);
    free(lines);
    if (e == GP_OK) {
        static const gp_field blobs[4] = {GP_F_TRAIN_DATA, GP_F_TRAIN_LABELS, GP_F_TEST_DATA,
                                          GP_F_TEST_LABELS};
        for (int i = 0; i < 4 && e == GP_OK; i++)
            if (gp_pmsg_has(m, blobs[i]) && m->v[blobs[i]].s.len) {
                nj.blen[i] = m->v[blobs[i]].s.len;
                if (!(nj.blob[i] = malloc(nj.blen[i])))
                    e = gp_fail(why, GP_ENOMEM, "no memory for the uploaded data");
                else
                    memcpy(nj.blob[i], m->v[blobs[i]].s.p, nj.blen[i]);
            }
        bool csv = nj.job.train.csv[0] != 0;
        if (e == GP_OK && nj.blob[0] && (!nj.blob[2] || (!csv && (!nj.blob[1] || !nj.blob[3]))))
            e = gp_fail(why, GP_EINVAL, "uploaded data must include the train and test sets");
    }
    if (e != GP_OK) {
        free(setcopy);
        free(textcopy);
        for (int i = 0; i < 4; i++) free(nj.blob[i]);
        return e;
    }
    pthread_mutex_lock(&t->mu);
    int free_i = -1, queued = 0, oldest = -1;
    for (int i = 0; i < TR_JOBS; i++) {
        tjob *j = &t->jobs[i];
        if (j->used && j->id == id) {
            free_i = -2;
            break;
        }
        if (j->used && j->state == JS_QUEUED) queued++;
        if (!j->used && free_i < 0) free_i = i;
        if (j->used && j->state >= JS_DONE &&
            (oldest < 0 || j->submitted < t->jobs[oldest].submitted))
            oldest = i;
    }
    if (free_i == -2)
        e = gp_fail(why, GP_ESTATE, "job %016" PRIx64 " was submitted already", id);
    else if (queued >= TR_QUEUE)
        e = gp_fail(why, GP_ERANGE, "%d jobs are queued already", queued);
    else if (free_i < 0 && oldest < 0)
        e = gp_fail(why, GP_ERANGE, "%d jobs are held already", TR_JOBS);
    if (e == GP_OK) {
        if (free_i < 0) {
            free_i = oldest;
            job_free(&t->jobs[free_i]);
        }
        tjob *j = &t->jobs[free_i];
        *j = nj;
        j->used = true;
        j->id = id;
        j->state = JS_QUEUED;
        j->text = textcopy;
        j->tlen = text.len;
        j->set = setcopy;
        j->slen = set.len;
        j->submitted = gp_mono_ms();
        j->accuracy = -1;
        j->up = (1ull << t->P) - 1;
        for (int i = 0; i < TR_JOBS; i++)
            if (t->precancelled[i] == id) {
                j->state = JS_CANCELLED;
                snprintf(j->reason, sizeof j->reason, "cancelled before it arrived here");
            }
        t->latest = id;
        pthread_cond_broadcast(&t->cv);
    }
    pthread_mutex_unlock(&t->mu);
    if (e != GP_OK) {
        free(setcopy);
        free(textcopy);
        for (int i = 0; i < 4; i++) free(nj.blob[i]);
    }
    return e;
}

gp_err tr_info(gp_trainer *t, uint64_t job, gp_pmsg *r, tr_scratch *s, gp_msg *why)
{
    pthread_mutex_lock(&t->mu);
    tjob *j = find_job(t, job);
    if (!j) {
        pthread_mutex_unlock(&t->mu);
        return gp_fail(why, GP_ENOTFOUND, job ? "no job %016" PRIx64 " here" : "no job here", job);
    }
    snprintf(s->name, sizeof s->name, "%s", j->job.name);
    snprintf(s->state, sizeof s->state, "%s",
             j->waiting && j->state == JS_RUNNING ? "waiting" : state_names[j->state]);
    snprintf(s->reason, sizeof s->reason, "%s", j->reason);
    size_t tl = j->tlen + j->slen + 16;
    s->text = malloc(tl);
    if (s->text) {
        memcpy(s->text, j->text, j->tlen);
        memcpy(s->text + j->tlen, "\n#--set\n", 8);
        memcpy(s->text + j->tlen + 8, j->set, j->slen);
        s->text[j->tlen + 8 + j->slen] = 0;
    }
    gp_pmsg_uint(r, GP_F_JOB, j->id);
    gp_pmsg_str(r, GP_F_NAME, s->name);
    gp_pmsg_str(r, GP_F_STATE, s->state);
    gp_pmsg_uint(r, GP_F_EPOCH, (uint64_t)j->epoch);
    gp_pmsg_uint(r, GP_F_EPOCHS, (uint64_t)j->job.epochs);
    gp_pmsg_uint(r, GP_F_STEP, j->step);
    gp_pmsg_uint(r, GP_F_STEPS, j->steps);
    gp_pmsg_f64(r, GP_F_ELAPSED, j->elapsed);
    if (j->step) gp_pmsg_f64(r, GP_F_LOSS, j->loss);
    if (j->accuracy >= 0) gp_pmsg_f64(r, GP_F_ACCURACY, j->accuracy);
    gp_pmsg_f64(r, GP_F_RATE, j->rate);
    if (j->state != JS_QUEUED && j->scale > 0) {
        gp_pmsg_f64(r, GP_F_MEAN, j->mean);
        gp_pmsg_f64(r, GP_F_SCALE, j->scale);
    }
    if (j->reason[0]) gp_pmsg_str(r, GP_F_REASON, s->reason);
    if (s->text) {
        r->v[GP_F_TEXT].s = (gp_pstr){s->text, strlen(s->text)};
        gp_pmsg_mark(r, GP_F_TEXT);
    }
    size_t nup = 0;
    for (int p = 0; p < t->P; p++)
        if (j->up >> p & 1) s->up[nup++] = (uint64_t)p;
    gp_pmsg_ids(r, GP_F_NODES_UP, s->up, nup);
    int nc = 0;
#define X(name) s->c[nc++] = (gp_pcounter){{#name, sizeof #name - 1}, j->n.name};
    JOB_COUNTERS(X)
#undef X
    gp_pmsg_counters(r, GP_F_COUNTERS, s->c, (size_t)nc);
    for (int p = 0; p < t->P; p++) {
        s->stats[3 * p] = (double)j->node_wrong[p];
        s->stats[3 * p + 1] = (double)j->node_off[p];
        s->stats[3 * p + 2] = (double)(j->suspects >> p & 1);
    }
    gp_pmsg_mat(r, GP_F_NODE_STATS, (gp_pmat){(uint32_t)t->P, 3, false, s->stats, 0});
    pthread_mutex_unlock(&t->mu);
    return GP_OK;
}

bool tr_join(gp_trainer *t, const gp_pmsg *m, int from, void **buf, size_t *len)
{
    if (from < 0 || from >= t->P || from == t->self) return false;
    uint64_t want = m->v[GP_F_JOB].u, id = 0;
    /* the asker runs `want` itself (else it is idle, and may take up ours) */
    gp_pstr st = m->v[GP_F_STATE].s;
    bool asker_runs = gp_pmsg_has(m, GP_F_STATE) && st.len == 7 && !memcmp(st.p, "running", 7);
    pthread_mutex_lock(&t->mu);
    if (t->active >= 0) id = t->jobs[t->active].id;
    pthread_mutex_unlock(&t->mu);
    /* an idle peer lacks the job: it gets it whole, uploaded data (job.bin) too */
    st_buf jb = {0};
    gp_pstr blob[4] = {{0}};
    if (id && want != id && !asker_runs && t->dir[0]) {
        char path[700];
        state_path(t, "job.bin", path, sizeof path);
        if (st_read(path, ST_JOB, &jb, NULL) == GP_OK && st_get_u64(&jb) == id) {
            for (int i = 0; i < 2; i++) st_view(&jb, (size_t)st_get_u64(&jb)); /* text, set */
            for (int i = 0; i < 4; i++) {
                uint64_t n = st_get_u64(&jb);
                const uint8_t *p = st_view(&jb, (size_t)n);
                if (p) blob[i] = (gp_pstr){(const char *)p, (size_t)n};
            }
        }
    }
    pthread_mutex_lock(&t->mu);
    tjob *j = t->active >= 0 && t->jobs[t->active].id == id ? &t->jobs[t->active] : NULL;
    gp_pmsg r;
    gp_pmsg_init(&r, GP_MT_JOIN_INFO, m->id);
    gp_pmsg_uint(&r, GP_F_FROM, (uint64_t)t->self);
    tjob *ended = want && (!j || (asker_runs && j->id != want)) ? find_job(t, want) : NULL;
    if (ended && ended->state >= JS_DONE) {
        /* the job asked about has ended here: say how, to a peer that runs
         * it even while a later one runs here (a node that waited through
         * the end, or came to the job after the others had gone on, learns
         * that a quorum finished it without it, rather than waiting for as
         * long as the later job runs); an idle peer learns what runs */
        gp_pmsg_uint(&r, GP_F_JOB, ended->id);
        gp_pmsg_str(&r, GP_F_STATE, state_names[ended->state]);
        bool ok = gp_proto_encode(&r, buf, len, NULL) == GP_OK;
        pthread_mutex_unlock(&t->mu);
        free(jb.p);
        return ok;
    }
    gp_pmsg_uint(&r, GP_F_JOB, j ? j->id : 0);
    gp_pmsg_str(&r, GP_F_STATE,
                !j                                     ? "none"
                : t->joining                           ? "joining"
                : j->waiting && j->state == JS_RUNNING ? "waiting"
                                                       : state_names[j->state]);
    if (j) {
        gp_pmsg_uint(&r, GP_F_STEP, j->at_step);
        gp_pmsg_uint(&r, GP_F_GEN, j->gen);
        gp_pmsg_f64(&r, GP_F_RATE, j->job.batch > 0 ? j->rate / j->job.batch : 0);
    }
    if (j && want != j->id && !asker_runs) {
        static const gp_field f[4] = {GP_F_TRAIN_DATA, GP_F_TRAIN_LABELS, GP_F_TEST_DATA,
                                      GP_F_TEST_LABELS};
        r.v[GP_F_TEXT].s = (gp_pstr){j->text, j->tlen};
        r.v[GP_F_SET].s = (gp_pstr){j->set, j->slen};
        gp_pmsg_mark(&r, GP_F_TEXT);
        gp_pmsg_mark(&r, GP_F_SET);
        for (int i = 0; i < 4; i++)
            if (blob[i].len) {
                r.v[f[i]].s = blob[i];
                gp_pmsg_mark(&r, f[i]);
            }
    }
    if (j && want == j->id && gp_pmsg_has(m, GP_F_STEP) && j->state == JS_RUNNING) {
        t->want_join[from].on = true;
        t->want_join[from].job = j->id;
        t->want_join[from].step = m->v[GP_F_STEP].u;
        t->want_join[from].gen = gp_pmsg_has(m, GP_F_GEN) ? m->v[GP_F_GEN].u : 0;
    }
    bool ok = gp_proto_encode(&r, buf, len, NULL) == GP_OK;
    pthread_mutex_unlock(&t->mu);
    free(jb.p);
    return ok;
}

void tr_join_info(gp_trainer *t, const gp_pmsg *m, int from)
{
    if (from < 0 || from >= t->P || from == t->self) return;
    uint64_t id = m->v[GP_F_JOB].u;
    gp_pstr st = m->v[GP_F_STATE].s;
    static const char *const kinds[] = {"none", "running", "waiting",  "joining",
                                        "done", "failed",  "cancelled"};
    int kind = PK_NONE;
    for (int k = 0; k < (int)(sizeof kinds / sizeof kinds[0]); k++)
        if (st.len == strlen(kinds[k]) && !memcmp(st.p, kinds[k], st.len)) kind = k;
    bool running = kind == PK_RUNNING || kind == PK_WAITING;
    pthread_mutex_lock(&t->mu);
    t->info[from].seen = true;
    t->info[from].kind = kind;
    t->info[from].job = id;
    t->info[from].step = gp_pmsg_has(m, GP_F_STEP) ? m->v[GP_F_STEP].u : 0;
    t->info[from].gen = gp_pmsg_has(m, GP_F_GEN) ? m->v[GP_F_GEN].u : 0;
    t->info[from].rate =
        gp_pmsg_has(m, GP_F_RATE) && isfinite(m->v[GP_F_RATE].f) ? m->v[GP_F_RATE].f : 0;
    /* a running job this node does not know, while it has nothing to do */
    bool busy = t->active >= 0;
    for (int i = 0; i < TR_JOBS; i++)
        busy = busy || (t->jobs[i].used && t->jobs[i].state == JS_QUEUED);
    bool adopt = id && running && gp_pmsg_has(m, GP_F_TEXT) && !busy && !find_job(t, id);
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    if (!adopt) return;
    gp_msg why = {{0}};
    if (tr_submit(t, m, &why) != GP_OK) {
        tlog(t, "cannot take up job %016" PRIx64 " from node %d: %s", id, from, why.text);
        return;
    }
    pthread_mutex_lock(&t->mu);
    tjob *j = find_job(t, id);
    if (j) j->join = true;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    tlog(t, "job %016" PRIx64 " runs on node %d (step %" PRIu64 "): taking it up, to join it", id,
         from, t->info[from].step);
}

gp_err tr_cancel(gp_trainer *t, uint64_t job, gp_msg *why)
{
    pthread_mutex_lock(&t->mu);
    tjob *j = find_job(t, job);
    gp_err e = GP_OK;
    if (!j) {
        /* perhaps not here yet: if it comes, it is cancelled on arrival */
        if (job) t->precancelled[t->nprecancelled++ % TR_JOBS] = job;
        e = gp_fail(why, GP_ENOTFOUND, job ? "no job %016" PRIx64 " here" : "no job here", job);
    } else if (j->state >= JS_DONE)
        e = gp_fail(why, GP_ESTATE, "job %016" PRIx64 " has ended (%s)", j->id,
                    state_names[j->state]);
    else {
        j->cancel = true;
        if (j->state == JS_QUEUED) j->state = JS_CANCELLED;
        pthread_cond_broadcast(&t->cv);
    }
    pthread_mutex_unlock(&t->mu);
    return e;
}

void tr_brief(gp_trainer *t, char *buf, size_t len)
{
    pthread_mutex_lock(&t->mu);
    tjob *j = find_job(t, 0);
    if (!j)
        snprintf(buf, len, "no job");
    else
        snprintf(buf, len, "job %016" PRIx64 " '%s': %s, step %" PRIu64 " of %" PRIu64, j->id,
                 j->job.name,
                 j->waiting && j->state == JS_RUNNING ? "waiting" : state_names[j->state], j->step,
                 j->steps);
    pthread_mutex_unlock(&t->mu);
}
