import Foundation
import GDBRemote
import Replayer
import TraceFormat

/// The replay as gdb's target: GDBRemote's requests in terms of a `DebugReplay`.
final class ReplayDebugTarget: ReversibleTarget, ConditionEvaluatingTarget {
  let replay: DebugReplay
  let files: RecordingFiles
  private(set) var currentStop: StopReason
  /// The trace-wide event the replay stopped before (or at).
  private(set) var lastEventIndex: UInt64
  /// A divergence or failure that ended the replay while gdb was attached.
  private(set) var failure: Error?

  init(replay: DebugReplay, files: RecordingFiles, firstStop: DebugStop) {
    self.replay = replay
    self.files = files
    currentStop = Self.reason(firstStop)
    lastEventIndex = firstStop.eventIndex
  }

  var threads: [ThreadID] { replay.threads().map { ThreadID(pid: replay.pid, tid: $0) } }

  func registers(of thread: ThreadID) throws -> RegisterFile {
    let state = try replay.state(ofThread: thread.tid)
    var file = RegisterFile(Dictionary(uniqueKeysWithValues: zip(Registers.names, state.general.words)))
    if let fxsave = state.floatingPoint { supplyFloatingPoint(fxsave, to: &file) }
    if let xsave = state.extended { supplyAVX(xsave, to: &file) }
    return file
  }

  func readMemory(at address: UInt64, count: Int) throws -> [UInt8] {
    try replay.readMemory(at: address, count: count)
  }

  func writeMemory(at address: UInt64, bytes: [UInt8]) throws {
    throw TargetError.refused(diversionOnly)
  }

  func writeRegisters(_ registers: RegisterFile, of thread: ThreadID) throws {
    throw TargetError.refused(diversionOnly)
  }

  private let diversionOnly =
    "a replay runs the recording exactly as it was, so memory and registers cannot change (only a diversion could change them)"

  func resume(_ actions: [ResumeAction]) throws -> StopReason {
    try resume(actions, direction: .forward)
  }

  func resume(_ actions: [ResumeAction], direction: Direction) throws -> StopReason {
    // All-stop: a step action for one thread is the step; the others just go on with it.
    let how: DebugResume
    if let step = actions.first(where: { $0.kind == .step }) {
      let tid: Int32
      switch step.threads.thread {
      case .id(let id): tid = id
      case .all, .any: tid = stoppedThread
      }
      how = .step(tid: tid)
    } else {
      how = .continue
    }
    if direction == .forward { return settle(replay.resume(how)) }
    if let failure { throw TargetError("the replay stopped (\(failure)); it cannot go backwards from there") }
    let result = replay.reverse(how)
    if case .failure(let error) = result, replay.place() != nil {
      // The replay went back to where gdb was: the command failed, the session goes on.
      FileHandle.standardError.write(Data("rewind: going backwards failed: \(error)\n".utf8))
      throw TargetError("going backwards failed: \(error)")
    }
    return settle(result)
  }

  /// Takes in the result of a resume: the stop gdb hears of.
  private func settle(_ result: Result<DebugStop, Error>) -> StopReason {
    switch result {
    case .success(let stop):
      currentStop = Self.reason(stop)
      lastEventIndex = stop.eventIndex
    case .failure(let error):
      failure = error
      FileHandle.standardError.write(Data("rewind: the replay stopped: \(error)\n".utf8))
      currentStop = .killed(signal: 9, pid: replay.pid)
    }
    return currentStop
  }

  private var stoppedThread: Int32 {
    if case .signal(_, let thread, _) = currentStop { return thread.tid }
    return replay.pid
  }

  func interrupt() { replay.interrupt() }

  func insertBreakpoint(_ breakpoint: Breakpoint) throws {
    let condition = Self.condition(breakpoint.conditions)
    switch breakpoint.kind {
    case .software: try replay.insertSoftwareBreakpoint(at: breakpoint.address, condition: condition)
    case .hardware, .writeWatchpoint, .accessWatchpoint:
      guard
        try replay.insertHardware(
          Self.watchKind(breakpoint.kind), at: breakpoint.address, length: breakpoint.size,
          condition: breakpoint.kind == .hardware ? condition : nil)
      else {
        throw TargetError("all three debug registers rewind can give gdb (DR1-DR3) are in use")
      }
    case .readWatchpoint:
      throw TargetError("x86 debug registers cannot watch reads alone; use awatch (reads and writes)")
    }
  }

  func removeBreakpoint(_ breakpoint: Breakpoint) throws {
    switch breakpoint.kind {
    case .software: try replay.removeSoftwareBreakpoint(at: breakpoint.address)
    case .hardware, .writeWatchpoint, .accessWatchpoint: try replay.removeHardware(Self.watchKind(breakpoint.kind), at: breakpoint.address)
    case .readWatchpoint: break
    }
  }

