import CodePatch
import Glibc
import LinuxTrace
import TraceFormat

/// Copies of the replayed processes, made by a `fork` injected into each between two events
/// and kept stopped, with what replay and the debugger knew there: another run of the
/// recording starts from fresh copies of them instead of from the program's start (reverse
/// execution).
///
/// fork copies the calling thread only: a process's other threads are kept as their state
/// (`ThreadSnapshot`) and made again, by injected clones, in every copy a run starts from.
/// Each process is copied on its own: the copies are all rewind's children, which replay does
/// not mind (it emulates waits, kills and pipes). Memory is shared copy-on-write with a copy;
/// writable `MAP_SHARED` memory is shared for real (with the live processes and every other
/// copy), so its bytes are kept in the checkpoint and written back into each copy a run
/// starts from. Processes sharing their memory (vfork, CLONE_VM) are not copied.
final class Checkpoint {
  /// The event the replay was about to replay.
  let eventIndex: UInt64
  /// The stopped copies (real pids), by recorded pid.
  let pids: [Int32: Int32]
  let session: SessionSnapshot
  let debugger: DebuggerSnapshot
  /// Where the event's thread is: the place a run that starts here parks at first.
  let place: ReplayPlace
  /// The most writable shared memory all live checkpoints together keep the bytes of; a
  /// checkpoint that would go over it is not made.
  static let sharedMemoryLimit = 64 << 20

  /// The bytes of shared memory it keeps.
  var sharedBytes: Int { session.processes.reduce(0) { $0 + $1.sharedMemory.reduce(0) { $0 + $1.bytes.count } } }

  init(eventIndex: UInt64, pids: [Int32: Int32], session: SessionSnapshot, debugger: DebuggerSnapshot, place: ReplayPlace) {
    self.eventIndex = eventIndex
    self.pids = pids
    self.session = session
    self.debugger = debugger
    self.place = place
  }

  /// The copies' private dirty memory, in bytes (what they hold that the live processes do
  /// not share with them), and the bytes of shared memory kept for them.
  var privateDirtyBytes: UInt64 {
    var total = UInt64(sharedBytes)
    for pid in pids.values {
      guard let text = try? readProcFile("/proc/\(pid)/smaps_rollup") else { continue }
      for line in text.split(separator: "\n") where line.hasPrefix("Private_Dirty:") {
        total += UInt64(line.split(separator: " ").dropFirst().first ?? "0").map { $0 * 1024 } ?? 0
      }
    }
    return total
  }

  /// Kills the copies (on the tracer thread that made them).
  func discard() { Tracee.killAndReapAll(pids.values.map { Tracee(tid: $0) }) }
}

/// How far apart automatic checkpoints are: events, or seconds of replay.
public enum CheckpointSpacing: Sendable, Equatable {
  case events(UInt64)
  case seconds(Double)

  /// `5000` (events), `2s`, `500ms`; nil when it is none of those.
  public init?(_ text: String) {
    if text.hasSuffix("ms"), let value = Double(text.dropLast(2)), value >= 0 {
      self = .seconds(value / 1000)
    } else if text.hasSuffix("s"), let value = Double(text.dropLast()), value >= 0 {
      self = .seconds(value)
    } else if let value = UInt64(text) {
      self = .events(value)
    } else {
      return nil
    }
  }
}

/// What of a thread fork does not copy (or copies for the forking thread only): for the
/// copied thread, and the others, which are made again.
struct ThreadSnapshot {
  var recordedTid: Int32
  var registers: Registers
  /// XSAVE image (else FXSAVE, in `floatingPoint`).
  var extended: [UInt8]?
  var floatingPoint: [UInt8]?
  var signalMask: UInt64
  /// set_tid_address's (CLONE_CHILD_CLEARTID's) address: cleared and woken at the
  /// thread's exit, which pthread_join waits for.
  var clearChildTid: UInt64
  var robustList: (head: UInt64, length: UInt64)
  /// sigaltstack's stack_t (ss_sp, ss_flags, ss_size): fork copies the forking thread's,
  /// a new thread starts without one.
  var alternateStack: [UInt8]
}

/// sigaltstack(2) and its stack_t flags.
private let sigaltstackNumber = 131
private let alternateStackOn: UInt32 = 1, alternateStackDisabled: UInt32 = 2

