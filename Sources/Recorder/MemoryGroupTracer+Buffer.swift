import CSupport
import Glibc
import LinuxTrace
import Syscalls
import TraceFormat

/// Where the recorder has read a thread's system call buffer up to (`rewind_buffer_abi.h`).
/// Shared by the tasks that share the buffer's memory (a vfork child runs on its parent's
/// thread-local buffer until it execs); a forked child gets a copy.
final class SyscallBufferCursor {
  let address: UInt64
  /// The header's `end` at the last read.
  var readUpTo: UInt64 = 0
  /// A blocked buffered call became a traced call (`deschedSignalArrived`): the record the
  /// library commits for it, the first at or past this `end`, is already in the trace.
  var skipRecordFrom: UInt64?
  /// Resumed to make a blocked (or about to be made) buffered call traced: `skipRecordFrom`
  /// once it stops at its entry. A signal stop before that means the kernel delivers the
  /// signal first and the call is made untraced after all (its record is then an event).
  var traceAtEntryFrom: UInt64?
  /// That traced call returned a restart code: the signal that interrupted it comes next,
  /// and then the kernel makes the call again, untraced, whose record is a new event.
  var convertedCallInterrupted = false

  init(address: UInt64) { self.address = address }

  func copy() -> SyscallBufferCursor {
    let copy = SyscallBufferCursor(address: address)
    copy.readUpTo = readUpTo
    copy.skipRecordFrom = skipRecordFrom
    copy.traceAtEntryFrom = traceAtEntryFrom
    copy.convertedCallInterrupted = convertedCallInterrupted
    return copy
  }
}

private let ringStart = UInt64(REWIND_BUFFER_RECORDS)
private let ringSize = UInt64(REWIND_BUFFER_RING)
private let recordHeaderSize = MemoryLayout<rewind_buffer_record>.size
private let registersOffset = MemoryLayout<rewind_buffer_record>.offset(of: \rewind_buffer_record.registers)!
private let chunkCountOffset = MemoryLayout<rewind_buffer_record>.offset(of: \rewind_buffer_record.chunk_count)!
private let chunksOffset = MemoryLayout<rewind_buffer_record>.offset(of: \rewind_buffer_record.chunks)!
/// The `syscall` instruction's end on the buffer page: the rip of every buffered call.
let bufferedCallEnd = UInt64(REWIND_BUFFERED_CALL_END)
private let controlCallEnd = UInt64(REWIND_CONTROL_CALL_END)
private let recordingOffset = UInt64(MemoryLayout<rewind_buffer_header>.offset(of: \rewind_buffer_header.recording)!)
private let deschedOffset = UInt64(MemoryLayout<rewind_buffer_header>.offset(of: \rewind_buffer_header.desched_fd_plus_one)!)

/// The system call buffer, recorder side (docs/ARCHITECTURE.md, "The system call buffer").
///
/// Each record becomes an ordinary system call event, numbered when it is read: at every
/// stop of its thread, before the stop's own event, so the trace has the calls in the order
/// they were made. Replay runs the same library code, whose `syscall` instruction stops
/// under PTRACE_SYSEMU like any other, and serves each from its event.
extension MemoryGroupTracer {
  var usesSyscallBuffer: Bool { session.options.syscallBufferLibrary != nil }

  /// How tasks run user code: with the buffer's filter, traced calls stop at their entry
  /// by themselves (PTRACE_EVENT_SECCOMP), so PTRACE_CONT; else PTRACE_SYSCALL.
  var userMode: ResumeMode { usesSyscallBuffer ? .continue : .syscall }

  /// The program's environment with the buffer library first in LD_PRELOAD.
  func environmentWithBuffer(_ environment: [String]) -> [String] {
    guard let library = session.options.syscallBufferLibrary else { return environment }
    var result = environment
    if let i = result.firstIndex(where: { $0.hasPrefix("LD_PRELOAD=") }) {
      let others = result[i].dropFirst("LD_PRELOAD=".count)
      result[i] = "LD_PRELOAD=" + library + (others.isEmpty ? "" : ":" + others)
    } else {
      result.append("LD_PRELOAD=" + library)
    }
    return result
  }

