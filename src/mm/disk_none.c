/*
 * disk_none.c - the swap disk of a build without a driver (disk.h): there
 * is none. Weak definitions: the kernel's ATA driver (src/boot/ata.c) and
 * the host tests' RAM disk (tests/host/disk_host.c) replace them; the
 * fuzz targets, which link src/mm alone, keep them. disk_check is every
 * driver's.
 */
#include "disk.h"

#include "trace.h"

__attribute__((weak)) status_t disk_probe(uint64_t *sectors)
{
	(void)sectors;
	return trace_error_in(STATUS_NO_DISK, "disk_probe", "why=no_driver");
}

__attribute__((weak)) status_t disk_read(uint64_t sector, unsigned n, void *buf)
{
	(void)buf;
	return trace_error_in(STATUS_NO_DISK, "disk_read", "sector=%lu n=%u",
			      sector, n);
}

__attribute__((weak)) status_t disk_write(uint64_t sector, unsigned n,
					  const void *buf)
{
	(void)buf;
	return trace_error_in(STATUS_NO_DISK, "disk_write", "sector=%lu n=%u",
			      sector, n);
}

status_t disk_check(uint64_t sectors, uint64_t sector, unsigned n)
{
	if (sectors == 0)
		return trace_error(STATUS_NO_DISK, "sector=%lu n=%u", sector, n);
	if (n == 0 || n > 255)
		return trace_error(STATUS_INVALID_ARG, "sector=%lu n=%u", sector, n);
	if (sector >= sectors || n > sectors - sector)
		return trace_error(STATUS_OUT_OF_RANGE, "sector=%lu n=%u", sector, n);
	return STATUS_OK;
}
