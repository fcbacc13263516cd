"""test_vtrace_alloc - vtrace's allocator rules (trace/vtracelib/allocstate.py):
the clean generated story of gen.alloc_events() passes, and one injected
defect per rule is caught. Run by test_vtrace.py (the vtrace suite)."""

import gen
from vtrace_base import Base, check


class Allocators(Base):
    """kalloc.* and heap.* (trace/vtracelib/allocstate.py) on gen.alloc_events."""
    SLAB = gen.KALLOC_VA
    BIG = gen.KALLOC_VA + 0x1000

    def events(self):
        return gen.alloc_events()

    def test_the_clean_allocator_story_passes(self):
        rc, out, err = check(self.events())
        self.assertEqual((rc, err), (0, ""), out)

    def test_a_range_outside_its_window_is_found(self):
        ev = self.events()
        i = gen.index_of(ev, "kalloc.reserve")
        ev.insert(i, "kalloc.reserve as=0 va=0xffffe00000000000 n=1")
        self.assertCaught(ev, "kalloc-window")

    def test_a_range_reserved_twice_is_found(self):
        ev = self.events()
        i = gen.index_of(ev, "kalloc.reserve")
        ev.insert(i, ev[i])
        out = self.assertCaught(ev, "kalloc-overlap")
        self.assertIn("is reserved (event", out)

    def test_an_allocation_without_its_reserve_is_found(self):
        ev = self.events()
        del ev[gen.index_of(ev, "kalloc.reserve")]
        self.assertCaught(ev, "kalloc-unreserved")

    def test_an_allocation_not_owned_by_its_mapping_is_found(self):
        ev = self.events()
        i = gen.index_of(ev, f"vm.map as=0 va={self.SLAB:#x} pa={gen.HEAP_PA:#x}")
        ev[i] = gen.vm_map(self.SLAB, gen.HEAP_PA, 1, "P|W|NX")
        out = self.assertCaught(ev, "kalloc-not-mapped")
        self.assertIn("is not mapped with OWN", out)

    def test_freeing_an_allocation_with_another_size_is_found(self):
        ev = self.events()
        i = gen.index_of(ev, f"kalloc.free va={self.BIG:#x}")
        ev[i] = f"kalloc.free va={self.BIG:#x} n=3"
        self.assertCaught(ev, "kalloc-free-unknown")

    def test_releasing_a_range_still_mapped_is_found(self):
        ev = self.events()
        i = gen.index_of(ev, f"kalloc.release as=0 va={self.BIG:#x}")
        ev.insert(gen.index_of(ev, f"vm.unmap as=0 va={self.BIG:#x}"), ev.pop(i))
        self.assertCaught(ev, "kalloc-release-mapped")

    def test_releasing_a_range_twice_is_found(self):
        ev = self.events()
        i = gen.index_of(ev, f"kalloc.release as=0 va={self.BIG:#x}")
        ev.insert(i, ev[i])
        self.assertCaught(ev, "kalloc-release-unknown")

    def test_freeing_a_live_slab_behind_the_heaps_back_is_found(self):
        ev = self.events()
        i = gen.index_of(ev, f"kalloc.free va={self.SLAB:#x}")
        ev.insert(gen.index_of(ev, "heap.alloc"), ev.pop(i))
        self.assertCaught(ev, "kalloc-free-slab")

    def test_a_slab_without_heap_pages_is_found(self):
        ev = self.events()
        i = gen.index_of(ev, "heap.grow")
        ev.insert(i + 1, "heap.grow va=0xffffc00000010000 cls=64 slots=60")
        self.assertCaught(ev, "heap-grow-unbacked")

    def test_overlapping_objects_are_found(self):
        ev = self.events()
        i = gen.index_of(ev, "heap.alloc")
        ev.insert(i + 1, f"heap.alloc p={self.SLAB + 0x110:#x} size=8 slot=32")
        out = self.assertCaught(ev, "heap-overlap")
        self.assertIn(f"it overlaps p={self.SLAB + 0x100:#x} slot=32", out)

    def test_an_object_outside_every_slab_is_found(self):
        ev = self.events()
        i = gen.index_of(ev, "heap.alloc")
        ev.insert(i, f"heap.alloc p={self.SLAB + 0x100:#x} size=8 slot=16")
        self.assertCaught(ev, "heap-outside")

    def test_a_double_free_is_found_and_named(self):
        ev = self.events()
        i = gen.index_of(ev, f"heap.free p={self.SLAB + 0x120:#x}")
        ev.insert(i + 1, ev[i])
        out = self.assertCaught(ev, "heap-double-free")
        self.assertIn(f"was freed by event {i + 1}", out)

    def test_freeing_an_unknown_pointer_is_found(self):
        ev = self.events()
        i = gen.index_of(ev, "heap.free")
        ev.insert(i, f"heap.free p={self.SLAB + 0x140:#x} size=8 slot=32")
        self.assertCaught(ev, "heap-free-unknown")

    def test_a_slab_given_back_with_a_live_object_is_found(self):
        ev = self.events()
        i = gen.index_of(ev, f"heap.free p={self.SLAB + 0x120:#x}")
        ev.insert(gen.index_of(ev, "heap.shrink") + 1, ev.pop(i))
        self.assertCaught(ev, "heap-shrink-live")

    def test_a_lying_heap_snapshot_is_found(self):
        ev = self.events()
        i = gen.index_of(ev, "stat.heap")
        ev[i] = ev[i].replace("use=32:2/1", "use=32:3/1")
        out = self.assertCaught(ev, "stat-heap")
        self.assertIn("use=32:2/1", out)

    def test_a_lying_window_snapshot_is_found(self):
        ev = self.events()
        i = gen.index_of(ev, "stat.vrange")
        ev[i] = ev[i].replace("pages=3", "pages=2")
        self.assertCaught(ev, "stat-vrange")

    def test_an_object_never_freed_is_a_heap_leak(self):
        ev = self.events()
        a = gen.index_of(ev, f"heap.free p={self.SLAB + 0x120:#x}")
        b = len(ev) - 2  # the last stat.heap
        ev = ev[:a] + ev[b + 1:]
        out = self.assertCaught(ev, "heap-leak")
        self.assertIn(f"object p={self.SLAB + 0x120:#x} size=30", out)

    def test_a_kernel_allocation_never_freed_is_a_kalloc_leak(self):
        ev = gen.clean_events()[:-1]
        ev += ["kalloc.init as=0 lo=0xffffc00000000000 hi=0xffffe00000000000"]
        ev += gen.kalloc_map(self.SLAB, gen.HEAP_PA, 1, "kalloc", new_pt=True)
        ev += ["test.end name=generated failures=0"]
        out = self.assertCaught(ev, "kalloc-leak")
        self.assertIn("1 page(s) at va=0xffffc00000000000", out)
        rc, out, _ = check(ev, status="panic")
        self.assertEqual(rc, 0, out)
