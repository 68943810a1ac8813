/* exchange.c - the exchange of partials: the mailbox, sending, collecting (who
 * is waited for, who is left out, when a joiner has caught up). */
#define _GNU_SOURCE
#include "trainer_impl.h"

static void slot_free(gp_trainer *t, slot *s)
{
    for (int p = 0; p < t->P; p++) {
        if (!s->part[p].data) continue;
        t->mail_bytes -= s->part[p].rows * s->part[p].cols * sizeof(double);
        if (s->held[p]) { /* a view into the frame as it was received */
            zmq_msg_close(s->held[p]);
            free(s->held[p]);
            s->held[p] = NULL;
            s->part[p] = (gp_rmat){0};
        } else {
            gp_rmat_free(&s->part[p]);
        }
    }
    s->used = false;
    s->key = s->have = s->ok = 0;
}

/* Keeps node p's partial v in s: the frame it came in, as it is (ZeroMQ
 * counts the references: no copy), when its data is that frame's and aligned
 * for doubles; else a copy; float32 widened into doubles, which the decoder
 * reads. */
static bool keep_part(slot *s, int p, gp_pmat v, zmq_msg_t *frame)
{
    if (v.f32) { /* a float32 job's: widened (exactly) where it is received */
        if (gp_rmat_alloc_uninit(&s->part[p], v.rows, v.cols) != GP_OK) return false;
        size_t n = (size_t)v.rows * v.cols;
        const unsigned char *src = v.data;
        for (size_t i = 0; i < n; i++) {
            float x;
            memcpy(&x, src + i * sizeof x, sizeof x);
            s->part[p].data[i] = x;
        }
        return true;
    }
    if (frame && zmq_msg_data(frame) == v.data && (uintptr_t)v.data % _Alignof(double) == 0) {
        zmq_msg_t *h = malloc(sizeof *h);
        if (h && zmq_msg_init(h) == 0 && zmq_msg_copy(h, frame) == 0 &&
            (uintptr_t)zmq_msg_data(h) % _Alignof(double) == 0) {
            s->held[p] = h;
            s->part[p] = gp_rmat_view(zmq_msg_data(h), v.rows, v.cols, v.cols);
            return true;
        }
        if (h) zmq_msg_close(h);
        free(h);
    }
    if (gp_rmat_alloc_uninit(&s->part[p], v.rows, v.cols) != GP_OK) return false;
    memcpy(s->part[p].data, v.data, (size_t)v.rows * v.cols * sizeof(double));
    return true;
}

slot *mail_slot(gp_trainer *t, uint64_t key, bool create)
{
    slot *free_slot = NULL;
    for (int i = 0; i < TR_SLOTS; i++) {
        slot *s = &t->slots[i];
        if (s->used && s->key == key) return s;
        if (s->used && s->key < t->floor) slot_free(t, s); /* an exchange that is over */
        if (!s->used && !free_slot) free_slot = s;
    }
    if (!create || !free_slot) return NULL;
    free_slot->used = true;
    free_slot->key = key;
    return free_slot;
}

void mail_clear(gp_trainer *t)
{
    for (int i = 0; i < TR_SLOTS; i++)
        if (t->slots[i].used) slot_free(t, &t->slots[i]);
}

