/*
 * ata.c - the swap disk (disk.h): the slave drive of the primary ATA
 * channel (ports 0x1F0..0x1F7, control 0x3F6), by programmed I/O with
 * 28-bit LBA, polled, interrupts off (nIEN). The reference Bochs machine
 * has its CD-ROM on the master (tests/vm adds `ata0-slave: type=disk`);
 * QEMU gets the same drive with `-drive if=ide,index=1`.
 *
 * The protocol (ATA/ATAPI-6, 8.27 IDENTIFY, 8.36 READ SECTORS, 8.62 WRITE
 * SECTORS, 8.13 FLUSH CACHE): select the drive and the top LBA bits in
 * the device register, write count and LBA, write the command; then per
 * sector wait until BSY is clear and DRQ set, and move 256 words through
 * the data port. Every wait is bounded: a drive that does not answer is
 * a DISK_ERROR, not a hang. On Bochs the loop counts are the same on
 * every run (the clock follows the instructions), so traces stay equal.
 */
#include "disk.h"

#include "io.h"
#include "trace.h"

#define ATA_DATA 0x1F0
#define ATA_COUNT 0x1F2
#define ATA_LBA0 0x1F3
#define ATA_LBA1 0x1F4
#define ATA_LBA2 0x1F5
#define ATA_DEVICE 0x1F6
#define ATA_STATUS 0x1F7 /* read: status; write: command */
#define ATA_CONTROL 0x3F6

#define ATA_SLAVE_LBA 0xF0 /* device register: LBA mode, drive 1 */
#define ATA_ST_ERR 0x01
#define ATA_ST_DRQ 0x08
#define ATA_ST_DF 0x20
#define ATA_ST_BSY 0x80
#define ATA_CMD_READ 0x20
#define ATA_CMD_WRITE 0x30
#define ATA_CMD_FLUSH 0xE7
#define ATA_CMD_IDENTIFY 0xEC
#define ATA_WAIT_LOOPS 1000000u

static uint64_t disk_sectors; /* 0: no disk found (yet) */

/* 400 ns after selecting a drive: four reads of the alternate status. */
static void ata_delay(void)
{
	for (int i = 0; i < 4; i++)
		inb(ATA_CONTROL);
}

/* Waits until BSY is clear (and DRQ set, if drq): false on an error bit
 * or when the drive takes too long. */
static bool ata_wait(bool drq)
{
	for (unsigned i = 0; i < ATA_WAIT_LOOPS; i++) {
		uint8_t st = inb(ATA_STATUS);
		if (st == 0xFF || st == 0) /* floating bus, or no drive */
			return false;
		if (st & ATA_ST_BSY)
			continue;
		if (st & (ATA_ST_ERR | ATA_ST_DF))
			return false;
		if (!drq || st & ATA_ST_DRQ)
			return true;
	}
	return false;
}

static void ata_command(uint64_t sector, unsigned n, uint8_t cmd)
{
	outb(ATA_DEVICE, (uint8_t)(ATA_SLAVE_LBA | (sector >> 24 & 0x0F)));
	ata_delay();
	outb(ATA_COUNT, (uint8_t)n);
	outb(ATA_LBA0, (uint8_t)sector);
	outb(ATA_LBA1, (uint8_t)(sector >> 8));
	outb(ATA_LBA2, (uint8_t)(sector >> 16));
	outb(ATA_STATUS, cmd);
}

status_t disk_probe(uint64_t *sectors)
{
	TRACE_CALL();
	outb(ATA_CONTROL, 0x02); /* nIEN: no interrupts, we poll */
	outb(ATA_DEVICE, ATA_SLAVE_LBA);
	ata_delay();
	if (inb(ATA_STATUS) == 0xFF)
		return trace_error(STATUS_NO_DISK, "why=floating_bus");
	ata_command(0, 0, ATA_CMD_IDENTIFY);
	if (inb(ATA_STATUS) == 0)
		return trace_error(STATUS_NO_DISK, "why=no_drive");
	/* An ATAPI drive (a CD-ROM) answers IDENTIFY with an abort and its
	 * signature in LBA1/LBA2: not a disk to swap on. */
	if (!ata_wait(true) || inb(ATA_LBA1) || inb(ATA_LBA2))
		return trace_error(STATUS_NO_DISK, "why=not_ata");
	uint16_t id[256];
	for (int i = 0; i < 256; i++)
		id[i] = inw(ATA_DATA);
	disk_sectors = id[60] | (uint64_t)id[61] << 16; /* LBA28 sectors */
	if (disk_sectors == 0)
		return trace_error(STATUS_NO_DISK, "why=no_lba");
	*sectors = disk_sectors;
	trace_disk_ready(disk_sectors);
	return STATUS_OK;
}

status_t disk_read(uint64_t sector, unsigned n, void *buf)
{
	TRACE_CALL();
	status_t st = disk_check(disk_sectors, sector, n);
	if (st != STATUS_OK)
		return st;
	uint16_t *w = buf;
	ata_command(sector, n, ATA_CMD_READ);
	for (unsigned s = 0; s < n; s++) {
		if (!ata_wait(true))
			return trace_error(STATUS_DISK_ERROR, "sector=%lu n=%u at=%u",
					   sector, n, s);
		for (int i = 0; i < 256; i++)
			*w++ = inw(ATA_DATA);
	}
	trace_disk_read(sector, n);
	return STATUS_OK;
}

status_t disk_write(uint64_t sector, unsigned n, const void *buf)
{
	TRACE_CALL();
	status_t st = disk_check(disk_sectors, sector, n);
	if (st != STATUS_OK)
		return st;
	const uint16_t *w = buf;
	ata_command(sector, n, ATA_CMD_WRITE);
	for (unsigned s = 0; s < n; s++) {
		if (!ata_wait(true))
			return trace_error(STATUS_DISK_ERROR, "sector=%lu n=%u at=%u",
					   sector, n, s);
		for (int i = 0; i < 256; i++)
			outw(ATA_DATA, *w++);
	}
	/* The write is done when the drive says so: flush its cache. */
	outb(ATA_STATUS, ATA_CMD_FLUSH);
	if (!ata_wait(false))
		return trace_error(STATUS_DISK_ERROR, "sector=%lu n=%u at=flush",
				   sector, n);
	trace_disk_write(sector, n);
	return STATUS_OK;
}