  /// gdb's conditions as one the replay evaluates where the breakpoint hits: any that holds
  /// stops it. One that cannot be evaluated (a register this target does not number, memory
  /// that cannot be read, a bytecode left out) counts as holding: gdb then shows the stop.
  static func condition(_ expressions: [AgentExpression]) -> BreakpointCondition? {
    guard !expressions.isEmpty else { return nil }
    return { registers, readMemory in
      let value = { (number: Int) -> UInt64? in
        guard number < X86_64Register.all.count, let index = Registers.names.firstIndex(of: X86_64Register.all[number].name) else {
          return nil
        }
        return registers.words[index]
      }
      return expressions.contains { expression in
        (try? expression.evaluate(register: value, memory: readMemory)).map { $0 != 0 } ?? true
      }
    }
  }

  private static func watchKind(_ kind: Breakpoint.Kind) -> HardwareWatchKind {
    switch kind {
    case .writeWatchpoint: return .write
    case .accessWatchpoint, .readWatchpoint: return .readWrite
    case .software, .hardware: return .execute
    }
  }

  func catchSyscalls(_ which: GDBRequest.SyscallCatch) throws {
    switch which {
    case .none: try replay.catchSyscalls(.none)
    case .all: try replay.catchSyscalls(.all)
    case .only(let numbers): try replay.catchSyscalls(.only(Set(numbers)))
    }
  }

  static let monitorHelp = """
    rewind monitor commands:
      monitor when            the number of the next event to replay (as `rewind dump` numbers them), and
                              where the replay is before it
      monitor checkpoint      remembers this place, and prints its number
      monitor checkpoints     lists the places remembered
      monitor restart N       goes back (or forward) to place N
      monitor delete N        forgets place N
      monitor log-instructions FROM TO FILE
                              writes every instruction the process runs in events FROM to TO-1 to FILE,
                              one a line with its registers, and comes back
      monitor work            what the replay did to get where gdb asked, going backwards above all:
                              runs of the recording again, instructions single-stepped, breakpoint
                              traps, passes through an instruction counted inside the process
      monitor help            this list

    """

  /// Places `monitor checkpoint` remembered, by number.
  private var checkpoints: [Int: ReplayPlace] = [:]
  private var nextCheckpoint = 1

  func monitor(_ command: String) throws -> String {
    let words = command.split(separator: " ").map(String.init)
    switch (words.first ?? "", words.count) {
    case ("when", 1):
      guard let place = replay.place() else { return "Current event: \(lastEventIndex)\n" }
      return "Current event: \(lastEventIndex)\nPosition: \(Self.describe(place))\n"
    case ("checkpoint", 1):
      let id = try checkpoint()
      return "Checkpoint \(id.rawValue) at \(Self.describe(checkpoints[id.rawValue]!))\n"
    case ("checkpoints", 1):
      var text = checkpoints.isEmpty ? "No places remembered.\n" : "Places remembered (monitor restart N):\n"
      text += checkpoints.keys.sorted().map { "\($0)\t\(Self.describe(checkpoints[$0]!))\n" }.joined()
      let copies = replay.checkpointCopies()
      if copies.isEmpty {
        text += "No copies of the process (the replay starts again from the beginning to go back).\n"
      } else {
        let total = copies.reduce(0) { $0 + $1.privateDirtyBytes }
        text += "Copies of the process (automatic checkpoints), \(copies.count), holding \(total / 1024) KiB of memory of their own"
        text += replay.residentBytes().map { " (the replayed process: resident \($0 / 1024) KiB)" } ?? ""
        text += ":\n"
        text += copies.map { "  event \($0.eventIndex)\t\($0.privateDirtyBytes / 1024) KiB\n" }.joined()
      }
      return text
    case ("restart", 2), ("delete", 2):
      guard let number = Int(words[1]), checkpoints[number] != nil else {
        throw TargetError("no checkpoint '\(words[1])'; `monitor checkpoints` lists them")
      }
      if words[0] == "delete" {
        checkpoints[number] = nil
        return "Deleted checkpoint \(number).\n"
      }
      try restore(CheckpointID(number))
      return "Restarted at checkpoint \(number): \(Self.describe(checkpoints[number]!))\n"
    case ("log-instructions", 4):
      guard let from = UInt64(words[1]), let to = UInt64(words[2]), from < to else {
        throw TargetError("log-instructions takes two event numbers, FROM below TO, and a file: monitor log-instructions 100 200 /tmp/log")
      }
      switch replay.logInstructions(from: from, to: to, path: words[3]) {
      case .success(let count): return "\(count) instructions of events \(from)-\(to - 1) written to \(words[3])\n"
      case .failure(let error): throw TargetError("log-instructions failed: \(error)")
      }
    case ("work", 1):
      let work = replay.work()
      return "Replay work since gdb attached: \(work.runs) runs again, \(work.singleSteps) instructions single-stepped, "
        + "\(work.breakpointTraps) breakpoint traps, \(work.passesCountedInTracee) passes counted inside the process\n"
    case ("help", _), ("", _): return Self.monitorHelp
    default: throw TargetError("unknown monitor command '\(command)'; `monitor help` lists them")
    }
  }

