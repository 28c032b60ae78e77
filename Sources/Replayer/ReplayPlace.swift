import TraceFormat

/// Where a debugged replay stopped, told so that another replay of the same trace can find
/// the same place again: replay is deterministic, so the same events and the same user code
/// run the same way every time, whatever a debugger did in between.
///
/// There is no branch counter: a place in user code is the event the replay was about to
/// replay, the thread running for it, the instruction address and how many times the thread
/// had arrived there since it began running for the event (counted with a breakpoint, one
/// trap an arrival), with the registers kept to check it, or to tell it when the count is
/// unknown (a watchpoint's stop lands after an instruction no breakpoint watched).
public struct ReplayPlace: Sendable, Equatable, CustomStringConvertible {
  public enum Stage: Sendable, Equatable {
    /// Before the event's thread runs for it: the replay's first stop, the end of a step
    /// that ran into the previous event, a ^C between events.
    case beforeEvent
    case syscallEntry
    case syscallReturn
    /// The recorded signal is about to be delivered.
    case signal
    case exec
    /// The thread is at the entry of its `exit`.
    case threadExit
    case processExit
    case recordingEnd
    /// In the user code the thread runs before the event, about to execute `rip` for the
    /// `arrival`th time since it began running for the event (nil: not counted).
    case code(rip: UInt64, arrival: Int?)
  }

  /// The trace-wide number of the next event to replay (`monitor when`).
  public var eventIndex: UInt64
  /// The thread (recorded tid).
  public var tid: Int32
  public var stage: Stage
  /// The thread's general registers there, in `Registers` order.
  public var registers: [UInt64]
  /// A hash of the 512 bytes above the thread's stack pointer (nil: unreadable). Registers
  /// alone repeat where a loop keeps its counter in memory (every local variable without
  /// optimization): the stack tells those passes apart.
  public var stack: UInt64?
  /// The first words above rsp, for reaching the place by them and the registers (a compare
  /// stub checks them in the tracee).
  public var stackWords: [UInt64] = []
  /// The last event of the thread replayed before this place (nil: none since the replay
  /// began): the instruction before the thread's first one for its next event ran then.
  public var threadsLastEvent: UInt64?

  public init(eventIndex: UInt64, tid: Int32, stage: Stage, registers: [UInt64], stack: UInt64?, threadsLastEvent: UInt64?) {
    self.eventIndex = eventIndex
    self.tid = tid
    self.stage = stage
    self.registers = registers
    self.stack = stack
    self.threadsLastEvent = threadsLastEvent
  }

  /// Whether `other`, found in another replay, is this place.
  func isSame(as other: ReplayPlace) -> Bool {
    guard eventIndex == other.eventIndex, tid == other.tid else { return false }
    switch (stage, other.stage) {
    case (.code(let rip, let arrival), .code(let otherRip, let otherArrival)):
      guard rip == otherRip else { return false }
      if let arrival, let otherArrival { return arrival == otherArrival }
      return hasSameState(as: other)
    default:
      return stage == other.stage
    }
  }

  /// The same registers and stack.
  func hasSameState(as other: ReplayPlace) -> Bool {
    Self.sameState(registers, other.registers) && stack == other.stack
  }

  /// General registers that tell two passes apart. The flags are left out: the trap and
  /// resume flags a debugger's step or breakpoint sets are no part of the program's state.
  static func sameState(_ a: [UInt64], _ b: [UInt64]) -> Bool {
    guard a.count == b.count else { return false }
    return a.indices.allSatisfy { $0 == eflagsIndex || $0 == origRaxIndex || a[$0] == b[$0] }
  }

  public var description: String {
    let position: String
    switch stage {
    case .code(let rip, let arrival):
      position = "at 0x\(String(rip, radix: 16))" + (arrival.map { ", arrival \($0)" } ?? "")
    default:
      position = "\(stage)"
    }
    return "event \(eventIndex), thread \(tid), \(position)"
  }

  /// The registers and stack words as a code point: what a compare stub looks for.
  var codePoint: (registers: Registers, memory: [CodePointMemory])? {
    guard registers.count == Registers.count else { return nil }
    let registers = Registers(words: registers)
    let memory = stackWords.enumerated().map { CodePointMemory(address: registers.rsp &+ UInt64($0.offset * 8), size: 8, value: $0.element) }
    return (registers, memory)
  }

  var rip: UInt64 {
    if case .code(let rip, _) = stage { return rip }
    return Registers(words: registers).rip
  }
}

/// Indices in `Registers.words`.
private let origRaxIndex = 15
private let eflagsIndex = 18