  /// A thread announcing its buffer: getpid from the page's control instruction, rdi its
  /// address. (The call itself is recorded and replayed as any getpid.)
  /// The recorder tells the library it is recorded (the header's `recording`): it then
  /// opens its desched counter.
  func noteBufferRegistration(_ registers: Registers, _ task: RecordedTask) {
    guard usesSyscallBuffer, registers.rip == controlCallEnd, registers.origRax == 39, registers.rdi != 0
    else { return }
    task.buffer = SyscallBufferCursor(address: registers.rdi)
    try? task.tracee.writeMemory(at: registers.rdi + recordingOffset, bytes: [1, 0, 0, 0, 0, 0, 0, 0])
  }

  /// Writes the records the thread committed since the last read as system call events.
  func drainBuffer(of task: RecordedTask) throws {
    guard let cursor = task.buffer else { return }
    let end = try task.tracee.readWord(at: cursor.address)
    guard end != cursor.readUpTo else { return }
    guard end > cursor.readUpTo, end - cursor.readUpTo <= ringSize else {
      throw RecordError.trace(
        description: "the system call buffer of thread \(task.tid) is inconsistent (read up to \(cursor.readUpTo), end \(end))")
    }
    let bytes = try readRing(cursor, from: cursor.readUpTo, to: end, task)
    let current = try registers(of: task)
    // Which of rewind's stdout and stderr each descriptor written is, looked up now: the
    // descriptor table is as it was at the buffered calls, since only traced calls change it
    // and every traced call, signal, preemption and exit of the thread reads its records first.
    var echoTargets: [UInt64: Int32?] = [:]
    var offset = 0
    while offset + 16 <= bytes.count {
      // (The program can write over its buffer: a size that is no Int is a damaged record.)
      let size = Int(exactly: word(bytes, offset)) ?? -1
      let number = word(bytes, offset + 8)
      guard size >= 16, size <= bytes.count - offset else {
        throw RecordError.trace(description: "a record of thread \(task.tid)'s system call buffer is cut short")
      }
      if number != REWIND_BUFFER_PADDING_NUMBER {
        if let skip = cursor.skipRecordFrom, cursor.readUpTo + UInt64(offset) >= skip {
          if debugBuffer { printToStandardError("[buffer] \(task.tid) record of call \(number) at \(cursor.readUpTo + UInt64(offset)) skipped") }
          cursor.skipRecordFrom = nil
        } else {
          post(for: task.tid, bufferedEvent(Array(bytes[offset..<offset + size]), current, &echoTargets, task))
        }
      }
      offset += size
    }
    cursor.readUpTo = end
  }

  /// The bytes of the ring between two `end` values (records never straddle its end).
  private func readRing(_ cursor: SyscallBufferCursor, from: UInt64, to: UInt64, _ task: RecordedTask) throws -> [UInt8] {
    let start = from % ringSize
    let count = to - from
    let base = cursor.address + ringStart
    if start + count <= ringSize { return try task.tracee.readMemory(at: base + start, count: Int(count)) }
    let first = ringSize - start
    return try task.tracee.readMemory(at: base + start, count: Int(first))
      + task.tracee.readMemory(at: base, count: Int(count - first))
  }

