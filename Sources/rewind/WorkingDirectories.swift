import Replayer
import Syscalls
import TraceFormat

/// Each recorded process's working directory through the recording, for `info proc cwd` at
/// any position: the directory of its exec, then where its chdir and fchdir calls took it
/// (replay emulates them, so the replaying process's own cwd says nothing), and what getcwd
/// reported, which the kernel resolved. A forked child starts in its parent's directory.
///
/// Paths are joined and `.`/`..` resolved as text, since the recorded machine's symbolic
/// links are not at hand: a chdir through a link shows the link's path until the program
/// calls getcwd (or execs). fchdir follows the descriptors that open, openat, openat2 and
/// creat returned, dup and fcntl copied, and close closed.
struct WorkingDirectories {
  /// Changes by recorded pid, in trace order: the event that made each, and the directory.
  /// An exec's holds from its own index on (the first stop is at the exec); a call's only
  /// after it (a stop at index N is before event N).
  private var changes: [Int32: [(index: UInt64, path: String, isExec: Bool)]] = [:]
  /// What each process's open descriptors name, for fchdir and openat relative to one.
  private var descriptors: [Int32: [Int32: String]] = [:]

  /// Takes in the next event of the trace, once `processes` has.
  mutating func add(_ event: TraceEvent, processes: ProcessTable) {
    let process = processes.processOf(event.tid)
    switch event {
    case .exec(let exec):
      changes[process, default: []].append((exec.index, exec.cwd, true))
    case .syscall(let call):
      guard call.result >= 0, !call.isUnfinished, let name = SyscallTable.syscall(numbered: call.number)?.name else { return }
      add(call, named: name, process: process, processes: processes)
    default:
      break
    }
  }

  private mutating func add(_ call: SyscallEvent, named name: String, process: Int32, processes: ProcessTable) {
    let arguments = call.entryRegisters.syscallArguments
    let fd = { (index: Int) in Int32(truncatingIfNeeded: arguments[index]) }
    func string(_ index: Int) -> String? {
      guard let chunk = call.inputs.first(where: { $0.address == arguments[index] }) else { return nil }
      return String(decoding: chunk.bytes.prefix { $0 != 0 }, as: UTF8.self)
    }
    /// `path` as the call resolved it: from the cwd, or from the directory `dirfd` names.
    func resolved(_ path: String, from dirfd: Int32 = -100) -> String? {
      if path.hasPrefix("/") { return Self.normalized(path) }
      guard let base = dirfd == -100 ? directory(of: process) : descriptors[process]?[dirfd] else { return nil }
      return Self.normalized(base + "/" + path)
    }
    let result = Int32(truncatingIfNeeded: call.result)
    switch name {
    case "chdir":
      if let path = string(0).flatMap({ resolved($0) }) { changes[process, default: []].append((call.index, path, false)) }
    case "fchdir":
      if let path = descriptors[process]?[fd(0)] { changes[process, default: []].append((call.index, path, false)) }
    case "getcwd":
      // The kernel's own answer, links resolved (the buffer holds it, NUL-terminated).
      if let chunk = call.outputs.first(where: { $0.address == arguments[0] }), chunk.bytes.first == UInt8(ascii: "/") {
        let path = String(decoding: chunk.bytes.prefix { $0 != 0 }, as: UTF8.self)
        if path != directory(of: process) { changes[process, default: []].append((call.index, path, false)) }
      }
    case "open", "creat":
      descriptors[process, default: [:]][result] = string(0).flatMap { resolved($0) }
    case "openat", "openat2":
      descriptors[process, default: [:]][result] = string(1).flatMap { resolved($0, from: fd(0)) }
    case "dup", "dup2", "dup3":
      descriptors[process, default: [:]][result] = descriptors[process]?[fd(0)]
    case "fcntl" where [0, 1030].contains(arguments[1]):  // F_DUPFD, F_DUPFD_CLOEXEC
      descriptors[process, default: [:]][result] = descriptors[process]?[fd(0)]
    case "close":
      descriptors[process]?[fd(0)] = nil
    case "clone", "clone3", "fork", "vfork":
      // A new process (not a thread) starts in its parent's directory with copies of its
      // descriptors.
      guard result > 0, processes.processOf(result) == result else { return }
      if let here = directory(of: process) { changes[result, default: []].append((call.index, here, false)) }
      descriptors[result] = descriptors[process]
    default:
      break
    }
  }

  /// The directory `process` is in after everything added so far.
  private func directory(of process: Int32) -> String? { changes[process]?.last?.path }

  /// The directory of `process` before event `index` happened; nil when the recording says
  /// nothing of it.
  func directory(of process: Int32, before index: UInt64) -> String? {
    changes[process]?.last { $0.index < index || ($0.isExec && $0.index == index) }?.path
  }

  /// `/a/./b/../c//d` as `/a/c/d`.
  static func normalized(_ path: String) -> String {
    var parts: [Substring] = []
    for part in path.split(separator: "/") {
      switch part {
      case ".": continue
      case "..": _ = parts.popLast()
      default: parts.append(part)
      }
    }
    return "/" + parts.joined(separator: "/")
  }
}
