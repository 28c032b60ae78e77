import Foundation
import LinuxTrace
import Syscalls
import TraceFormat

/// How `rewind dump` prints one event: what strace would print for it, prefixed by the
/// trace-wide event number and the pid (`1234 [14350] read(3, "GET /"..., 4096) = 78`).
enum EventLine {
  static func text(_ event: TraceEvent, stringLimit: Int, verbose: Bool = false) -> String {
    "\(event.index) [\(event.tid)] " + body(event, stringLimit: stringLimit, verbose: verbose)
  }

  /// The line `strace -f -o FILE` would write (`PID  call(...) = result`), or nil for events
  /// strace has no line for (RDTSC, the exec marker), so that strace log parsers read it.
  static func straceText(_ event: TraceEvent, stringLimit: Int, verbose: Bool = false) -> String? {
    switch event {
    case .rdtsc, .exec, .preemption, .memoryWrite: return nil
    default: return "\(event.tid)  " + body(event, stringLimit: stringLimit, verbose: verbose, strace: true)
    }
  }

  /// `strace`: a signal's line without the instruction it arrived at, which strace does not
  /// print (log parsers expect its `--- SIG {...} ---` alone).
  static func body(_ event: TraceEvent, stringLimit: Int, verbose: Bool = false, strace: Bool = false) -> String {
    switch event {
    case .syscall(let e):
      guard let call = SyscallTable.syscall(numbered: e.number) else {
        return "syscall_\(e.number)(\(e.entryRegisters.syscallArguments.map { hex($0) }.joined(separator: ", "))) = \(e.result)"
      }
      let memory = MemorySnapshot(chunks: (e.inputs + e.outputs).map { ($0.address, $0.bytes) })
      let hasNoReturn = call.name == "exit" || call.name == "exit_group" || e.isUnfinished
      let line = SyscallFormatter.format(
        call, arguments: e.entryRegisters.syscallArguments, result: hasNoReturn ? nil : e.result, memory: memory,
        stringLimit: stringLimit, verbose: verbose, stackPointer: e.entryRegisters.rsp,
        entryMemory: MemorySnapshot(chunks: e.inputs.map { ($0.address, $0.bytes) }))
      return e.injected ? line + " (INJECTED)" : line
    case .signal(let e):
      let signal = Signal(rawValue: e.signal)
      return "--- \(signal) \(SyscallFormatter.siginfo(e.siginfo)) ---" + (strace ? "" : " (rip \(hex(e.registers.rip)))")
    case .rdtsc(let e):
      return "\(e.isRdtscp ? "rdtscp" : "rdtsc") = \(e.value)\(e.isRdtscp ? " aux=\(e.aux)" : "") (rip \(hex(e.rip)))"
    case .exec(let e):
      return "+++ exec \(e.executable.originalPath) [\(e.argv.map { "\"\($0)\"" }.joined(separator: ", "))] (\(e.mappings.count) mappings) +++"
    case .preemption(let e):
      return "--- preempted at rip \(hex(e.registers.rip)) ---"
    case .memoryWrite(let e):
      return "--- its blocking call's writes land here: " + e.chunks.map { "\($0.bytes.count) bytes at \(hex($0.address))" }.joined(separator: ", ") + " ---"
    case .exit(let e):
      switch e.status {
      case .exited(let code): return "+++ exited with \(code) +++"
      case .killed(let signal, let core): return "+++ killed by \(Signal(rawValue: signal))\(core ? " (core dumped)" : "") +++"
      }
    }
  }

  /// The same event as one JSON object.
  static func json(_ event: TraceEvent, stringLimit: Int, verbose: Bool = false) -> String {
    var object: [String: Any] = ["event": event.index, "pid": event.tid, "text": body(event, stringLimit: stringLimit, verbose: verbose)]
    switch event {
    case .syscall(let e):
      object["kind"] = "syscall"
      object["syscall"] = SyscallTable.syscall(numbered: e.number)?.name ?? "syscall_\(e.number)"
      object["number"] = e.number
      object["args"] = e.entryRegisters.syscallArguments
      object["result"] = e.result
      if e.injected { object["injected"] = true }
    case .signal(let e):
      object["kind"] = "signal"
      object["signal"] = Signal(rawValue: e.signal).description
      object["code"] = e.code
    case .rdtsc(let e):
      object["kind"] = e.isRdtscp ? "rdtscp" : "rdtsc"
      object["value"] = e.value
    case .exec(let e):
      object["kind"] = "exec"
      object["executable"] = e.executable.originalPath
      object["argv"] = e.argv
    case .memoryWrite(let e):
      object["kind"] = "memoryWrite"
      object["bytes"] = e.chunks.reduce(0) { $0 + $1.bytes.count }
    case .preemption(let e):
      object["kind"] = "preemption"
      object["rip"] = e.registers.rip
    case .exit(let e):
      object["kind"] = "exit"
      switch e.status {
      case .exited(let code): object["exitCode"] = code
      case .killed(let signal, _): object["signal"] = Signal(rawValue: signal).description
      }
    }
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
    return String(decoding: data, as: UTF8.self)
  }
}
