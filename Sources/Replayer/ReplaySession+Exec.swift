import Glibc
import LinuxTrace
import TraceFormat

private let atFDCWD = UInt64(bitPattern: -100)
private let atEmptyPath: UInt64 = 0x1000

extension ReplaySession {
  /// Replays a successful execve: runs the saved copy of the recorded program, then puts back
  /// the recorded initial stack (argv, envp, auxv with AT_RANDOM) and the recorded vDSO.
  /// `checkEntry` is false for the first exec, which rewind's own spawner makes.
  func performExec(_ event: SyscallEvent, _ execer: ReplayTask, checkEntry: Bool) throws {
    var task = execer
    let tracee = task.tracee
    addressSpaces.leave(task.realTgid)  // a new address space of its own
    guard case .exec(let exec)? = try cursor.next() else {
      throw Divergence(eventIndex: event.index, tid: event.tid, activity: "syscall execve", differences: ["the trace has no exec event after a successful execve"])
    }
    let activity = "syscall execve"
    var status = try resumeAndWait(task, .syscall)
    if !checkEntry {
      // The spawner restores its signal mask after raise(SIGSTOP) before it calls execve.
      while status == .syscallStop, try currentRegisters(task).origRax != 59 {
        try tracee.resume(.syscall)
        status = try waitForStop(of: task.realTid)
        if status == .syscallStop, try tracee.syscallStopKind() == .exit { status = try resumeAndWait(task, .syscall) }
      }
    }
    var registers = try self.checkEntry(status, event, task, activity: activity, compareRegisters: checkEntry)
    if checkEntry {
      // Run the saved copy: the original may have changed or gone. Below the red zone of a
      // stack the exec is about to discard is a safe place for its path.
      let path = Array(reader.savedFilePath(for: exec.executable).utf8) + [0]
      let address = (registers.rsp - 4096 - UInt64(path.count)) & ~15
      try tracee.writeMemory(at: address, bytes: path)
      if Int64(bitPattern: registers.origRax) == 59 {
        registers.rdi = address
      } else {
        registers.rdi = atFDCWD
        registers.rsi = address
        registers.r8 &= ~atEmptyPath
      }
      try setRegisters(registers, task)
    }
    let execStop: WaitStatus
    let otherThreads = tasks.values.filter { $0 !== task && $0.realTgid == task.realTgid && $0.exitedStatus == nil }
    if checkEntry && !otherThreads.isEmpty {
      // The kernel kills the other threads and waits for them to be gone before the exec
      // event; each stops at PTRACE_EVENT_EXIT on its way out and waits for us there.
      try resumeAsDebuggerWants(task, .syscall)
      for thread in otherThreads where thread.realTid != task.realTgid { try letThreadDie(thread) }
      if task.realTid != task.realTgid, let leader = otherThreads.first(where: { $0.realTid == task.realTgid }) {
        // From another thread: the exec'ing thread takes the process's pid, and the old main
        // thread, once through its exit stop, is gone without a word.
        execStop = try mainThreadReplaced(leader)
        task = takeOverProcessID(from: task, leader: leader)
      } else {
        execStop = try waitForNews(task, .syscall)
      }
    } else {
      execStop = try resumeAndWait(task, .syscall)
    }
    guard execStop == .event(.exec) else {
      throw unexpected(execStop, task, index: exec.index, activity: "exec", expected: "the new program starts")
    }
    try installInitialState(exec, task)
    try debugger?.execed(exec, task)
    let exitStop = try resumeAndWait(task, .syscall)
    guard exitStop == .syscallStop, try task.tracee.syscallStopKind() == .exit, try currentRegisters(task).rax == 0 else {
      throw unexpected(exitStop, task, index: event.index, activity: activity, expected: "execve returns 0")
    }
  }

  /// Lets the old main thread of a process go through its exit stop while another thread
  /// execs; what comes next for the process's pid is that thread's exec event.
  private func mainThreadReplaced(_ leader: ReplayTask) throws -> WaitStatus {
    while true {
      let status = try waitForStop(of: leader.realTid)
      guard status == .event(.exit) else { return status }
      try leader.tracee.resume(.continue)
    }
  }

  /// The task of a thread whose exec gave it its process's pid, as the recording has it
  /// from here on (the trace's events after the exec carry the process's pid too).
  private func takeOverProcessID(from task: ReplayTask, leader: ReplayTask) -> ReplayTask {
    let renamed = ReplayTask(
      recordedTid: task.recordedTgid, realTid: task.realTgid, realTgid: task.realTgid, recordedTgid: task.recordedTgid)
    tasks[task.recordedTid] = nil
    tasks[leader.recordedTid] = renamed
    return renamed
  }

  /// Runs a thread that an exec of another thread of its process is killing to its end; its
  /// recorded exit event follows the exec's.
  private func letThreadDie(_ thread: ReplayTask) throws {
    while true {
      let status = try waitForStop(of: thread.realTid)
      switch status {
      case .exited, .killed:
        thread.exitedStatus = status
        return
      default:
        try thread.tracee.resume(.continue)
      }
    }
  }

