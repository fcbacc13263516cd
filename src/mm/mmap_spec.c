/*
 * mmap_spec.c - the command line's mmap=SPEC, written out as a multiboot2
 * map tag so that it goes through exactly the reader the firmware's map
 * goes through (docs/pmm.md defines SPEC).
 *
 *   SPEC  := ITEM ( "," ITEM )*
 *   ITEM  := BASE ":" LEN ":" TYPE      one entry; BASE, LEN in hex
 *                                       (0x optional), TYPE a name (usable,
 *                                       reserved, acpi, nvs, bad) or decimal
 *          | "esize:" N                 the tag's entry_size (decimal)
 *          | "version:" N               the tag's entry_version (decimal)
 *
 * Nothing is checked here beyond the syntax: zero lengths, overlaps,
 * disorder, wrapping and odd entry sizes are what tests feed the reader.
 */
#include "mmap.h"

#include "trace.h"

struct spec_item {
	const char *text;
	size_t len;
};

/* Splits off the part of *item up to sep (or its end); false if empty. */
static bool next_field(struct spec_item *item, char sep, struct spec_item *out)
{
	size_t i = 0;
	while (i < item->len && item->text[i] != sep)
		i++;
	out->text = item->text;
	out->len = i;
	item->text += i < item->len ? i + 1 : i;
	item->len -= i < item->len ? i + 1 : i;
	return i > 0;
}

static bool field_is(struct spec_item f, const char *word)
{
	size_t i = 0;
	for (; i < f.len && word[i]; i++)
		if (f.text[i] != word[i])
			return false;
	return i == f.len && !word[i];
}

/* Parses f as a number in base 10 or 16 (16 takes an optional 0x). */
static bool parse_number(struct spec_item f, unsigned base, uint64_t *out)
{
	if (base == 16 && f.len > 2 && f.text[0] == '0' &&
	    (f.text[1] == 'x' || f.text[1] == 'X')) {
		f.text += 2;
		f.len -= 2;
	}
	if (f.len == 0)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < f.len; i++) {
		char c = f.text[i];
		unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
			     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
			     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
						    : 99;
		if (d >= base || v > (~0ull - d) / base)
			return false;
		v = v * base + d;
	}
	*out = v;
	return true;
}

static bool parse_type(struct spec_item f, uint32_t *type)
{
	for (uint32_t t = 0; t < 8; t++) {
		const char *name = mmap_type_name(t);
		if (name && field_is(f, name)) {
			*type = t;
			return true;
		}
	}
	uint64_t v;
	if (!parse_number(f, 10, &v) || v > 0xffffffffu)
		return false;
	*type = (uint32_t)v;
	return true;
}

static status_t spec_error(struct spec_item item, const char *reason)
{
	char word[32], text[TRACE_TEXT_MAX], why[TRACE_TEXT_MAX];
	size_t n = item.len < sizeof word - 1 ? item.len : sizeof word - 1;
	for (size_t i = 0; i < n; i++)
		word[i] = item.text[i];
	word[n] = '\0';
	return trace_error(STATUS_BAD_CMDLINE, "item=%s reason=%s",
			   trace_quote(word, text, sizeof text),
			   trace_quote(reason, why, sizeof why));
}

/* Parses one BASE:LEN:TYPE item into *e; NULL or the reason it is bad. */
static const char *parse_entry(struct spec_item item, struct mb2_mmap_entry *e)
{
	struct spec_item base, len, type;
	if (!next_field(&item, ':', &base) || !next_field(&item, ':', &len) ||
	    !next_field(&item, ':', &type) || item.len != 0)
		return "want BASE:LEN:TYPE";
	if (!parse_number(base, 16, &e->base_addr))
		return "bad hex BASE";
	if (!parse_number(len, 16, &e->length))
		return "bad hex LEN";
	if (!parse_type(type, &e->type))
		return "bad TYPE";
	e->reserved = 0;
	return NULL;
}

status_t mmap_spec_to_tag(const char *spec, size_t len, void *buf,
			  size_t bytes)
{
	TRACE_CALL();
	struct mb2_mmap_entry list[MMAP_MAX_ENTRIES + 1];
	size_t n = 0;
	uint64_t esize = sizeof list[0], version = 0;
	struct spec_item rest = { spec, len }, item;
	while (rest.len > 0) {
		if (!next_field(&rest, ',', &item))
			return spec_error(item, "empty item");
		struct spec_item copy = item, key;
		next_field(&copy, ':', &key);
		const char *why = NULL;
		if (field_is(key, "esize") || field_is(key, "version")) {
			uint64_t *v = field_is(key, "esize") ? &esize : &version;
			if (!parse_number(copy, 10, v) || *v > 0xffffffffu)
				why = "bad decimal number";
		} else if (n > MMAP_MAX_ENTRIES) {
			why = "too many entries";
		} else {
			why = parse_entry(item, &list[n++]);
		}
		if (why)
			return spec_error(item, why);
	}
	size_t stride = esize >= sizeof list[0] ? esize : sizeof list[0];
	if (esize > MMAP_ENTRY_SIZE_MAX ||
	    sizeof(struct mb2_tag_mmap) + n * stride > bytes)
		return spec_error((struct spec_item){ spec, len },
				  "entry size too large");
	struct mb2_tag_mmap *tag = buf;
	uint8_t *p = (uint8_t *)(tag + 1);
	for (size_t i = 0; i < n * stride; i++)
		p[i] = 0;
	for (size_t i = 0; i < n; i++)
		*(struct mb2_mmap_entry *)(p + i * stride) = list[i];
	tag->tag.type = MB2_TAG_MMAP;
	tag->tag.size = (uint32_t)(sizeof *tag + n * esize);
	tag->entry_size = (uint32_t)esize;
	tag->entry_version = (uint32_t)version;
	return STATUS_OK;
}
