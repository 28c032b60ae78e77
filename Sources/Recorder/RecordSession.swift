import CSupport
import Glibc
import LinuxTrace
import Syscalls
import TraceFormat

/// Records one program and every process it creates.
///
/// Processes that share no writable memory are independent except through system calls,
/// whose results are recorded, so each memory group gets its own tracer thread, pinned with
/// its tracees to one CPU (DESIGN.md, principle 5). They all append to one trace; a lock
/// gives every event its trace-wide number in the order it is written.
///
/// Not here yet: serializing the processes of one memory group (processes sharing writable
/// memory run concurrently, as they would natively, so a data race through that memory is not
/// reproduced); the seccomp filter and in-process syscall buffer fast paths.
public final class RecordSession: @unchecked Sendable {
  let options: RecordOptions
  let writer: TraceWriter
  /// rewind's own stdout and stderr: writes that reach them are echoed by replay.
  let standardOutput = FileIdentity(ofOwnFD: 1)
  let standardError = FileIdentity(ofOwnFD: 2)
  private let lock = PthreadMutex()
  private var nextIndex: UInt64 = 0
  private var live: Set<Int32> = []
  private var groupThreads: [TracerThread.Handle] = []
  private var failure: Error?
  private var rootPid: Int32 = 0
  private var rootStatus: ExitStatusOfRoot?
  private let cpus: [Int32]
  private var nextCPU = 0
  /// Real thread ids written as other ones: a run that continues a replay (`run(adopting:)`)
  /// writes its processes' events under the ids they have in the trace it continues.
  private var threadNames: [Int32: Int32] = [:]
  /// Called on a group's tracer thread at each signal's delivery stop, while the thread is
  /// stopped there: its real tid, the signal and its registers.
  public var onSignal: (@Sendable (_ tid: Int32, _ signal: Int32, _ registers: [UInt64]) -> Void)?

  public init(options: RecordOptions, writer: TraceWriter) {
    self.options = options
    self.writer = writer
    cpus = TracerThread.allowedCPUs()
  }

  /// The processes still running, for forwarding signals from another thread.
  public var liveProcesses: [Int32] { lock.withLock { Array(live) } }

  /// The number of events written so far.
  var eventCount: UInt64 { lock.withLock { nextIndex } }

  /// Writes events with consecutive trace-wide numbers. They are written under one lock
  /// because replay reads some as a unit (an execve and its exec event): another group's
  /// event between them would make the trace unreplayable.
  func write(_ events: [(UInt64) -> TraceEvent]) {
    lock.withLock {
      for make in events {
        let event = make(nextIndex)
        writer.append(threadNames[event.tid].map { event.moved(index: event.index, tid: $0) } ?? event)
        nextIndex += 1
      }
    }
  }

  func setLive(_ pid: Int32, _ isLive: Bool) {
    lock.withLock {
      if isLive { live.insert(pid) } else { live.remove(pid) }
    }
  }

  func rootEnded(_ status: ExitStatus) {
    lock.withLock {
      switch status {
      case .exited(let code): rootStatus = .exited(code)
      case .killed(let signal, _): rootStatus = .killed(signal)
      }
    }
  }

  var rootProcess: Int32 { rootPid }

  /// Records until every recorded process has exited. Must run on a tracer thread pinned to
  /// `cpu`: the root's memory group is traced on it. On an error all tracees are killed and
  /// reaped, and the trace keeps every event written before it.
  public func run(cpu: Int32?, onSpawn: @escaping (Int32) -> Void) throws -> RecordOutcome {
    let root = MemoryGroupTracer(session: self, cpu: cpu)
    rootPid = try root.spawnRoot(cpu: cpu)
    if let cpu, let index = cpus.firstIndex(of: cpu) { nextCPU = index + 1 }
    onSpawn(rootPid)
    root.traceUntilAllExit()
    // Groups started later finish when their processes do.
    while let thread = lock.withLock({ groupThreads.popLast() }) { thread.join() }
    if let failure = lock.withLock({ failure }) { throw failure }
    return RecordOutcome(
      exitStatus: lock.withLock { rootStatus } ?? .killed(SIGKILL), eventCount: eventCount,
      traceDirectory: options.traceDirectory)
  }