bool tr_partial(gp_trainer *t, const gp_pmsg *m, int from, zmq_msg_t *frame)
{
    gp_pmat v = m->v[GP_F_VALUE].m;
    uint64_t key = m->v[GP_F_KEY].u;
    size_t n = (size_t)v.rows * v.cols, bytes = n * sizeof(double);
    bool kept = false;
    pthread_mutex_lock(&t->mu);
    tjob *j = t->active >= 0 ? &t->jobs[t->active] : NULL;
    if (j && m->v[GP_F_JOB].u == j->id && !t->wide_window && key >= t->floor &&
        KEY_STEP(key) > KEY_STEP(t->floor) + 1 && from != t->self) {
        /* a peer more than a step ahead: this node was left behind (it was
         * stopped, or slow enough to be excluded) */
        t->ahead |= 1ull << from;
        /* most of the others: a minority ahead is more likely the one astray */
        if (2 * __builtin_popcountll(t->ahead) > t->P - 1 && !t->behind) {
            t->behind = true;
            pthread_cond_broadcast(&t->cv);
        }
    }
    if (j && m->v[GP_F_JOB].u == j->id && t->follow && from != t->self &&
        KEY_GEN(key) == t->cur_gen && KEY_STEP(key) == t->cur_step &&
        KEY_ATTEMPT(key) > t->cur_attempt && KEY_ATTEMPT(key) < JOIN_ATTEMPT &&
        KEY_ATTEMPT(key) > t->newer) {
        /* a peer has gone on to a later attempt of this step: follow it */
        t->newer = KEY_ATTEMPT(key);
        pthread_cond_broadcast(&t->cv);
    }
    if (j && m->v[GP_F_JOB].u == j->id && key >= t->floor &&
        (KEY_STEP(key) <= KEY_STEP(t->floor) + 1 || t->wide_window) &&
        t->mail_bytes + bytes <= TR_MAIL_BYTES) {
        slot *s = mail_slot(t, key, true);
        /* NaN and Inf kept: decodes correct them */
        if (s && !(s->have >> from & 1) && keep_part(s, from, v, frame)) {
            t->mail_bytes += bytes;
            s->have |= 1ull << from;
            if (!gp_pmsg_has(m, GP_F_OK) || m->v[GP_F_OK].b) s->ok |= 1ull << from;
            kept = true;
            /* wake the trainer only when what it waits for is complete */
            if (s->key == t->wait_key && (s->have & t->wait_need) == t->wait_need)
                pthread_cond_broadcast(&t->cv);
        }
    }
    pthread_mutex_unlock(&t->mu);
    return kept;
}

void tr_set_up(gp_trainer *t, uint64_t up)
{
    atomic_store(&t->up, up);
}

static void free_buf(void *data, void *hint)
{
    (void)hint;
    free(data);
}

/* Sends m to the nodes in dest (never the own bit) on the trainer's own
 * sockets, followed by `data` as its frame 1 when not NULL: the header is
 * encoded once and, like the data, sent to every peer as one message that
 * ZeroMQ counts the references of. A peer whose queue is full (it is gone
 * or far behind) misses it, as if lost. */
static void send_peers(gp_trainer *t, uint64_t dest, const gp_pmsg *m, zmq_msg_t *data)
{
    void *buf;
    size_t len;
    if (!dest || gp_proto_encode(m, &buf, &len, NULL) != GP_OK) return;
    zmq_msg_t head;
    if (zmq_msg_init_data(&head, buf, len, free_buf, NULL) != 0) {
        free(buf);
        return;
    }
    size_t dlen = data ? zmq_msg_size(data) : 0;
    for (int p = 0; p < t->P; p++) {
        if (!(dest >> p & 1) || p == t->self || !t->out[p]) continue;
        zmq_msg_t h, d;
        zmq_msg_init(&h);
        zmq_msg_copy(&h, &head);
        if (zmq_msg_send(&h, t->out[p], ZMQ_DONTWAIT | (data ? ZMQ_SNDMORE : 0)) < 0) {
            zmq_msg_close(&h);
            continue;
        }
        if (data) { /* a message's later parts are queued with its first */
            zmq_msg_init(&d);
            zmq_msg_copy(&d, data);
            if (zmq_msg_send(&d, t->out[p], ZMQ_DONTWAIT) < 0) zmq_msg_close(&d);
        }
        atomic_fetch_add(&t->sent, 1);
        atomic_fetch_add(&t->sent_bytes, len + dlen);
    }
    zmq_msg_close(&head);
}

/* JOIN to every other node: about job (0: none known), asking for the blocks
 * at step (0: only what runs where). */