/// One process of a checkpoint.
struct ProcessSnapshot {
  var recordedPid: Int32
  /// The copied thread (the main one), then the others (made again in each copy).
  var leader: ThreadSnapshot
  var otherThreads: [ThreadSnapshot]
  var syscallInstruction: UInt64?
  var codeMappings: [MapsEntry]?
  /// The bytes of its writable shared mappings, which a copy shares with the live process.
  var sharedMemory: [(start: UInt64, bytes: [UInt8])] = []
}

/// What a replay session knew between two events, for a session that starts from copies.
struct SessionSnapshot {
  /// The trace just before the event about to replay.
  var position: TraceReader.Position
  var processes: [ProcessSnapshot]
  var rootTid: Int32
  var rootStatus: ExitStatus?
  var hotLoopPoints: [UInt64: Set<Int>]
  var patchSiteChooser: PatchSiteChooser
}

/// What the debugger knew there.
struct DebuggerSnapshot {
  var lastEventOfThread: [Int32: UInt64]
  var eventInProgress: (tid: Int32, index: UInt64)?
  var nextEventIndex: UInt64
}

/// Automatic checkpoints along one recording, shared by every run of a debugged replay (all
/// on one tracer thread): one every so many events or seconds of replay, thinned out with
/// the distance from where the debugger is, so that at most `limit` are kept: dense where
/// the user works, sparse far from it.
final class CheckpointStore {
  let spacing: CheckpointSpacing
  let limit: Int
  private(set) var checkpoints: [Checkpoint] = []
  /// When the running replay last took or passed a checkpoint (or began).
  private var lastSeen = monotonicSeconds()
  /// The event the debugger last stopped before (nil: none yet; the newest checkpoint then).
  var focus: UInt64?

  init(spacing: CheckpointSpacing, limit: Int) {
    self.spacing = spacing
    self.limit = limit
  }

  var isEnabled: Bool { spacing != .events(0) && spacing != .seconds(0) }

  /// A run begins: replay time counts from here.
  func runBegins() { lastSeen = monotonicSeconds() }

  /// Whether a checkpoint belongs before event `index`: far enough from the last one, and
  /// not the one thinning would drop at once (a run far behind the newest checkpoints would
  /// otherwise copy the process before every event).
  func wants(_ index: UInt64, focus: UInt64? = nil) -> Bool {
    guard spaced(index) else { return false }
    guard checkpoints.count >= limit else { return true }
    var indices = checkpoints.map(\.eventIndex)
    indices.append(index)
    indices.sort()
    return indices[Self.victim(indices, focus: focus ?? self.focus)] != index
  }

  private func spaced(_ index: UInt64) -> Bool {
    switch spacing {
    case .events(let interval):
      guard interval > 0 else { return false }
      let previous = checkpoints.last { $0.eventIndex <= index }?.eventIndex ?? 0
      return index >= previous + interval
    case .seconds(let seconds):
      guard seconds > 0 else { return false }
      let now = monotonicSeconds()
      if has(index) {
        lastSeen = now
        return false
      }
      return now - lastSeen >= seconds
    }
  }

  /// The latest checkpoint strictly before `place` (a checkpoint is at its own place).
  func latest(before place: ReplayPlace) -> Checkpoint? {
    checkpoints.last { $0.eventIndex < place.eventIndex || ($0.eventIndex == place.eventIndex && !$0.place.isSame(as: place)) }
  }

  func has(_ index: UInt64) -> Bool { checkpoints.contains { $0.eventIndex == index } }

  /// The latest checkpoint at or before event `index`.
  func latest(atOrBefore index: UInt64) -> Checkpoint? { checkpoints.last { $0.eventIndex <= index } }

  /// The bytes of shared memory the live checkpoints keep.
  var sharedBytesHeld: Int { checkpoints.reduce(0) { $0 + $1.sharedBytes } }

  func add(_ checkpoint: Checkpoint) {
    lastSeen = monotonicSeconds()
    checkpoints.append(checkpoint)
    checkpoints.sort { $0.eventIndex < $1.eventIndex }
    while checkpoints.count > limit { thin() }
  }

  /// Drops the checkpoint whose neighbours are closest together for its age: the newest
  /// keep their density, the old ones grow sparse, and the cost of going back grows with
  /// the distance gone.
  private func thin() {
    guard checkpoints.count > 2 else { return }
    checkpoints.remove(at: Self.victim(checkpoints.map(\.eventIndex), focus: focus)).discard()
  }