  /// Records processes that another tracer (a replay gone live: `rewind inject`) has let go,
  /// each parked in an injected pause() (see `MemoryGroupTracer.handOff`), as the
  /// continuation of a trace whose first `firstIndex` events the writer has already had:
  /// events are numbered on from there, and each adopted process's under its id in that
  /// trace. The first process is the root. Returns when every adopted process and every one
  /// they create has ended.
  public func run(adopting processes: [AdoptedProcess], firstIndex: UInt64) throws -> RecordOutcome {
    guard let root = processes.first else { throw RecordError.ptraceFailed(operation: "taking over no process", errno: Errno(rawValue: EINVAL)) }
    lock.withLock {
      nextIndex = firstIndex
      rootPid = root.pid
      for process in processes {
        for thread in [process.mainThread] + process.otherThreads where thread.recordedTid != thread.tid {
          threadNames[thread.tid] = thread.recordedTid
        }
      }
    }
    for process in processes {
      setLive(process.pid, true)
      let main = process.mainThread
      startGroup(
        adopting: main.tid, registers: main.registers, signalMask: main.signalMask, deferredSignals: main.pendingSignals,
        buffer: nil, rseq: nil, threads: process.otherThreads)
    }
    while let thread = lock.withLock({ groupThreads.popLast() }) { thread.join() }
    if let failure = lock.withLock({ failure }) { throw failure }
    return RecordOutcome(
      exitStatus: lock.withLock { rootStatus } ?? .killed(SIGKILL), eventCount: eventCount,
      traceDirectory: options.traceDirectory)
  }

  /// Starts a memory group for `pid`, a process a tracer has just let go parked in an
  /// injected pause() (see `MemoryGroupTracer.handOff`), on a thread of its own.
  /// `threads`: the process's other threads, let go the same way, adopted into the group too.
  func startGroup(
    adopting pid: Int32, registers: Registers, signalMask: UInt64, deferredSignals: [Signal],
    buffer: SyscallBufferCursor?, rseq: RseqRegistration?, threads: [AdoptedThread] = []
  ) {
    let cpu: Int32? = lock.withLock {
      defer { nextCPU += 1 }
      return cpus.isEmpty ? nil : cpus[nextCPU % cpus.count]
    }
    let thread = TracerThread.start(pinnedTo: cpu) { [self] in
      let group = MemoryGroupTracer(session: self, cpu: cpu)
      group.adopt(
        pid, registers: registers, signalMask: signalMask, deferredSignals: deferredSignals, buffer: buffer, rseq: rseq, starts: threads.isEmpty)
      for thread in threads {
        group.adopt(
          thread.tid, registers: thread.registers, signalMask: thread.signalMask, deferredSignals: thread.pendingSignals, buffer: nil,
          rseq: nil, threadOf: pid, starts: false)
      }
      if !threads.isEmpty { for tid in [pid] + threads.map(\.tid) { group.start(tid) } }
      group.traceUntilAllExit()
    }
    lock.withLock { groupThreads.append(thread) }
  }

  var hasFailed: Bool { lock.withLock { failure != nil } }

  /// Stops the whole recording: the first error is reported, every tracee is killed (their
  /// tracer threads then see them exit and finish).
  func abort(_ error: Error) {
    let victims: [Int32] = lock.withLock {
      if failure == nil { failure = error }
      return Array(live)
    }
    for pid in victims { kill(pid, SIGKILL) }
  }
}

/// A pthread mutex, so this module needs no Foundation.
final class PthreadMutex: @unchecked Sendable {
  private var mutex = pthread_mutex_t()
  init() { pthread_mutex_init(&mutex, nil) }
  deinit { pthread_mutex_destroy(&mutex) }
  func withLock<T>(_ body: () throws -> T) rethrows -> T {
    pthread_mutex_lock(&mutex)
    defer { pthread_mutex_unlock(&mutex) }
    return try body()
  }
}

/// Reads live tracee memory for the system call table.
struct LiveMemory: TraceeMemoryReading {
  let tracee: Tracee
  func readBytes(at address: UInt64, count: Int) throws -> [UInt8] {
    try tracee.readMemory(at: address, count: count)
  }
}

/// A process another tracer let go for `RecordSession.run(adopting:firstIndex:)`: each of its
/// threads parked in an injected `pause()` with every signal blocked, detached.
public struct AdoptedProcess: Sendable {
  /// Its main thread (the thread group's leader) first.
  public var mainThread: AdoptedThread
  public var otherThreads: [AdoptedThread]
  /// Its real pid.
  public var pid: Int32 { mainThread.tid }

  public init(mainThread: AdoptedThread, otherThreads: [AdoptedThread]) {
    self.mainThread = mainThread
    self.otherThreads = otherThreads
  }
}

public struct AdoptedThread: Sendable {
  /// Its real tid.
  public var tid: Int32
  /// Its id in the trace the recording continues.
  public var recordedTid: Int32
  /// The registers to go on from (the pause is interrupted and these put back).
  public var registers: Registers
  public var signalMask: UInt64
  /// Signals to send it once taken over (they were about to be delivered).
  public var pendingSignals: [Signal]

  public init(tid: Int32, recordedTid: Int32, registers: Registers, signalMask: UInt64, pendingSignals: [Signal]) {
    self.tid = tid
    self.recordedTid = recordedTid
    self.registers = registers
    self.signalMask = signalMask
    self.pendingSignals = pendingSignals
  }
}