  private func bufferedEvent(
    _ record: [UInt8], _ current: Registers, _ echoTargets: inout [UInt64: Int32?], _ task: RecordedTask
  ) -> (UInt64) -> TraceEvent {
    let result = Int64(bitPattern: word(record, 16))
    var words = (0..<Registers.count).map { word(record, registersOffset + 8 * $0) }
    // Segment registers and the fs/gs bases: the thread's (only a traced call changes them).
    for i in [17, 20, 21, 22, 23, 24, 25, 26] { words[i] = current.words[i] }
    let entry = Registers(words: words)
    var inputs: [MemoryChunk] = [], outputs: [MemoryChunk] = []
    var data = recordHeaderSize
    for i in 0..<Int(min(word(record, chunkCountOffset), UInt64(REWIND_BUFFER_MAX_CHUNKS))) {
      let address = word(record, chunksOffset + 16 * i)
      let lengthWord = word(record, chunksOffset + 16 * i + 8)
      let length = Int(truncatingIfNeeded: lengthWord & ~REWIND_BUFFER_CHUNK_INPUT)
      guard length >= 0, length <= record.count - data, !address.addingReportingOverflow(UInt64(length)).overflow else { break }
      let chunk = MemoryChunk(address: address, bytes: Array(record[data..<data + length]))
      if lengthWord & REWIND_BUFFER_CHUNK_INPUT != 0 { inputs.append(chunk) } else { outputs.append(chunk) }
      data += (length + 7) & ~7
    }
    var echo: Int32?
    if entry.origRax == 1 || entry.origRax == 18, result > 0 {  // write, pwrite64
      let fd = entry.rdi
      if echoTargets[fd] == nil { echoTargets[fd] = .some(echoTarget(ofFD: fd, task)) }
      echo = echoTargets[fd] ?? nil
    }
    let tid = task.tid
    return { index in
      .syscall(SyscallEvent(index: index, tid: tid, entryRegisters: entry, result: result, inputs: inputs, outputs: outputs, echoFD: echo))
    }
  }

  /// Whether the thread stopped between a buffered call's start and its record's commit.
  func isInBufferedCall(_ task: RecordedTask) throws -> Bool {
    guard let cursor = task.buffer else { return false }
    return try task.tracee.readWord(at: cursor.address + 8) != 0
  }

  /// The desched counter's signal: the thread was switched out inside a buffered call. If
  /// the call blocked (the signal interrupted it: a restart code at the buffered `syscall`),
  /// it becomes a traced call: the counter is disarmed, the records before it are read, and
  /// the thread resumed without the signal under PTRACE_SYSCALL, so the kernel makes the
  /// call again and it stops at its entry, to be recorded as any (giving up the group's turn
  /// while it waits); the record the library commits for it is skipped. Otherwise (it was
  /// switched out without blocking, or the call is over) the signal is dropped. False when
  /// the signal is not the counter's.
  func deschedSignalArrived(_ task: RecordedTask) throws -> Bool {
    guard try disarmIfDesched(task) else { return false }
    if try makeBlockedCallTraced(task) { return true }
    if debugBuffer { printToStandardError("[buffer] \(task.tid) switched out at \(String(try registers(of: task).rip, radix: 16))") }
    // Switched out between arming the counter and the call (or after the call). A call
    // still to be made is made traced: the thread is stepped to its `syscall` instruction
    // and resumed under PTRACE_SYSCALL, which stops at the call's entry. (Arming the counter
    // again there did not work: the thread, resumed from a stop in the kernel's signal code,
    // met the counter's signal again before the call, for ever.)
    guard let steps = try stepWithoutSignals(task, limit: 512, while: {
      let rip = try self.registers(of: task).rip
      return try rip != bufferedCallEnd - 2 && rip != bufferedCallEnd && self.isInBufferedCall(task)
    }) else { return true }
    if steps.callMadeTraced {
      // Resumed into it already.
    } else if try registers(of: task).rip == bufferedCallEnd - 2, let cursor = task.buffer {
      try makeCallTraced(task, cursor, "call about to be made")
    } else {
      try task.tracee.resume(userMode)
    }
    resendDeferredSignals(task.tid, ofProcess: task.tgid, steps.others)
    return true
  }

