/* gp_pool.h - the daemon's worker threads.
 *
 * BLAS work (encodings, coded products, decodes) runs here, never on the I/O
 * thread. A job is a function and an argument; when it has run, the pool
 * sends the job's tag on an inproc PUSH socket, which the I/O thread polls
 * (gp_pool_socket) like any other: the loop learns of finished work without
 * locks or waiting. Jobs run in the order submitted, on `nthreads` threads.
 */
#ifndef GP_POOL_H
#define GP_POOL_H

#include <stdbool.h>
#include <stdint.h>

typedef struct gp_pool gp_pool_t;

typedef void gp_job_fn(void *arg);

/* Starts nthreads workers, each with OpenBLAS set to blas_threads threads.
 * Returns NULL on failure. zctx is the daemon's ZeroMQ context. */
gp_pool_t *gp_pool_new(void *zctx, int nthreads, int blas_threads);

/* Stops the workers after the jobs already queued, and frees the pool. */
void gp_pool_destroy(gp_pool_t **pool);

/* Queues fn(arg); `tag` is sent back when it has run. false if the queue is
 * full (bounded: the caller answers the request with an error). */
bool gp_pool_submit(gp_pool_t *pool, gp_job_fn *fn, void *arg, uint64_t tag);

/* The socket the tags of finished jobs arrive on (8 bytes each). */
void *gp_pool_socket(gp_pool_t *pool);

#endif
