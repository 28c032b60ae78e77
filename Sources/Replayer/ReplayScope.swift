import TraceFormat

/// Which events a replay performs: all of them, or those of one process and of its
/// ancestors up to the fork that created the next process on the way to it.
struct ReplayScope {
  /// The process replayed alone, or nil for the whole tree.
  let target: Int32?
  /// Each process on the path, with the event index of its last replayed event (its fork
  /// of the next process on the path); nil for the target itself.
  private let lastEvents: [Int32: UInt64?]

  /// `threads` gives each process's threads: they replay with their process, up to the same
  /// event.
  init(ancestry: [(pid: Int32, forksNextAt: UInt64?)]?, threads: (Int32) -> [Int32] = { _ in [] }) {
    target = ancestry?.last?.pid
    var last: [Int32: UInt64?] = [:]
    for (pid, forkEvent) in ancestry ?? [] {
      last[pid] = forkEvent
      for thread in threads(pid) { last[thread] = forkEvent }
    }
    lastEvents = last
  }

  func replays(_ event: TraceEvent) -> Bool {
    guard target != nil else { return true }
    guard let last = lastEvents[event.tid] else { return false }
    return last.map { event.index <= $0 } ?? true
  }

  /// Whether the process `pid`, just forked, takes part in the replay. Forks of the others
  /// are emulated: the parent sees the recorded pid and no process is made.
  func replaysChild(_ pid: Int32) -> Bool { target == nil || lastEvents[pid] != nil }

  /// The fork after which an ancestor is no longer needed.
  func isLastEvent(_ event: SyscallEvent) -> Bool {
    guard target != nil, let last = lastEvents[event.tid], let index = last else { return false }
    return event.index == index
  }

  /// Only the replayed process's output (its threads' too) is echoed when it is replayed alone.
  func echoes(_ tid: Int32) -> Bool {
    guard target != nil else { return true }
    guard let last = lastEvents[tid] else { return false }
    return last == nil  // the target and its threads, which replay to their end
  }
}
