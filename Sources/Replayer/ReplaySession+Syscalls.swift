import Glibc
import LinuxTrace
import Syscalls
import TraceFormat

/// mmap(2) flag bits.
let mapTypeMask: UInt64 = 0x0f
let protWrite: UInt64 = 0x02
let mapShared: UInt64 = 0x01
let mapPrivate: UInt64 = 0x02
private let mapFixed: UInt64 = 0x10
private let mapFixedNoReplace: UInt64 = 0x10_0000
let mapAnonymous: UInt64 = 0x20

/// Whether an mmap with these flags and protection maps memory other processes may see
/// written (shared, not private, and writable).
func isWritableShared(flags: UInt64, protection: UInt64) -> Bool {
  flags & mapTypeMask != mapPrivate && protection & protWrite != 0
}

extension ReplaySession {
  func replaySyscall(_ recorded: SyscallEvent, _ task: ReplayTask) throws {
    var event = recorded
    if let injection = options.injection, event.index == injection.eventIndex {
      event = injection.anomaly.applied(to: event)
      injectedEvent = event
    }
    guard let call = SyscallTable.syscall(numbered: event.number) else {
      throw Divergence(
        eventIndex: event.index, tid: event.tid, activity: "syscall \(event.number)",
        differences: ["the trace holds system call \(event.number), which this rewind does not know"])
    }
    try releaseStubPage(task, before: event, call)
    if event.injected {
      // `record --inject` kept the call from running; whatever it is, it returns the result.
      let entry = try checkEntry(try resumeAndWait(task, .syscallEmulation), event, task, activity: "syscall \(call.name)", knownToBeEntry: true)
      try emulate(event, call, task, registers: entry)
      return
    }
    if (call.name == "execve" || call.name == "execveat") && !isErrorResult(event.result) {
      try performExec(event, task, checkEntry: true)
      return
    }
    if ["clone", "clone3", "fork", "vfork"].contains(call.name) && !isErrorResult(event.result)
      && scope.replaysChild(Int32(truncatingIfNeeded: event.result))
    {
      try performFork(event, call, task)
      return
    }
    if event.isUnfinished {
      // The thread never came back from this call: run it to the call and leave it there;
      // its process's end (a kill, another thread's exit_group) follows.
      _ = try checkEntry(try resumeAndWait(task, .syscallEmulation), event, task, activity: "syscall \(call.name)", knownToBeEntry: true)
      return
    }
    let performs = performsForReal(call, event)
    let savedCopy = performs && call.name == "mmap" ? try openSavedCopy(for: event, task) : nil
    let status = try resumeAndWait(task, performs ? .syscall : .syscallEmulation)
    let entry = try checkEntry(status, event, task, activity: "syscall \(call.name)", knownToBeEntry: !performs)
    if !performs {
      try emulate(event, call, task, registers: entry)
      return
    }
    if call.name == "exit" {
      try debugger?.threadExiting(task)
      // Run it through now: the kernel clears the thread's tid (CLONE_CHILD_CLEARTID) and
      // wakes its joiners only as it exits, and the threads that join it see that next.
      let exit = try resumeAndWait(task, .syscall)
      guard exit == .event(.exit) else {
        throw unexpected(exit, task, index: event.index, activity: "syscall exit", expected: "the thread exits")
      }
      try task.tracee.resume(.continue)
      task.isExiting = true
      if task.realTid != task.realTgid {
        // Wait until it is gone: only then is its tid cleared for the threads that join it.
        // (A thread group's leader is reported only once all its threads are, so not it.)
        task.exitedStatus = try waitForNews(task, .continue)
      }
      return
    }
    if call.name == "exit_group" {
      // Run it now: it kills the other threads, whose exit events may come first.
      let exit = try resumeAndWait(task, .syscall)
      guard exit == .event(.exit) else {
        throw unexpected(exit, task, index: event.index, activity: "syscall exit_group", expected: "the process exits")
      }
      task.isAtExitStop = true
      exitingProcesses.insert(task.realTgid)
      return
    }
    let rewritten = try rewrittenArguments(call, entry, event, task, savedCopy: savedCopy)
    if let rewritten { try setRegisters(rewritten, task) }
    let exit = try resumeAndWait(task, .syscall)
    guard exit == .syscallStop, try task.tracee.syscallStopKind() == .exit else {
      throw unexpected(exit, task, index: event.index, activity: "syscall \(call.name)", expected: "the call returns \(event.result)")
    }
    var after = try currentRegisters(task)
    let replayed = Int64(bitPattern: after.rax)
    if call.policy == .executeKeepRecordedResult {
      after.rax = UInt64(bitPattern: event.result)
    } else if replayed != event.result {
      throw Divergence(
        eventIndex: event.index, tid: event.tid, activity: "syscall \(call.name)",
        differences: ["result: recorded \(describeResult(event.result)), replayed \(describeResult(replayed))"])
    }
    if rewritten != nil {
      // A system call keeps its argument registers; undo our rewrite. (Only then:
      // rt_sigreturn, for one, sets every register.)
      after.rdi = entry.rdi; after.rsi = entry.rsi; after.rdx = entry.rdx
      after.r10 = entry.r10; after.r8 = entry.r8; after.r9 = entry.r9
    }
    try setRegisters(after, task)
    if let savedCopy {
      try closeSavedCopy(savedCopy, task)
    } else if call.name == "mmap", let file = event.mappedFile {
      try fillMapping(event, file, task)
    }
    if call.name == "shmat" {
      for output in event.outputs { try task.tracee.writeMemory(at: output.address, bytes: output.bytes) }
    }
  }

