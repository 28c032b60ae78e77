import CSupport
import Foundation
import Glibc
import LinuxTrace
import Symbols

/// How `rewind watch` reports and when it stops.
public struct WatchOptions: Sendable {
  /// Frames per backtrace.
  public var depth = 16
  /// Hits in these functions (the accessing function or one inlined into it) are not reported.
  public var ignoredFunctions: Set<String> = []
  /// Only accesses that change the value.
  public var changesOnly = false
  /// Detach after this many reported hits.
  public var maxHits: Int?
  /// Watch children forked after attaching too (same addresses: a fork copies the layout).
  public var followForks = false
  /// Detach after this many seconds.
  public var duration: Double?
  public var json = false
  /// Attached: put the in-program API's filter into the process (it stays after rewind
  /// detaches). A launched program always gets it, before its exec.
  public var serveAPIWhenAttached = false
  public init() {}
}

/// What the watcher runs on.
public enum WatchTarget: Sendable {
  case attach(pid: Int32)
  case launch(path: String, arguments: [String], environment: [String])
}

/// Resolves the user's watch requests in a process whose image is in place (at attach, or
/// at the launched program's exec): symbols and expressions through its symbolizer.
public typealias WatchResolver = (Symbolizer) throws -> [WatchRange]

public struct WatchError: Error, CustomStringConvertible {
  public var description: String
  /// Exit status for rewind (64: bad request, 1: cannot attach or run).
  public var status: Int32
  public init(_ description: String, status: Int32 = 1) {
    self.description = description
    self.status = status
  }
}

/// How a watch ended.
public struct WatchOutcome: Sendable {
  public var hits: Int
  /// Why it ended, for a person.
  public var reason: String
  /// The launched program's exit status (128+N when killed by signal N); nil when attached
  /// or still running.
  public var programStatus: Int32?
}

/// Hardware watchpoints in a live program through ptrace and the x86 debug registers, a
/// report (with a backtrace) for every access, the program never stopped for a person.
///
/// Every thread of the watched processes carries the same debug registers: those present
/// when attaching, those created since (PTRACE_O_TRACECLONE; the kernel gives a new thread
/// none), and forked children with `followForks`. All ptrace calls come from the thread that
/// calls `run`. Detaching (the program ended, ^C/SIGTERM/SIGHUP, `duration`, `maxHits`)
/// clears every debug register of every thread first, so no stale watch can trap a program
/// that runs on untraced.
public final class LiveWatcher {
  final class WatchedThread {
    let tracee: Tracee
    var pid: Int32
    /// In a ptrace stop we hold (not yet resumed).
    var stopped = false
    /// The plan generation its debug registers carry (-1: none yet).
    var armed = -1
    var interruptSent = false
    /// A signal it stopped for that detaching must deliver.
    var pendingSignal: Int32 = 0
    init(tid: Int32, pid: Int32) {
      tracee = Tracee(tid: tid)
      self.pid = pid
    }
  }

  final class WatchedProcess {
    let pid: Int32
    var plan = DebugRegisterPlan()
    var generation = 0
    /// The last value seen of each of `plan.ranges`.
    var shadow: [[UInt8]] = []
    var symbolizer: Symbolizer?
    /// Launched and not yet at its exec: nothing resolved.
    var awaitingExec = false
    /// Exec'd, its thread on the way to `main` (an execute breakpoint in DR0): the loader
    /// has not yet relocated pointers or mapped libraries, so nothing is resolved before.
    var awaitingMain = false
    init(pid: Int32) { self.pid = pid }
  }

  private let options: WatchOptions
  private let resolve: WatchResolver
  private let emit: (String) -> Void
  private var threads: [Int32: WatchedThread] = [:]
  private var processes: [Int32: WatchedProcess] = [:]
  private var hits = 0
  private var launchedPid: Int32?
  private var programStatus: Int32?
  private static let wakeSignal = SIGUSR2

  /// Told of every watched process, and of the end, when a guardian runs.
  private let guardian: GuardianLink?