  /// At PTRACE_EVENT_EXEC: check the new address space against the recording and write the
  /// recorded initial stack.
  private func installInitialState(_ exec: ExecEvent, _ task: ReplayTask) throws {
    let tracee = task.tracee
    tracee.addressSpaceReplaced()
    var registers = try currentRegisters(task)
    let maps = try readMaps(of: task.realTid)
    var differences = layoutDifferences(recorded: exec.mappings, replayed: maps, stackPointer: exec.registers.rsp)
    differences += changedFiles(exec.mappings, maps, pid: task.realTid)
    registers.rsp = exec.registers.rsp
    differences += registerDifferences(recorded: exec.registers, replayed: registers, ignoring: [])
    if !differences.isEmpty {
      throw Divergence(eventIndex: exec.index, tid: exec.tid, activity: "exec of \(exec.executable.originalPath)", differences: differences)
    }
    try tracee.writeMemory(at: exec.initialStack.address, bytes: exec.initialStack.bytes)
    if let vdso = exec.vdso {
      // The recording's vDSO, patched (the mapping's place and size were checked above).
      do {
        try tracee.writeMemory(at: vdso.address, bytes: vdso.bytes)
      } catch {
        throw Divergence(
          eventIndex: exec.index, tid: exec.tid, activity: "exec of \(exec.executable.originalPath)",
          differences: ["cannot write the recorded vDSO (\(vdso.bytes.count) bytes at \(hex(vdso.address))): \(error)"])
      }
    }
    try setRegisters(registers, task)
  }

  /// Mappings must match exactly, except the stack's lower end, which moves with the length
  /// of the exec'd path (replay execs the saved copy).
  private func layoutDifferences(recorded: [InitialMapping], replayed: [MapsEntry], stackPointer: UInt64) -> [String] {
    var lines: [String] = []
    if recorded.count != replayed.count {
      lines.append("mappings after exec: recorded \(recorded.count), replayed \(replayed.count)")
    }
    for (a, b) in zip(recorded, replayed) {
      let isStack = a.start <= stackPointer && stackPointer < a.end
      let sameRange = isStack ? (a.end == b.end && b.start <= stackPointer) : (a.start == b.start && a.end == b.end)
      if !sameRange || a.permissions != b.permissions || a.fileOffset != b.offset {
        lines.append(
          "mapping recorded \(hex(a.start))-\(hex(a.end)) \(a.permissions) \(a.name), replayed \(hex(b.start))-\(hex(b.end)) \(b.permissions) \(b.name)")
      }
    }
    return lines
  }

  /// Every file the new image maps must be the recorded one; a changed loader was mounted
  /// over by `changedLoaders`, so a difference here is a divergence.
  private func changedFiles(_ recorded: [InitialMapping], _ replayed: [MapsEntry], pid: Int32) -> [String] {
    var checked: Set<String> = []
    var lines: [String] = []
    for (a, b) in zip(recorded, replayed) {
      guard let file = a.file, b.isFileBacked, !checked.contains(b.name) else { continue }
      checked.insert(b.name)
      // What is mapped, seen through the process (its mount namespace may differ from ours).
      let mapped = "/proc/\(pid)/map_files/\(String(b.start, radix: 16))-\(String(b.end, radix: 16))"
      if !fileComparisons.sameContents(mapped, reader.savedFilePath(for: file)) {
        lines.append("\(b.name) is not the file that was recorded (the trace holds it as \(reader.savedFilePath(for: file)))")
      }
    }
    return lines
  }
}

/// Compares two files byte for byte: same size, then the same bytes, a MiB at a time.
func sameContents(_ a: String, _ b: String) -> Bool {
  let first = open(a, O_RDONLY | O_CLOEXEC), second = open(b, O_RDONLY | O_CLOEXEC)
  defer {
    if first >= 0 { close(first) }
    if second >= 0 { close(second) }
  }
  var x = stat(), y = stat()
  guard first >= 0, second >= 0, fstat(first, &x) == 0, fstat(second, &y) == 0, x.st_size == y.st_size else { return false }
  let chunk = 1 << 20
  var left = [UInt8](repeating: 0, count: chunk), right = [UInt8](repeating: 0, count: chunk)
  var remaining = Int(x.st_size)
  while remaining > 0 {
    let count = min(chunk, remaining)
    guard readFully(first, &left, count), readFully(second, &right, count) else { return false }
    let equal = left.withUnsafeBytes { l in right.withUnsafeBytes { r in memcmp(l.baseAddress!, r.baseAddress!, count) == 0 } }
    guard equal else { return false }
    remaining -= count
  }
  return true
}

/// Reads `count` bytes into the start of `buffer` (a read may return less than asked).
private func readFully(_ fd: Int32, _ buffer: inout [UInt8], _ count: Int) -> Bool {
  var done = 0
  while done < count {
    let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + done, count - done) }
    if n < 0 && errno == EINTR { continue }
    guard n > 0 else { return false }
    done += n
  }
  return true
}

/// Which files were found to hold the same bytes, remembered by both files' identities
/// (device, inode, size, modification and change times): a replay of `make` execs cc1 and
/// the same libraries dozens of times, and reading each whole again at every exec was most of
/// its replay (a file changed in between has another identity, and is read again).
struct FileComparisons {
  private struct Identity: Hashable {
    var device, inode: UInt64
    var size: Int64
    var modified, changed: [Int]
  }
  private var known: [[Identity]: Bool] = [:]

  mutating func sameContents(_ a: String, _ b: String) -> Bool {
    guard let x = Self.identity(a), let y = Self.identity(b) else { return false }
    if x.device == y.device && x.inode == y.inode { return true }
    if let answer = known[[x, y]] { return answer }
    let answer = Replayer.sameContents(a, b)
    known[[x, y]] = answer
    return answer
  }

  private static func identity(_ path: String) -> Identity? {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    return Identity(
      device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
      modified: [info.st_mtim.tv_sec, info.st_mtim.tv_nsec], changed: [info.st_ctim.tv_sec, info.st_ctim.tv_nsec])
  }
}
