/// The x86-64 system call table as data, strace's `syscallent.h` meeting rr's `syscalls.py`.
///
/// Rows live in `SyscallTable+Rows*.swift`, one hundred numbers per file, in the order of
/// `<asm/unistd_64.h>` so a reader can check them side by side with the header. A test checks
/// every row against `SYS_<name>` through CSupport.
public enum SyscallTable {
  /// Every system call of `<asm/unistd_64.h>` (Linux 6.x), in number order.
  public static let x86_64: [Syscall] = rows000 + rows100 + rows200 + rows300

  /// Rows indexed by number; nil where x86-64 has no call (335-423).
  private static let byNumber: [Syscall?] = {
    var table = [Syscall?](repeating: nil, count: (x86_64.last?.number ?? 0) + 1)
    for row in x86_64 {
      precondition(table[row.number] == nil, "two rows for system call \(row.number)")
      table[row.number] = row
    }
    return table
  }()

  private static let byName: [String: Syscall] = Dictionary(
    uniqueKeysWithValues: x86_64.map { ($0.name, $0) })

  /// The row of system call `number` (the `orig_rax` of a syscall stop), or nil if x86-64 has
  /// no such call. O(1).
  public static func syscall(numbered number: Int) -> Syscall? {
    guard number >= 0, number < byNumber.count else { return nil }
    return byNumber[number]
  }

  /// The row of the call the kernel names `name` (`newfstatat`, not glibc's `fstatat`).
  public static func syscall(named name: String) -> Syscall? {
    byName[name]
  }

  /// The row of system call `number`, or an error that says what to do about an unknown one.
  public static func requireSyscall(numbered number: Int) throws(SyscallTableError) -> Syscall {
    guard let row = syscall(numbered: number) else {
      throw .unknownSyscall(number: number)
    }
    return row
  }

  /// A stable hash (16 hex digits) of every row's number, name and policy, stored in trace
  /// headers: a trace recorded under another table may replay differently.
  ///
  /// FNV-1a, because Swift's `Hasher` is seeded per process. Unsupported messages are left out
  /// so rewording one does not invalidate traces.
  public static let tableHash: String = {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for row in x86_64 {
      for byte in "\(row.number) \(row.name) \(row.policy.hashName)\n".utf8 {
        hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
      }
    }
    let digits = String(hash, radix: 16)
    return String(repeating: "0", count: 16 - digits.count) + digits
  }()
}

extension ReplayPolicy {
  fileprivate var hashName: String {
    switch self {
    case .emulate: "emulate"
    case .execute: "execute"
    case .executeKeepRecordedResult: "executeKeepRecordedResult"
    case .special: "special"
    case .unsupported: "unsupported"
    }
  }
}
