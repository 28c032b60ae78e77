import CSupport
import Glibc

/// `si_code` of a 128-byte siginfo from PTRACE_GETSIGINFO (TRAP_HWBKPT, SI_KERNEL, a
/// ptrace event's `SIGTRAP | event << 8`...).
public func signalCode(ofSignalInfo info: [UInt8]) -> Int32 {
  info.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8, as: Int32.self) }
}

/// The registers (27 user_regs_struct words) a thread resumes with after a call interrupted
/// with a restart code when no handler runs, as the kernel sets them: -ERESTARTSYS,
/// -ERESTARTNOINTR and -ERESTARTNOHAND run the call again, -ERESTART_RESTARTBLOCK runs
/// restart_syscall. nil when rax holds no restart code or orig_rax no call. For a tracer
/// that changed the registers at a stop before that restart (or that replays it).
public func kernelRestart(ofRegisterWords words: [UInt64]) -> [UInt64]? {
  let rax = Int64(bitPattern: words[10])
  guard [-512, -513, -514, -516].contains(rax), Int64(bitPattern: words[15]) >= 0 else { return nil }
  var restarted = words
  restarted[10] = rax == -516 ? 219 : words[15]  // rax: restart_syscall, or the call again
  restarted[16] = words[16] &- 2  // rip: back on the `syscall` instruction
  return restarted
}

/// A signal number, printed with the kernel's name (`SIGSEGV`).
public struct Signal: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
  public let rawValue: Int32
  public init(rawValue: Int32) { self.rawValue = rawValue }

  public static let hangup = Signal(rawValue: SIGHUP)
  public static let interrupt = Signal(rawValue: SIGINT)
  public static let quit = Signal(rawValue: SIGQUIT)
  public static let illegalInstruction = Signal(rawValue: SIGILL)
  public static let trap = Signal(rawValue: SIGTRAP)
  public static let abort = Signal(rawValue: SIGABRT)
  public static let busError = Signal(rawValue: SIGBUS)
  public static let floatingPointException = Signal(rawValue: SIGFPE)
  public static let kill = Signal(rawValue: SIGKILL)
  public static let segmentationFault = Signal(rawValue: SIGSEGV)
  public static let pipe = Signal(rawValue: SIGPIPE)
  public static let terminate = Signal(rawValue: SIGTERM)
  public static let child = Signal(rawValue: SIGCHLD)
  public static let stop = Signal(rawValue: SIGSTOP)

  static let names: [Int32: String] = [
    SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGILL: "SIGILL", SIGTRAP: "SIGTRAP",
    SIGABRT: "SIGABRT", SIGBUS: "SIGBUS", SIGFPE: "SIGFPE", SIGKILL: "SIGKILL", SIGUSR1: "SIGUSR1",
    SIGSEGV: "SIGSEGV", SIGUSR2: "SIGUSR2", SIGPIPE: "SIGPIPE", SIGALRM: "SIGALRM",
    SIGTERM: "SIGTERM", SIGSTKFLT: "SIGSTKFLT", SIGCHLD: "SIGCHLD", SIGCONT: "SIGCONT",
    SIGSTOP: "SIGSTOP", SIGTSTP: "SIGTSTP", SIGTTIN: "SIGTTIN", SIGTTOU: "SIGTTOU",
    SIGURG: "SIGURG", SIGXCPU: "SIGXCPU", SIGXFSZ: "SIGXFSZ", SIGVTALRM: "SIGVTALRM",
    SIGPROF: "SIGPROF", SIGWINCH: "SIGWINCH", SIGIO: "SIGIO", SIGPWR: "SIGPWR", SIGSYS: "SIGSYS",
  ]

  /// `SIGSEGV`, or `SIGRT3` / `signal 77` for the rest.
  public var description: String {
    if let name = Signal.names[rawValue] { return name }
    if rawValue >= 34 && rawValue <= 64 { return "SIGRT\(rawValue - 34)" }
    return "signal \(rawValue)"
  }

  /// Signals the CPU raises for the instruction that just ran. They recur by themselves when
  /// that instruction runs again, so replay needs no code point to deliver them.
  public var canBeSynchronousFault: Bool {
    [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP].contains(rawValue)
  }

  /// Whether this signal, with siginfo's `code`, was raised by the instruction that ran
  /// (si_code > 0 is the kernel's own) rather than sent by a process or timer: only a sent
  /// one is delivered at a recorded code point.
  public func isRaisedByInstruction(code: Int32) -> Bool { canBeSynchronousFault && code > 0 }
}

/// Sends `signal` to thread `tid` of process `processID`. The C call is `tgkill(2)`.
@discardableResult
public func sendSignal(_ signal: Signal, toThread tid: Int32, ofProcess processID: Int32) -> Bool {
  rewind_syscall6(234, Int(processID), Int(tid), Int(signal.rawValue), 0, 0, 0) == 0  // SYS_tgkill
}