  /// Which of these sorted event indices (more than two) thinning drops: the one whose
  /// neighbours are closest together for its distance from `focus`; never the first or the
  /// last.
  private static func victim(_ indices: [UInt64], focus: UInt64?) -> Int {
    guard indices.count > 2, let newest = indices.last else { return indices.count - 1 }
    let focus = focus ?? newest
    var best = 1
    var bestScore = Double.infinity
    for index in 1..<(indices.count - 1) {
      let gap = Double(indices[index + 1] - indices[index - 1])
      let age = Double(max(focus, indices[index]) - min(focus, indices[index]) + 1)
      if gap / age < bestScore {
        bestScore = gap / age
        best = index
      }
    }
    return best
  }

  func discardAll() {
    for checkpoint in checkpoints { checkpoint.discard() }
    checkpoints = []
  }
}

extension ReplaySession {
  /// Copies of the replay's live processes, made now (between events), or nil when this
  /// replay cannot be copied here.
  /// `sharedMemoryBudget`: the most bytes of writable shared memory it may keep.
  func checkpoint(
    eventIndex: UInt64, of eventTid: Int32, debuggerState: DebuggerSnapshot, sharedMemoryBudget: Int, place: (ReplayTask) -> ReplayPlace
  ) throws -> Checkpoint? {
    let processes = Dictionary(grouping: tasks.values, by: \.recordedTgid)
    guard !processes.isEmpty, stubPages.isEmpty, exitingProcesses.isEmpty, let position = eventStart,
      tasks.values.allSatisfy({ isCopyable($0) && !addressSpaces.isShared($0.realTgid) }),
      processes.keys.allSatisfy({ tasks[$0] != nil })
    else { return nil }
    var sharedMemory: [Int32: [(start: UInt64, bytes: [UInt8])]] = [:]
    var sharedBytes = 0
    // A mapping a parent and its child share is at the same place in both: kept once.
    var kept: Set<String> = []
    for pid in processes.keys.sorted() {
      guard let maps = try? readMaps(of: tasks[pid]!.realTid) else { return nil }
      for mapping in maps where mapping.isSharedWritable && kept.insert("\(mapping.start)-\(mapping.end) \(mapping.name)").inserted {
        sharedBytes += Int(mapping.end - mapping.start)
        guard sharedBytes <= sharedMemoryBudget,
          let bytes = try? tasks[pid]!.tracee.readMemory(at: mapping.start, count: Int(mapping.end - mapping.start)),
          bytes.count == Int(mapping.end - mapping.start)
        else { return nil }
        sharedMemory[pid, default: []].append((mapping.start, bytes))
      }
    }
    // The place a run from the copies parks at first, for a seek whose target it is.
    guard let eventTask = tasks[eventTid] ?? tasks.values.first else { return nil }
    let here = place(eventTask)
    var snapshots: [ProcessSnapshot] = []
    for (pid, threads) in processes.sorted(by: { $0.key < $1.key }) {
      let leader = tasks[pid]!
      guard let leaderState = try threadSnapshot(leader) else { return nil }
      var others: [ThreadSnapshot] = []
      for thread in threads where thread !== leader {
        guard let state = try threadSnapshot(thread) else { return nil }
        others.append(state)
      }
      snapshots.append(
        ProcessSnapshot(
          recordedPid: pid, leader: leaderState, otherThreads: others.sorted { $0.recordedTid < $1.recordedTid },
          syscallInstruction: syscallInstructions[leader.realTgid], codeMappings: codeMappings[leader.realTgid],
          sharedMemory: sharedMemory[pid] ?? []))
    }
    var copies: [Int32: Int32] = [:]
    for snapshot in snapshots {
      guard let copy = try forkCopy(of: tasks[snapshot.recordedPid]!) else {
        Tracee.killAndReapAll(copies.values.map { Tracee(tid: $0) })
        return nil
      }
      copies[snapshot.recordedPid] = copy
    }
    let session = SessionSnapshot(
      position: position, processes: snapshots, rootTid: rootTid, rootStatus: rootStatus, hotLoopPoints: hotLoopPoints,
      patchSiteChooser: patchSiteChooser)
    return Checkpoint(eventIndex: eventIndex, pids: copies, session: session, debugger: debuggerState, place: here)
  }

