/*
 * io.h - x86 port I/O (kernel only). Ports are a separate 16-bit address
 * space reached with the in/out instructions.
 */
#ifndef VITRINE_IO_H
#define VITRINE_IO_H

#include <stddef.h>
#include <stdint.h>

static inline void outb(uint16_t port, uint8_t value)
{
	__asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t value)
{
	__asm__ volatile("outw %0, %1" : : "a"(value), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t value;
	__asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
	return value;
}

static inline uint16_t inw(uint16_t port)
{
	uint16_t value;
	__asm__ volatile("inw %1, %0" : "=a"(value) : "Nd"(port));
	return value;
}

/* Sends len bytes to one port with a single `rep outsb`. */
static inline void outsb(uint16_t port, const void *data, size_t len)
{
	__asm__ volatile("rep outsb"
			 : "+S"(data), "+c"(len)
			 : "d"(port)
			 : "memory");
}

#endif
