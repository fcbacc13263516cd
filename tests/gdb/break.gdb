# The BREAK=N test of tests/check (suite gdb): the kernel was booted with
# break=100 and gdb.commands set the breakpoint; show where it stopped.
continue
print trace.seq
backtrace 2
delete
continue
