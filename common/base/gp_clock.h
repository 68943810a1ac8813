/* gp_clock.h - the one monotonic clock, and condition variables that wait
 * by it (a wall-clock step must not stretch or cut a timeout). */
#ifndef GP_CLOCK_H
#define GP_CLOCK_H

#include <pthread.h>
#include <stdint.h>

/* Time since an arbitrary start, by CLOCK_MONOTONIC. */
int64_t gp_mono_ms(void);
uint64_t gp_mono_us(void);
double gp_mono_s(void);

/* A condition variable whose timed waits use CLOCK_MONOTONIC. */
int gp_cond_init(pthread_cond_t *cv);
/* Waits on cv, with mu held, for a signal or at most ms milliseconds
 * (ms <= 0: returns at once). Returns pthread_cond_timedwait's result. */
int gp_cond_wait_ms(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t ms);

#endif
