/* trainer_test - the trainer's rules that only whole-cluster tests reached:
 * the mailbox's window (which partials are kept, which mark this node as
 * left behind), collection (who is waited for, who is left out next time,
 * late partials), the joiner's caught-up rule, the suspect rule, and the
 * choice of the checkpoint a resumed job goes on from. The functions are
 * the daemon's own (the gpdaemon library), on a trainer built here without
 * sockets or threads. */
#define _GNU_SOURCE
#include "../testlib.h"
#include "trainer_impl.h"

#define JOB 0x4242

static gp_trainer *new_trainer(int P, int self)
{
    gp_trainer *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->P = P;
    t->self = self;
    pthread_mutex_init(&t->mu, NULL);
    gp_cond_init(&t->cv);
    t->active = 0;
    t->jobs[0].used = true;
    t->jobs[0].id = JOB;
    t->jobs[0].state = JS_RUNNING;
    atomic_store(&t->up, (1ull << P) - 1);
    return t;
}

static void free_trainer(gp_trainer *t)
{
    mail_clear(t);
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

static run new_run(gp_trainer *t)
{
    run r = {.t = t, .j = &t->jobs[0], .P = t->P, .self = t->self, .peers.quorum = t->P / 2 + 1};
    return r;
}

/* A JOB_PARTIAL from node `from` with a 1 x 1 value, as the I/O thread
 * hands it over. */
static bool deliver(gp_trainer *t, uint64_t job, uint64_t key, int from, double v, bool ok)
{
    gp_pmsg m;
    gp_pmsg_init(&m, GP_MT_JOB_PARTIAL, key);
    gp_pmsg_uint(&m, GP_F_JOB, job);
    gp_pmsg_uint(&m, GP_F_KEY, key);
    gp_pmsg_uint(&m, GP_F_FROM, (uint64_t)from);
    gp_pmsg_bool(&m, GP_F_OK, ok);
    gp_pmsg_mat(&m, GP_F_VALUE, (gp_pmat){1, 1, false, &v, 0});
    return tr_partial(t, &m, from, NULL);
}

/* Kept: this job's partials from the floor to the end of the next step.
 * Dropped: another job's, older than the floor, a second copy; a float32
 * partial (a float32 job's) kept widened, exactly. A
 * majority of peers more than a step ahead marks this node behind. */
static void mailbox_window(void)
{
    gp_trainer *t = new_trainer(8, 0);
    REQUIRE(t);
    run rr = new_run(t), *r = &rr;
    t->floor = KEY(10, 0, 0);
    CHECK(deliver(t, JOB, KEY(10, 0, PH_FWD), 3, 1.5, true));
    CHECK(!deliver(t, JOB, KEY(10, 0, PH_FWD), 3, 2.5, true)); /* a second copy */
    CHECK(deliver(t, JOB, KEY(11, 2, PH_CHECK), 4, 1.0, false));
    CHECK(!deliver(t, JOB + 1, KEY(10, 0, PH_FWD), 5, 1.0, true)); /* another job */
    CHECK(!deliver(t, JOB, KEY(9, 0, PH_CHECK), 5, 1.0, true));    /* below the floor */
    CHECK(!deliver(t, JOB, KEY(12, 0, PH_FWD), 5, 1.0, true));     /* beyond the window */
    slot *s = mail_slot(t, KEY(10, 0, PH_FWD), false);
    REQUIRE(s);
    CHECK(s->have == 1ull << 3 && s->ok == 1ull << 3 && s->part[3].data[0] == 1.5);
    {
        float f[2] = {0.1f, -3.25f};
        gp_pmsg m;
        gp_pmsg_init(&m, GP_MT_JOB_PARTIAL, KEY(10, 0, PH_FWD));
        gp_pmsg_uint(&m, GP_F_JOB, JOB);
        gp_pmsg_uint(&m, GP_F_KEY, KEY(10, 0, PH_FWD));
        gp_pmsg_uint(&m, GP_F_FROM, 2);
        gp_pmsg_bool(&m, GP_F_OK, true);
        gp_pmsg_mat(&m, GP_F_VALUE, (gp_pmat){2, 1, true, f, 0});
        CHECK(tr_partial(t, &m, 2, NULL));
        CHECK(s->have >> 2 & 1 && s->part[2].rows == 2 && s->part[2].data[0] == (double)0.1f &&
              s->part[2].data[1] == -3.25);
    }
    s = mail_slot(t, KEY(11, 2, PH_CHECK), false);
    REQUIRE(s);
    CHECK(s->have == 1ull << 4 && s->ok == 0);  /* a no vote */
    CHECK(t->ahead == 1ull << 5 && !t->behind); /* one peer ahead: not yet */
    deliver(t, JOB, KEY(13, 0, PH_FWD), 6, 1.0, true);
    deliver(t, JOB, KEY(12, 1, PH_FWD), 7, 1.0, true);
    CHECK(!t->behind); /* three of seven */
    deliver(t, JOB, KEY(14, 0, PH_FWD), 1, 1.0, true);
    CHECK(t->behind && t->ahead == (1ull << 1 | 1ull << 5 | 1ull << 6 | 1ull << 7));
    /* the floor moves: what is below it goes at the next lookup */
    ex_advance(r, KEY(11, 0, 0));
    CHECK(mail_slot(t, KEY(12, 0, PH_BWD), true) != NULL);
    CHECK(mail_slot(t, KEY(10, 0, PH_FWD), false) == NULL);
    CHECK(t->mail_bytes == sizeof(double)); /* the check's vote only */
    free_trainer(t);
}

/* ex_collect waits for every live node it wants; after the timeout it goes
 * on with what arrived and leaves the silent live nodes out of the next
 * collections until they answer again; nodes down are left out at once. */
static void collect_rules(void)
{
    gp_trainer *t = new_trainer(5, 0);
    REQUIRE(t);
    run rr = new_run(t), *r = &rr;
    uint64_t all = 0x1f, k1 = KEY(3, 0, PH_FWD), k2 = KEY(3, 0, PH_BWD + 6),
             k3 = KEY(3, 0, PH_CHECK);
    t->floor = KEY(3, 0, 0); /* the trainer is at step 3 */
    for (int p = 0; p < 5; p++) CHECK(deliver(t, JOB, k1, p, p, true));
    slot *s = ex_collect(r, k1, all, 1000);
    CHECK(s && s->have == all && r->peers.excluded == 0);
    /* node 4 silent and up; node 3 down */
    atomic_store(&t->up, all & ~(1ull << 3));
    for (int p = 0; p < 3; p++) deliver(t, JOB, k2, p, p, true);
    int64_t t0 = gp_mono_ms();
    s = ex_collect(r, k2, all, 150);
    int64_t waited = gp_mono_ms() - t0;
    CHECKF(s && s->have == 0x07 && waited >= 150, "have %#llx after %lld ms",
           s ? (unsigned long long)s->have : 0ull, (long long)waited);
    CHECK(r->peers.excluded == (1ull << 3 | 1ull << 4));
    CHECK(t->jobs[0].n.partials_missing == 2);
    /* the next exchange does not wait for them */
    for (int p = 0; p < 3; p++) deliver(t, JOB, k3, p, p, true);
    t0 = gp_mono_ms();
    s = ex_collect(r, k3, all, 5000);
    CHECK(s && s->have == 0x07 && gp_mono_ms() - t0 < 1000);
    /* node 4 answers again: it is waited for from then on */
    CHECK(deliver(t, JOB, k3, 4, 4, true));
    s = ex_collect(r, k3, all, 5000);
    CHECKF(s && s->have == 0x17 && r->peers.excluded == 1ull << 3, "have %#llx excluded %#llx",
           s ? (unsigned long long)s->have : 0ull, (unsigned long long)r->peers.excluded);
    /* a late partial of an exchange that is over is dropped */
    ex_advance(r, KEY(4, 0, 0));
    CHECK(!deliver(t, JOB, k2, 4, 4, true));
    free_trainer(t);
}

/* A joiner replaying the others' steps has caught up at a forward exchange
 * when no peer has sent anything for a later step of its generation, or when
 * at least half of its live peers have not sent this one yet. */
static void caught_up_rule(void)
{
    gp_trainer *t = new_trainer(5, 0);
    REQUIRE(t);
    run rr = new_run(t), *r = &rr;
    t->wide_window = true;
    r->peers.join_started = gp_mono_ms();
    uint64_t all = 0x1f;
    /* replaying step 20: the peers are at 22 already */
    for (int p = 1; p < 5; p++) deliver(t, JOB, KEY(20, 0, PH_FWD), p, p, true);
    deliver(t, JOB, KEY(22, 0, PH_FWD), 2, 1.0, true);
    deliver(t, JOB, KEY(20, 0, PH_FWD), 0, 0, true);
    CHECK(ex_collect(r, KEY(20, 0, PH_FWD), all, 1000) != NULL);
    CHECK(r->peers.join_started != 0); /* still replaying */
    /* at step 22, the furthest any peer has sent: caught up at once */
    deliver(t, JOB, KEY(22, 0, PH_FWD), 0, 0, true);
    for (int p = 1; p < 5; p++)
        if (p != 2) deliver(t, JOB, KEY(22, 0, PH_FWD), p, p, true);
    CHECK(ex_collect(r, KEY(22, 0, PH_FWD), all, 1000) != NULL);
    CHECK(r->peers.join_started == 0);
    /* the second way: a later step's partials are there, but half the peers
     * have not sent this exchange */
    r->peers.join_started = gp_mono_ms();
    deliver(t, JOB, KEY(23, 0, PH_FWD), 0, 0, true);
    deliver(t, JOB, KEY(23, 0, PH_FWD), 1, 1, true);
    deliver(t, JOB, KEY(23, 0, PH_FWD), 2, 2, true);
    deliver(t, JOB, KEY(24, 0, PH_FWD), 1, 1, true);
    CHECK(ex_collect(r, KEY(23, 0, PH_FWD), all, 100) != NULL);
    CHECK(r->peers.join_started == 0);
    free_trainer(t);
}

/* SUSPECT_AFTER wrong outputs in a row make a suspect; a right one in
 * between starts the count again; SUSPECT_CLEAR right ones clear it. */
static void suspect_rule(void)
{
    gp_trainer *t = new_trainer(4, 0);
    REQUIRE(t);
    run rr = new_run(t), *r = &rr;
    double v = 0;
    gp_node_output outs[4] = {{0, &v}, {1, &v}, {2, &v}, {3, &v}};
    for (int i = 0; i < SUSPECT_AFTER - 1; i++) judge(r, outs, 4, 1ull << 2);
    judge(r, outs, 4, 0); /* one right output */
    for (int i = 0; i < SUSPECT_AFTER - 1; i++) judge(r, outs, 4, 1ull << 2);
    CHECK(r->check.suspects == 0);
    judge(r, outs, 4, 1ull << 2);
    CHECK(r->check.suspects == 1ull << 2 && t->jobs[0].suspects == 1ull << 2);
    CHECK(t->jobs[0].node_wrong[2] == 2 * SUSPECT_AFTER - 1);
    /* absent from a decode: neither right nor wrong */
    for (int i = 0; i < 3 * SUSPECT_CLEAR; i++) judge(r, outs, 2, 0);
    CHECK(r->check.suspects == 1ull << 2);
    for (int i = 0; i < SUSPECT_CLEAR - 1; i++) judge(r, outs, 4, 0);
    CHECK(r->check.suspects == 1ull << 2);
    judge(r, outs, 4, 0);
    CHECK(r->check.suspects == 0 && t->jobs[0].suspects == 0);
    free_trainer(t);
}

/* The latest checkpoint step that more than K_w nodes hold, with the count
 * of updates its holders recorded. */
static void resume_choice_rule(void)
{
    double info[GP_CONFIG_MAX_NODES][START_LEN] = {{0}};
    /* node p: {1, step + 1 of checkpoint 0, its updates, of checkpoint 1, ...} */
    const double rows[6][START_LEN] = {
        {1, 101, 7, 51, 3},  {1, 101, 7, 51, 3}, {1, 51, 3, 151, 9},
        {1, 151, 9, 101, 7}, {1, 151, 9, 0, 0},  {1, 0, 0, 0, 0},
    };
    memcpy(info, rows, sizeof rows);
    uint64_t upd, hold;
    /* K_w = 2: step 150 has three holders (2, 3, 4) */
    CHECK(resume_choice(6, 2, 0x3f, info, &upd, &hold) == 150 && upd == 9 && hold == 0x1c);
    /* K_w = 3: steps 150 (2, 3, 4), 100 (0, 1, 3) and 50 (0, 1, 2) have three
     * holders each, none the four it needs */
    CHECK(resume_choice(6, 3, 0x3f, info, &upd, &hold) == 0 && hold == 0);
    /* node 4 not heard: step 150 has two holders left */
    CHECK(resume_choice(6, 2, 0x2f, info, &upd, &hold) == 100 && upd == 7 && hold == 0x0b);
    /* step 0 (the job's start) is never a checkpoint to resume from */
    CHECK(resume_choice(6, 0, 1ull << 5, info, &upd, &hold) == 0);
}

/* A partial whose data came as a frame of its own is kept as that frame (no
 * copy; ZeroMQ's reference count keeps it), and let go with its slot; one
 * not aligned for doubles is copied. */
static void mailbox_keeps_frames(void)
{
    gp_trainer *t = new_trainer(4, 0);
    REQUIRE(t);
    run rr = new_run(t), *r = &rr;
    t->floor = KEY(5, 0, 0);
    zmq_msg_t frame, odd;
    REQUIRE(zmq_msg_init_size(&frame, 64 * sizeof(double)) == 0);
    double *d = zmq_msg_data(&frame);
    for (int i = 0; i < 64; i++) d[i] = i + 0.5;
    gp_pmsg m;
    gp_pmsg_init(&m, GP_MT_JOB_PARTIAL, 0);
    gp_pmsg_uint(&m, GP_F_JOB, JOB);
    gp_pmsg_uint(&m, GP_F_KEY, KEY(5, 0, PH_FWD));
    gp_pmsg_uint(&m, GP_F_FROM, 2);
    gp_pmsg_mat(&m, GP_F_VALUE, (gp_pmat){8, 8, false, d, 1});
    CHECK(tr_partial(t, &m, 2, &frame));
    zmq_msg_close(&frame); /* the sender's reference: the mailbox keeps its own */
    slot *s = mail_slot(t, KEY(5, 0, PH_FWD), false);
    REQUIRE(s);
    CHECK(s->held[2] && s->part[2].data == d && s->part[2].rows == 8 &&
          s->part[2].data[63] == 63.5);
    CHECK(t->mail_bytes == 64 * sizeof(double));
    /* unaligned: copied */
    REQUIRE(zmq_msg_init_size(&odd, 8 * sizeof(double) + 1) == 0);
    char *o = (char *)zmq_msg_data(&odd) + 1;
    double v = -2.25;
    memcpy(o, &v, sizeof v);
    gp_pmsg_mat(&m, GP_F_VALUE, (gp_pmat){1, 1, false, o, 1});
    gp_pmsg_uint(&m, GP_F_KEY, KEY(5, 0, PH_FWD + 1));
    zmq_msg_t view;
    zmq_msg_init(&view);
    zmq_msg_copy(&view, &odd);
    CHECK(tr_partial(t, &m, 2, &view)); /* data is not the frame's start: copied */
    zmq_msg_close(&view);
    zmq_msg_close(&odd);
    s = mail_slot(t, KEY(5, 0, PH_FWD + 1), false);
    REQUIRE(s);
    CHECK(!s->held[2] && s->part[2].data[0] == -2.25);
    ex_advance(r, KEY(6, 0, 0));
    mail_slot(t, KEY(6, 0, PH_FWD), true); /* frees what is below the floor */
    CHECK(t->mail_bytes == 0);
    free_trainer(t);
}

/* The check's projections: sums of +-row[j] within one rounding of the exact
 * sum plus n^2 u^2 sum |row| (the bound of compensated summation, Sum2), on
 * sums where pairs of terms up to 2^30 cancel exactly and leave terms down to
 * 2^-60: each value is an integer below 2^30 times 2^(e-60), so the exact sum
 * times 2^60 is an integer in 128 bits. */
static void projection_sums(void)
{
    gp_rng g;
    gp_rng_seed(&g, 77);
    double row[1003], v[1003], u = 0x1p-53, worst = 0;
    int naive_over = 0; /* trials a plain left-to-right sum misses the bound: the test can tell */
    for (int trial = 0; trial < 2000; trial++) {
        size_t n = 1 + (size_t)gp_rng_below(&g, 1003);
        __int128 exact = 0;
        double mag = 0;
        for (size_t j = 0; j < n; j++) {
            int e = (int)gp_rng_below(&g, 61);
            int64_t k = (int64_t)(gp_rng_uniform(&g) * 0x1p30);
            row[j] = ldexp((double)k, e - 60);
            v[j] = gp_rng_uniform(&g) < 0.5 ? -1.0 : 1.0;
            if (trial % 2 == 0 && j % 2 == 1) { /* the pair cancels */
                row[j] = -row[j - 1];
                v[j] = v[j - 1];
            }
            double t = row[j] * v[j];
            exact += (__int128)ldexp(t, 60);
            mag += fabs(t);
        }
        double ex = ldexp((double)exact, -60); /* the exact sum, rounded once */
        double got = signed_sum(row, v, n), err = fabs(got - ex);
        double bound = 2 * u * fabs(ex) + (double)n * (double)n * u * u * mag + 0x1p-1074;
        CHECKF(err <= bound, "n %zu: sum off by %.3g, bound %.3g", n, err, bound);
        if (err / bound > worst) worst = err / bound;
        double plain = 0;
        for (size_t j = 0; j < n; j++) plain += row[j] * v[j];
        naive_over += fabs(plain - ex) > bound;
    }
    printf("  compensated projection sums: largest error %.3g of the bound; a plain sum "
           "exceeds it in %d of 2000\n",
           worst, naive_over);
    CHECK(naive_over > 0);
}

static const test_case cases[] = {
    {"mailbox_window", mailbox_window},
    {"projection_sums", projection_sums},
    {"mailbox_keeps_frames", mailbox_keeps_frames},
    {"collect_rules", collect_rules},
    {"caught_up_rule", caught_up_rule},
    {"suspect_rule", suspect_rule},
    {"resume_choice", resume_choice_rule},
};

TEST_MAIN(cases)
