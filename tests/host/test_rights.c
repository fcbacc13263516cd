/*
 * test_rights.c - the rights of every kernel mapping, page by page, in
 * the kernel's space and in address spaces, as the simulated MMU sees them
 * (host_touch walks the tables from CR3): the image's sections, the stack
 * guard, the direct map, and every pool's window. A wrong flag anywhere
 * fails here in seconds instead of in a Bochs run.
 */
#include "paging_fixture.h"

#include "aspace.h"

/* What a page allows: a kernel read, write, fetch, and a user read. */
struct rights {
	bool read, write, exec, user;
};
static const struct rights RX = { true, false, true, false };
static const struct rights R = { true, false, false, false };
static const struct rights RW = { true, true, false, false };
static const struct rights NONE = { false, false, false, false };

/* Touches every page of [va, va + pages) in the space at CR3 and asserts
 * each access is allowed exactly when `want` says; what names the range. */
static void assert_rights(vaddr_t va, uint64_t pages, struct rights want,
			  const char *what)
{
	for (uint64_t i = 0; i < pages; i++) {
		vaddr_t p = va + i * PAGE_SIZE;
		arch_flush_tlb_all(); /* each answer from the tables */
		struct rights got = {
			!host_touch(p, HOST_READ, false).fault,
			!host_touch(p, HOST_WRITE, false).fault,
			!host_touch(p, HOST_EXEC, false).fault,
			!host_touch(p, HOST_READ, true).fault,
		};
		cr_assert(got.read == want.read && got.write == want.write &&
			  got.exec == want.exec && got.user == want.user,
			  "%s, page %lu (%#lx) in the space at cr3=%#lx: "
			  "read=%d write=%d exec=%d user=%d", what, i, p,
			  host_cpu.cr3, got.read, got.write, got.exec, got.user);
	}
}

/* Every kernel mapping of the fixture, in the space loaded now. */
static void assert_kernel_half(struct ptp *const *pools, unsigned count)
{
	assert_rights(FIX_TEXT, 4, RX, "text");
	assert_rights(FIX_RODATA, 2, R, "rodata");
	assert_rights(FIX_DATA, 1, RW, "data below the guard");
	assert_rights(FIX_GUARD, 1, NONE, "the stack guard");
	assert_rights(FIX_GUARD + PAGE_SIZE, 4, RW, "data above the guard");
	assert_rights(FIX_END, 1, NONE, "past the image");
	assert_rights(HHDM_BASE + FIX_RAM_BASE, FIX_RAM_PAGES, RW,
		      "the direct map");
	assert_rights(HHDM_BASE + FIX_MEMORY, 1, NONE, "past the direct map");
	for (unsigned i = 0; i < count; i++) {
		char what[48];
		snprintf(what, sizeof what, "the window of pool %u", pools[i]->id);
		assert_rights(pools[i]->window_va, pools[i]->pages, RW, what);
		assert_rights(pools[i]->window_va + pools[i]->pages * PAGE_SIZE,
			      1, NONE, "past a pool's window");
	}
}

Test(rights, every_kernel_mapping_has_its_rights_in_the_kernel_space)
{
	struct ptp *kernel = fix_kernel(512);
	assert_kernel_half(&kernel, 1);
}

Test(rights, every_kernel_mapping_has_its_rights_in_every_address_space)
{
	struct ptp *kernel = fix_kernel(512);
	struct aspace a, b;
	cr_assert_eq(aspace_create(16, &a), STATUS_OK);
	cr_assert_eq(aspace_create(24, &b), STATUS_OK);
	struct ptp *pools[] = { kernel, a.pool, b.pool };
	for (unsigned s = 0; s < 3; s++) {
		arch_write_cr3(pools[s]->pa);
		assert_kernel_half(pools, 3);
	}
}
