/*
 * disk_host.c - the swap disk of the host tests (disk.h): a RAM disk
 * whose size a test sets (disk_host_set), 0 sectors meaning no disk.
 */
#include "disk_host.h"

#include <string.h>

#include "trace.h"

static unsigned char ram[DISK_HOST_MAX_SECTORS * DISK_SECTOR];
static uint64_t size; /* sectors; 0: no disk */
static bool failing;

void disk_host_set(uint64_t sectors, bool fail)
{
	size = sectors;
	failing = fail;
	memset(ram, 0, sizeof ram);
}

void disk_host_fail(bool fail)
{
	failing = fail;
}

status_t disk_probe(uint64_t *sectors)
{
	TRACE_CALL();
	if (size == 0)
		return trace_error(STATUS_NO_DISK, "why=no_drive");
	*sectors = size;
	trace_disk_ready(size);
	return STATUS_OK;
}

static status_t host_check(uint64_t sector, unsigned n)
{
	status_t st = disk_check(size, sector, n);
	if (st == STATUS_OK && failing)
		return trace_error(STATUS_DISK_ERROR, "sector=%lu n=%u at=0", sector, n);
	return st;
}

status_t disk_read(uint64_t sector, unsigned n, void *buf)
{
	TRACE_CALL();
	status_t st = host_check(sector, n);
	if (st != STATUS_OK)
		return st;
	memcpy(buf, ram + sector * DISK_SECTOR, n * DISK_SECTOR);
	trace_disk_read(sector, n);
	return STATUS_OK;
}

status_t disk_write(uint64_t sector, unsigned n, const void *buf)
{
	TRACE_CALL();
	status_t st = host_check(sector, n);
	if (st != STATUS_OK)
		return st;
	memcpy(ram + sector * DISK_SECTOR, buf, n * DISK_SECTOR);
	trace_disk_write(sector, n);
	return STATUS_OK;
}