  func checkpoint() throws -> CheckpointID {
    guard let place = replay.place() else { throw TargetError("the replay has ended: there is no place to remember") }
    let id = nextCheckpoint
    nextCheckpoint += 1
    checkpoints[id] = place
    return CheckpointID(id)
  }

  /// Replays again to the place; gdb learns of the move at its next stop report, so the
  /// registers it caches are flushed with `flushregs` by the user (rr's `restart` does
  /// the same through its own protocol extension).
  func restore(_ checkpoint: CheckpointID) throws {
    guard let place = checkpoints[checkpoint.rawValue] else { throw TargetError("no \(checkpoint)") }
    let result = replay.go(to: place)
    if case .failure(let error) = result, replay.place() != nil { throw TargetError("could not go to \(checkpoint): \(error)") }
    _ = settle(result)
    if let failure { throw TargetError("could not go to \(checkpoint): \(failure)") }
  }

  private static func describe(_ place: ReplayPlace) -> String {
    var text = "event \(place.eventIndex), thread \(place.tid), "
    switch place.stage {
    case .beforeEvent: text += "before the event"
    case .syscallEntry: text += "at the system call's entry"
    case .syscallReturn: text += "at the system call's return"
    case .signal: text += "as the signal is delivered"
    case .exec: text += "after the exec"
    case .threadExit: text += "at the thread's exit"
    case .processExit: text += "at the process's exit"
    case .recordingEnd: text += "at the end of the recording"
    case .code(let rip, let arrival):
      text += "pc 0x\(String(rip, radix: 16))" + (arrival.map { " (arrival \($0) since the event's code began)" } ?? "")
    }
    return text
  }

  private var exec: ExecEvent? { files.exec(of: replay.pid, before: lastEventIndex) }

  func auxiliaryVector() throws -> [UInt8] {
    guard let exec else { throw TargetError("the recording has no exec of process \(replay.pid)") }
    return exec.auxiliaryVector
  }

  func executablePath(pid: Int32?) throws -> String {
    guard let exec else { throw TargetError("the recording has no exec of process \(replay.pid)") }
    return exec.executable.originalPath
  }

  /// The saved copy of what the program mapped from `path` (or from the file it names
  /// through symbolic links: gdb asks for PT_INTERP's /lib64/ld-linux-x86-64.so.2, the
  /// program mapped /usr/lib/...); else this machine's file, for what the program never
  /// mapped (separate debug info, say).
  func hostPath(forTargetFile path: String) -> String? { files.hostPath(forRecordedFile: path) }

  func kill() {}

  /// The replayed process's /proc files at the current position: its real mappings with the
  /// recorded file names (the replay maps the trace's saved copies), the recorded command
  /// line, environment and executable of its last exec, and its working directory there
  /// (`WorkingDirectories`).
  func procFile(pid: Int32, name: String) -> ProcFile? {
    guard pid == 0 || pid == replay.pid, let exec else { return nil }
    switch name {
    case "cmdline": return .contents(Array(exec.argv.map { $0 + "\0" }.joined().utf8))
    case "environ": return .contents(Array(exec.envp.map { $0 + "\0" }.joined().utf8))
    case "exe": return .link(exec.executable.originalPath)
    case "cwd": return .link(files.workingDirectories.directory(of: replay.pid, before: lastEventIndex) ?? exec.cwd)
    case "auxv": return .contents(exec.auxiliaryVector)
    case "maps":
      guard let real = replay.realPid(), let maps = try? String(contentsOfFile: "/proc/\(real)/maps", encoding: .utf8) else { return nil }
      return .contents(Array(files.recordedMaps(maps, of: replay.pid, before: lastEventIndex).utf8))
    // (status and the rest: gdb's `info proc status` falls back on what it has)
    default: return nil
    }
  }


  static func reason(_ stop: DebugStop) -> StopReason {
    let thread = ThreadID(pid: stop.pid, tid: stop.tid)
    switch stop.kind {
    case .exited(let code): return .exited(status: UInt8(truncatingIfNeeded: code), pid: stop.pid)
    case .killed(let signal): return .killed(signal: UInt8(truncatingIfNeeded: gdbSignal(signal)), pid: stop.pid)
    case .signal(let signal, let cause):
      let gdbCause: StopReason.Cause?
      switch cause {
      case nil: gdbCause = nil
      case .softwareBreakpoint: gdbCause = .softwareBreakpoint
      case .hardwareBreakpoint: gdbCause = .hardwareBreakpoint
      case .watchpoint(let address, let access): gdbCause = .watchpoint(access ? .accessWatchpoint : .writeWatchpoint, address: address)
      case .syscallEntry(let number): gdbCause = .syscallEntry(number)
      case .syscallReturn(let number): gdbCause = .syscallReturn(number)
      case .endOfRecording: gdbCause = .historyEnd
      case .historyBegin: gdbCause = .historyBegin
      case .exec(let path): gdbCause = .exec(path: path)
      }
      return .signal(UInt8(truncatingIfNeeded: gdbSignal(signal)), thread: thread, cause: gdbCause)
    }
  }
}