  /// A task that sits where nothing of its is lost by a copy: between calls, no signal or
  /// restart waiting, not exiting.
  private func isCopyable(_ task: ReplayTask) -> Bool {
    guard task.interruptedWaitMask == nil, !task.insideSyscall, case .success = injectionStop(task) else { return false }
    return true
  }

  /// What fork would not copy of `task`. Nil where the tid address cannot be asked for.
  private func threadSnapshot(_ task: ReplayTask) throws -> ThreadSnapshot? {
    guard case .success(let stop) = injectionStop(task) else { return nil }
    let registers = try currentRegisters(task)
    guard let instruction = syscallInstruction(for: task, rip: registers.rip) else { return nil }
    // prctl(PR_GET_TID_ADDRESS) and sigaltstack write into memory: below the red zone, put
    // back after.
    let scratch = (registers.rsp &- 512) & ~15
    let saved = try task.tracee.readMemory(at: scratch, count: 32)
    let result = try injectSyscall(157, [40, scratch], in: task, from: stop, using: instruction)
    let stackResult = try injectSyscall(sigaltstackNumber, [0, scratch + 8], in: task, from: .syscallExit, using: instruction)
    let written = try task.tracee.readMemory(at: scratch, count: 32)
    try task.tracee.writeMemory(at: scratch, bytes: saved)
    guard result == 0, stackResult == 0 else { return nil }
    let address = written.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
    let extended = try? task.tracee.extendedState()
    return ThreadSnapshot(
      recordedTid: task.recordedTid, registers: registers, extended: extended ?? nil,
      floatingPoint: extended == nil ? try task.tracee.floatingPointState() : nil, signalMask: try task.tracee.signalMask(),
      clearChildTid: address, robustList: try task.tracee.robustList(), alternateStack: Array(written[8..<32]))
  }

  /// Makes a thread of `snapshot` in `leader`'s process (a copy) by an injected clone, with
  /// its registers, vector state, signal mask, tid address and robust list.
  func recreateThread(_ snapshot: ThreadSnapshot, in leader: ReplayTask) throws -> ReplayTask {
    // CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM, and
    // CLONE_CHILD_CLEARTID with the thread's address.
    var flags: UInt64 = 0x100 | 0x200 | 0x400 | 0x800 | 0x10000 | 0x40000
    if snapshot.clearChildTid != 0 { flags |= 0x20_0000 }
    let created = try injectCreating(
      56, [flags, snapshot.registers.rsp, 0, snapshot.clearChildTid, 0], event: .clone, in: leader)
    guard let tid = created else {
      throw ReplayError.setup("the copy's thread \(snapshot.recordedTid) could not be made again")
    }
    let thread = ReplayTask(recordedTid: snapshot.recordedTid, realTid: tid, realTgid: leader.realTgid, recordedTgid: leader.recordedTgid)
    try restore(snapshot, in: thread, robustListOnly: false)
    return thread
  }