  public init(options: WatchOptions, resolve: @escaping WatchResolver, emit: @escaping (String) -> Void, guardian: GuardianLink? = nil) {
    self.guardian = guardian
    self.options = options
    self.resolve = resolve
    self.emit = emit
  }

  private var traceOptions: Tracee.Options {
    var set: Tracee.Options = [.traceSysGood, .traceClone, .traceExec, .traceSeccomp]
    if options.followForks { set.formUnion([.traceFork, .traceVfork]) }
    return set
  }

  // MARK: Starting

  /// Attaches or launches, then reports until the end; detaches before returning.
  /// Told what is watched once it is (at attach, or when a launched program reaches main).
  private var started: (String) -> Void = { _ in }

  public func run(_ target: WatchTarget, started: @escaping (String) -> Void) throws(WatchError) -> WatchOutcome {
    self.started = started
    rewind_watch_install_stop_signals()
    _ = rewind_watch_start_waker(Self.wakeSignal, options.duration ?? 0)
    switch target {
    case .attach(let pid): try attach(pid)
    case .launch(let path, let arguments, let environment):
      try launch(path: path, arguments: arguments, environment: environment)
    }
    let reason = loop()
    if let failure {
      // What to watch could not be found in the program started for it: it goes, having
      // run no further than main.
      if let launchedPid { Tracee.killAndReapAll(threads.values.filter { $0.pid == launchedPid }.map(\.tracee)) }
      threads = threads.filter { $0.value.pid != launchedPid }
      detachAll()
      throw failure
    }
    detachAll()
    return WatchOutcome(hits: hits, reason: reason, programStatus: programStatus)
  }

  private func attach(_ pid: Int32) throws(WatchError) {
    guard pid > 0, kill(pid, 0) == 0 || errno == EPERM else {
      throw WatchError("no process \(pid) (see `ps`); give the pid of a running program", status: 64)
    }
    if let tgid = procStatusField("Tgid", of: pid), tgid != Int(pid) {
      throw WatchError("\(pid) is a thread of process \(tgid): give the process's pid (all its threads are watched)", status: 64)
    }
    let process = WatchedProcess(pid: pid)
    do {
      let symbolizer = try Symbolizer(pid: pid)
      process.symbolizer = symbolizer
      for range in try resolve(symbolizer) { try process.plan.add(range) }
    } catch let error as WatchError {
      throw error
    } catch {
      throw WatchError("\(error)", status: 64)
    }
    processes[pid] = process
    guardian?.watching(pid)
    // Seize every thread; threads made meanwhile are caught by TRACECLONE or the next pass.
    var seen = Set<Int32>()
    while true {
      let tids = Self.threadIDs(of: pid).filter { !seen.contains($0) }
      if tids.isEmpty { break }
      for tid in tids {
        seen.insert(tid)
        do {
          try Tracee.seize(tid, options: traceOptions)
        } catch {
          if error.rawValue == ESRCH { continue }  // the thread ended meanwhile
          detachAll()
          throw Self.attachError(pid, error)
        }
        let thread = WatchedThread(tid: tid, pid: pid)
        threads[tid] = thread
        try? thread.tracee.interrupt()
        thread.interruptSent = true
      }
    }
    guard !threads.isEmpty else { throw WatchError("process \(pid) ended before rewind could attach") }
    if options.serveAPIWhenAttached, let leader = threads[pid] { installFilter(in: process, through: leader) }
    process.shadow = process.plan.ranges.map { read(pid, $0) }
    started(describe(process, verb: "watching"))
  }

