import TraceFormat

/// The processes of a recording, derived from its events: who forked whom and when, what
/// each ran, how each ended. `rewind ps` prints it; replaying one process uses its ancestry.
public struct ProcessTable: Sendable {
  public struct Process: Sendable, Equatable {
    public var pid: Int32
    /// nil for the recorded root.
    public var parent: Int32?
    /// The event at which the parent's fork/vfork/clone returned this pid.
    public var forkEvent: UInt64?
    /// argv of the last exec; a child that never exec'd keeps its parent's at the fork.
    public var command: [String]
    public var exit: ExitStatus?
  }

  /// In creation order, the root first.
  public private(set) var processes: [Process] = []
  private var positions: [Int32: Int] = [:]
  /// Each thread (a CLONE_THREAD clone) with the process it belongs to and the event at
  /// which it was made.
  public private(set) var threads: [Int32: (process: Int32, createdAt: UInt64)] = [:]

  public init() {}

  /// Reads the whole trace.
  public init(reader: TraceReader) throws(TraceError) {
    while let event = try reader.nextEvent() { add(event) }
  }

  public func process(_ pid: Int32) -> Process? { positions[pid].map { processes[$0] } }

  /// fork, vfork, clone and clone3 (the system call numbers of x86-64).
  static let forkCalls: Set<Int> = [56, 57, 58, 435]

  public mutating func add(_ event: TraceEvent) {
    if processes.isEmpty { insert(Process(pid: event.tid, parent: nil, forkEvent: nil, command: [], exit: nil)) }
    switch event {
    case .syscall(let e) where ProcessTable.forkCalls.contains(e.number) && e.result > 0:
      let child = Int32(truncatingIfNeeded: e.result)
      if ProcessTable.makesThread(e) {
        threads[child] = (processOf(e.tid), e.index)
      } else if positions[child] == nil {
        insert(Process(pid: child, parent: e.tid, forkEvent: e.index, command: process(e.tid)?.command ?? [], exit: nil))
      }
    case .exec(let e):
      update(processOf(e.tid)) { $0.command = e.argv }
    case .exit(let e) where threads[e.tid] == nil:
      update(e.tid) { $0.exit = e.status }
    default:
      break
    }
  }

  /// The process a task belongs to: itself, or the process of a thread.
  public func processOf(_ tid: Int32) -> Int32 { threads[tid]?.process ?? tid }

  /// The threads of process `pid` (not its main thread).
  public func threads(of pid: Int32) -> [Int32] { threads.filter { $0.value.process == pid }.map(\.key) }

  /// clone with CLONE_THREAD, or clone3 whose captured clone_args say so.
  static func makesThread(_ event: SyscallEvent) -> Bool {
    let cloneThread: UInt64 = 0x0001_0000
    if event.number == 56 { return event.entryRegisters.rdi & cloneThread != 0 }
    guard event.number == 435,
      let args = event.inputs.first(where: { $0.address == event.entryRegisters.rdi }), args.bytes.count >= 8
    else { return false }
    return args.bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) } & cloneThread != 0
  }

  /// The processes from the root down to `pid`, each with the event at which it forked the
  /// next one: replaying `pid` alone needs exactly these.
  public func ancestry(of pid: Int32) -> [(pid: Int32, forksNextAt: UInt64?)] {
    var chain: [(Int32, UInt64?)] = [(pid, nil)]
    var current = process(pid)
    while let child = current, let parent = child.parent {
      chain.insert((parent, child.forkEvent), at: 0)
      current = process(parent)
    }
    return chain
  }

  private mutating func insert(_ process: Process) {
    positions[process.pid] = processes.count
    processes.append(process)
  }

  private mutating func update(_ pid: Int32, _ change: (inout Process) -> Void) {
    if positions[pid] == nil { insert(Process(pid: pid, parent: nil, forkEvent: nil, command: [], exit: nil)) }
    change(&processes[positions[pid]!])
  }
}
