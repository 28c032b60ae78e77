/// How replay treats a system call.
///
/// Replay emulates what the program could not compute itself and really performs what shapes
/// the address space or the signal state (DESIGN.md, principle 2). The policy is per call, not
/// per argument: a call whose arguments change the answer (prctl, fcntl) takes the safest policy
/// for all of them, and the engines refine it by name where they must.
public enum ReplayPolicy: Equatable, Sendable {
  /// Replay skips the call, sets the recorded result and writes the recorded output memory.
  case emulate
  /// Replay performs the call for real; its result must equal the recorded one.
  case execute
  /// Replay performs the call for real, then returns the recorded result, because the result
  /// legitimately differs between runs (set_tid_address returns the tid).
  case executeKeepRecordedResult
  /// The recorder and the replayer handle the call by name (mmap, execve, clone, signals to self).
  case special
  /// Recording stops with this message.
  case unsupported(String)
}

/// How the result register of a call is printed.
public enum ReturnKind: Equatable, Sendable {
  /// A signed decimal (counts, file descriptors, 0 for success).
  case int
  /// An address, printed in hex (mmap, brk, mremap, shmat).
  case address
  /// An unsigned value printed in hex (masks, flags).
  case hex
  /// The call does not return (exit, exit_group, rt_sigreturn): `= ?`.
  case none
}

/// One row of the system call table: how to print a call, what it reads and writes, and how
/// replay treats it.
public struct Syscall: Equatable, Sendable {
  /// The number in `rax` at the syscall-entry stop; `SYS_<name>` of `<asm/unistd_64.h>`.
  public let number: Int
  /// The kernel's name, without the `sys_` prefix (`newfstatat`, not `fstatat`).
  public let name: String
  /// One kind per argument register, in order (`rdi`, `rsi`, `rdx`, `r10`, `r8`, `r9`).
  public let args: [ArgKind]
  /// How replay treats the call; `.unsupported` stops recording with its message.
  public let policy: ReplayPolicy
  /// How `SyscallFormatter` prints the result register.
  public let returns: ReturnKind

  public init(
    number: Int, name: String, args: [ArgKind], policy: ReplayPolicy, returns: ReturnKind = .int
  ) {
    precondition(args.count <= 6, "\(name): x86-64 passes at most six system call arguments")
    self.number = number
    self.name = name
    self.args = args
    self.policy = policy
    self.returns = returns
  }

  /// The short form the table files use, one row per line.
  init(
    _ number: Int, _ name: String, _ args: [ArgKind], _ policy: ReplayPolicy,
    returns: ReturnKind = .int
  ) {
    self.init(number: number, name: name, args: args, policy: policy, returns: returns)
  }
}

extension ReplayPolicy {
  /// For rows nobody has described yet: the call stops recording instead of replaying wrongly.
  static func notYetRecorded(_ name: String, _ why: String = "") -> ReplayPolicy {
    .unsupported(
      "rewind does not yet record \(name)\(why.isEmpty ? "" : " (\(why))"). "
        + "Record a program that does not call it, or describe it in Sources/Syscalls.")
  }
}

/// True for a system call result in the -4095...-1 range, where the kernel returns -errno.
public func isErrorResult(_ result: Int64) -> Bool { result < 0 && result >= -4095 }
