import Replayer
import TraceFormat

/// What a debugger needs to know of a recording before it replays: the files the
/// processes mapped (gdb reads them through the target) and each process's execs.
struct RecordingFiles {
  /// Saved copies by the path the program knew: the latest version mapped from each path.
  private(set) var savedCopies: [String: String] = [:]
  /// Exec events by the recorded pid that exec'd, in order.
  private(set) var execs: [Int32: [ExecEvent]] = [:]
  private(set) var eventCount: UInt64 = 0
  /// Who forked whom, for the image a child runs before it execs.
  private(set) var processes = ProcessTable()
  /// Each mapping the processes made with mmap, in order: replay copies small file mappings
  /// into anonymous memory, which its maps then show without a name; the anonymous ones
  /// (a library's .bss over the end of its data) say where a file mapping no longer reaches.
  private(set) var fileMappings: [FileMapping] = []
  /// Each process's working directory through the recording.
  private(set) var workingDirectories = WorkingDirectories()

  struct FileMapping {
    var pid: Int32
    var eventIndex: UInt64
    var start: UInt64
    var end: UInt64
    var offset: UInt64
    /// nil for anonymous memory.
    var path: String?
  }

  init(directory: String) throws {
    let reader = try TraceReader(directory: directory)
    while let event = try reader.nextEvent() {
      eventCount = event.index + 1
      processes.add(event)
      workingDirectories.add(event, processes: processes)
      switch event {
      case .exec(let exec):
        execs[exec.tid, default: []].append(exec)
        note(exec.executable, reader)
        for mapping in exec.mappings {
          if let file = mapping.file { note(file, reader) }
        }
      case .syscall(let call):
        let arguments = call.entryRegisters.syscallArguments
        if call.number == 9, call.mappedFile == nil, call.result > 0, arguments[3] & 0x20 != 0, arguments[1] > 0 {  // MAP_ANONYMOUS
          let start = UInt64(call.result)
          fileMappings.append(
            FileMapping(
              pid: processes.processOf(call.tid), eventIndex: call.index, start: start, end: start + (arguments[1] + 4095) / 4096 * 4096,
              offset: 0, path: nil))
        }
        if let file = call.mappedFile {
          note(file, reader)
          if call.result > 0 && arguments[1] > 0 {
            let start = UInt64(call.result)
            fileMappings.append(
              FileMapping(
                pid: processes.processOf(call.tid), eventIndex: call.index, start: start,
                end: start + (arguments[1] + 4095) / 4096 * 4096, offset: arguments[5], path: file.originalPath))
          }
        }
      default:
        break
      }
    }
  }

  private mutating func note(_ file: MappedFile, _ reader: TraceReader) {
    savedCopies[file.originalPath] = reader.savedFilePath(for: file)
  }

  /// The exec that made the image `pid` runs at event `index`: its own last exec by then,
  /// or, for a child that has not exec'd, its parent's at the fork.
  func exec(of pid: Int32, before index: UInt64) -> ExecEvent? {
    var (pid, index) = (processes.processOf(pid), index)
    while true {
      if let exec = execs[pid]?.last(where: { $0.index <= index }) { return exec }
      guard let process = processes.process(pid), let parent = process.parent, let fork = process.forkEvent else {
        return execs[pid]?.first
      }
      (pid, index) = (parent, fork)
    }
  }
}

extension ExecEvent {
  /// The auxiliary vector from the recorded initial stack: past argc, argv and envp, the
  /// (type, value) pairs up to AT_NULL, as /proc/PID/auxv holds them.
  var auxiliaryVector: [UInt8] {
    let bytes = initialStack.bytes
    func word(_ index: Int) -> UInt64? {
      guard (index + 1) * 8 <= bytes.count else { return nil }
      return bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self) }
    }
    // The decoder checked that argc fits the stack; a stack without the NULLs that end argv
    // and envp has no auxiliary vector.
    guard let argc = word(0), argc < bytes.count / 8 else { return [] }
    var index = Int(argc) + 2  // argc, the argv pointers and their NULL
    while let pointer = word(index), pointer != 0 { index += 1 }
    index += 1  // envp's NULL
    let start = index
    guard start * 8 < bytes.count else { return [] }
    while let type = word(index), type != 0 { index += 2 }
    return Array(bytes[(start * 8)..<min(bytes.count, (index + 2) * 8)])
  }
}
