/* cli.h - small helpers shared by the gpdot-client commands. */
#ifndef GP_CLI_H
#define GP_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One command: name, one-line summary, usage text, entry point. */
typedef struct cli_cmd {
    const char *name;
    const char *summary;
    const char *usage;
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
} cli_cmd;

/* If argv[*i] is --name VALUE or --name=VALUE, sets *value, advances *i and
 * returns true. Prints an error and exits 2 when the value is missing. */
bool cli_opt(int argc, char **argv, int *i, const char *name, const char **value);

/* Parses a positive integer or exits 2 with a message naming the option. */
long cli_long(const char *opt, const char *s, long min, long max);

/* "28.7 KiB" */
const char *cli_bytes(double b, char *buf, size_t len);

/* Prints s as a JSON string, quoted, with '"' and '\\' escaped and control
 * characters left out. */
void cli_json_str(const char *s);

/* Prints "gpdot-client: " + message to stderr and returns `code`. */
int cli_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

int cmd_plan(int argc, char **argv);
int cmd_code_demo(int argc, char **argv);
int cmd_ping(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_store(int argc, char **argv);
int cmd_multiply(int argc, char **argv);
int cmd_fetch(int argc, char **argv);
int cmd_drop(int argc, char **argv);

extern const char cmd_plan_usage[];
extern const char cmd_code_demo_usage[];
/* The local trainer and model evaluation (cmd_train.c). */
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
extern const char cmd_train_usage[], cmd_eval_usage[];
extern const char cmd_ping_usage[], cmd_status_usage[], cmd_store_usage[], cmd_multiply_usage[],
    cmd_fetch_usage[], cmd_drop_usage[];

/* The cluster file given with -c, and the key pair file given with -k,
 * before the command; or NULL. */
extern const char *cli_cluster_file, *cli_key_file;

/* Key pairs for CURVE (cmd_cluster.c). */
int cmd_keygen(int argc, char **argv);
extern const char cmd_keygen_usage[];

/* Training jobs on a cluster (cmd_job.c). */
int cmd_submit(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_cancel(int argc, char **argv);
int cmd_job_status(int argc, char **argv);
int cmd_job_fetch(int argc, char **argv);
extern const char cmd_submit_usage[], cmd_watch_usage[], cmd_cancel_usage[], cmd_job_status_usage[],
    cmd_job_fetch_usage[];
/* A job id as submit prints it (16 hex digits), or "latest" (0). */
bool cli_parse_job(const char *s, uint64_t *id);
/* Whether s is a job id as submit prints it (16 hex digits). */
bool cli_is_job_id(const char *s);
/* Connects to the cluster file given with -c (or GPDOT_CLUSTER); exits on failure. */
struct gpdot;
struct gpdot *cli_open_cluster(void);

#endif
