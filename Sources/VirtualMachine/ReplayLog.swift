import Foundation

/// Reads QEMU's record/replay log (the `rrfile`), as written by the QEMU version rewind was
/// built for. The format is QEMU's own, documented only by its source (replay/replay-internal.h
/// and the replay_put_* calls of replay/*.c):
///
/// - a 12-byte header: u32 version (big-endian, written last, when recording ends: zero while
///   QEMU still records), then 8 unused bytes;
/// - events, each one kind byte and a payload; every number is big-endian; an "array" is a
///   u32 length and that many bytes.
///
/// Kinds of log version 0xe0200c (QEMU 7.2):
///
/// | kind | event | payload |
/// | --- | --- | --- |
/// | 0 | instructions executed since the last event | u32 count |
/// | 1 | hardware interrupt taken | - |
/// | 2 | exception (page fault, trap, syscall instruction) | - |
/// | 3-9 | asynchronous event: bottom half, one-shot bottom half, input, input sync, character read, block request done, network packet | u64 id; input event; nothing; u8 device + array; u64 id; u8 device + u32 flags + array |
/// | 10-21 | shutdown request, kind - 10 is QEMU's ShutdownCause | - |
/// | 22 | character device write (serial output) | u32 result, u32 offset |
/// | 23, 24 | character device read-all, and its error | array; u32 |
/// | 25, 26 | audio out, in | u64; u64 recorded, u64 wpos, then recorded (left, right) u64 pairs |
/// | 27 | random bytes | u32 result, array |
/// | 28, 29 | clock read: host, virtual real-time | u64 value |
/// | 30-38 | checkpoint: clock warp start, warp account, reset requested, suspend requested, clock virtual, clock host, clock virtual-rt, init, reset | - |
/// | 39 | end of log | - |
public struct ReplayLog: Sendable {
  /// The log version this reader knows: QEMU 7.2's REPLAY_VERSION.
  public static let knownVersion: UInt32 = 0xe0200c
  public static let headerSize = 12

  /// Counts by kind, and what rewind derives from them.
  public struct Statistics: Codable, Equatable, Sendable {
    public var version: UInt32 = 0
    public var guestInstructions: UInt64 = 0
    public var events: Int = 0
    public var instructionEvents: Int = 0
    public var interrupts: Int = 0
    public var exceptions: Int = 0
    public var bottomHalves: Int = 0
    public var oneShotBottomHalves: Int = 0
    public var inputEvents: Int = 0
    public var inputSyncs: Int = 0
    public var characterReads: Int = 0
    public var characterReadBytes: UInt64 = 0
    public var blockRequests: Int = 0
    public var networkPackets: Int = 0
    public var networkBytes: UInt64 = 0
    public var shutdowns: [String] = []
    public var serialWrites: Int = 0
    public var serialBytes: UInt64 = 0
    public var characterReadAlls: Int = 0
    public var audioOut: Int = 0
    public var audioIn: Int = 0
    public var randomReads: Int = 0
    public var randomBytes: UInt64 = 0
    public var hostClockReads: Int = 0
    public var virtualRealTimeClockReads: Int = 0
    public var checkpoints: [String: Int] = [:]
    /// The instruction count when the first shutdown request was logged (the guest's
    /// poweroff, usually): past it QEMU ends the machine.
    public var firstShutdownInstruction: UInt64?
    /// Whether the log ends with QEMU's end event (false: QEMU was killed while recording).
    public var complete = false
    public var bytes: Int = 0
  }

  static let asyncNames = ["bottom half", "one-shot bottom half", "input", "input sync", "character read", "block", "network"]
  static let shutdownCauses = [
    "none", "host-error", "host-qmp-quit", "host-qmp-system-reset", "host-signal", "host-ui", "guest-shutdown",
    "guest-reset", "guest-panic", "subsystem-reset", "snapshot-load", "(cause 11)",
  ]
  static let checkpointNames = [
    "clock warp start", "clock warp account", "reset requested", "suspend requested", "clock virtual", "clock host",
    "clock virtual-rt", "init", "reset",
  ]

  public let path: String
  public let statistics: Statistics
  /// The instruction count reached after each instruction event, in event order, with that
  /// event's index: maps an instruction count QEMU reports to events replayed.
  public let instructionMarks: [(instructions: UInt64, event: Int)]
  /// Byte offsets of the serial write events (kind 22) in the file, in order.
  public let serialWriteOffsets: [Int]

  /// Reads and checks the whole log; throws a `VMError` (bad trace) naming the problem.
  public init(path: String) throws {
    self.path = path
    guard let data = FileManager.default.contents(atPath: path) else {
      throw VMError(.badTrace, "cannot read the replay log '\(path)': \(String(cString: strerror(errno)))")
    }
    let bytes = [UInt8](data)
    var parser = Parser(bytes: bytes, path: path)
    (statistics, instructionMarks) = try parser.parse()
    serialWriteOffsets = parser.serialWriteOffsets
  }

  /// Events replayed once QEMU has executed `instructions` guest instructions.
  public func eventsReplayed(atInstruction instructions: UInt64) -> Int {
    var low = 0
    var high = instructionMarks.count
    while low < high {
      let middle = (low + high) / 2
      if instructionMarks[middle].instructions <= instructions { low = middle + 1 } else { high = middle }
    }
    return low == 0 ? 0 : instructionMarks[low - 1].event + 1
  }

