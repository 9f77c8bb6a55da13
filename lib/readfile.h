/* readfile.h - read a whole small file into memory: the lists and message
 * files the agent and the coordinator load before a run. */
#ifndef SMTPSTORM_READFILE_H
#define SMTPSTORM_READFILE_H

#include <stddef.h>

/* readfile_all - the contents of path (at most max octets) into *out, NUL
 * added after *len octets; the caller frees *out. Returns 0, or -errno
 * (-EFBIG when larger than max) with "PATH: reason" in err. */
int readfile_all(const char *path, size_t max, char **out, size_t *len, char *err, size_t errlen);

#endif
