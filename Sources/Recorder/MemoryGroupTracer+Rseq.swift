import LinuxTrace
import TraceFormat

/// A thread's restartable-sequence area (rseq(2)), registered with rewind, never with the
/// kernel.
struct RseqRegistration: Sendable {
  var area: UInt64
  var length: UInt32
  var signature: UInt32
  /// The CPU number last written into the area.
  var cpu: Int32
}

/// Offsets in `struct rseq` (linux/rseq.h) and the constants of rseq(2).
private enum RseqLayout {
  static let cpuIDStart: UInt64 = 0  // u32, then cpu_id, u32
  static let criticalSection: UInt64 = 8  // u64 rseq_cs
  static let nodeID: UInt64 = 20  // u32, then mm_cid, u32
  static let originalSize: UInt32 = 32
  static let unregisterFlag: UInt64 = 1
  static let uninitializedCPU: UInt32 = 0xFFFF_FFFF  // RSEQ_CPU_ID_UNINITIALIZED, -1
}

/// Error numbers rseq(2) returns, negated as a system call returns them.
private let invalidArgument: Int64 = -22
private let permissionDenied: Int64 = -1
private let busy: Int64 = -16
private let badAddress: Int64 = -14

extension MemoryGroupTracer {
  /// rseq(2), emulated. The kernel never sees the registration: it would write the area on
  /// every return to user space and move a thread preempted inside a critical section to
  /// its abort handler, neither of which replay could see. Every process is pinned to its
  /// group's CPU, so the CPU number the kernel would write never changes while the process
  /// stays in its group: rewind writes it once here (an output of the call, which replay
  /// writes back) and again when the process moves to another group (`rseqCPUChanged`). A
  /// critical section is never interrupted where it could have been aborted: preemptions
  /// and asynchronous signals are moved past its end (`isInRseqCriticalSection`), which a
  /// run the kernel never preempted there would also have done. Arguments are checked as
  /// the kernel checks them (kernel/rseq.c). Limits: a signal the CPU raises inside a section
  /// (a fault) is delivered there, where the kernel would have moved the frame to the abort
  /// handler; node_id is 0 (one NUMA node); a program that changes its own CPU affinity
  /// keeps the number written last.
  /// Returns nil when the task's process is not pinned: then the call fails with ENOSYS, as
  /// it did before rewind emulated it, and glibc asks the kernel for the CPU instead.
  func emulateRseq(_ arguments: [UInt64], _ task: RecordedTask) -> (result: Int64, outputs: [MemoryChunk])? {
    guard let cpu else { return nil }
    let area = arguments[0]
    let length = UInt32(truncatingIfNeeded: arguments[1])
    let flags = arguments[2] & 0xFFFF_FFFF  // an int
    let signature = UInt32(truncatingIfNeeded: arguments[3])
    if flags & RseqLayout.unregisterFlag != 0 {
      guard flags == RseqLayout.unregisterFlag, let current = task.rseq, current.area == area, current.length == length else {
        return (invalidArgument, [])
      }
      guard current.signature == signature else { return (permissionDenied, []) }
      guard let outputs = writeRseqCPU(nil, area: area, task) else { return (badAddress, []) }
      task.rseq = nil
      return (0, outputs)
    }
    guard flags == 0 else { return (invalidArgument, []) }
    if let current = task.rseq {
      guard current.area == area, current.length == length else { return (invalidArgument, []) }
      return (current.signature == signature ? busy : permissionDenied, [])
    }
    guard length >= RseqLayout.originalSize, area % 32 == 0 else { return (invalidArgument, []) }
    guard let outputs = writeRseqCPU(cpu, area: area, task) else { return (badAddress, []) }
    task.rseq = RseqRegistration(area: area, length: length, signature: signature, cpu: cpu)
    return (0, outputs)
  }

  /// Writes what the kernel writes into a registered area (cpu_id_start, cpu_id, node_id,
  /// mm_cid), or, for `cpu` nil, what it writes at unregistration. One CPU, one NUMA node
  /// and one concurrency id: the process runs on one CPU.
  private func writeRseqCPU(_ cpu: Int32?, area: UInt64, _ task: RecordedTask) -> [MemoryChunk]? {
    let number = cpu.map { UInt32(bitPattern: $0) } ?? RseqLayout.uninitializedCPU
    let ids = MemoryChunk(address: area + RseqLayout.cpuIDStart, bytes: littleEndianBytes(cpu == nil ? 0 : number) + littleEndianBytes(number))
    let node = MemoryChunk(address: area + RseqLayout.nodeID, bytes: [UInt8](repeating: 0, count: 8))
    do {
      for chunk in [ids, node] { try task.tracee.writeMemory(at: chunk.address, bytes: chunk.bytes) }
    } catch {
      return nil
    }
    return [ids, node]
  }

  /// A process with a registered area moved to this group, whose CPU may be another: the
  /// kernel would have written the new number at its first return to user space.
  func rseqCPUChanged(_ task: RecordedTask) {
    guard let cpu, let registration = task.rseq, registration.cpu != cpu,
      let chunks = writeRseqCPU(cpu, area: registration.area, task)
    else { return }
    task.rseq?.cpu = cpu
    let tid = task.tid
    post(for: tid) { index in .memoryWrite(MemoryWriteEvent(index: index, tid: tid, chunks: chunks)) }
  }

  /// Says, once, that a thread stays interrupted inside a critical section: rewind could not
  /// step it out (a section longer than `rseqStepLimit`, or an instruction it cannot step),
  /// and it is not aborted as the kernel would abort it, so a section another thread (or a
  /// handler) then runs may lose its update, in the recording and in replay alike.
  func rseqSectionCutShort(_ task: RecordedTask, by what: String) {
    guard !toldOfCutShortSection else { return }
    toldOfCutShortSection = true
    printToStandardError(
      "rewind: \(what) came inside an rseq critical section of thread \(task.tid) that rewind could not step out of; "
        + "it is not aborted as the kernel would abort it")
  }

  /// Whether the thread is between the start of a registered critical section and its
  /// commit (`struct rseq_cs`: version, flags, start_ip, post_commit_offset, abort_ip).
  func isInRseqCriticalSection(_ task: RecordedTask, rip: UInt64) -> Bool {
    guard let registration = task.rseq,
      let descriptor = try? task.tracee.readWord(at: registration.area + RseqLayout.criticalSection), descriptor != 0,
      let start = try? task.tracee.readWord(at: descriptor + 8),
      let length = try? task.tracee.readWord(at: descriptor + 16)
    else { return false }
    return rip >= start && rip - start < length
  }
}
