import CSupport
import Glibc

/// How to resume a stopped tracee.
public enum ResumeMode: Sendable {
  /// PTRACE_CONT: run until a signal or ptrace event.
  case `continue`
  /// PTRACE_SYSCALL: also stop at system call entry and exit.
  case syscall
  /// PTRACE_SYSEMU: stop at system call entry and never perform the call (replay emulation).
  case syscallEmulation
  /// PTRACE_SINGLESTEP.
  case singleStep
  /// PTRACE_SYSEMU_SINGLESTEP: one instruction, or up to the entry of the system call it
  /// makes, which is then not performed.
  case syscallEmulationSingleStep

  var request: Int32 {
    switch self {
    case .continue: 7  // PTRACE_CONT
    case .syscall: 24  // PTRACE_SYSCALL
    case .syscallEmulation: 31  // PTRACE_SYSEMU
    case .singleStep: 9  // PTRACE_SINGLESTEP
    case .syscallEmulationSingleStep: 32  // PTRACE_SYSEMU_SINGLESTEP
    }
  }
}

/// Whether a syscall-stop is at entry or exit, from PTRACE_GET_SYSCALL_INFO.
public enum SyscallStopKind: Sendable {
  case entry, exit, seccomp, none
}

/// A thread we trace. Every call must come from the tracer thread that attached it.
public final class Tracee {
  public let tid: Int32
  /// /proc/PID/mem, opened lazily and reopened after exec (the old file still names the old mm).
  private var memoryFile: Int32 = -1

  public init(tid: Int32) { self.tid = tid }
  deinit { closeMemoryFile() }

  // ptrace request numbers from <sys/ptrace.h>.
  private static let getRegs: Int32 = 12, setRegs: Int32 = 13, setOptionsRequest: Int32 = 0x4200
  private static let getEventMsg: Int32 = 0x4201, getSigInfo: Int32 = 0x4202
  private static let getSyscallInfo: Int32 = 0x420e, pokeUser: Int32 = 6

  /// PTRACE_O_* bits.
  public struct Options: OptionSet, Sendable {
    public let rawValue: UInt
    public init(rawValue: UInt) { self.rawValue = rawValue }
    public static let traceSysGood = Options(rawValue: 0x01)
    public static let traceFork = Options(rawValue: 0x02)
    public static let traceVfork = Options(rawValue: 0x04)
    public static let traceClone = Options(rawValue: 0x08)
    public static let traceExec = Options(rawValue: 0x10)
    public static let traceVforkDone = Options(rawValue: 0x20)
    public static let traceExit = Options(rawValue: 0x40)
    public static let traceSeccomp = Options(rawValue: 0x80)
    public static let exitKill = Options(rawValue: 0x10_0000)
  }

  private func ptrace(_ request: Int32, _ addr: UInt = 0, _ data: UInt = 0) throws(Errno) -> Int {
    let r = rewind_ptrace(request, tid, addr, data)
    if r == -1 { throw Errno.current }
    return r
  }

  /// PTRACE_SEIZE: attaches to `pid` without stopping it, with `options`.
  public static func seize(_ pid: Int32, options: Options) throws(Errno) {
    if rewind_ptrace(0x4206, pid, 0, options.rawValue) == -1 { throw Errno.current }
  }

  /// PTRACE_INTERRUPT: stops a seized tracee (a PTRACE_EVENT_STOP follows).
  public func interrupt() throws(Errno) {
    _ = try ptrace(0x4207)
  }

  /// PTRACE_GETSIGMASK: the tracee's blocked signals.
  public func signalMask() throws(Errno) -> UInt64 {
    var mask: UInt64 = 0
    let r = withUnsafeMutablePointer(to: &mask) { rewind_ptrace(0x420a, tid, 8, UInt(bitPattern: $0)) }
    if r == -1 { throw Errno.current }
    return mask
  }

