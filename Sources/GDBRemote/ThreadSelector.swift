/// Which threads a packet names: `pPID.TID`, `pPID` (all its threads), `p-1.-1`,
/// `-1` (all), `0` (any) or a plain hex thread id (the single-process form).
public struct ThreadSelector: Hashable, Sendable {
  public enum ID: Hashable, Sendable {
    case all  // -1
    case any  // 0
    case id(Int32)

    func matches(_ value: Int32) -> Bool {
      switch self {
      case .all, .any: return true
      case .id(let id): return id == value
      }
    }
  }

  /// `.any` when the packet used the plain form and so named no process.
  public var process: ID
  public var thread: ID

  public init(process: ID, thread: ID) {
    self.process = process
    self.thread = thread
  }

  public static let all = ThreadSelector(process: .all, thread: .all)
  public static let any = ThreadSelector(process: .any, thread: .any)

  public static func thread(_ thread: ThreadID) -> ThreadSelector {
    ThreadSelector(process: .id(thread.pid), thread: .id(thread.tid))
  }
}

extension PayloadScanner {
  mutating func threadSelector() throws(GDBProtocolError) -> ThreadSelector {
    if skip("p") {
      let process = try selectorID("a process id")
      // `pPID` alone means every thread of that process.
      let thread = skip(".") ? try selectorID("a thread id") : .all
      return ThreadSelector(process: process, thread: thread)
    }
    let thread = try selectorID("a thread id")
    return ThreadSelector(process: .any, thread: thread)
  }

  private mutating func selectorID(_ what: String) throws(GDBProtocolError) -> ThreadSelector.ID {
    if skip("-") {
      guard skip("1") else { throw fail("expected '-1' for \(what): no other id is negative") }
      return .all
    }
    let value = try hexNumber(what)
    if value == 0 { return .any }
    guard value <= UInt64(Int32.max) else { throw fail("\(what) \(value) is out of range") }
    return .id(Int32(value))
  }
}
