import CSupport
import Glibc
import LinuxTrace
import Syscalls
import TraceFormat

/// What happened once a replay went live (`goLive`).
public struct LiveRun: Sendable {
  /// Descriptors opened again, one line each ("fd 3: /tmp/src at offset 8192").
  public var recreated: [String] = []
  /// Descriptors that could not be, and why ("fd 5: a socket: calls on it fail with EBADF").
  public var notRecreated: [String] = []
  /// Files the program created or truncated, put back to what they held at that point.
  public var restoredFiles: [String] = []
  /// Every call made live, as strace prints it, with the thread: "[1234] write(2, ...) = 52".
  public var calls: [String] = []
  public var end: End = .hung(threads: [])
  /// The trace the live part was recorded into, when it was.
  public var trace: String?
  /// Why that trace ends before the run did, when it does.
  public var traceProblem: String?

  public init() {}

  public enum End: Sendable, Equatable {
    case exited(Int32)
    /// Killed by a signal; where the first fatal signal arrived (rip and mapping).
    case killed(signal: Int32, at: String?)
    /// Still running when the time ran out: what each thread was doing.
    case hung(threads: [String])
  }
}

/// What `prepareLive` leaves: the live threads by real tid, their recorded tids, signals to
/// deliver as they go on, the process the run is about.
private struct LivePreparation {
  var live: [Int32: Tracee]
  var names: [Int32: Int32]
  var pendingSignal: [Int32: Signal]
  var mainPid: Int32?
  var run: LiveRun
}

/// A process gone live that `handOffLive` let go, for a recorder to take over.
public struct LiveProcess: Sendable {
  /// Its threads, the main one (the thread group's leader) first.
  public var threads: [LiveThread]
}

public struct LiveThread: Sendable {
  /// Its real tid.
  public var tid: Int32
  /// Its tid in the recording.
  public var recordedTid: Int32
  /// The registers to go on from.
  public var registers: Registers
  public var signalMask: UInt64
  /// Signals (numbers) to send it once taken over.
  public var pendingSignals: [Int32]
}

private let fatalSignals: Set<Int32> = [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS, SIGTRAP]

extension ReplaySession {
  /// Goes on from where replay stopped after an injection, for real: the descriptors `files`
  /// knows are opened again at their recorded paths and offsets, files the program made are
  /// put back as they were at this point, the working directory is the recorded one, and the
  /// processes run on without emulation, each call listed, until they end or `timeout`
  /// seconds pass (then they are killed: a hang). Call it on the replay's tracer thread.
  public func goLive(files: FileTable, timeout: Double) -> LiveRun {
    var going = prepareLive(files: files, recorded: false)
    follow(&going.live, names: going.names, pendingSignal: going.pendingSignal, mainPid: going.mainPid, timeout: timeout, into: &going.run)
    tasks = [:]
    return going.run
  }

  /// Whether every process left to go live still has its main thread (the thread group's
  /// leader): `handOffLive` lets go of those only.
  public var liveProcessesCanBeHandedOff: Bool {
    let live = tasks.values.filter { $0.exitedStatus == nil && !$0.isExiting }
    return Dictionary(grouping: live, by: \.realTgid).allSatisfy { pid, threads in threads.contains { $0.realTid == pid } }
  }

  /// As `goLive` up to running the processes; then, instead of following them, lets each
  /// thread go for a recorder to take over (`RecordSession.run(adopting:firstIndex:)`):
  /// parked in an injected `pause()` at a `syscall` instruction with every signal blocked,
  /// detached. Each comes with the registers to go on from: a call the program made that the
  /// recording does not have is made again, for real; a fault replay met is not delivered but
  /// met again (the faulting instruction runs again). The process `options.process` (or the
  /// root) comes first. Only where `liveProcessesCanBeHandedOff`.
  public func handOffLive(files: FileTable) -> (processes: [LiveProcess], run: LiveRun) {
    var going = prepareLive(files: files, recorded: true)
    var processes: [LiveProcess] = []
    let live = tasks.values.filter { going.live[$0.realTid] != nil }
    for (pid, threads) in Dictionary(grouping: live, by: \.realTgid).sorted(by: { $0.key < $1.key }) {
      var handed: [LiveThread] = []
      for task in threads.sorted(by: { ($0.realTid != pid ? 1 : 0, $0.realTid) < ($1.realTid != pid ? 1 : 0, $1.realTid) }) {
        guard let registers = try? currentRegisters(task), let mask = try? task.tracee.signalMask(),
          let instruction = syscallInstruction(for: task, rip: registers.rip)
        else {
          going.run.notRecreated.append("thread \(task.recordedTid): cannot be let go for recording, so its process was killed")
          handed = []
          break
        }
        var pending: [Int32] = []
        if let signal = going.pendingSignal[task.realTid] {
          let raisedHere = (try? task.tracee.signalInfo()).map { signal.isRaisedByInstruction(code: signalCode(ofSignalInfo: $0)) } ?? false
          if !raisedHere { pending.append(signal.rawValue) }
        }
        var parked = registers
        parked.rip = instruction
        parked.rax = 34  // pause
        parked.rdi = UInt64(REWIND_PARKED_PAUSE_MAGIC)
        parked.origRax = UInt64.max  // no call to restart at this stop
        do {
          try setRegisters(parked, task)
          try task.tracee.setSignalMask(~0)
          try task.tracee.detach()
        } catch {
          going.run.notRecreated.append("thread \(task.recordedTid): cannot be let go for recording (\(error)), so its process was killed")
          handed = []
          break
        }
        handed.append(LiveThread(tid: task.realTid, recordedTid: task.recordedTid, registers: registers, signalMask: mask, pendingSignals: pending))
      }
      guard handed.count == threads.count else {
        // Some threads let go, others still traced here: killed and reaped together (the
        // leader is reaped only once every other thread's exit stop has been let go on).
        Tracee.killAndReapAll(threads.map(\.tracee))
        continue
      }
      let process = LiveProcess(threads: handed)
      if threads.contains(where: { $0.realTid == going.mainPid }) { processes.insert(process, at: 0) } else { processes.append(process) }
    }
    tasks = [:]
    return (processes, going.run)
  }