  /// Whether `event` belongs to a thread that another thread's exit_group, replayed
  /// already, is killing: the thread never gets there in replay, and its exit event follows.
  ///
  /// While recording, the kill reached it only after it had entered a call (a clone or an
  /// exec too), which the trace has as unfinished. Older recorders also let such
  /// threads run on after the exit_group's entry, so traces may have whole calls, signals
  /// or RDTSC reads of theirs there; the writes among those calls are still echoed.
  func isCutShortByExitGroup(_ event: TraceEvent, _ task: ReplayTask) -> Bool {
    guard exitingProcesses.contains(task.realTgid), !task.isAtExitStop else { return false }
    switch event {
    case .exit: return false
    case .syscall(let syscall):
      if !syscall.isUnfinished, options.echoOutput, !echoSilenced, scope.echoes(syscall.tid),
        let call = SyscallTable.syscall(numbered: syscall.number)
      {
        echo(syscall, call, task)
      }
      return true
    default: return true
    }
  }

  /// Whether replay performs the call rather than emulating it.
  func performsForReal(_ call: Syscall, _ event: SyscallEvent) -> Bool {
    switch call.policy {
    case .execute, .executeKeepRecordedResult: return true
    case .emulate, .unsupported: return false
    case .special:
      switch call.name {
      case "mmap", "shmat", "shmdt": return !isErrorResult(event.result)
      case "exit", "exit_group": return true
      // rseq never ran while recording (its outputs are written back); clone/fork children are not replayed yet;
      // signals a process sent itself are injected at their recorded delivery point.
      default: return false
      }
    }
  }

  /// Checks that the tracee stopped at the entry of the recorded call with the recorded
  /// registers and input memory.
  /// `knownToBeEntry`: resumed with PTRACE_SYSEMU, which stops at entries only, so asking
  /// the kernel (one more ptrace call per event) is not needed.
  func checkEntry(
    _ status: WaitStatus, _ event: SyscallEvent, _ task: ReplayTask, activity makeActivity: @autoclosure () -> String,
    compareRegisters: Bool = true, knownToBeEntry: Bool = false
  ) throws -> Registers {
    // Named only for an error: building it for every event showed in profiles.
    var activity: String { makeActivity() }
    if task.feed != nil { try checkFeedUsedUp(task, status) }
    guard status == .syscallStop, try knownToBeEntry || task.tracee.syscallStopKind() == .entry else {
      throw unexpected(status, task, index: event.index, activity: activity, expected: "a call to \(activity)")
    }
    let registers = try currentRegisters(task)
    guard compareRegisters else { return registers }
    var differences = registerDifferences(recorded: event.entryRegisters, replayed: registers, ignoring: [RegisterIndex.rax])
    for input in event.inputs {
      let now = (try? task.tracee.readMemory(at: input.address, count: input.bytes.count)) ?? []
      if now != input.bytes {
        // Show where they part: the bytes from a little before the first difference.
        let first = zip(input.bytes, now).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(input.bytes.count, now.count)
        let from = max(0, first - 16)
        differences.append(
          "input memory at \(hex(input.address)) differs from byte \(first): recorded \(preview(Array(input.bytes.dropFirst(from)))), "
            + "replayed \(preview(Array(now.dropFirst(from))))")
      }
    }
    if !differences.isEmpty {
      unexpectedStop = (task, status)
      if let call = SyscallTable.syscall(numbered: event.number) {
        let memory = MemorySnapshot(chunks: (event.inputs + event.outputs).map { ($0.address, $0.bytes) })
        differences.insert(
          "the recorded call: " + SyscallFormatter.format(call, arguments: event.entryRegisters.syscallArguments, result: event.result, memory: memory),
          at: 0)
      }
      throw Divergence(eventIndex: event.index, tid: event.tid, activity: activity, differences: differences)
    }
    task.insideSyscall = true
    try debugger?.syscallEntered(event, task)
    return registers
  }