void ex_send_join(gp_trainer *t, uint64_t job, uint64_t step, uint64_t gen, bool running)
{
    gp_pmsg m;
    gp_pmsg_init(&m, GP_MT_JOIN, 0);
    gp_pmsg_uint(&m, GP_F_FROM, (uint64_t)t->self);
    gp_pmsg_uint(&m, GP_F_JOB, job);
    if (running) gp_pmsg_str(&m, GP_F_STATE, "running");
    if (step) {
        gp_pmsg_uint(&m, GP_F_STEP, step);
        gp_pmsg_uint(&m, GP_F_GEN, gen);
    }
    send_peers(t, others_mask(t->P, t->self), &m, NULL);
}

/* Sends the frame `data` (rows x cols, float32 or float64) to the nodes in
 * dest (bit p) with the job's key: every peer's send and the own mailbox
 * (when dest has the own bit) share it. Closes it. */
static void send_frame(run *r, uint64_t dest, uint64_t key, zmq_msg_t *data, size_t rows,
                       size_t cols, bool f32, bool ok)
{
    gp_pmsg m;
    gp_pmsg_init(&m, GP_MT_JOB_PARTIAL, key);
    gp_pmsg_uint(&m, GP_F_JOB, r->j->id);
    gp_pmsg_uint(&m, GP_F_KEY, key);
    gp_pmsg_uint(&m, GP_F_FROM, (uint64_t)r->self);
    gp_pmsg_bool(&m, GP_F_OK, ok);
    gp_pmsg_mat(&m, GP_F_VALUE,
                (gp_pmat){(uint32_t)rows, (uint32_t)cols, f32, zmq_msg_data(data), 1});
    if (dest >> r->self & 1) tr_partial(r->t, &m, r->self, data);
    send_peers(r->t, dest & ~(1ull << r->self), &m, data);
    zmq_msg_close(data);
}

/* Sends y to the nodes in dest, its data in a frame of its own: copied
 * once, into that frame. */
void ex_send(run *r, uint64_t dest, uint64_t key, gp_rmat y, bool ok)
{
    zmq_msg_t data;
    if (zmq_msg_init_size(&data, y.rows * y.cols * sizeof(double)) != 0) return;
    gp_rmat_copy(gp_rmat_view(zmq_msg_data(&data), y.rows, y.cols, y.cols), y);
    send_frame(r, dest, key, &data, y.rows, y.cols, false, ok);
}

/* The same for a float32 matrix: float32 on the wire. */
void ex_send_f32(run *r, uint64_t dest, uint64_t key, gp_fmat y, bool ok)
{
    zmq_msg_t data;
    if (zmq_msg_init_size(&data, y.rows * y.cols * sizeof(float)) != 0) return;
    float *d = zmq_msg_data(&data);
    for (size_t i = 0; i < y.rows; i++)
        memcpy(d + i * y.cols, y.data + i * y.ld, y.cols * sizeof(float));
    send_frame(r, dest, key, &data, y.rows, y.cols, true, ok);
}

/* Whether a peer has sent partials of a step after key's, in its generation
 * (under mu). */
static bool later_partials(run *r, uint64_t key)
{
    for (int i = 0; i < TR_SLOTS; i++) {
        const slot *s = &r->t->slots[i];
        if (s->used && (s->have & ~(1ull << r->self)) && KEY_GEN(s->key) == KEY_GEN(key) &&
            KEY_STEP(s->key) > KEY_STEP(key))
            return true;
    }
    return false;
}

/* A joining node has caught up with the others (under mu). */
static void caught_up(run *r)
{
    tlog(r->t,
         "job %016" PRIx64 ": caught up with the others at step %" PRIu64
         ", %.2f s after it started to rejoin (at step %" PRIu64 ")",
         r->j->id, r->at.step, (double)(gp_mono_ms() - r->peers.join_started) / 1000.0,
         r->peers.join_step);
    r->peers.join_started = 0;
}

/* Waits until every live node of `want` has sent `key`, or the peer timeout
 * has passed (then with what arrived). Returns the slot (under no lock: the
 * trainer alone frees slots at or above the floor), or NULL if cancelled. */
