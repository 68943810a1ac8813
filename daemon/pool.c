/* pool.c - the daemon's worker threads (see gp_pool.h). */
#define _GNU_SOURCE /* pthread_setname_np */
#include "gp_pool.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <zmq.h>

#include "gp_blas.h"

#define QUEUE 256 /* jobs waiting at most: the loop refuses more */

typedef struct job {
    gp_job_fn *fn;
    void *arg;
    uint64_t tag;
} job;

struct gp_pool {
    void *zctx, *pull;
    char endpoint[64];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    job q[QUEUE];
    int head, count, nthreads;
    bool stopping;
    pthread_t threads[64];
};

static void *worker(void *p)
{
    gp_pool_t *pool = p;
    pthread_setname_np(pthread_self(), "gp-worker"); /* as top and perf show it */
    void *push = zmq_socket(pool->zctx, ZMQ_PUSH);
    int linger = 0;
    zmq_setsockopt(push, ZMQ_LINGER, &linger, sizeof linger);
    zmq_connect(push, pool->endpoint);
    for (;;) {
        pthread_mutex_lock(&pool->mu);
        while (pool->count == 0 && !pool->stopping) pthread_cond_wait(&pool->cv, &pool->mu);
        if (pool->count == 0) { /* stopping, and nothing left */
            pthread_mutex_unlock(&pool->mu);
            break;
        }
        job j = pool->q[pool->head];
        pool->head = (pool->head + 1) % QUEUE;
        pool->count--;
        pthread_mutex_unlock(&pool->mu);
        j.fn(j.arg);
        zmq_send(push, &j.tag, sizeof j.tag, 0);
    }
    zmq_close(push);
    return NULL;
}

gp_pool_t *gp_pool_new(void *zctx, int nthreads, int blas_threads)
{
    if (nthreads < 1 || nthreads > 64) return NULL;
    gp_pool_t *pool = calloc(1, sizeof *pool);
    if (!pool) return NULL;
    pool->zctx = zctx;
    snprintf(pool->endpoint, sizeof pool->endpoint, "inproc://gpdot-pool-%p", (void *)pool);
    pool->pull = zmq_socket(zctx, ZMQ_PULL);
    if (!pool->pull || zmq_bind(pool->pull, pool->endpoint) != 0) {
        if (pool->pull) zmq_close(pool->pull);
        free(pool);
        return NULL;
    }
    gp_blas_set_threads(blas_threads);
    pthread_mutex_init(&pool->mu, NULL);
    pthread_cond_init(&pool->cv, NULL);
    for (int i = 0; i < nthreads; i++) {
        if (pthread_create(&pool->threads[i], NULL, worker, pool) != 0) {
            gp_pool_destroy(&pool);
            return NULL;
        }
        pool->nthreads++;
    }
    return pool;
}

void gp_pool_destroy(gp_pool_t **pp)
{
    gp_pool_t *pool = pp ? *pp : NULL;
    if (!pool) return;
    pthread_mutex_lock(&pool->mu);
    pool->stopping = true;
    pthread_cond_broadcast(&pool->cv);
    pthread_mutex_unlock(&pool->mu);
    for (int i = 0; i < pool->nthreads; i++) pthread_join(pool->threads[i], NULL);
    zmq_close(pool->pull);
    pthread_mutex_destroy(&pool->mu);
    pthread_cond_destroy(&pool->cv);
    free(pool);
    *pp = NULL;
}

bool gp_pool_submit(gp_pool_t *pool, gp_job_fn *fn, void *arg, uint64_t tag)
{
    pthread_mutex_lock(&pool->mu);
    bool ok = pool->count < QUEUE && !pool->stopping;
    if (ok) {
        pool->q[(pool->head + pool->count) % QUEUE] = (job){fn, arg, tag};
        pool->count++;
        pthread_cond_signal(&pool->cv);
    }
    pthread_mutex_unlock(&pool->mu);
    return ok;
}

void *gp_pool_socket(gp_pool_t *pool)
{
    return pool->pull;
}