  /// PTRACE_SETSIGMASK: sets the tracee's blocked signals (SIGKILL and SIGSTOP stay unblocked).
  public func setSignalMask(_ mask: UInt64) throws(Errno) {
    var value = mask
    let r = withUnsafeMutablePointer(to: &value) { rewind_ptrace(0x420b, tid, 8, UInt(bitPattern: $0)) }
    if r == -1 { throw Errno.current }
  }

  /// PTRACE_DETACH: lets the stopped tracee go on untraced.
  public func detach() throws(Errno) {
    _ = try ptrace(17)
    closeMemoryFile()
  }

  /// PTRACE_SETOPTIONS.
  public func setOptions(_ options: Options) throws(Errno) {
    _ = try ptrace(Tracee.setOptionsRequest, 0, options.rawValue)
  }

  /// Resumes the tracee, delivering `signal` when the stop is a signal-delivery-stop.
  public func resume(_ mode: ResumeMode, signal: Signal? = nil) throws(Errno) {
    _ = try ptrace(mode.request, 0, UInt(signal?.rawValue ?? 0))
  }

  /// The 27 words of `struct user_regs_struct`.
  public static let registerWordCount = 27

  /// PTRACE_GETREGS, as the raw words of `struct user_regs_struct` (TraceFormat names them).
  public func registerWords() throws(Errno) -> [UInt64] {
    var words = [UInt64](repeating: 0, count: Tracee.registerWordCount)
    let r = words.withUnsafeMutableBytes { rewind_ptrace(Tracee.getRegs, tid, 0, UInt(bitPattern: $0.baseAddress)) }
    if r == -1 { throw Errno.current }
    return words
  }

  /// PTRACE_SETREGS.
  public func setRegisterWords(_ registerWords: [UInt64]) throws(Errno) {
    precondition(registerWords.count == Tracee.registerWordCount, "user_regs_struct has 27 words")
    var words = registerWords
    let r = words.withUnsafeMutableBytes { rewind_ptrace(Tracee.setRegs, tid, 0, UInt(bitPattern: $0.baseAddress)) }
    if r == -1 { throw Errno.current }
  }

  /// PTRACE_GETEVENTMSG: the new pid of a fork event, the exit status of an exit event.
  public func eventMessage() throws(Errno) -> UInt {
    var message: UInt = 0
    let r = withUnsafeMutablePointer(to: &message) { rewind_ptrace(Tracee.getEventMsg, tid, 0, UInt(bitPattern: $0)) }
    if r == -1 { throw Errno.current }
    return message
  }

  /// PTRACE_GETSIGINFO: the 128-byte siginfo of a signal-delivery-stop. Throws EINVAL in a
  /// group-stop, which is how a group-stop is told apart under PTRACE_TRACEME.
  public func signalInfo() throws(Errno) -> [UInt8] {
    var info = [UInt8](repeating: 0, count: 128)
    let r = info.withUnsafeMutableBytes { rewind_ptrace(Tracee.getSigInfo, tid, 0, UInt(bitPattern: $0.baseAddress)) }
    if r == -1 { throw Errno.current }
    return info
  }

  /// PTRACE_SETSIGINFO: the siginfo the signal of this signal-delivery-stop will carry.
  public func setSignalInfo(_ info: [UInt8]) throws(Errno) {
    precondition(info.count == 128, "siginfo_t is 128 bytes")
    var copy = info
    let r = copy.withUnsafeMutableBytes { rewind_ptrace(0x4203, tid, 0, UInt(bitPattern: $0.baseAddress)) }
    if r == -1 { throw Errno.current }
  }

  /// PTRACE_GET_SYSCALL_INFO's `op`: entry or exit of a syscall-stop.
  public func syscallStopKind() throws(Errno) -> SyscallStopKind {
    var info = [UInt8](repeating: 0, count: 88)
    let r = info.withUnsafeMutableBytes {
      rewind_ptrace(Tracee.getSyscallInfo, tid, UInt($0.count), UInt(bitPattern: $0.baseAddress))
    }
    if r == -1 { throw Errno.current }
    switch info[0] {
    case 1: return .entry
    case 2: return .exit
    case 3: return .seccomp
    default: return .none
    }
  }