  /// Settles the tasks left to go live, opens their descriptors again and puts their files
  /// back (see `goLive`).
  private func prepareLive(files: FileTable, recorded: Bool) -> LivePreparation {
    var run = LiveRun()
    var live: [Int32: Tracee] = [:]  // real tid -> tracee
    var names: [Int32: Int32] = [:]  // real tid -> recorded tid, for the listing
    var pendingSignal: [Int32: Signal] = [:]
    var mainPid: Int32?
    for task in tasks.values where task.exitedStatus == nil && !task.isExiting {
      live[task.realTid] = task.tracee
      names[task.realTid] = task.recordedTid
      if task.recordedTid == (options.process ?? rootTid) { mainPid = task.realTid }
    }
    if mainPid == nil { mainPid = unexpectedStop?.task.realTgid ?? live.keys.min() }
    if let (task, status) = unexpectedStop {
      switch status {
      case .exited(let code) where task.realTid == mainPid:
        run.end = .exited(code)
        live[task.realTid] = nil
      case .killed(let signal, _) where task.realTid == mainPid:
        run.end = .killed(signal: signal.rawValue, at: nil)
        live[task.realTid] = nil
      case .exited, .killed:
        live[task.realTid] = nil
      case .signalStop(let signal):
        pendingSignal[task.realTid] = signal
      default:
        break
      }
    }
    for task in tasks.values where live[task.realTid] != nil {
      if let signal = task.signalToDeliver { pendingSignal[task.realTid] = signal; task.signalToDeliver = nil }
      settle(task)
    }
    // Descriptors and files, once per process, through a thread stopped at a call's exit.
    var done: Set<Int32> = []
    for task in tasks.values.sorted(by: { $0.recordedTid < $1.recordedTid }) where live[task.realTid] != nil && !done.contains(task.realTgid) {
      guard (try? task.tracee.syscallStopKind()) == .exit, let instruction = syscallInstruction(for: task, rip: (try? currentRegisters(task).rip) ?? 0) else { continue }
      done.insert(task.realTgid)
      let recordedPid = task.recordedTgid
      restoreFiles(files, of: recordedPid, into: &run)
      recreateDescriptors(files, of: recordedPid, in: task, using: instruction, recorded: recorded, into: &run)
    }
    return LivePreparation(live: live, names: names, pendingSignal: pendingSignal, mainPid: mainPid, run: run)
  }

  /// Brings a task stopped at a system call entry to that call's exit stop without running
  /// anything: an emulated entry's call was skipped already; a call replay did not give
  /// (the program's first different one) is turned into no call, with rip put back on its
  /// `syscall` instruction so that the program makes it again, for real.
  private func settle(_ task: ReplayTask) {
    guard (try? task.tracee.syscallStopKind()) == .entry, var registers = try? currentRegisters(task) else { return }
    let remakesCall = !task.atEmulatedEntry
    if remakesCall {
      registers.rip -= 2
      registers.rax = registers.origRax
      registers.origRax = UInt64.max
      try? setRegisters(registers, task)
    }
    task.atEmulatedEntry = false
    try? task.tracee.resume(.syscall)
    _ = try? waitForTracee(task.realTid)
    // At the no-call's exit stop rax must hold the call's number again, whatever the
    // kernel's exit path left there.
    if remakesCall { try? setRegisters(registers, task) }
  }

