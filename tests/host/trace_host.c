/* trace_host.c - the host's trace sink: lines go into a growing buffer. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "trace.h"

static char *text;
static size_t length, capacity;
static bool enabled = true;

static void buffer_write(const char *line, size_t len)
{
	if (!enabled)
		return;
	if (length + len + 1 > capacity) {
		capacity = (length + len + 1) * 2;
		text = realloc(text, capacity);
		if (!text)
			abort();
	}
	memcpy(text + length, line, len);
	length += len;
	text[length] = '\0';
}

static const struct trace_sink buffer_sink = { buffer_write, NULL };

void host_trace_start_with(const char *cmdline)
{
	host_trace_clear();
	enabled = true;
	trace_start(&buffer_sink, cmdline, TRACE_ALL_CATEGORIES, 0);
}

void host_trace_start_mask(uint32_t mask)
{
	host_trace_clear();
	enabled = true;
	trace_start(&buffer_sink, "host", mask, 0);
}

void host_trace_start(void)
{
	host_trace_start_mask(TRACE_ALL_CATEGORIES);
}

void host_trace_off(void)
{
	enabled = false;
}

void host_trace_clear(void)
{
	length = 0;
	if (text)
		text[0] = '\0';
}

const char *host_trace_text(void)
{
	return text ? text : "";
}

size_t host_trace_count(const char *needle)
{
	size_t count = 0;
	const char *line = host_trace_text();
	while (*line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		const char *hit = memmem(line, len, needle, strlen(needle));
		if (hit)
			count++;
		line += len + (end ? 1 : 0);
	}
	return count;
}

const char *host_trace_last(const char *needle)
{
	static char found[TRACE_LINE_MAX + 1];
	const char *line = host_trace_text();
	bool any = false;
	while (*line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		if (memmem(line, len, needle, strlen(needle))) {
			size_t n = len < TRACE_LINE_MAX ? len : TRACE_LINE_MAX;
			memcpy(found, line, n);
			found[n] = '\0';
			any = true;
		}
		line += len + (end ? 1 : 0);
	}
	return any ? found : NULL;
}
