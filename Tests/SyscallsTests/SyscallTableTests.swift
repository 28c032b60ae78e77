import CSupport
import Foundation
import Testing

@testable import Syscalls

@Suite struct SyscallTableTests {
  @Test func everyRowMatchesTheKernelHeader() {
    for row in SyscallTable.x86_64 {
      #expect(rewind_syscall_number_named(row.name) == row.number, "row \(row.number) \(row.name)")
    }
  }

  /// Reads `<asm/unistd_64.h>` itself, so a call missing from the table is found too.
  @Test func noCallOfTheHeaderIsMissing() throws {
    let header = try String(
      contentsOfFile: "/usr/include/x86_64-linux-gnu/asm/unistd_64.h", encoding: .utf8)
    var headerRows: [Int: String] = [:]
    for line in header.split(separator: "\n") where line.hasPrefix("#define __NR_") {
      let fields = line.split(separator: " ", omittingEmptySubsequences: true)
      guard fields.count == 3, let number = Int(fields[2]) else { continue }
      headerRows[number] = String(fields[1].dropFirst("__NR_".count))
    }
    #expect(headerRows.count == SyscallTable.x86_64.count)
    for (number, name) in headerRows {
      #expect(SyscallTable.syscall(numbered: number)?.name == name, "SYS_\(name) = \(number)")
    }
  }

  @Test func rowsAreInNumberOrderAndUnique() {
    let numbers = SyscallTable.x86_64.map(\.number)
    #expect(numbers == numbers.sorted())
    #expect(Set(numbers).count == numbers.count)
    #expect(Set(SyscallTable.x86_64.map(\.name)).count == numbers.count)
  }

  @Test func lookups() throws {
    #expect(SyscallTable.syscall(numbered: 0)?.name == "read")
    #expect(SyscallTable.syscall(numbered: 257)?.name == "openat")
    #expect(SyscallTable.syscall(numbered: 400) == nil)
    #expect(SyscallTable.syscall(numbered: -1) == nil)
    #expect(SyscallTable.syscall(numbered: 100_000) == nil)
    #expect(SyscallTable.syscall(named: "clone3")?.number == 435)
    #expect(SyscallTable.syscall(named: "fstatat") == nil)
    #expect(throws: SyscallTableError.unknownSyscall(number: 999)) {
      try SyscallTable.requireSyscall(numbered: 999)
    }
  }

  @Test func policiesFollowTheDesign() {
    func policy(_ name: String) -> ReplayPolicy? { SyscallTable.syscall(named: name)?.policy }
    for name in ["read", "write", "openat", "getpid", "gettid", "clock_gettime", "ioctl"] {
      #expect(policy(name) == .emulate, "\(name)")
    }
    for name in ["brk", "mprotect", "munmap", "mremap", "madvise", "arch_prctl", "rt_sigaction"] {
      #expect(policy(name) == .execute, "\(name)")
    }
    for name in ["mmap", "execve", "execveat", "clone", "clone3", "fork", "vfork", "rseq", "io_uring_setup", "kill",
      "tgkill", "tkill", "exit", "exit_group", "rt_sigqueueinfo", "rt_tgsigqueueinfo"]
    {
      #expect(policy(name) == .special, "\(name)")
    }
    #expect(policy("set_tid_address") == .executeKeepRecordedResult)
    #expect(
      policy("ptrace") == .unsupported("rewind cannot record a program that is itself a tracer"))
    for name in ["io_uring_enter", "io_uring_register", "perf_event_open", "bpf", "userfaultfd", "process_vm_readv"] {
      guard case .unsupported(let message) = policy(name) else {
        Issue.record("\(name) should be unsupported")
        continue
      }
      #expect(message.contains(name))
      // Advice must name only what exists (an io_uring message once sent users to a flag
      // rewind did not have).
      #expect(!message.contains("--"), "\(name): \(message)")
    }
  }

  @Test func tableHashIsStableHex() {
    #expect(SyscallTable.tableHash.count == 16)
    #expect(SyscallTable.tableHash.allSatisfy { $0.isHexDigit })
    #expect(SyscallTable.tableHash == SyscallTable.tableHash)
  }

  @Test func unknownSyscallMessageSaysWhatToDo() {
    let message = SyscallTableError.unknownSyscall(number: 999).description
    #expect(message.hasPrefix("rewind does not know system call 999"))
    #expect(message.contains("ENOSYS"))
  }
}