  private func restoreFiles(_ files: FileTable, of pid: Int32, into run: inout LiveRun) {
    var restored: Set<String> = []
    for entry in (files.descriptors[pid] ?? [:]).values {
      guard case .file(let path, _, _, _) = entry, !restored.contains(path), let known = files.contents[path], let data = known else { continue }
      restored.insert(path)
      if let error = replaceFile(at: path, with: data) {
        run.notRecreated.append("\(path): cannot write it back as it was (\(error))")
      } else {
        run.restoredFiles.append("\(path): \(data.count) bytes, as the recording had written them by then")
      }
    }
  }

  private func recreateDescriptors(
    _ files: FileTable, of pid: Int32, in task: ReplayTask, using instruction: UInt64, recorded: Bool, into run: inout LiveRun
  ) {
    func call(_ number: Int, _ arguments: [UInt64]) -> Int64 {
      (try? injectSyscall(number, arguments, in: task, from: .syscallExit, using: instruction)) ?? -Int64(ESRCH)
    }
    // Replay runs the program with RDTSC trapping; live, time stamps are real (recorded, they
    // stay trapped: the recorder supplies and records them).
    if !recorded { _ = call(157, [26, 1]) }  // prctl(PR_SET_TSC, PR_TSC_ENABLE)
    let scratch = call(9, [0, 8192, 3, 0x22, UInt64.max, 0])  // mmap(NULL, 8192, RW, PRIVATE|ANON)
    guard scratch > 0 else { run.notRecreated.append("no descriptor: rewind could not map scratch memory in the process"); return }
    let buffer = UInt64(scratch)
    func withPath(_ path: String) -> UInt64? {
      let bytes = Array(path.utf8) + [0]
      guard bytes.count <= 8192, (try? task.tracee.writeMemory(at: buffer, bytes: bytes)) != nil else { return nil }
      return buffer
    }
    if let cwd = files.workingDirectory[pid], let address = withPath(cwd) {
      let result = call(80, [address])  // chdir
      if result < 0 { run.notRecreated.append("working directory \(cwd): \(describeResult(result))") }
    }
    let table = files.descriptors[pid] ?? [:]
    for fd in Int32(0)...2 where table[fd] == nil { _ = call(3, [UInt64(fd)]) }  // closed in the recording
    for (fd, entry) in table.sorted(by: { $0.key < $1.key }) {
      switch entry {
      case .inherited(let original, let cloexec):
        if original != fd { _ = call(292, [UInt64(original), UInt64(fd), cloexec ? UInt64(O_CLOEXEC) : 0]) }  // dup3
        run.recreated.append("fd \(fd): " + (original == 0 ? "/dev/null (replay's stdin)" : "rewind's fd \(original)"))
      case .other(let kind, _):
        run.notRecreated.append("fd \(fd): \(kind): cannot be made again; calls on it fail with EBADF")
      case .file(let path, let flags, let offset, let cloexec):
        guard let address = withPath(path) else { continue }
        let openFlags = flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC) | (cloexec ? O_CLOEXEC : 0)
        let opened = call(257, [UInt64(bitPattern: Int64(AT_FDCWD)), address, UInt64(UInt32(bitPattern: openFlags)), 0])  // openat
        guard opened >= 0 else {
          run.notRecreated.append("fd \(fd): \(path): \(describeResult(opened))")
          continue
        }
        if opened != Int64(fd) {
          _ = call(292, [UInt64(opened), UInt64(fd), cloexec ? UInt64(O_CLOEXEC) : 0])
          _ = call(3, [UInt64(opened)])
        }
        var text = "fd \(fd): \(path)"
        if let offset, offset > 0, flags & O_APPEND == 0 {
          let moved = call(8, [UInt64(fd), UInt64(offset), 0])  // lseek SEEK_SET
          text += moved == offset ? " at offset \(offset)" : " (cannot seek to \(offset): \(describeResult(moved)))"
        }
        run.recreated.append(text)
      }
    }
    _ = call(11, [buffer, 8192])  // munmap
  }

  /// Runs the live processes to their end, listing their calls.
  private func follow(
    _ live: inout [Int32: Tracee], names: [Int32: Int32], pendingSignal: [Int32: Signal], mainPid: Int32?, timeout: Double,
    into run: inout LiveRun
  ) {
    var entries: [Int32: (call: Syscall?, arguments: [UInt64])] = [:]
    var crashedAt: String?
    var newChildren: Set<Int32> = []
    let deadline = monotonicSeconds() + timeout
    for (tid, tracee) in live {
      // A fault the replay met where the recording went on (the injected call's doing) is
      // delivered as the process goes live: it is stopped where it happened now.
      if crashedAt == nil, let signal = pendingSignal[tid], fatalSignals.contains(signal.rawValue), let words = try? tracee.registerWords() {
        crashedAt = describeCrash?(tid, words) ?? place(of: Registers(words: words).rip, in: tid)
      }
      try? tracee.setOptions([.traceSysGood, .traceExit, .exitKill, .traceFork, .traceVfork, .traceClone, .traceExec])
      try? tracee.resume(.syscall, signal: pendingSignal[tid])
    }
    func label(_ tid: Int32) -> String { "[\(names[tid] ?? tid)]" }
    var idle = 0
    while !live.isEmpty {
      guard let (tid, status) = try? waitForAnyTracee(blocking: false) else {
        if monotonicSeconds() > deadline {
          run.end = .hung(threads: live.keys.sorted().map { tid in
            LiveRun.describeThread(tid, as: names[tid] ?? tid)
          })
          Tracee.killAndReapAll(Array(live.values))
          return
        }
        idle += 1
        if idle > 100 { usleep(200) }
        continue
      }
      idle = 0
      // Only the processes going live and their new children are this thread's tracees: a
      // stop of an unknown one is a new child's first, before its parent's fork event.
      let tracee = live[tid] ?? Tracee(tid: tid)
      if live[tid] == nil, status == .signalStop(.stop) {
        live[tid] = tracee
        newChildren.remove(tid)
        try? tracee.resume(.syscall)
        continue
      }
      switch status {
      case .exited(let code):
        live[tid] = nil
        if tid == mainPid { run.end = .exited(code) }
      case .killed(let signal, _):
        live[tid] = nil
        if tid == mainPid { run.end = .killed(signal: signal.rawValue, at: crashedAt) }
      case .syscallStop:
        guard let words = try? tracee.registerWords() else { continue }
        let registers = Registers(words: words)
        if let entry = entries.removeValue(forKey: tid) {
          let result = Int64(bitPattern: registers.rax)
          if let call = entry.call {
            run.calls.append("\(label(tid)) " + SyscallFormatter.format(call, arguments: entry.arguments, result: result, memory: LiveTraceeMemory(tracee: tracee)))
          }
        } else {
          let call = SyscallTable.syscall(numbered: Int(Int64(bitPattern: registers.origRax)))
          if let call, call.name == "exit" || call.name == "exit_group" {
            run.calls.append("\(label(tid)) " + SyscallFormatter.format(call, arguments: registers.syscallArguments, result: nil, memory: LiveTraceeMemory(tracee: tracee)))
          } else {
            entries[tid] = (call, registers.syscallArguments)
          }
        }
        try? tracee.resume(.syscall)
      case .event(let event):
        if [.fork, .vfork, .clone].contains(event), let message = try? tracee.eventMessage() {
          let child = Int32(truncatingIfNeeded: message)
          if live[child] == nil {
            live[child] = Tracee(tid: child)
            newChildren.insert(child)
          }
        }
        if event == .exec { entries[tid] = nil }
        try? tracee.resume(.syscall)
      case .signalStop(let signal):
        if signal == .stop && newChildren.remove(tid) != nil {
          try? tracee.resume(.syscall)  // its first stop, ours
          continue
        }
        if signal == .stop, (try? tracee.signalInfo()) == nil {
          try? tracee.resume(.syscall)  // a group-stop
          continue
        }
        run.calls.append("\(label(tid)) --- \(signal) ---")
        if fatalSignals.contains(signal.rawValue), crashedAt == nil, let words = try? tracee.registerWords() {
          crashedAt = describeCrash?(tid, words) ?? place(of: Registers(words: words).rip, in: tid)
        }
        try? tracee.resume(.syscall, signal: signal)
      }
    }
  }

  /// "rip 0x401136 in /path/prog+0x1136".
  private func place(of rip: UInt64, in tid: Int32) -> String {
    guard let mapping = (try? readMaps(of: tid))?.first(where: { $0.start <= rip && rip < $0.end }) else { return "rip \(hex(rip))" }
    return "rip \(hex(rip)) in \(mapping.name.isEmpty ? "anonymous memory" : mapping.name)+\(hex(rip - mapping.start + mapping.offset))"
  }

}

/// Live tracee memory for the strace-format listing of live calls.
struct LiveTraceeMemory: TraceeMemoryReading {
  let tracee: Tracee
  func readBytes(at address: UInt64, count: Int) throws -> [UInt8] { try tracee.readMemory(at: address, count: count) }
}

func monotonicSeconds() -> Double {
  var now = timespec()
  clock_gettime(CLOCK_MONOTONIC, &now)
  return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

extension LiveRun {
  /// "thread 1234: sleeping in the kernel, in pause": what a live thread was doing, for a
  /// hang's report. `name`: the thread's id in the recording.
  public static func describeThread(_ tid: Int32, as name: Int32) -> String {
    "thread \(name): \(SchedulingState(tid: tid).description)" + (callInProgress(of: tid).map { ", \($0)" } ?? "")
  }
}