  /// Sets the recorded result and writes the recorded memory, at the PTRACE_SYSEMU stop.
  private func emulate(_ event: SyscallEvent, _ call: Syscall, _ task: ReplayTask, registers: Registers) throws {
    var registers = registers
    registers.rax = UInt64(bitPattern: event.result)
    try setRegisters(registers, task)
    for output in event.outputs where !event.outputsWrittenLater {
      if debugStops { printToStandardError("[replay] event \(event.index) writes \(output.bytes.count) bytes at \(hex(output.address))") }
      do {
        try task.tracee.writeMemory(at: output.address, bytes: output.bytes)
      } catch {
        throw Divergence(
          eventIndex: event.index, tid: event.tid, activity: "syscall \(call.name)",
          differences: ["cannot write the \(output.bytes.count) recorded bytes at \(hex(output.address)): \(error)"])
      }
    }
    task.atEmulatedEntry = true
    task.insideSyscall = false
    task.restartCode = (-516 ... -512).contains(event.result) ? event.result : nil
    task.interruptedWaitMask = interruptedWaitMask(of: event, call, task)
    if options.echoOutput && !echoSilenced && scope.echoes(event.tid) { echo(event, call, task) }
  }

  /// The calls replay performs differently from the recording: mmap at the recorded
  /// address, and System V shared memory (whose segments replay does not have) as anonymous
  /// shared memory: shmat becomes mmap at the recorded address, shmdt munmap.
  private func rewrittenArguments(
    _ call: Syscall, _ entry: Registers, _ event: SyscallEvent, _ task: ReplayTask, savedCopy: Int32?
  ) throws -> Registers? {
    switch call.name {
    case "mmap":
      return fixedMapArguments(entry, event, savedCopy: savedCopy)
    case "shmat":
      var registers = entry
      let readOnly = entry.rdx & 0o10000 != 0  // SHM_RDONLY
      registers.origRax = 9
      registers.rdi = UInt64(bitPattern: event.result)
      registers.rsi = UInt64(event.outputs.first?.bytes.count ?? 0)
      registers.rdx = (readOnly ? 1 : 3) | (entry.rdx & 0o100000 != 0 ? 4 : 0)  // PROT_READ|WRITE, SHM_EXEC
      // Read-only pages of a shared mapping cannot be filled; nobody writes through them.
      registers.r10 = (readOnly ? mapPrivate : mapShared) | mapAnonymous | mapFixed
      registers.r8 = UInt64(bitPattern: -1)
      registers.r9 = 0
      return registers
    case "shmdt":
      guard let mapping = try readMaps(of: task.realTid).first(where: { $0.start == entry.rdi }) else { return nil }
      var registers = entry
      registers.origRax = 11
      registers.rsi = mapping.end - mapping.start
      return registers
    default:
      return nil
    }
  }

  /// mmap at the recorded address; a file mapping maps the trace's saved copy, open in the
  /// task as `savedCopy`, or becomes anonymous memory that `fillMapping` fills from it, so
  /// replay never needs the original file.
  private func fixedMapArguments(_ entry: Registers, _ event: SyscallEvent, savedCopy: Int32?) -> Registers {
    var registers = entry
    registers.rdi = UInt64(bitPattern: event.result)
    // Where the program did not ask for MAP_FIXED, a mapping already at the recorded address
    // means replay's address space drifted: MAP_FIXED_NOREPLACE makes that an EEXIST, which
    // the result check reports, instead of silently replacing it.
    let placement = entry.r10 & mapFixed != 0 ? mapFixed : mapFixedNoReplace
    if let savedCopy {
      // Private (a read-only shared mapping too: nobody writes through it), same offset.
      registers.r10 = (registers.r10 & ~mapTypeMask) | mapPrivate | placement
      registers.r8 = UInt64(savedCopy)
    } else if registers.r10 & mapAnonymous == 0 {
      // A writable shared mapping stays shared, so that processes forked later still share
      // it. A read-only one is made private: nobody writes through it, and /proc/PID/mem can
      // fill only private read-only pages (glibc maps its gconv cache MAP_SHARED, PROT_READ).
      let type = isWritableShared(flags: registers.r10, protection: registers.rdx) ? mapShared : mapPrivate
      registers.r10 = (registers.r10 & ~mapTypeMask) | type | mapAnonymous | placement
      registers.r8 = UInt64(bitPattern: -1)
      registers.r9 = 0
    } else {
      registers.r10 |= placement
    }
    return registers
  }