  private struct Parser {
    let bytes: [UInt8]
    let path: String
    var offset = 0
    var serialWriteOffsets: [Int] = []

    mutating func parse() throws -> (Statistics, [(instructions: UInt64, event: Int)]) {
      guard bytes.count >= ReplayLog.headerSize else {
        throw VMError(.badTrace, "'\(path)' is not a QEMU replay log: \(bytes.count) bytes, shorter than the \(ReplayLog.headerSize)-byte header")
      }
      var s = Statistics()
      s.bytes = bytes.count
      s.version = try u32()
      if s.version == 0 {
        throw VMError(
          .badTrace,
          "the replay log '\(path)' has no version: QEMU writes it when recording ends, so the recording was cut short (QEMU killed) or is still running; record again")
      }
      guard s.version == ReplayLog.knownVersion else {
        throw VMError(
          .badTrace,
          "the replay log '\(path)' has version 0x\(String(s.version, radix: 16)); rewind reads only version 0x\(String(ReplayLog.knownVersion, radix: 16)) (QEMU 7.2's). It was written by another QEMU version: read it with a rewind built for that version, or record again with QEMU 7.2")
      }
      offset = ReplayLog.headerSize
      var marks: [(instructions: UInt64, event: Int)] = []
      while offset < bytes.count {
        let start = offset
        let kind = Int(try u8())
        switch kind {
        case 0:
          let count = try u32()
          s.guestInstructions += UInt64(count)
          s.instructionEvents += 1
          marks.append((s.guestInstructions, s.events))
        case 1: s.interrupts += 1
        case 2: s.exceptions += 1
        case 3, 4:
          _ = try u64()
          if kind == 3 { s.bottomHalves += 1 } else { s.oneShotBottomHalves += 1 }
        case 5:
          try skipInputEvent(at: start)
          s.inputEvents += 1
        case 6: s.inputSyncs += 1
        case 7:
          _ = try u8()
          s.characterReadBytes += UInt64(try array())
          s.characterReads += 1
        case 8:
          _ = try u64()
          s.blockRequests += 1
        case 9:
          _ = try u8()
          _ = try u32()
          s.networkBytes += UInt64(try array())
          s.networkPackets += 1
        case 10...21:
          s.shutdowns.append(ReplayLog.shutdownCauses[kind - 10])
          if s.firstShutdownInstruction == nil { s.firstShutdownInstruction = s.guestInstructions }
        case 22:
          serialWriteOffsets.append(start)
          s.serialBytes += UInt64(try u32())
          _ = try u32()
          s.serialWrites += 1
        case 23:
          _ = try array()
          s.characterReadAlls += 1
        case 24:
          _ = try u32()
          s.characterReadAlls += 1
        case 25:
          _ = try u64()
          s.audioOut += 1
        case 26:
          let recorded = try u64()
          _ = try u64()
          guard recorded < UInt64(bytes.count) else { throw damaged("an audio-in event claims \(recorded) samples", at: start) }
          for _ in 0..<recorded { _ = try u64(); _ = try u64() }
          s.audioIn += 1
        case 27:
          _ = try u32()
          s.randomBytes += UInt64(try array())
          s.randomReads += 1
        case 28: _ = try u64(); s.hostClockReads += 1
        case 29: _ = try u64(); s.virtualRealTimeClockReads += 1
        case 30...38: s.checkpoints[ReplayLog.checkpointNames[kind - 30], default: 0] += 1
        case 39:
          s.events += 1
          s.complete = true
          guard offset == bytes.count else {
            throw damaged("\(bytes.count - offset) bytes follow the end event", at: start)
          }
          return (s, marks)
        default:
          throw damaged("unknown event kind \(kind)", at: start)
        }
        s.events += 1
      }
      return (s, marks)
    }

    mutating func skipInputEvent(at start: Int) throws {
      switch try u32() {
      case 0:  // key: number (u64) or QKeyCode (u32), then down
        switch try u32() {
        case 0: _ = try u64()
        case 1: _ = try u32()
        case let other: throw damaged("unknown key kind \(other) in an input event", at: start)
        }
        _ = try u8()
      case 1: _ = try u32(); _ = try u8()  // button, down
      case 2, 3: _ = try u32(); _ = try u64()  // axis, value
      case let other: throw damaged("unknown input event type \(other)", at: start)
      }
    }

    func damaged(_ what: String, at position: Int) -> VMError {
      VMError(.badTrace, "the replay log '\(path)' is damaged at byte \(position): \(what); record again")
    }

    mutating func need(_ count: Int) throws {
      if bytes.count - offset < count {
        throw VMError(.badTrace, "the replay log '\(path)' is cut short at byte \(offset) (an event needs \(count) more bytes); record again")
      }
    }

    mutating func u8() throws -> UInt8 {
      try need(1)
      defer { offset += 1 }
      return bytes[offset]
    }

    mutating func u32() throws -> UInt32 {
      try need(4)
      var value: UInt32 = 0
      for index in 0..<4 { value = value << 8 | UInt32(bytes[offset + index]) }
      offset += 4
      return value
    }

    mutating func u64() throws -> UInt64 {
      let high = UInt64(try u32())
      return high << 32 | UInt64(try u32())
    }

    mutating func array() throws -> Int {
      let count = Int(try u32())
      try need(count)
      offset += count
      return count
    }
  }
}