  /// Whether the thread is stopped by its desched counter's signal; the counter is then
  /// disarmed: the thread's stops for the tracer are switches too, each of which would
  /// send the signal again. (The library disarms it after the call as well.)
  private func disarmIfDesched(_ task: RecordedTask) throws -> Bool {
    guard let cursor = task.buffer else { return false }
    let info = try task.tracee.signalInfo()
    let code = info.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8, as: Int32.self) }
    let fd = info.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 24, as: Int32.self) }
    let counter = try task.tracee.readWord(at: cursor.address + deschedOffset)
    guard code > 0, counter != 0, Int64(fd) == Int64(counter) - 1 else { return false }
    let disarmed = rewind_set_desched_counter(task.tgid, fd, 0)
    if disarmed != 0 {
      throw RecordError.trace(description: "cannot disarm the desched counter of thread \(task.tid): \(Errno(rawValue: -disarmed))")
    }
    return true
  }

  /// At a desched stop: if the buffered call blocked, it is made a traced call and the
  /// thread resumed into it (true).
  private func makeBlockedCallTraced(_ task: RecordedTask) throws -> Bool {
    guard let cursor = task.buffer else { return false }
    let registers = try registers(of: task)
    guard registers.rip == bufferedCallEnd, (-514 ... -512).contains(Int64(bitPattern: registers.rax)) else { return false }
    try makeCallTraced(task, cursor, "blocked in call \(registers.origRax)")
    return true
  }

  /// Resumes the thread under PTRACE_SYSCALL into the buffered call it is making again (the
  /// kernel restarts it) or about to make, so it stops at the call's entry; the records
  /// before it are read first.
  private func makeCallTraced(_ task: RecordedTask, _ cursor: SyscallBufferCursor, _ why: @autoclosure () -> String) throws {
    try drainBuffer(of: task)
    if debugBuffer { printToStandardError("[buffer] \(task.tid) \(why()): to be traced from \(cursor.readUpTo)") }
    cursor.traceAtEntryFrom = cursor.readUpTo
    task.isInsideSyscall = false
    try task.tracee.resume(.syscall)
  }

  /// At a traced entry from the buffered `syscall`: the call made traced reached it.
  func bufferedCallEnteredTraced(_ registers: Registers, _ task: RecordedTask) {
    guard registers.rip == bufferedCallEnd, let cursor = task.buffer, let from = cursor.traceAtEntryFrom else { return }
    cursor.traceAtEntryFrom = nil
    cursor.skipRecordFrom = from
  }

  /// At the exit of a call made from the buffered `syscall` (a blocked call made traced):
  /// if a signal interrupted it, the kernel will make it again after the handler, untraced,
  /// and the library's record is then that call's, a new event.
  func convertedCallExited(_ pending: RecordedTask.PendingCall, result: Int64, _ task: RecordedTask) {
    guard pending.entryRegisters.rip == bufferedCallEnd, let cursor = task.buffer, (-516 ... -512).contains(result) else { return }
    if debugBuffer { printToStandardError("[buffer] \(task.tid) traced call \(pending.call.name) interrupted (\(result))") }
    cursor.skipRecordFrom = nil
    cursor.convertedCallInterrupted = true
  }

  /// A signal (or a preemption's SIGSTOP) stopped the thread inside a buffered call: the
  /// call may have run while its record is not in yet, so the signal would come before it in
  /// the trace. The thread is single-stepped (without the signal) to the commit, the record
  /// read, and the signal then handled there as any, with its own siginfo. Other signals
  /// met on the way are sent again after (their siginfo is rewind's).
  ///
  /// Unless the signal interrupted the call as it blocked (a restart code at the buffered
  /// `syscall`): stepping would make it again and wait with the group's turn. The call is
  /// written as interrupted, as a traced one would be, and the signal handled there; the
  /// kernel then makes the call again (or returns EINTR) and the library's record of that
  /// is the next event.
  func signalArrivedInBufferedCall(_ signal: Signal, _ task: RecordedTask) throws {
    let current = try registers(of: task)
    let code = Int64(bitPattern: current.rax)
    if current.rip == bufferedCallEnd, (-516 ... -512).contains(code), let cursor = task.buffer {
      if task.isBeingPreempted && signal == .stop {
        // A preemption of a blocked call: no point to take there. The call, made again, is
        // made traced (so it waits without the turn); the timeslice check preempts later.
        task.isBeingPreempted = false
        cursor.convertedCallInterrupted = false
        try makeCallTraced(task, cursor, "preempted in blocked call \(current.origRax)")
        return
      }
      if debugBuffer { printToStandardError("[buffer] \(task.tid) \(signal) in blocked call \(current.origRax) (\(code)), made traced before: \(cursor.convertedCallInterrupted)") }
      if cursor.convertedCallInterrupted {
        // Written at its exit; the counter, disarmed then, must watch the call made again.
        cursor.convertedCallInterrupted = false
        let counter = try task.tracee.readWord(at: cursor.address + deschedOffset)
        if counter != 0 { _ = rewind_set_desched_counter(task.tgid, Int32(counter - 1), 1) }
      } else {
        var entry = current
        entry.rax = UInt64(bitPattern: -38)
        let tid = task.tid
        post(for: tid) { index in .syscall(SyscallEvent(index: index, tid: tid, entryRegisters: entry, result: code)) }
      }
      try signalStopped(signal, task)
      return
    }
    let info = try? task.tracee.signalInfo()
    guard let steps = try stepWithoutSignals(task, while: { try self.isInBufferedCall(task) }) else { return }
    var others = steps.others
    if steps.callMadeTraced {
      // The call blocked on the way and is now a traced call: the signal comes again later
      // (as rewind's), a preemption at the timeslice check's next turn.
      if task.isBeingPreempted && signal == .stop { task.isBeingPreempted = false } else { others.insert(signal, at: 0) }
      resendDeferredSignals(task.tid, ofProcess: task.tgid, others)
      return
    }
    try drainBuffer(of: task)
    if task.isBeingPreempted && signal == .stop {
      try preempted(task)
    } else {
      if let info { try task.tracee.setSignalInfo(info) }
      try signalStopped(signal, task)
    }
    resendDeferredSignals(task.tid, ofProcess: task.tgid, others)
  }

  /// What `stepWithoutSignals` met: the signals to send again, and whether a buffered call it
  /// stepped into blocked and was made traced (the thread is then resumed into it).
  struct Steps {
    var others: [Signal] = []
    var callMadeTraced = false
  }

  /// Single-steps the thread, without the signal it is stopped with, while `inside` holds
  /// (at most `limit` steps), and takes our trap flag out of what it copied on the way.
  /// Returns what it met, or nil if the process ended.
  func stepWithoutSignals(_ task: RecordedTask, limit: Int = .max, while inside: () throws -> Bool) throws -> Steps? {
    var others: [Signal] = []
    var steps = 0
    while steps < limit, try inside() {
      steps += 1
      let before = try registers(of: task)
      if before.rip == bufferedCallEnd - 2, let cursor = task.buffer {
        // The buffered `syscall` is never stepped: the call may block, and the counter that
        // would tell may be disarmed by now (each step is a switch: its signals met on the
        // way were dropped), so the steps would wait for ever in it. It is made traced.
        try makeCallTraced(task, cursor, "stepped to its call")
        return Steps(others: others, callMadeTraced: true)
      }
      try task.tracee.resume(.singleStep)
      let status = try waitForTracee(task.tid, onlyOwnThread: true)
      switch status {
      case .signalStop(.trap):
        // Where the flags are copied (a pushfq), our trap flag goes with them; replay's run,
        // not stepped, has them without.
        if try task.tracee.readMemory(at: before.rip, count: 1) == [0x9c] {  // pushfq
          let rsp = try registers(of: task).rsp
          try task.tracee.writeMemory(at: rsp, bytes: littleEndianBytes(try task.tracee.readWord(at: rsp) & ~trapFlag))
        }
      case .signalStop(.stop) where try disarmIfDesched(task):
        // A call stepped into blocked: it is made traced, and the steps end there.
        if try makeBlockedCallTraced(task) { return Steps(others: others, callMadeTraced: true) }
      case .signalStop(let other): others.append(other)
      case .exited, .killed:
        processEnded(task, status.exitStatus!)
        return nil
      default:
        throw RecordError.trace(description: "thread \(task.tid) stopped (\(status)) while rewind stepped it")
      }
    }
    // The stop's registers show the trap flag of our last step: the code point, as replay
    // will compare it, is without it.
    var registers = try registers(of: task)
    if registers.eflags & trapFlag != 0 {
      registers.eflags &= ~trapFlag
      try task.tracee.setRegisterWords(registers.words)
    }
    return Steps(others: others)
  }
}

private let trapFlag: UInt64 = 0x100
/// REWIND_DEBUG_BUFFER=1: what the recorder does with blocked buffered calls, on stderr.
private let debugBuffer = getenv("REWIND_DEBUG_BUFFER") != nil

private func word(_ bytes: [UInt8], _ offset: Int) -> UInt64 {
  var value: UInt64 = 0
  for i in 0..<8 { value |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
  return value
}