/// gdb numbers signals its own way (GDB_SIGNAL_* in gdb's signals.def); on Linux x86-64
/// they agree with the kernel's up to SIGTERM but not beyond. Realtime signals have gdb
/// numbers of their own (SIG33 is 45, SIG34-SIG63 follow, SIG32 is 77, SIG64 is 78), and
/// SIGSTKFLT has none (gdb's "unknown", 143), as gdbserver reports them.
func gdbSignal(_ linux: Int32) -> Int32 {
  let table: [Int32: Int32] = [
    7: 10,  // SIGBUS
    10: 30,  // SIGUSR1
    12: 31,  // SIGUSR2
    16: 143,  // SIGSTKFLT
    17: 20,  // SIGCHLD
    18: 19,  // SIGCONT
    19: 17,  // SIGSTOP
    20: 18,  // SIGTSTP
    23: 16,  // SIGURG
    29: 23,  // SIGIO
    30: 32,  // SIGPWR
    31: 12,  // SIGSYS
    32: 77,  // SIG32
    64: 78,  // SIG64
  ]
  if (33...63).contains(linux) { return 45 + (linux - 33) }
  return table[linux] ?? linux
}

/// x87 and SSE registers from an FXSAVE image, in gdb's form (the full tag word).
private func supplyFloatingPoint(_ area: [UInt8], to file: inout RegisterFile) {
  func word(_ offset: Int, _ size: Int) -> UInt64 {
    (0..<size).reduce(0) { $0 | UInt64(area[offset + $1]) << (8 * UInt64($1)) }
  }
  let status = word(2, 2)
  file["fctrl"] = word(0, 2)
  file["fstat"] = status
  file["ftag"] = fullTagWord(abridged: UInt8(word(4, 1)), top: Int(status >> 11) & 7, area: area)
  file["fop"] = word(6, 2) & 0x7ff
  file["fioff"] = word(8, 4)
  file["fiseg"] = word(12, 2)
  file["fooff"] = word(16, 4)
  file["foseg"] = word(20, 2)
  file["mxcsr"] = word(24, 4)
  for index in 0..<8 {
    file[bytes: X86_64Register.byName["st\(index)"]!] = Array(area[(32 + 16 * index)..<(32 + 16 * index + 10)])
  }
  for index in 0..<16 {
    file[bytes: X86_64Register.byName["xmm\(index)"]!] = Array(area[(160 + 16 * index)..<(160 + 16 * index + 16)])
  }
}

/// FXSAVE keeps one bit per register (empty or not); gdb shows the x87 tag word, two bits
/// per physical register, which the register's value determines.
private func fullTagWord(abridged: UInt8, top: Int, area: [UInt8]) -> UInt64 {
  var tags: UInt64 = 0
  for physical in 0..<8 {
    var tag: UInt64 = 3  // empty
    if abridged & (1 << UInt8(physical)) != 0 {
      let offset = 32 + 16 * ((physical - top + 8) % 8)
      let exponent = (UInt16(area[offset + 9]) << 8 | UInt16(area[offset + 8])) & 0x7fff
      let integerBit = area[offset + 7] & 0x80 != 0
      let mantissaIsZero = area[offset..<(offset + 8)].allSatisfy { $0 == 0 }
      if exponent == 0x7fff {
        tag = 2  // special: infinity or NaN
      } else if exponent == 0 {
        tag = mantissaIsZero ? 1 : 2  // zero, or denormal
      } else {
        tag = integerBit ? 0 : 2  // valid, or unnormal
      }
    }
    tags |= tag << UInt64(2 * physical)
  }
  return tags
}

/// The upper halves of ymm0-15 from an XSAVE image (standard form: offset 576). When the
/// AVX state is in its initial configuration (XSTATE_BV bit 2 clear) they are zero.
private func supplyAVX(_ area: [UInt8], to file: inout RegisterFile) {
  guard area.count >= 576 + 256 else { return }
  let inUse = area[512] & 0x4 != 0
  for index in 0..<16 {
    let offset = 576 + 16 * index
    file[bytes: X86_64Register.byName["ymm\(index)h"]!] = inUse ? Array(area[offset..<(offset + 16)]) : Array(repeating: 0, count: 16)
  }
}