  /// Puts back what fork or clone did not copy into `task`.
  func restore(_ snapshot: ThreadSnapshot, in task: ReplayTask, robustListOnly: Bool) throws {
    if !robustListOnly {
      try task.tracee.setRegisterWords(snapshot.registers.words)
      if let extended = snapshot.extended { try task.tracee.setExtendedState(extended) }
      if let floatingPoint = snapshot.floatingPoint { try task.tracee.setFloatingPointState(floatingPoint) }
      try task.tracee.setSignalMask(snapshot.signalMask)
      task.knownSignalMask = snapshot.signalMask
    }
    guard case .success(let stop) = injectionStop(task), let instruction = syscallInstruction(for: task, rip: snapshot.registers.rip) else {
      throw ReplayError.setup("no system call can be injected into the copy's thread \(snapshot.recordedTid)")
    }
    _ = try injectSyscall(273, [snapshot.robustList.head, snapshot.robustList.length], in: task, from: stop, using: instruction)
    let flags = snapshot.alternateStack.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8, as: UInt32.self) }
    if !robustListOnly && flags & alternateStackDisabled == 0 {
      // A thread made again has no alternate stack: set it as recorded (without "on it",
      // which only the kernel reports), through a stack_t below the red zone.
      var stack = snapshot.alternateStack
      withUnsafeBytes(of: (flags & ~alternateStackOn).littleEndian) { stack.replaceSubrange(8..<12, with: $0) }
      let scratch = (snapshot.registers.rsp &- 512) & ~15
      let saved = try task.tracee.readMemory(at: scratch, count: stack.count)
      try task.tracee.writeMemory(at: scratch, bytes: stack)
      let result = try injectSyscall(sigaltstackNumber, [scratch, 0], in: task, from: .syscallExit, using: instruction)
      try task.tracee.writeMemory(at: scratch, bytes: saved)
      guard result == 0 else {
        throw ReplayError.setup("the copy's thread \(snapshot.recordedTid) could not get its alternate signal stack back (sigaltstack returned \(result))")
      }
    }
    if robustListOnly {
      // fork cleared the copied thread's tid address too.
      _ = try injectSyscall(218, [snapshot.clearChildTid], in: task, from: .syscallExit, using: instruction)
    }
  }

  /// Forks `task` by an injected `clone(CLONE_PARENT | SIGCHLD)`: the child, stopped, with
  /// every register of the task. Nil when the call could not be made here.
  ///
  /// CLONE_PARENT makes the copy a sibling, a child of rewind like the task (the root, or an
  /// orphan rewind reaps as subreaper), not of the task: a copy that dies is then reaped for
  /// good when its tracer waits for it, instead of staying a zombie under a stopped
  /// checkpoint that never waits, one for every run of the recording.
  func forkCopy(of task: ReplayTask) throws -> Int32? {
    let saved = try currentRegisters(task)
    guard let child = try injectCreating(56, [0x8000 | UInt64(SIGCHLD), 0, 0, 0, 0], event: .fork, in: task) else { return nil }
    try Tracee(tid: child).setRegisterWords(saved.words)
    return child
  }

  /// Runs `clone` (`number` 56) with `arguments` in `task`, which reports the new task with
  /// ptrace `event`, and returns the new task, stopped at its first stop; every register of
  /// `task` is as before. Nil when the call could not be made there or failed.
  func injectCreating(_ number: Int, _ arguments: [UInt64], event expected: PtraceEvent, in task: ReplayTask) throws -> Int32? {
    guard case .success(let stop) = injectionStop(task) else { return nil }
    let saved = try currentRegisters(task)
    guard let instruction = syscallInstruction(for: task, rip: saved.rip) else { return nil }
    var registers = saved
    registers.rip = instruction
    registers.rax = UInt64(number)
    let values = arguments + Array(repeating: 0, count: 6 - arguments.count)
    (registers.rdi, registers.rsi, registers.rdx) = (values[0], values[1], values[2])
    (registers.r10, registers.r8, registers.r9) = (values[3], values[4], values[5])
    registers.origRax = UInt64.max
    try setRegisters(registers, task)
    task.atEmulatedEntry = false
    // After a PTRACE_SYSEMU entry stop, the skipped call's exit stop comes first.
    var skipExit = stop == .emulatedEntry
    var child: Int32?
    var result: Int64?
    while result == nil {
      try task.tracee.resume(.syscall)
      let status = try waitForTracee(task.realTid)
      switch status {
      case .event(let event) where event == expected: child = Int32(truncatingIfNeeded: try task.tracee.eventMessage())
      case .syscallStop:
        let kind = try task.tracee.syscallStopKind()
        if kind == .exit && skipExit {
          skipExit = false
        } else if kind == .exit {
          result = Int64(bitPattern: try currentRegisters(task).rax)
        }
      case .signalStop(.child): continue
      default:
        try? setRegisters(saved, task)
        throw Divergence(
          eventIndex: cursor.consumed, tid: task.recordedTid, activity: "clone injected by replay for a checkpoint",
          differences: ["expected its system call stops, got \(status)"])
      }
    }
    try setRegisters(saved, task)
    guard let child, result == Int64(child) else { return nil }
    let copy = Tracee(tid: child)
    guard case .signalStop(.stop) = try waitForTracee(child) else {
      copy.killAndReap()
      return nil
    }
    return child
  }
}

extension MapsEntry {
  /// A mapping the process and a fork of it would both write for real.
  var isSharedWritable: Bool { permissions.count >= 4 && Array(permissions)[1] == "w" && Array(permissions)[3] == "s" }
}
