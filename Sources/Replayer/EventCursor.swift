import TraceFormat

/// The trace's events with one event of lookahead, which replay uses to choose how to resume
/// (PTRACE_SYSEMU for a call it will emulate, PTRACE_SYSCALL for one it will perform).
final class EventCursor {
  private let reader: TraceReader
  private var lookahead: TraceEvent?
  /// Where the reader was before it read `lookahead`.
  private var lookaheadPosition = TraceReader.Position.start
  private var exhausted = false

  init(reader: TraceReader) { self.reader = reader }

  /// Events handed out by `next` (counted from the start of the trace, whatever seeks
  /// happened).
  var consumed: UInt64 { position.eventsBefore }

  /// Just before the event `next` returns next, whether or not it has been peeked at.
  var position: TraceReader.Position {
    lookahead == nil ? reader.position : lookaheadPosition
  }

  func peek() throws(ReplayError) -> TraceEvent? {
    if lookahead == nil && !exhausted {
      lookaheadPosition = reader.position
      do { lookahead = try reader.nextEvent() } catch { throw .trace(error) }
      if lookahead == nil { exhausted = true }
    }
    return lookahead
  }

  func next() throws(ReplayError) -> TraceEvent? {
    let event = try peek()
    lookahead = nil
    return event
  }

  /// Moves to a `position` this cursor (or one on the same trace) was at: `next` returns the
  /// events that followed it then.
  func seek(to target: TraceReader.Position) throws(ReplayError) {
    lookahead = nil
    exhausted = false
    do { try reader.seek(to: target) } catch { throw .trace(error) }
  }

  var endedEarly: Bool { reader.isTruncated }
}
