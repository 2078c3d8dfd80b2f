// The gdb command file `bootscope debug --gdb-script` prints (docs/gdb.md). gdb keeps the
// registers and frames it read until the target stops or resumes; a `monitor event N` or
// `monitor next-event` moves the guest inside a qRcmd exchange, which carries no stop reply, and
// gdb 13 does not drop its caches after one (rr and QEMU have the same limit: rr moves through
// `run`/vRun instead). So the file hooks every monitor command with a cache flush, after which
// `info registers`, `bt` and `x` show the new moment.

export const GDB_SCRIPT = `# bootscope: gdb commands for \`bootscope debug TRACE --gdb PORT\`.
# Load it with: gdb-multiarch -x bootscope.gdb  (or: source bootscope.gdb)

# After any \`monitor\` command (event, next-event move the guest), read registers and memory again.
define hookpost-monitor
  maint flush register-cache
end

# bs-event N: go to the moment of trace event #N (monitor event N) and show where that is.
define bs-event
  monitor event $arg0
  frame
end
document bs-event
Go to the moment of recorded event #N (before the instruction that caused it) and show the frame.
Usage: bs-event N
end
`;
