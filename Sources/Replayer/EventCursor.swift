import TraceFormat

/// The trace's events with one event of lookahead, which replay uses to choose how to resume
/// (PTRACE_SYSEMU for a call it will emulate, PTRACE_SYSCALL for one it will perform).
final class EventCursor {
  private let reader: TraceReader
  private var lookahead: TraceEvent?
  private var exhausted = false
  private(set) var consumed: UInt64 = 0

  init(reader: TraceReader) { self.reader = reader }

  func peek() throws(ReplayError) -> TraceEvent? {
    if lookahead == nil && !exhausted {
      do { lookahead = try reader.nextEvent() } catch { throw .trace(error) }
      if lookahead == nil { exhausted = true }
    }
    return lookahead
  }

  func next() throws(ReplayError) -> TraceEvent? {
    let event = try peek()
    lookahead = nil
    if event != nil { consumed += 1 }
    return event
  }

  var endedEarly: Bool { reader.isTruncated }
}