  /// Installs the API's filter through the main thread, at the stop its attach asked for,
  /// before anything is announced: a rewind killed while the call is injected would leave
  /// the thread running on the injected registers, so that moment is kept short and first.
  private func installFilter(in process: WatchedProcess, through leader: WatchedThread) {
    var signals: [Int32] = []
    while true {
      var status: Int32 = 0
      let r = waitpid(leader.tracee.tid, &status, Int32(bitPattern: 0x4000_0000))
      if r == -1 && errno == EINTR { continue }
      guard r == leader.tracee.tid else { return }
      switch WaitStatus(raw: status) {
      case .event(.stop):
        break
      case .signalStop(let signal):
        signals.append(signal.rawValue)  // sent again once it runs
        _ = rewind_ptrace(7, leader.tracee.tid, 0, 0)
        continue
      case .exited, .killed:
        threads[leader.tracee.tid] = nil
        return
      default:
        _ = rewind_ptrace(7, leader.tracee.tid, 0, 0)
        continue
      }
      break
    }
    leader.interruptSent = false
    leader.stopped = true
    if let why = FilterInjection.install(in: leader.tracee, pid: process.pid) {
      printToStandardError("rewind: the in-program API (rewind/watch.h) is not served in process \(process.pid): \(why)")
    }
    arm(leader)
    resume(leader, signal: 0)
    for signal in signals { _ = sendSignal(Signal(rawValue: signal), toThread: leader.tracee.tid, ofProcess: process.pid) }
  }

  static func attachError(_ pid: Int32, _ error: Errno) -> WatchError {
    guard error.rawValue == EPERM else { return WatchError("cannot attach to process \(pid): \(error)") }
    if let tracer = procStatusField("TracerPid", of: pid), tracer != 0 {
      let name = (try? readProcFile("/proc/\(tracer)/comm"))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
      return WatchError(
        "process \(pid) is already traced by process \(tracer) (\(name)): a debugger, strace or another rewind; only one tracer at a time, so detach that one first")
    }
    let yama = (try? readProcFile("/proc/sys/kernel/yama/ptrace_scope"))?.trimmingCharacters(in: .whitespacesAndNewlines)
    let remedy =
      yama.map { "run rewind as root, or as the program's user with /proc/sys/kernel/yama/ptrace_scope at 0 (it is \($0))" }
      ?? "run rewind as root or as the program's user (CAP_SYS_PTRACE for another user's)"
    return WatchError("ptrace is not permitted on process \(pid) (EPERM): \(remedy); `rewind doctor` says what this machine allows")
  }

  private func launch(path: String, arguments: [String], environment: [String]) throws(WatchError) {
    let errorPipe: (read: Int32, write: Int32)
    let goPipe: (read: Int32, write: Int32)
    do {
      errorPipe = try makeCloseOnExecPipe()
      goPipe = try makeCloseOnExecPipe()
    } catch {
      throw WatchError("cannot make a pipe: \(error)")
    }
    let child = withCStringArray(arguments) { argv in
      withCStringArray(environment) { envp in rewind_spawn_waiting(path, argv, envp, 1, goPipe.read, errorPipe.write) }
    }
    close(errorPipe.write)
    close(goPipe.read)
    defer { close(goPipe.write) }
    guard child > 0 else {
      close(errorPipe.read)
      throw WatchError("cannot start \(path): \(Errno(rawValue: -child))")
    }
    do { try Tracee.seize(child, options: traceOptions) } catch {
      kill(child, SIGKILL)
      var status: Int32 = 0
      waitpid(child, &status, 0)
      close(errorPipe.read)
      throw Self.attachError(child, error)
    }
    launchedPid = child
    guardian?.watching(child)
    launchErrorPipe = errorPipe.read
    let process = WatchedProcess(pid: child)
    process.awaitingExec = true
    processes[child] = process
    threads[child] = WatchedThread(tid: child, pid: child)
    var go: UInt8 = 1
    _ = write(goPipe.write, &go, 1)
  }

  private var launchErrorPipe: Int32 = -1

