/* log.h - gpdotd's log lines on stderr: "HH:MM:SS.mmm gpdotd[NODE]: text". */
#ifndef GP_LOG_H
#define GP_LOG_H

void gp_log(int node, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
