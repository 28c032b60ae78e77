import CSupport
import LinuxTrace
import Syscalls
import TraceFormat

/// The rip of every call the system call buffer made (`rewind_buffer_abi.h`).
let bufferedCallEnd = UInt64(REWIND_BUFFERED_CALL_END)
private let controlCallEnd = UInt64(REWIND_CONTROL_CALL_END)
private let recordHeaderSize = MemoryLayout<rewind_buffer_record>.size
private let feedOffset = UInt64(REWIND_BUFFER_FEED)
private let feedCapacity = Int(REWIND_BUFFER_FEED_SIZE - REWIND_BUFFER_FEED_STACK)
/// Header words (`rewind_buffer_header`).
private let feedEndOffset = UInt64(MemoryLayout<rewind_buffer_header>.offset(of: \rewind_buffer_header.feed_end)!)
private let versionOffset = UInt64(MemoryLayout<rewind_buffer_header>.offset(of: \rewind_buffer_header.version)!)

/// Records put in a thread's feed, waiting to be served by the library.
struct BufferFeed {
  let buffer: UInt64
  /// The fed events, and where each one's record starts in the feed.
  var events: [SyscallEvent] = []
  var offsets: [Int] = []
  var bytes: [UInt8] = []
}

/// Buffered calls served in the tracee (docs/ARCHITECTURE.md, "The system call buffer").
///
/// Without a debugger, a run of consecutive events that are one thread's buffered calls
/// replays with one stop: their records go into the thread's feed, the library serves all
/// but the last from there without entering the kernel, and the last stops as any call.
/// Under a debugger every call still stops, so catch syscall, positions and reverse
/// execution see each one.
extension ReplaySession {
  /// A thread announcing its buffer (getpid from the page's control instruction, rdi the
  /// buffer's address), as the recorder notes it.
  func noteBufferRegistration(_ event: SyscallEvent, _ task: ReplayTask) {
    let registers = event.entryRegisters
    guard registers.rip == controlCallEnd, registers.origRax == 39, registers.rdi != 0 else { return }
    task.syscallBuffer = registers.rdi
    task.bufferIsFed = nil
  }

  /// Puts the records of the thread's buffered calls that follow `first` in the trace into
  /// its feed, consuming them from the cursor; returns the run's last event, which replays
  /// as any (its call stops). Returns `first` itself when nothing is fed.
  func feedBufferedRun(startingWith first: SyscallEvent, _ task: ReplayTask) throws -> SyscallEvent {
    guard feedsBufferedCalls, debugger == nil, options.injection == nil, let buffer = task.syscallBuffer,
      canBeFed(first), case .syscall(let second)? = try cursor.peek(), second.tid == first.tid, isBuffered(second),
      try libraryReadsFeed(task, buffer)
    else { return first }
    var feed = BufferFeed(buffer: buffer)
    var last = first
    while true {
      let record = Self.record(of: last)
      guard feed.bytes.count + record.count <= feedCapacity else { break }
      guard case .syscall(let next)? = try cursor.peek(), next.tid == first.tid, isBuffered(next), scope.replays(.syscall(next))
      else { break }
      _ = try cursor.next()
      feed.offsets.append(feed.bytes.count)
      feed.events.append(last)
      feed.bytes += record
      last = next
      if !canBeFed(last) { break }
    }
    guard !feed.events.isEmpty else { return first }
    try task.tracee.writeMemory(at: buffer + feedOffset, bytes: feed.bytes)
    // feed_end, feed_read
    try task.tracee.writeMemory(at: buffer + feedEndOffset, bytes: littleEndianWords([UInt64(feed.bytes.count), 0]))
    task.feed = feed
    return last
  }