  static func threadIDs(of pid: Int32) -> [Int32] {
    guard let directory = opendir("/proc/\(pid)/task") else { return [] }
    defer { closedir(directory) }
    var result: [Int32] = []
    while let entry = readdir(directory) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
      if let tid = Int32(name) { result.append(tid) }
    }
    return result.sorted()
  }

  private func describe(_ process: WatchedProcess, verb: String) -> String {
    let ranges = process.plan.ranges.map { "\($0.label) (\(hex($0.address)), \($0.length) byte\($0.length == 1 ? "" : "s"), \($0.access.rawValue))" }
    let count = threads.values.filter { $0.pid == process.pid }.count
    let what = ranges.isEmpty ? "nothing yet (the program may ask through rewind/watch.h)" : ranges.joined(separator: ", ")
    return "rewind: \(verb) \(what) in process \(process.pid), \(count) thread\(count == 1 ? "" : "s")"
  }

  // MARK: The loop

  /// Why watching cannot go on (the launched program's watch could not be resolved).
  private var failure: WatchError?

  private func stopRequested() -> String? {
    if let failure { return failure.description }
    let signal = rewind_watch_stop_signal()
    if signal != 0 { return "stopped by \(Signal(rawValue: signal))" }
    if rewind_watch_deadline_passed() != 0 { return "the --duration passed" }
    return nil
  }

  private func loop() -> String {
    while true {
      if let reason = stopRequested() { return reason }
      if let maxHits = options.maxHits, hits >= maxHits { return "\(maxHits) hit\(maxHits == 1 ? "" : "s") reported (--max-hits)" }
      if threads.isEmpty {
        if let launchedPid, processes[launchedPid] == nil, let programStatus {
          return programStatus > 128 ? "the program was killed by \(Signal(rawValue: programStatus - 128))" : "the program exited with status \(programStatus)"
        }
        return "no watched process is left"
      }
      var status: Int32 = 0
      // Just after a hit, more may come soon (a watched loop): asking without sleeping
      // spares the sleep and the wake-up between CPUs, the dearest part of a hit here.
      let spinning = monotonicSeconds() < spinUntil
      let tid = waitpid(-1, &status, Int32(bitPattern: 0x4000_0000) | (spinning ? WNOHANG : 0))
      if tid == 0 { continue }
      if tid == -1 {
        if errno == EINTR { continue }
        return "no watched process is left"
      }
      handle(tid, status)
    }
  }

  private func handle(_ tid: Int32, _ status: Int32) {
    guard let thread = threads[tid] ?? adopt(tid) else {
      return  // a child not traced any more (reaped late)
    }
    let decoded = WaitStatus(raw: status)
    switch decoded {
    case .exited(let code):
      ended(thread, status: code)
      return
    case .killed(let signal, _):
      ended(thread, status: 128 + signal.rawValue)
      return
    default:
      break
    }
    thread.stopped = true
    var deliver: Int32 = 0
    switch decoded {
    case .event(.stop):
      thread.interruptSent = false
      let stopSignal = (status >> 8) & 0xff
      if [SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU].contains(stopSignal) {
        // A group-stop: stay stopped as the program would, still traced.
        arm(thread)
        listen(thread)
        return
      }
    case .event(.clone), .event(.fork), .event(.vfork):
      if let message = try? thread.tracee.eventMessage() { _ = adopt(Int32(truncatingIfNeeded: message), parent: thread) }
    case .event(.exec):
      execed(thread)
      if threads[tid] == nil { return }
    case .event(.seccomp):
      serveAPI(thread)
    case .signalStop(let signal):
      if signal == .trap && hardwareTrap(thread) { break }
      deliver = signal.rawValue
    default:
      break
    }
    arm(thread)
    resume(thread, signal: deliver)
  }

  private func resume(_ thread: WatchedThread, signal: Int32) {
    do { try thread.tracee.resume(.continue, signal: signal == 0 ? nil : Signal(rawValue: signal)) } catch {
      // ESRCH: killed meanwhile; its exit comes next.
    }
    thread.stopped = false
  }

  private func listen(_ thread: WatchedThread) {
    _ = rewind_ptrace(0x4208, thread.tracee.tid, 0, 0)  // PTRACE_LISTEN
    thread.stopped = false
  }

  /// A tracee we have not seen: a new thread or child reporting before its creator's event.
  @discardableResult
  private func adopt(_ tid: Int32, parent: WatchedThread? = nil) -> WatchedThread? {
    if let known = threads[tid] { return known }
    guard let tgid = procStatusField("Tgid", of: tid).map(Int32.init) else { return nil }
    let thread = WatchedThread(tid: tid, pid: tgid)
    threads[tid] = thread
    if processes[tgid] == nil {
      // A new process: a fork (followed) copies its parent's layout and watches.
      let source = parent.flatMap { processes[$0.pid] } ?? processes[procStatusField("PPid", of: tid).map(Int32.init) ?? 0]
      let process = WatchedProcess(pid: tgid)
      if options.followForks, let source {
        process.plan = source.plan
        process.shadow = source.shadow
        process.generation = source.generation
      }
      processes[tgid] = process
      guardian?.watching(tgid)
    }
    return thread
  }

  private func ended(_ thread: WatchedThread, status: Int32) {
    threads[thread.tracee.tid] = nil
    let pid = thread.pid
    if thread.tracee.tid == pid {
      if pid == launchedPid {
        programStatus = status
        if status == 127 || status == 126, launchErrorPipe >= 0 {
          var code: Int32 = 0
          if Glibc.read(launchErrorPipe, &code, 4) == 4 {
            emit("rewind: cannot run the program: \(Errno(rawValue: code))\n")
          }
        }
      }
    }
    if !threads.values.contains(where: { $0.pid == pid }) { processes[pid] = nil }
  }

  private func execed(_ thread: WatchedThread) {
    // The kernel moved the exec'ing thread to the pid and cleared its debug registers.
    let pid = thread.pid
    thread.tracee.addressSpaceReplaced()
    for other in threads.values where other.pid == pid && other !== thread { threads[other.tracee.tid] = nil }
    if thread.tracee.tid != pid {
      threads[thread.tracee.tid] = nil
      let moved = WatchedThread(tid: pid, pid: pid)
      moved.stopped = true
      threads[pid] = moved
    }
    guard let process = processes[pid] else { return }
    let current = threads[pid]!
    current.armed = -1
    if process.awaitingExec {
      process.awaitingExec = false
      if let main = (try? Symbolizer(pid: pid))?.symbol(named: "main"), main.kind == .function {
        do {
          try current.tracee.setDebugRegister(7, to: 0)
          try current.tracee.setDebugRegister(0, to: main.address)
          try current.tracee.setDebugRegister(7, to: 1)  // L0, execute (R/W 00, LEN 00)
          process.awaitingMain = true
          return
        } catch {
          // Then here: only pointers an --expr follows may not be relocated yet.
        }
      }
      resolveAtStart(process)
      return
    }
    // Another program now: its addresses mean something else.
    emit("rewind: process \(pid) ran another program (\(readLink("/proc/\(pid)/exe") ?? "?")): its watches are dropped\n")
    clear(current)
    try? current.tracee.detach()
    threads[pid] = nil
    processes[pid] = nil
  }

  /// Resolves what to watch in a launched program (at `main`, or its exec when there is no
  /// `main`); its thread then takes the watches where it stopped.
  private func resolveAtStart(_ process: WatchedProcess) {
    process.awaitingMain = false
    do {
      let symbolizer = try Symbolizer(pid: process.pid)
      process.symbolizer = symbolizer
      for range in try resolve(symbolizer) { try process.plan.add(range) }
    } catch let error as WatchError {
      failure = error
      return
    } catch {
      failure = WatchError("\(error)", status: 64)
      return
    }
    process.generation += 1
    process.shadow = process.plan.ranges.map { read(process.pid, $0) }
    started(describe(process, verb: "watching"))
  }

  // MARK: Debug registers

  /// Gives a stopped thread its process's debug registers, when they changed.
  private func arm(_ thread: WatchedThread) {
    guard let process = processes[thread.pid], thread.armed != process.generation, !process.awaitingExec, !process.awaitingMain
    else { return }
    do {
      try thread.tracee.setDebugRegister(7, to: 0)
      for (i, slot) in process.plan.slots.enumerated() {
        try thread.tracee.setDebugRegister(i, to: slot?.address ?? 0)
      }
      try thread.tracee.setDebugRegister(6, to: 0)
      try thread.tracee.setDebugRegister(7, to: process.plan.control)
      thread.armed = process.generation
    } catch {
      emit("rewind: cannot set the debug registers of thread \(thread.tracee.tid): \(error)\n")
    }
  }

  private func clear(_ thread: WatchedThread) {
    thread.tracee.clearDebugRegisters()
    thread.armed = -1
  }

  /// The process's plan changed: every other thread is stopped to take it.
  private func rearmOthers(of thread: WatchedThread) {
    for other in threads.values where other.pid == thread.pid && other !== thread && !other.stopped && !other.interruptSent {
      try? other.tracee.interrupt()
      other.interruptSent = true
    }
  }

  private func read(_ pid: Int32, _ range: WatchRange) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: range.length)
    let got = bytes.withUnsafeMutableBytes { rewind_process_vm_readv(pid, $0.baseAddress, range.length, UInt(range.address)) }
    return got == range.length ? bytes : []
  }

  // MARK: Hits

  /// A SIGTRAP from a debug register: reports it; false when the trap is the program's own.
  private func hardwareTrap(_ thread: WatchedThread) -> Bool {
    guard let info = try? thread.tracee.signalInfo() else { return false }
    guard signalCode(ofSignalInfo: info) == 4,  // TRAP_HWBKPT
      let status = try? thread.tracee.debugRegister(6), status & 0xf != 0,
      let process = processes[thread.pid]
    else { return false }
    try? thread.tracee.setDebugRegister(6, to: 0)
    spinUntil = monotonicSeconds() + Self.spinAfterHit
    if process.awaitingMain {
      clear(thread)
      resolveAtStart(process)
      return true
    }
    let registers = (try? thread.tracee.registerWords()) ?? []
    var reported = Set<Int>()
    for (i, slot) in process.plan.slots.enumerated() where status & (1 << UInt64(i)) != 0 {
      guard let slot, reported.insert(slot.range).inserted else { continue }
      report(process, thread, rangeIndex: slot.range, registers: registers)
    }
    return true
  }

  /// Until when the loop polls for the next stop rather than sleeping in waitpid.
  private var spinUntil: Double = 0
  static let spinAfterHit = 0.001

  private func report(_ process: WatchedProcess, _ thread: WatchedThread, rangeIndex: Int, registers: [UInt64]) {
    let range = process.plan.ranges[rangeIndex]
    let old = process.shadow[rangeIndex]
    let new = read(process.pid, range)
    process.shadow[rangeIndex] = new
    if options.changesOnly && old == new { return }
    let location = locate(process, thread, registers: registers)
    if location.isIn(options.ignoredFunctions) { return }
    if let maxHits = options.maxHits, hits >= maxHits { return }
    hits += 1
    let access: WatchAccess = range.access == .write || old != new ? .write : .readOrWrite
    let hit = WatchReport(
      kind: .hit, time: .now(), pid: process.pid, tid: thread.tracee.tid, range: range, access: access,
      pc: location.pc, old: old, new: new, backtrace: location.frames)
    emit(options.json ? hit.json : hit.text)
  }

  private func locate(_ process: WatchedProcess, _ thread: WatchedThread, registers: [UInt64]) -> HitLocation {
    if process.symbolizer == nil { process.symbolizer = try? Symbolizer(pid: process.pid) }
    guard let symbolizer = process.symbolizer, registers.count >= 27 else {
      return HitLocation(pc: registers.count > 16 ? registers[16] : 0, frames: [])
    }
    return HitLocation(
      symbolizer: symbolizer, tid: thread.tracee.tid, registers: registers, depth: options.depth,
      read: { try? thread.tracee.readMemory(at: $0, count: $1) }, refresh: { symbolizer.refresh() })
  }

  // MARK: The in-program API (rewind/watch.h)

  private func serveAPI(_ thread: WatchedThread) {
    guard var registers = try? thread.tracee.registerWords(), let process = processes[thread.pid] else { return }
    // user_regs_struct: rdi 14, rsi 13, rdx 12, r10 7, rax 10, orig_rax 15.
    let (operation, address, length, kind) = (registers[14], registers[13], Int(truncatingIfNeeded: registers[12]), registers[7])
    var result: Int64 = 0
    switch operation {
    case 1:
      if length < 1 || length > 32 || (kind != 1 && kind != 3) {
        result = -Int64(EINVAL)
      } else {
        if process.symbolizer == nil { process.symbolizer = try? Symbolizer(pid: process.pid) }
        let range = WatchRange(
          address: address, length: length, access: kind == 1 ? .write : .readOrWrite,
          label: process.symbolizer?.name(of: address) ?? hex(address))
        do {
          try process.plan.add(range)
          process.generation += 1
          process.shadow.append(read(process.pid, range))
          let setter = locate(process, thread, registers: registers)
          let set = WatchReport(
            kind: .set, time: .now(), pid: process.pid, tid: thread.tracee.tid, range: range, access: range.access,
            pc: setter.pc, old: [], new: process.shadow.last ?? [], backtrace: setter.frames)
          emit(options.json ? set.json : set.text)
        } catch {
          result = -Int64(ENOSPC)
        }
      }
    case 2:
      if let index = process.plan.ranges.firstIndex(where: { $0.address == address }) {
        let range = process.plan.ranges[index]
        _ = process.plan.remove(startingAt: address)
        process.shadow.remove(at: index)
        process.generation += 1
        let cleared = WatchReport(
          kind: .cleared, time: .now(), pid: process.pid, tid: thread.tracee.tid, range: range, access: range.access,
          pc: registers[16], old: [], new: [], backtrace: [])
        emit(options.json ? cleared.json : cleared.text)
      } else {
        result = -Int64(ENOENT)
      }
    default:
      result = -Int64(EINVAL)
    }
    registers[15] = UInt64.max  // orig_rax -1: the call is skipped, rax is its result
    registers[10] = UInt64(bitPattern: result)
    try? thread.tracee.setRegisterWords(registers)
    rearmOthers(of: thread)
  }

  // MARK: Detaching

  /// Stops every thread, clears its debug registers and detaches it, delivering any
  /// signal it stopped for; a launched program runs on (or had ended).
  private func detachAll() {
    for thread in threads.values where !thread.stopped {
      try? thread.tracee.interrupt()
      thread.interruptSent = true
    }
    var patience = 0
    while threads.values.contains(where: { !$0.stopped }) {
      var status: Int32 = 0
      let tid = waitpid(-1, &status, Int32(bitPattern: 0x4000_0000) | WNOHANG)
      if tid == 0 {
        // Interrupts take effect at once; a thread that never reports is dead or gone.
        patience += 1
        if patience > 2000 { break }
        usleep(1000)
        continue
      }
      if tid == -1 {
        if errno == EINTR { continue }
        break
      }
      guard let thread = threads[tid] ?? adopt(tid) else { continue }
      switch WaitStatus(raw: status) {
      case .exited, .killed:
        threads[tid] = nil
        continue
      case .signalStop(let signal):
        if signal == .trap, let info = try? thread.tracee.signalInfo(),
          signalCode(ofSignalInfo: info) == 4
        {
          break  // a watch hit while detaching: dropped
        }
        thread.pendingSignal = signal.rawValue
      case .event(.clone), .event(.fork), .event(.vfork):
        if let message = try? thread.tracee.eventMessage() {
          let child = adopt(Int32(truncatingIfNeeded: message), parent: thread)
          if let child, !child.stopped { child.interruptSent = true }
        }
      case .event(.seccomp):
        // The API call finds no tracer: as outside rewind.
        if var registers = try? thread.tracee.registerWords() {
          registers[15] = UInt64.max
          registers[10] = UInt64(bitPattern: -Int64(ENOSYS))
          try? thread.tracee.setRegisterWords(registers)
        }
      default:
        break
      }
      thread.stopped = true
    }
    for thread in threads.values {
      clear(thread)
      _ = rewind_ptrace(17, thread.tracee.tid, 0, UInt(thread.pendingSignal))  // PTRACE_DETACH
    }
    threads.removeAll()
    guardian?.detached()
    if launchErrorPipe >= 0 { close(launchErrorPipe) }
    launchErrorPipe = -1
  }
}