  private func fillMapping(_ event: SyscallEvent, _ file: MappedFile, _ task: ReplayTask) throws {
    let arguments = event.entryRegisters.syscallArguments
    let (length, protection, offset) = (arguments[1], arguments[2], arguments[5])
    guard protection != 0, offset < file.fileSize else { return }  // PROT_NONE pages cannot be written
    let count = Int(min(length, file.fileSize - offset))
    let fd = try openSavedFile(file)
    var bytes = [UInt8](repeating: 0, count: count)
    let got = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) }
    guard got == count else {
      throw ReplayError.setup("the saved copy of \(file.originalPath) in the trace is shorter than recorded")
    }
    do {
      try task.tracee.writeMemory(at: UInt64(bitPattern: event.result), bytes: bytes)
    } catch {
      let maps = (try? readMaps(of: task.realTid))?.filter { $0.end > UInt64(bitPattern: event.result) && $0.start < UInt64(bitPattern: event.result) &+ length }
      throw Divergence(
        eventIndex: event.index, tid: event.tid, activity: "syscall mmap",
        differences: [
          "cannot fill the mapping at \(hex(UInt64(bitPattern: event.result))) with \(count) bytes of \(file.originalPath): \(error)",
          "mapped there now: \((maps ?? []).map { "\(hex($0.start))-\(hex($0.end)) \($0.permissions) \($0.name)" }.joined(separator: "; "))",
        ])
    }
  }

  func openSavedFile(_ file: MappedFile) throws -> Int32 {
    if let fd = savedFiles[file.contentHash] { return fd }
    let path = reader.savedFilePath(for: file)
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 {
      throw ReplayError.trace(.missingFile(path: path, hash: file.contentHash, originalPath: file.originalPath))
    }
    savedFiles[file.contentHash] = fd
    return fd
  }

  /// Writes what reached `rewind record`'s stdout or stderr to ours, so a replay looks like
  /// the run.
  private func echo(_ event: SyscallEvent, _ call: Syscall, _ task: ReplayTask) {
    guard let fd = event.echoFD, event.result > 0 else { return }
    if let bytes = event.passedThrough {
      writeAll(fd, bytes)
      return
    }
    let tracee = task.tracee
    let arguments = event.entryRegisters.syscallArguments
    // The kernel moves at most MAX_RW_COUNT (0x7ffff000) bytes a call and fails one with more
    // than IOV_MAX (1024) vectors, whatever a damaged trace says the call returned.
    var remaining = Int(min(event.result, 0x7fff_f000))
    switch call.name {
    case "write", "pwrite64":
      let count = Int(min(UInt64(remaining), arguments[2]))
      if let bytes = try? tracee.readMemory(at: arguments[1], count: count) { writeAll(fd, bytes) }
    case "writev", "pwritev", "pwritev2":
      guard arguments[2] <= 1024 else { return }
      let vectorCount = Int(arguments[2])
      guard let vector = try? tracee.readMemory(at: arguments[1], count: vectorCount * 16) else {
        return
      }
      for i in 0..<vectorCount where remaining > 0 {
        let base = vector.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: i * 16, as: UInt64.self) }
        let length = vector.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: i * 16 + 8, as: UInt64.self) }
        let count = Int(min(length, UInt64(remaining)))
        if let bytes = try? tracee.readMemory(at: base, count: count) { writeAll(fd, bytes) }
        remaining -= count
      }
    default:
      break
    }
  }
}

/// Writes all of `bytes` to `fd`, however many writes it takes; false when one fails.
@discardableResult
func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
  var done = 0
  while done < bytes.count {
    let r = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, bytes.count - done) }
    if r < 0 && errno == EINTR { continue }
    if r <= 0 { return false }
    done += r
  }
  return true
}

/// Replaces the file at `path` (created if missing) with `bytes`; the error when it cannot.
func replaceFile(at path: String, with bytes: [UInt8]) -> Errno? {
  let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
  guard fd >= 0 else { return Errno.current }
  defer { close(fd) }
  return writeAll(fd, bytes) ? nil : Errno.current
}


func describeResult(_ result: Int64) -> String {
  isErrorResult(result) ? "-\(-result) (\(String(cString: strerror(Int32(-result)))))" : "\(result) (\(hex(UInt64(bitPattern: result))))"
}

/// The first bytes of a buffer, escaped, for divergence reports.
func preview(_ bytes: [UInt8]) -> String {
  var text = "\""
  for byte in bytes.prefix(48) {
    switch byte {
    case 0x20..<0x7f where byte != 0x22 && byte != 0x5c: text.append(Character(UnicodeScalar(byte)))
    case 0x0a: text += "\\n"
    default: text += "\\x" + String(byte, radix: 16)
    }
  }
  return text + (bytes.count > 48 ? "\"..." : "\"") + " (\(bytes.count) bytes)"
}
