import Syscalls
import Testing

@testable import Replayer

/// The replayer's lists of calls by name must name calls the table has (one named two calls
/// the table lacks): a misspelt or missing name silently changes what replay does.
@Suite struct ReplayerTableTests {
  @Test func callsThatMeetStubPagesAreInTheTable() {
    for name in callsThatMeetStubPages {
      #expect(SyscallTable.syscall(named: name) != nil, "\(name) is not in the system call table")
    }
  }

  /// And each call whose wait mask replay puts back takes a sigset argument where it says.
  @Test func waitMaskCallsAreInTheTableWithTheirMaskArgument() throws {
    for (name, argument) in waitMaskArguments {
      let call = try #require(SyscallTable.syscall(named: name), "\(name) is not in the system call table")
      switch argument {
      case .direct(let index):
        guard case .inSigset = call.args[index] else {
          Issue.record("\(name): argument \(index) is \(call.args[index]), not a sigset")
          continue
        }
      case .indirect(let index):
        #expect(index < call.args.count, "\(name)")
      }
    }
  }
}
