import Glibc
import LinuxTrace
import Symbols

/// When a hit happened: wall time in a live program, the event in a recording.
public enum WatchTime: Sendable, Equatable {
  case wall(seconds: Int, microseconds: Int)
  case event(UInt64)

  public static func now() -> WatchTime {
    var t = timespec()
    clock_gettime(CLOCK_REALTIME, &t)
    return .wall(seconds: t.tv_sec, microseconds: t.tv_nsec / 1000)
  }

  /// `12:04:31.123456` (local time) or `event 1234`.
  var text: String {
    switch self {
    case .event(let n): return "event \(n)"
    case .wall(let seconds, let microseconds):
      var time = time_t(seconds)
      var parts = tm()
      localtime_r(&time, &parts)
      func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
      let micro = String(microseconds)
      return "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(String(repeating: "0", count: 6 - micro.count))\(micro)"
    }
  }

  var json: String {
    switch self {
    case .event(let n): return "\"event\":\(n)"
    case .wall(let seconds, let microseconds):
      let micro = String(microseconds)
      return "\"time\":\(seconds).\(String(repeating: "0", count: 6 - micro.count))\(micro)"
    }
  }
}

/// One report of `rewind watch`: an access to a watched range, or the program setting a
/// watch through the in-program API.
public struct WatchReport: Sendable {
  public enum Kind: Sendable { case hit, set, cleared }
  public var kind: Kind
  public var time: WatchTime
  public var pid: Int32
  public var tid: Int32
  public var range: WatchRange
  /// What the access was: `write` when the value changed or only writes are watched.
  public var access: WatchAccess
  /// rip when the CPU trapped: just after the accessing instruction.
  public var pc: UInt64
  public var old: [UInt8]
  public var new: [UInt8]
  public var backtrace: [SourceFrame]

  public init(
    kind: Kind, time: WatchTime, pid: Int32, tid: Int32, range: WatchRange, access: WatchAccess, pc: UInt64,
    old: [UInt8], new: [UInt8], backtrace: [SourceFrame]
  ) {
    (self.kind, self.time, self.pid, self.tid, self.range, self.access) = (kind, time, pid, tid, range, access)
    (self.pc, self.old, self.new, self.backtrace) = (pc, old, new, backtrace)
  }

  /// A little-endian value of up to 8 bytes as `0x2a (42)`, longer ones as hex bytes.
  static func value(_ bytes: [UInt8]) -> String {
    guard !bytes.isEmpty else { return "?" }
    guard bytes.count <= 8 else { return bytes.map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined(separator: " ") }
    var number: UInt64 = 0
    for (i, byte) in bytes.enumerated() { number |= UInt64(byte) << UInt64(8 * i) }
    let bits = UInt64(bytes.count * 8)
    let signed = bits == 64 ? Int64(bitPattern: number) : (number >> (bits - 1)) & 1 == 1 ? Int64(number) - (1 << Int64(bits)) : Int64(number)
    return "\(hex(number)) (\(signed))"
  }

  /// The block printed for a person.
  public var text: String {
    let head: String
    switch kind {
    case .hit:
      head = "[\(time.text)] pid \(pid) tid \(tid): \(access.rawValue) of \(range.label) (\(hex(range.address)), \(range.length) bytes) at pc \(hex(pc))"
    case .set:
      head = "[\(time.text)] pid \(pid) tid \(tid): the program watches \(range.label) (\(hex(range.address)), \(range.length) bytes, \(range.access.rawValue)), set at pc \(hex(pc))"
    case .cleared:
      head = "[\(time.text)] pid \(pid) tid \(tid): the program stops watching \(hex(range.address)) (\(range.length) bytes)"
    }
    var lines = [head]
    if kind == .hit {
      lines.append(old == new ? "  value \(Self.value(new)) (unchanged)" : "  old \(Self.value(old))  new \(Self.value(new))")
    } else if kind == .set {
      lines.append("  value \(Self.value(new))")
    }
    for (i, frame) in backtrace.enumerated() {
      lines.append("  #\(i) \(hex(frame.pc)) in \(frame.description)")
    }
    return lines.joined(separator: "\n") + "\n"
  }

  /// One JSON object, one line.
  public var json: String {
    let kindName = switch kind {
    case .hit: "hit"
    case .set: "set"
    case .cleared: "cleared"
    }
    func bytesHex(_ bytes: [UInt8]) -> String { "\"" + bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() + "\"" }
    let frames = backtrace.map { frame in
      var fields = ["\"pc\":\"\(hex(frame.pc))\""]
      if let function = frame.function { fields.append("\"function\":\(jsonString(function))") }
      if let file = frame.file { fields.append("\"file\":\(jsonString(file))") }
      if frame.line > 0 { fields.append("\"line\":\(frame.line)") }
      if frame.inlined { fields.append("\"inlined\":true") }
      if let module = frame.module { fields.append("\"module\":\(jsonString(module))") }
      return "{" + fields.joined(separator: ",") + "}"
    }
    func number(_ bytes: [UInt8]) -> String {
      guard !bytes.isEmpty, bytes.count <= 8 else { return "null" }
      return String(bytes.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << UInt64(8 * $1.offset) })
    }
    return "{\"kind\":\"\(kindName)\",\(time.json),\"pid\":\(pid),\"tid\":\(tid),\"watch\":\(jsonString(range.label)),"
      + "\"address\":\"\(hex(range.address))\",\"length\":\(range.length),\"access\":\"\(access.rawValue)\","
      + "\"pc\":\"\(hex(pc))\",\"old\":\(bytesHex(old)),\"new\":\(bytesHex(new)),\"oldValue\":\(number(old)),\"newValue\":\(number(new)),\"backtrace\":[\(frames.joined(separator: ","))]}\n"
  }
}

/// A JSON string literal.
public func jsonString(_ s: String) -> String {
  var out = "\""
  for scalar in s.unicodeScalars {
    switch scalar {
    case "\"": out += "\\\""
    case "\\": out += "\\\\"
    case "\n": out += "\\n"
    case "\t": out += "\\t"
    default:
      if scalar.value < 0x20 {
        out += "\\u00" + (scalar.value < 16 ? "0" : "") + String(scalar.value, radix: 16)
      } else {
        out.unicodeScalars.append(scalar)
      }
    }
  }
  return out + "\""
}
