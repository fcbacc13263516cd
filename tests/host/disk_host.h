/* disk_host.h - the host tests' RAM disk (disk_host.c, disk.h). */
#ifndef VITRINE_DISK_HOST_H
#define VITRINE_DISK_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include "disk.h"

#define DISK_HOST_MAX_SECTORS 2048 /* 1 MiB */

/* The next disk: `sectors` (0: none), every transfer failing if fail. */
void disk_host_set(uint64_t sectors, bool fail);

/* From now on every transfer fails (or works again), contents kept. */
void disk_host_fail(bool fail);

#endif
