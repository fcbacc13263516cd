/*
 * disk.h - the swap disk: 512-byte sectors read and written by number
 * (docs/swap.md). On the machine, the ATA PIO driver (src/boot/ata.c):
 * the slave drive of the primary channel. In the host tests, a RAM disk
 * (tests/host/disk_host.c).
 *
 * Every call writes its event (disk.ready, disk.read, disk.write) when it
 * succeeds, or one err.* (no_disk, disk_error) when it fails.
 */
#ifndef VITRINE_DISK_H
#define VITRINE_DISK_H

#include <stdint.h>

#include "status.h"

#define DISK_SECTOR 512

/* Is there a disk? Its size in sectors: NO_DISK if none answers. */
status_t disk_probe(uint64_t *sectors);

/* n sectors (1..255) from sector, into or out of buf (n * 512 bytes).
 * DISK_ERROR if the drive reports an error or does not answer. */
status_t disk_read(uint64_t sector, unsigned n, void *buf);
status_t disk_write(uint64_t sector, unsigned n, const void *buf);

/* The checks every driver makes first, on a disk of `sectors` (0: none):
 * NO_DISK, INVALID_ARG (n not 1..255), OUT_OF_RANGE; each its err.*. */
status_t disk_check(uint64_t sectors, uint64_t sector, unsigned n);

#endif
