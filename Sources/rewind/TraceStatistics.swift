import CSupport
import Foundation
import LinuxTrace
import Syscalls
import TraceFormat

/// Counts over a whole recording, for `rewind stats`.
struct TraceStatistics {
  struct CallCount {
    var calls = 0
    var errors = 0
  }
  struct ProcessCount {
    var events = 0
    var syscalls = 0
    var command: [String] = []
    var exit: ExitStatus?
  }

  var events = 0
  var eventsByKind: [String: Int] = [:]
  var syscalls: [String: CallCount] = [:]
  var signals: [String: Int] = [:]
  /// Signals not raised by the CPU for the instruction that ran: delivered at code points.
  var asynchronousSignals = 0
  var rdtscReads = 0
  /// Threads stopped at a code point so another could run.
  var preemptions = 0
  /// Code points whose signature includes memory (`CodePointMemory`).
  var codePointsWithMemory = 0
  var memoryBytesRecorded = 0
  /// System calls made through the system call buffer (no ptrace stop while recording):
  /// their `syscall` instruction is the buffer page's (`rewind_buffer_abi.h`).
  var bufferedSyscalls = 0
  var processes: [Int32: ProcessCount] = [:]
  var processOrder: [Int32] = []

  mutating func add(_ event: TraceEvent) {
    events += 1
    if processes[event.tid] == nil { processOrder.append(event.tid) }
    processes[event.tid, default: ProcessCount()].events += 1
    switch event {
    case .syscall(let e):
      eventsByKind["syscall", default: 0] += 1
      if e.entryRegisters.rip == UInt64(REWIND_BUFFERED_CALL_END) {
        bufferedSyscalls += 1
      }
      let name = SyscallTable.syscall(numbered: e.number)?.name ?? "syscall_\(e.number)"
      syscalls[name, default: CallCount()].calls += 1
      if e.result < 0 && e.result >= -4095 { syscalls[name, default: CallCount()].errors += 1 }
      processes[e.tid, default: ProcessCount()].syscalls += 1
      memoryBytesRecorded += (e.inputs + e.outputs).reduce(0) { $0 + $1.bytes.count } + (e.passedThrough?.count ?? 0)
    case .signal(let e):
      eventsByKind["signal", default: 0] += 1
      signals[Signal(rawValue: e.signal).description, default: 0] += 1
      if !Signal(rawValue: e.signal).isRaisedByInstruction(code: e.code) { asynchronousSignals += 1 }
      if !e.memory.isEmpty { codePointsWithMemory += 1 }
    case .rdtsc:
      eventsByKind["rdtsc", default: 0] += 1
      rdtscReads += 1
    case .exec(let e):
      eventsByKind["exec", default: 0] += 1
      processes[e.tid, default: ProcessCount()].command = e.argv
      memoryBytesRecorded += e.initialStack.bytes.count
    case .memoryWrite:
      eventsByKind["memoryWrite", default: 0] += 1
    case .preemption(let e):
      eventsByKind["preemption", default: 0] += 1
      preemptions += 1
      if !e.memory.isEmpty { codePointsWithMemory += 1 }
    case .exit(let e):
      eventsByKind["exit", default: 0] += 1
      processes[e.tid, default: ProcessCount()].exit = e.status
    }
  }
}

/// The total size of the regular files below `path` (each inode once).
func diskUsage(of path: String) -> UInt64 {
  var total: UInt64 = 0
  var seen: Set<UInt64> = []
  guard let walker = FileManager.default.enumerator(atPath: path) else { return 0 }
  for case let name as String in walker {
    var info = stat()
    if lstat(path + "/" + name, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, seen.insert(UInt64(info.st_ino)).inserted {
      total += UInt64(info.st_size)
    }
  }
  return total
}

/// 1.5 MiB, 320 KiB, 12 B.
func byteCount(_ bytes: UInt64) -> String {
  let units = ["B", "KiB", "MiB", "GiB", "TiB"]
  var value = Double(bytes)
  var unit = 0
  while value >= 1024 && unit < units.count - 1 {
    value /= 1024
    unit += 1
  }
  return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
}

func describe(_ status: ExitStatus?) -> String {
  switch status {
  case .exited(let code)?: "\(code)"
  case .killed(let signal, _)?: Signal(rawValue: signal).description
  case nil: "-"
  }
}