  /// At the stop that ends a fed run: the library must have served every fed call. If it
  /// did not, it made the first it did not serve for real (its number or registers were not
  /// the record's), and replay has parted from the recording there.
  func checkFeedUsedUp(_ task: ReplayTask, _ status: WaitStatus) throws {
    guard let feed = task.feed else { return }
    task.feed = nil
    let read = Int(try task.tracee.readWord(at: feed.buffer + feedEndOffset + 8))
    guard read != feed.bytes.count else {
      bufferedCallsServedInTracee += feed.events.count
      return
    }
    let at = feed.offsets.lastIndex { $0 <= read } ?? 0
    let event = feed.events[at]
    unexpectedStop = (task, status)
    var differences = ["the system call buffer did not serve this call from its recorded record (the stop: \(status))"]
    if status == .syscallStop, let registers = try? currentRegisters(task) {
      differences += registerDifferences(recorded: event.entryRegisters, replayed: registers, ignoring: [RegisterIndex.rax])
    }
    throw Divergence(eventIndex: event.index, tid: event.tid, activity: "syscall \(SyscallTable.syscall(numbered: event.number)?.name ?? String(event.number)) (buffered)", differences: differences)
  }

  private func isBuffered(_ event: SyscallEvent) -> Bool { event.entryRegisters.rip == bufferedCallEnd }

  /// Served inside the tracee, an event must need nothing from replay at its return: no
  /// echo (read from the tracee's memory when the call replays), nothing passed through or
  /// written later, no injection, not the last event of the replayed scope.
  private func canBeFed(_ event: SyscallEvent) -> Bool {
    // (A call a signal interrupted needs the kernel's restart as the signal is delivered.)
    // (The library compares its inputs, a write's bytes or a path, as checkEntry would.)
    isBuffered(event) && event.inputs.count + event.outputs.count <= Int(REWIND_BUFFER_MAX_CHUNKS) && !event.isUnfinished
      && !(-516 ... -512).contains(event.result) && !event.injected && !event.outputsWrittenLater
      && event.passedThrough == nil && event.mappedFile == nil && event.echoFD == nil && !scope.isLastEvent(event)
  }

  /// Whether the buffer was made by a library that serves fed records (a trace recorded
  /// by an older rewind replays its own library, which does not).
  private func libraryReadsFeed(_ task: ReplayTask, _ buffer: UInt64) throws -> Bool {
    if let known = task.bufferIsFed { return known }
    let fed = (try? task.tracee.readWord(at: buffer + versionOffset)) == UInt64(REWIND_BUFFER_VERSION)
    task.bufferIsFed = fed
    return fed
  }

  /// The event as the library's record: size, number, result, the 27 register words, the
  /// chunks (inputs, which the library compares, flagged; then outputs, which it writes) and
  /// their bytes, each padded to 8.
  static func record(of event: SyscallEvent) -> [UInt8] {
    let chunks = (event.inputs.map { ($0, REWIND_BUFFER_CHUNK_INPUT) } + event.outputs.map { ($0, UInt64(0)) })
      .prefix(Int(REWIND_BUFFER_MAX_CHUNKS))
    let data = chunks.reduce(0) { $0 + ($1.0.bytes.count + 7) & ~7 }
    var words: [UInt64] = [UInt64(recordHeaderSize + data), event.entryRegisters.origRax, UInt64(bitPattern: event.result)]
    words += event.entryRegisters.words
    words.append(UInt64(chunks.count))
    for i in 0..<Int(REWIND_BUFFER_MAX_CHUNKS) {
      let chunk = i < chunks.count ? chunks[chunks.startIndex + i] : nil
      words += [chunk?.0.address ?? 0, UInt64(chunk?.0.bytes.count ?? 0) | (chunk?.1 ?? 0)]
    }
    var bytes = littleEndianWords(words)
    for (chunk, _) in chunks {
      bytes += chunk.bytes
      bytes += [UInt8](repeating: 0, count: ((chunk.bytes.count + 7) & ~7) - chunk.bytes.count)
    }
    return bytes
  }
}

private func littleEndianWords(_ words: [UInt64]) -> [UInt8] {
  var bytes: [UInt8] = []
  bytes.reserveCapacity(words.count * 8)
  for word in words { for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: word >> (8 * UInt64(i)))) } }
  return bytes
}