slot *ex_collect(run *r, uint64_t key, uint64_t want, int64_t timeout_ms)
{
    gp_trainer *t = r->t;
    uint64_t t0 = gp_mono_us();
    int64_t deadline = gp_mono_ms() + timeout_ms;
    slot *s = NULL;
    pthread_mutex_lock(&t->mu);
    if (r->peers.join_started && KEY_PHASE(key) == PH_FWD && !later_partials(r, key)) {
        /* no peer has sent anything for a later step: this node is where the
         * others are (they may be waiting for it), no longer replaying */
        caught_up(r);
    }
    for (;;) {
        if (r->j->cancel || t->stop) {
            s = NULL;
            break;
        }
        if (t->behind && !t->wide_window) { /* no use waiting: the caller rejoins */
            s = mail_slot(t, key, true);
            break;
        }
        if (t->follow && t->newer > t->cur_attempt && KEY_PHASE(key) <= PH_CHECK &&
            KEY_ATTEMPT(key) == t->cur_attempt) {
            r->at.superseded = true; /* the others are at a later attempt: so is this node */
            s = NULL;
            break;
        }
        s = mail_slot(t, key, true);
        uint64_t up = (atomic_load(&t->up) | 1ull << r->self) & want & ~r->peers.excluded;
        if (s && (s->have & up) == up) break;
        uint64_t others = up & ~(1ull << r->self), pending = others & ~(s ? s->have : 0);
        if (r->peers.join_started && KEY_PHASE(key) == PH_FWD && others &&
            2 * __builtin_popcountll(pending) >= __builtin_popcountll(others)) {
            /* a joining node that waits for at least half of its live peers'
             * product: caught up (waiting for fewer, it may only be waiting
             * for another laggard, itself still catching up) */
            caught_up(r);
        }
        t->wait_key = key;
        t->wait_need = up;
        int64_t now = gp_mono_ms();
        if (now >= deadline) break;
        gp_cond_wait_ms(&t->cv, &t->mu, deadline - now < 50 ? deadline - now : 50);
    }
    t->wait_key = t->wait_need = 0;
    if (s) {
        uint64_t missing = want & ~s->have, up = atomic_load(&t->up);
        if (gp_mono_ms() >= deadline) /* waited for in vain: not again until they answer */
            r->peers.excluded |= missing & up & ~(1ull << r->self);
        /* and those down: when one is heard again (a stopped node continued,
         * a restarted one), the others go on without waiting for it until it
         * answers, rather than each waiting a peer timeout at the next
         * exchange and ending it with different sets of partials */
        r->peers.excluded |= missing & ~up & ~(1ull << r->self);
        r->peers.excluded &= ~s->have;
        r->j->n.partials_missing += (uint64_t)__builtin_popcountll(missing);
        uint64_t lost = r->j->up & ~s->have & want;
        if (lost && !IS_REGEN(KEY_PHASE(key))) {
            r->j->n.nodes_lost += (uint64_t)__builtin_popcountll(lost);
            for (int p = 0; p < r->P; p++)
                if (lost >> p & 1)
                    tlog(t, "job %016" PRIx64 ": node %d missing at step %" PRIu64, r->j->id, p,
                         r->at.step);
        }
        /* what this exchange showed of the nodes it was waiting for (an mds
         * product asks only some: the others keep what was known of them) */
        if (!IS_REGEN(KEY_PHASE(key)))
            r->j->up = (r->j->up & ~want) | (s->have & want) | 1ull << r->self;
    }
    r->j->n.us_wait += gp_mono_us() - t0;
    pthread_mutex_unlock(&t->mu);
    return s;
}

/* The floor moves up when an exchange is over: older partials are dropped. */
void ex_advance(run *r, uint64_t key)
{
    pthread_mutex_lock(&r->t->mu);
    if (key > r->t->floor) r->t->floor = key;
    pthread_mutex_unlock(&r->t->mu);
}

/* Node outputs of the right shape from a slot. */
int ex_outputs(run *r, const slot *s, size_t rows, size_t cols, gp_node_output *outs)
{
    int n = 0;
    for (int p = 0; p < r->P; p++)
        if ((s->have >> p & 1) && s->part[p].rows == rows && s->part[p].cols == cols)
            outs[n++] = (gp_node_output){p, s->part[p].data};
    return n;
}