  /// Writes debug register `index` (0-3 addresses, 6 status, 7 control) with PTRACE_POKEUSER.
  public func setDebugRegister(_ index: Int, to value: UInt64) throws(Errno) {
    _ = try ptrace(Tracee.pokeUser, rewind_offsetof_user_debugreg(Int32(index)), UInt(value))
  }

  /// Kills the tracee with SIGKILL and reaps it, so nothing is left stopped or as a zombie.
  public func killAndReap() {
    kill()
    var status: Int32 = 0
    while true {
      let r = waitpid(tid, &status, Int32(bitPattern: 0x4000_0000))
      if r == -1 && errno == EINTR { continue }
      if r == -1 { return }
      if rewind_wifexited(status) != 0 || rewind_wifsignaled(status) != 0 { return }
      // A dying tracee still reports PTRACE_EVENT_EXIT (and any stop it was entering) and
      // waits there for us; let it go on to its death.
      _ = rewind_ptrace(7, tid, 0, 0)  // PTRACE_CONT
    }
  }

  /// Kills all of `tracees` and reaps them. A thread group's leader is reaped only after its
  /// other threads, and those stop at PTRACE_EVENT_EXIT on their way out, so killing and
  /// reaping one tracee at a time can wait forever: every stop of this thread's tracees is
  /// let go on while they die. Other tracees of this thread that sit in a stop already
  /// collected (a debugger's checkpoint processes) are left alone: nothing here blocks
  /// waiting for them.
  public static func killAndReapAll(_ tracees: [Tracee]) {
    for tracee in tracees { tracee.kill() }
    var remaining = Set(tracees.map(\.tid))
    var status: Int32 = 0
    while !remaining.isEmpty {
      // __WALL | __WNOTHREAD | WNOHANG: this thread's tracees, not other children of
      // rewind (gdb).
      let r = waitpid(-1, &status, Int32(bitPattern: 0x6000_0001))
      if r == -1 && errno == EINTR { continue }
      if r > 0 {
        if rewind_wifstopped(status) != 0 {
          _ = rewind_ptrace(7, r, 0, 0)  // PTRACE_CONT
        } else {
          remaining.remove(r)
        }
        continue
      }
      // Nothing to collect now: drop those that are no child of this thread (any more).
      remaining = remaining.filter { pid in
        let r = waitpid(pid, &status, Int32(bitPattern: 0x6000_0001))
        if r == -1 { return errno != ECHILD }
        if r == pid && rewind_wifstopped(status) != 0 { _ = rewind_ptrace(7, pid, 0, 0) }
        return r == 0 || rewind_wifstopped(status) != 0
      }
      if !remaining.isEmpty { usleep(200) }
    }
  }

  /// SIGKILL, and a PTRACE_CONT: a tracee sitting in a stop we have already collected
  /// (PTRACE_EVENT_EXIT after an exit_group, say) ignores the kill and reports nothing more
  /// until it is let go on to die.
  private func kill() {
    closeMemoryFile()
    _ = Glibc.kill(tid, SIGKILL)
    _ = rewind_ptrace(7, tid, 0, 0)  // PTRACE_CONT
  }

  func closeMemoryFile() {
    if memoryFile >= 0 { close(memoryFile) }
    memoryFile = -1
  }

  /// Must be called after an exec stop: the memory file of the old image is stale.
  public func addressSpaceReplaced() { closeMemoryFile() }

  func openedMemoryFile() throws(Errno) -> Int32 {
    if memoryFile < 0 {
      memoryFile = open("/proc/\(tid)/mem", O_RDWR | O_CLOEXEC)
      if memoryFile < 0 { throw Errno.current }
    }
    return memoryFile
  }
}
