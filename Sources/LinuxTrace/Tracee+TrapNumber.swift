/// What came of `Tracee.takeBreakpointTrap`.
public enum BreakpointTrapOutcome: Equatable, Sendable {
  /// The thread took the trap and is back where it stood, with its registers, at a
  /// SIGTRAP signal-delivery-stop; `others` are signals that stopped it on the way, which
  /// it did not get.
  case taken(others: [Signal])
  /// The code at the thread's instruction pointer could not be written (a shared mapping):
  /// nothing changed.
  case notPossible
  /// The thread is gone.
  case ended(WaitStatus)
}

private let int3: UInt8 = 0xCC
private let trapSignal: Int32 = 5
private let resumeFlag: UInt64 = 0x1_0000
private let origRaxWord = 15
private let ripWord = 16
private let eflagsWord = 18

extension Tracee {
  /// Makes the thread, stopped with `registerWords`, take one int3 where it stands.
  ///
  /// The kernel writes the number and error code of the thread's last trap into every signal
  /// frame (sigcontext's `trapno` and `err`). In the frame of a signal another process or a
  /// timer sent, they are stale: whatever trap came last. Recording and replay make a thread
  /// take different traps (single steps, RDTSC, compare stubs' int3), so without this the
  /// frames, which the program can read, differ. Both take this trap before delivering such
  /// a signal, and the frame then holds 3 and 0 on both sides.
  ///
  /// The byte at the instruction pointer is replaced for the trap and put back, whatever
  /// happens; the call the thread may be interrupted in is not restarted meanwhile (orig_rax
  /// is -1 while it runs), and is restarted or not by the delivery that follows as it would
  /// have been. Every signal but SIGTRAP is blocked meanwhile, so that no other pending one
  /// is dequeued on the way (it would have to be sent again, without its siginfo), and the
  /// mask is put back after. (The int3's SIGTRAP is forced: had the program blocked or
  /// ignored SIGTRAP, the kernel unblocks it, which the mask put back undoes, and resets an
  /// ignored one to its default action, which stays, as after any trap rewind causes.)
  /// `wait` waits for the thread's next stop.
  public func takeBreakpointTrap(
    registerWords: [UInt64], wait: (Int32) throws -> WaitStatus
  ) throws -> BreakpointTrapOutcome {
    let rip = registerWords[ripWord]
    guard let original = try? readMemory(at: rip, count: 1), (try? writeMemory(at: rip, bytes: [int3])) != nil else {
      return .notPossible
    }
    var ended = false
    defer { if !ended { try? writeMemory(at: rip, bytes: original) } }
    let mask = try signalMask()
    try setSignalMask(~(UInt64(1) << UInt64(trapSignal - 1)))
    defer { if !ended { try? setSignalMask(mask) } }
    var running = registerWords
    running[origRaxWord] = UInt64.max
    try setRegisterWords(running)
    try resume(.continue)
    var others: [Signal] = []
    var attempts = 0
    waiting: while true {
      let status = try wait(tid)
      switch status {
      case .signalStop(.trap):
        let now = try self.registerWords()
        if now[ripWord] == rip &+ 1 { break waiting }
        // An execute breakpoint in a debug register at the same address fires first.
        attempts += 1
        guard attempts < 4 else { throw Errno.ioError }
        var again = now
        again[eflagsWord] |= resumeFlag
        try setRegisterWords(again)
        try resume(.continue)
      case .signalStop(let other):
        others.append(other)
        try resume(.continue)
      case .exited, .killed:
        // (Its memory may live on in a vfork parent or a CLONE_VM sibling: the byte goes
        // back all the same, through /proc of this gone thread if at all.)
        try? writeMemory(at: rip, bytes: original)
        ended = true
        return .ended(status)
      default:
        throw Errno.ioError
      }
    }
    try setRegisterWords(registerWords)
    return .taken(others: others)
  }
}
