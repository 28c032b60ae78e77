import LinuxTrace
import TraceFormat

/// Replay did not do what the recording did. Replay stops and reports it; it never goes on
/// with a silently different execution.
public struct Divergence: Error, CustomStringConvertible {
  public var eventIndex: UInt64
  public var tid: Int32
  /// What replay was doing: "syscall openat", "signal SIGSEGV", "exec".
  public var activity: String
  /// One line per difference: "rdi: recorded 0x3, replayed 0x4".
  public var differences: [String]

  public var description: String {
    var text = "rewind: replay diverged from the recording at event \(eventIndex) (tid \(tid), \(activity)):\n"
    for line in differences { text += "  \(line)\n" }
    text += "The replay stopped here. This is a bug in rewind or a recording it cannot replay; "
      + "please report it with this message."
    return text
  }
}

/// The user stopped the replay (^C: the replayed process got a SIGINT that the recording
/// does not have, from the terminal). Not a divergence: replay had matched the recording
/// up to `eventIndex`.
public struct ReplayInterrupted: Error, CustomStringConvertible {
  public var signal: Signal
  public var eventIndex: UInt64

  public var description: String {
    "rewind: replay interrupted by \(signal) at event \(eventIndex); it had matched the recording up to there."
  }
}

/// Replay waited for a thread that will never stop again: what each thread was doing.
public struct ReplayStalled: Error, CustomStringConvertible {
  public var eventIndex: UInt64
  public var awaited: String
  public var threads: [String]

  public var description: String {
    "rewind: replay cannot make progress at event \(eventIndex): it waits for \(awaited).\n"
      + threads.map { "  \($0)\n" }.joined()
      + "The replay stopped here. This is a bug in rewind or a recording it cannot replay; please report it with this message."
  }
}

/// Why replay could not run at all.
public enum ReplayError: Error, CustomStringConvertible {
  case trace(TraceError)
  case setup(String)

  public var description: String {
    switch self {
    case .trace(let error): "rewind: \(error)"
    case .setup(let message): "rewind: \(message)"
    }
  }
}

/// Names the registers that differ, masking what may legitimately differ.
func registerDifferences(recorded: Registers, replayed: Registers, ignoring ignored: Set<Int>) -> [String] {
  var lines: [String] = []
  for i in 0..<Registers.count {
    var a = recorded.words[i]
    var b = replayed.words[i]
    if i == 18 {
      // RF and TF in eflags depend on how the tracer stopped the thread, not on the program.
      a &= ~0x10100
      b &= ~0x10100
    }
    // (The set is asked only about registers that differ: this runs at every event.)
    if a != b && !ignored.contains(i) {
      lines.append("\(Registers.names[i]): recorded 0x\(String(a, radix: 16)), replayed 0x\(String(b, radix: 16))")
    }
  }
  return lines
}

/// Register indices in user_regs_struct.
enum RegisterIndex {
  static let rax = 10
  static let origRax = 15
  static let eflags = 18
}
