import Syscalls
import Testing

@testable import Recorder

/// The recorder's lists of calls by name must name calls the table has: a misspelt or missing
/// name silently changes how a call is scheduled.
@Suite struct RecorderTableTests {
  @Test func callsThatPassTheTokenAtEntryAreInTheTable() {
    for name in MemoryGroupTracer.passesTokenAtEntry {
      #expect(SyscallTable.syscall(named: name) != nil, "\(name) is not in the system call table")
    }
  }
}
