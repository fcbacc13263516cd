# The gdb test of tests/check (suite gdb): stop in vm_map, show where it
# was called from and how many trace events were written, then run on.
hbreak vm_map
continue
backtrace 4
print trace.seq
delete
continue
